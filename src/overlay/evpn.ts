/**
 * BGP EVPN as a VXLAN network's membership (`membership.evpn`), beside a
 * multicast group and unicast peers: FRR (zebra + bgpd, src/frr) learns the
 * other hosts' VTEPs and MACs over BGP and writes them into the VXLAN
 * device's FDB itself — type-3 routes as flood entries (all-zeros MAC, dst
 * the remote VTEP), type-2 routes as remote MACs marked extern_learn. vxnet
 * makes the device for it (no group, no remote, `local` set, learning off:
 * the control plane, not flooding, says where a MAC is), sets its bridge port
 * to suppress ARP/ND and not learn, generates FRR's configuration, and
 * otherwise leaves the FDB to FRR: status reports those entries as learned
 * from BGP, and no plan of vxnet's ever adds or removes one (planVxlan is
 * given no peer list in this mode, so the flood-list convergence of
 * src/vxlan/peers.ts never runs on this device).
 *
 * zebra discovers VNIs from the kernel: every VXLAN device with a `local`
 * address that sits in a bridge in the namespace is advertised
 * (`advertise-all-vni`). That, and bgpd's port 179, is why one namespace
 * holds at most one BGP network (FrrService refuses a second).
 */
import type { Change } from '../common/plan.js';
import { bgpSession, configHeader, PEER_GROUP, sessionDetail } from '../frr/config.js';
import type { FrrWanted } from '../frr/service.js';
import { type BgpSession, type ResolvedBgpSession, resolveBgpSession } from '../frr/spec.js';
import { ValidationError } from '../netlink/errors.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { NTF_EXT_LEARNED } from '../rtnetlink/constants.js';
import type { FdbEntry } from '../rtnetlink/neighbours.js';

/** `membership.evpn`: the BGP session settings (asn, neighbors, listen, routerId, holdTime). */
export type EvpnMembership = BgpSession;
export type ResolvedEvpn = ResolvedBgpSession;

/** A flood entry's MAC (all zeros). */
const FLOOD_MAC = '00:00:00:00:00:00';

/** Validates `membership.evpn` for a VXLAN spec whose underlay address is `local` (required: it is the VTEP). */
export function resolveEvpn(input: unknown, local: string | undefined, at = 'membership.evpn'): ResolvedEvpn {
  if (local === undefined)
    throw new ValidationError(
      'underlay.address',
      "EVPN needs this host's underlay address: it is the VXLAN device's local address, the VTEP other hosts reach",
    );
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(local))
    throw new ValidationError('underlay.address', 'EVPN runs over an IPv4 underlay here', local);
  return resolveBgpSession(input, local, at);
}

/**
 * FRR's configuration: zebra needs nothing beyond its defaults (it finds the
 * VNIs itself); bgpd runs iBGP in a peer group with the l2vpn evpn family
 * only (no IPv4 unicast: nothing routed is exchanged), advertise-all-vni,
 * and the peers as route-reflector clients, so that a host naming one
 * neighbour (a newcomer accepted through `listen`) still hears every VTEP.
 */
export function evpnFrr(network: string, evpn: ResolvedEvpn, vni: number): FrrWanted {
  const header = configHeader(network);
  const bgpd = [
    ...header,
    ...bgpSession(evpn, [' no bgp default ipv4-unicast', ' no bgp ebgp-requires-policy']),
    ' address-family l2vpn evpn',
    `  neighbor ${PEER_GROUP} activate`,
    `  neighbor ${PEER_GROUP} route-reflector-client`,
    '  advertise-all-vni',
    ' exit-address-family',
    'exit',
    '!',
  ];
  return {
    config: { zebra: `${header.join('\n')}\n`, bgpd: `${bgpd.join('\n')}\n` },
    detail: `zebra + bgpd, EVPN VNI ${vni}, ${sessionDetail(evpn)}`,
  };
}

/**
 * The VXLAN device's bridge port for EVPN: neighbour suppression on (the
 * bridge answers ARP/ND from what EVPN told it, instead of flooding the
 * question to every VTEP) and learning off (FRR installs the remote MACs).
 * Read from the port's IFLA_INFO_SLAVE_DATA; planned at the step when the
 * device is made in the same apply (`fresh`).
 */
export async function planEvpnPort(rt: Rtnetlink, bridge: string, vxlan: string, fresh: boolean): Promise<Change[]> {
  const change: Change = {
    action: 'update',
    target: `port ${vxlan} on ${bridge}`,
    detail: 'neigh_suppress on, learning off (EVPN)',
    apply: () => rt.links.setBridgePort(vxlan, { neigh_suppress: 1, learning: 0 }),
  };
  if (fresh) return [change];
  const link = await rt.links.find(vxlan);
  const port = link?.linkinfo?.info_slave_kind === 'bridge' ? link.linkinfo.info_slave_data : undefined;
  if (port && port.neigh_suppress === 1 && port.learning === 0) return [];
  return [change];
}

export interface EvpnStatus {
  vni: number;
  /** Flood entries (type-3 routes): the remote VTEPs FRR installed. */
  vteps: string[];
  /** Remote MACs (type-2 routes), extern_learn, and the VTEP behind each. */
  macs: { mac: string; vtep?: string }[];
  /** FDB entries on the device that neither FRR nor the kernel made (by hand, or by another tool). */
  other: { mac: string; dst?: string }[];
}

/**
 * What EVPN put in the device's FDB. zebra marks a remote MAC (extern_learn)
 * but not a flood entry: those are plain permanent entries, like one added
 * by hand (the VXLAN FDB keeps no NDA_PROTOCOL; checked with `bridge -j fdb`
 * on FRR 8.4). So a flood entry counts as learned from BGP when FRR lists its
 * VTEP for the VNI (`show evpn vni VNI json`, read-only: `frrVteps`); without
 * FRR's word (not running, not readable) every flood entry is reported as
 * other. vxnet removes none of them either way.
 */
export function evpnStatus(entries: FdbEntry[], vni: number, frrVteps: string[] | undefined): EvpnStatus {
  const status: EvpnStatus = { vni, vteps: [], macs: [], other: [] };
  const known = new Set(frrVteps ?? []);
  for (const entry of entries) {
    if (entry.master !== undefined) continue; // the bridge's own table
    const mac = entry.lladdr ?? '';
    const { dst } = entry;
    if (mac === FLOOD_MAC && dst === undefined) continue; // the device's default destination, if any
    if (mac === FLOOD_MAC && dst !== undefined && known.has(dst)) status.vteps.push(dst);
    else if (mac !== FLOOD_MAC && (entry.flags & NTF_EXT_LEARNED) !== 0)
      status.macs.push({ mac, ...(entry.dst ? { vtep: entry.dst } : {}) });
    else status.other.push({ mac, ...(entry.dst ? { dst: entry.dst } : {}) });
  }
  status.vteps.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return status;
}

/**
 * The remote VTEPs FRR has for a VNI, from `show evpn vni VNI json`. FRR 8.4
 * lists them under "numRemoteVteps" (an array, despite the name; seen on the
 * lab); other versions say "remoteVteps", with addresses or { ip } objects.
 */
export function remoteVteps(answer: unknown): string[] | undefined {
  const json = answer as { remoteVteps?: unknown; numRemoteVteps?: unknown } | undefined;
  const vteps = Array.isArray(json?.remoteVteps) ? json.remoteVteps : json?.numRemoteVteps;
  if (!Array.isArray(vteps)) return answer && typeof answer === 'object' ? [] : undefined;
  return vteps
    .map((v) => (typeof v === 'string' ? v : (v as { ip?: string })?.ip))
    .filter((v): v is string => typeof v === 'string');
}
