/**
 * A routed network's BGP status: FRR's own (daemons, sessions: src/frr)
 * plus what routed mode asks of it: the routes zebra installed (protocol
 * bgp, main table), and any learned prefix that overlaps this host's own
 * subnet (`show bgp ipv4 unicast json`), which zebra's route map keeps out
 * of the kernel.
 */
import { type FrrService, type FrrStatus, RTPROT_BGP } from '../frr/service.js';
import type { NetworkState } from '../network/state.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { mainTable, routeDestination } from './routes.js';
import { overlaps, type Subnet } from './spec.js';

export interface BgpStatus extends FrrStatus {
  /** Routes zebra installed (protocol bgp, main table). */
  routes: { dst: string; via?: string; dev?: string }[];
  /** Learned prefixes that overlap this host's subnet: never installed over it. */
  overlapping: { prefix: string; from: string }[];
}

export async function routedBgpStatus(
  frr: FrrService,
  network: string,
  state: NetworkState,
  rt: Rtnetlink,
  subnet?: Subnet,
): Promise<BgpStatus | undefined> {
  const base = await frr.status(network, state);
  if (!base) return undefined;
  const status: BgpStatus = { ...base, routes: [], overlapping: [] };
  const names = new Map((await rt.links.list()).map((l) => [l.ifindex, l.ifname]));
  status.routes = (await mainTable(rt))
    .filter((r) => r.protocol === RTPROT_BGP)
    .map((r) => ({
      dst: routeDestination(r),
      ...(r.gateway ? { via: r.gateway } : {}),
      ...(r.oif !== undefined ? { dev: names.get(r.oif) ?? `#${r.oif}` } : {}),
    }));
  if (!subnet || base.pids.bgpd === undefined) return status;
  try {
    const table = (await frr.query(network, state, 'show bgp ipv4 unicast json')) as any;
    for (const [prefix, paths] of Object.entries<any>(table?.routes ?? {})) {
      const [address = '', len] = prefix.split('/'); // split always yields a first element
      if (!overlaps({ text: prefix, address, prefixlen: Number(len) }, subnet)) continue;
      for (const path of paths as any[]) {
        const from = path.peerId;
        if (!from || from === '(unspec)' || from === '0.0.0.0') continue; // our own `network`
        status.overlapping.push({ prefix, from });
        status.problems.push(
          `bgp: ${from} announces ${prefix}, which overlaps this host's subnet ${subnet.text}: not installed over it`,
        );
      }
    }
  } catch (error) {
    status.problems.push(`bgp: cannot read FRR's table: ${(error as Error).message}`);
  }
  return status;
}
