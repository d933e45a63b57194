/**
 * What a VXLAN device looks like now, and what is likely wrong with it: the
 * readout an operator wants when pings across the overlay fail.
 */
import { ownerFromAlias } from '../common/ownership.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { IFF_UP } from '../rtnetlink/constants.js';
import type { Link } from '../rtnetlink/links.js';
import type { VxlanInfoData } from '../rtnetlink/schema/kinds/vxlan.js';
import { FLOOD_MAC, isFloodEntry } from './peers.js';
import { LINUX_DEFAULT_VXLAN_PORT, VXLAN_OVERHEAD, VXLAN_PORT } from './spec.js';

export interface LearnedEntry {
  mac: string;
  /** The remote VTEP it was learned from. */
  dst?: string;
  /** NUD_* state (permanent entries were added, not learned). */
  state: number;
}

export interface VxlanStatus {
  name: string;
  exists: boolean;
  up?: boolean;
  vni?: number;
  port?: number;
  group?: string;
  local?: string;
  underlay?: string;
  mtu?: number;
  owner?: string;
  /** Unicast flood destinations. */
  peers: string[];
  /** Remote MACs in the FDB (learned or static), without the flood entries. */
  entries: LearnedEntry[];
  /** Likely problems, in sentences. Empty when nothing looks wrong. */
  problems: string[];
}

export interface StatusExpectations {
  /** The port the overlay uses on every host; default 4789. */
  port?: number;
  vni?: number;
}

export async function vxlanStatus(rt: Rtnetlink, name: string, expect: StatusExpectations = {}): Promise<VxlanStatus> {
  const link = await rt.links.find(name);
  if (!link) return { name, exists: false, peers: [], entries: [], problems: [`no device ${name} in ${rt.where}`] };
  const data = (link.linkinfo?.info_data ?? {}) as VxlanInfoData;
  const underlay = data.link ? await rt.links.find(data.link) : undefined;
  const fdb = await rt.fdb.list({ dev: link.ifindex });
  const status: VxlanStatus = {
    name,
    exists: true,
    up: (link.flags & IFF_UP) !== 0,
    vni: data.id,
    port: data.port,
    group: data.group ?? data.group6,
    local: data.local ?? data.local6,
    underlay: underlay?.ifname,
    mtu: link.mtu,
    owner: ownerFromAlias(link.ifalias),
    peers: fdb.filter(isFloodEntry).map((e) => e.dst),
    entries: fdb
      // An entry without a MAC (no NDA_LLADDR in the reply) is not listed.
      .flatMap(({ lladdr: mac, dst, state, master }) =>
        mac !== undefined && mac !== FLOOD_MAC && master === undefined ? [{ mac, dst, state }] : [],
      ),
    problems: [],
  };
  const problems = status.problems;
  if (link.linkinfo?.info_kind !== 'vxlan')
    problems.push(`${name} is a ${link.linkinfo?.info_kind ?? 'plain'} device, not vxlan`);
  const wantedPort = expect.port ?? VXLAN_PORT;
  if (data.port !== undefined && data.port !== wantedPort) {
    const why =
      data.port === LINUX_DEFAULT_VXLAN_PORT
        ? ` (${LINUX_DEFAULT_VXLAN_PORT} is the Linux driver's default when no port is given)`
        : '';
    problems.push(
      `port mismatch: ${name} uses UDP port ${data.port} but the overlay expects ${wantedPort}${why}; hosts on ` +
        'different ports cannot reach each other',
    );
  }
  if (expect.vni !== undefined && data.id !== expect.vni)
    problems.push(`VNI mismatch: ${name} has VNI ${data.id}, the overlay uses ${expect.vni}`);
  if (!status.up) problems.push(`${name} is down`);
  if (data.link && !underlay) problems.push(`the underlay device (index ${data.link}) no longer exists`);
  else if (underlay && (underlay.flags & IFF_UP) === 0) problems.push(`the underlay device ${underlay.ifname} is down`);
  if (!status.group && status.peers.length === 0 && !data.external) {
    problems.push('no multicast group and no unicast peers: broadcast (ARP, DHCP) reaches no other host');
  }
  if (underlay?.mtu !== undefined && link.mtu !== undefined) {
    const overhead = status.group?.includes(':') || status.local?.includes(':') ? VXLAN_OVERHEAD[6] : VXLAN_OVERHEAD[4];
    if (link.mtu > underlay.mtu - overhead) {
      problems.push(
        `MTU ${link.mtu} exceeds the underlay's ${underlay.mtu} minus ${overhead} bytes of VXLAN overhead: large ` +
          'packets will be dropped',
      );
    }
  }
  return status;
}

/**
 * The underlay's address family of a VXLAN device, from its local or group
 * address (local6/group6: IPv6); undefined when it has neither.
 */
export function underlayFamily(link: Link): 4 | 6 | undefined {
  const data = (link.linkinfo?.info_data ?? {}) as VxlanInfoData;
  if (data.local6 !== undefined || data.group6 !== undefined) return 6;
  if (data.local !== undefined || data.group !== undefined) return 4;
  return undefined;
}
