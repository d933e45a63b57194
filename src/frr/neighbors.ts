/**
 * BGP neighbours checked against the underlay, before any write. A listed
 * neighbour must be reachable from this host over the underlay device:
 * inside one of its connected IPv4 networks, or through a route of the
 * main table that leaves by it (a routed underlay, a default gateway: iBGP
 * is not limited to one hop). A neighbour neither of these reaches is a
 * typo or the wrong network: bgpd would retry its connection forever and
 * the mistake would show only as a session never established, so it is
 * refused with the field that names it.
 */
import ipaddr from 'ipaddr.js';
import { ValidationError } from '../netlink/errors.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { RT_TABLE_MAIN } from '../rtnetlink/constants.js';
import type { ResolvedBgpSession } from './spec.js';

export async function checkNeighbors(
  rt: Rtnetlink,
  dev: string,
  session: ResolvedBgpSession,
  field: string,
): Promise<void> {
  if (session.neighbors.length === 0) return;
  const link = await rt.links.find(dev);
  if (!link) throw new ValidationError('underlay.device', `no device ${dev} in ${rt.where}`, dev);
  // An address whose reply carried neither IFA_LOCAL nor IFA_ADDRESS connects nothing.
  const connected = (await rt.addresses.list({ family: 4, dev: link.ifindex })).flatMap((a) => {
    const ip = a.local ?? a.address;
    return ip === undefined ? [] : [[ipaddr.parse(ip), a.prefixlen] as const];
  });
  // Single-path routes only: a multipath route's devices are not decoded (RTA_MULTIPATH is kept as bytes).
  const routes = (await rt.routes.list({ family: 4 })).filter(
    (r) => (r.table ?? r.rtm_table) === RT_TABLE_MAIN && r.oif === link.ifindex,
  );
  session.neighbors.forEach((neighbor, i) => {
    const address = ipaddr.parse(neighbor);
    if (connected.some(([net, len]) => address.match(net, len))) return;
    if (routes.some((r) => address.match(ipaddr.parse(r.dst ?? '0.0.0.0'), r.dst_len ?? 0))) return;
    const networks = connected.map(([net, len]) => `${ipaddr.IPv4.networkAddressFromCIDR(`${net}/${len}`)}/${len}`);
    throw new ValidationError(
      `${field}.neighbors[${i}]`,
      `is not reachable over ${dev}: outside its connected network${networks.length === 1 ? '' : 's'} ` +
        `${networks.join(', ') || '(none: it has no IPv4 address)'} and no route through ${dev} covers it`,
      neighbor,
    );
  });
}
