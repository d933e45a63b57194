/**
 * Routed mode with etcd membership: the static table made from the other
 * hosts' registrations. Each member gives its underlay address and its
 * container subnet; every other member's subnet becomes a route through its
 * address. A member that cannot be routed (no subnet, a subnet overlapping
 * this host's or an earlier member's, outside containerRange, this host's
 * own address) is dropped with its reason, never programmed: one bad
 * registration must not make every apply fail.
 */
import ipaddr from 'ipaddr.js';
import type { MembershipMember } from '../membership/membership.js';
import { contains, ipv4Subnet, overlaps, type Subnet } from './spec.js';

export interface MemberRoute {
  subnet: string;
  via: string;
}

export interface DroppedMember {
  address: string;
  subnet?: string;
  reason: string;
}

export interface MemberRoutes {
  /** In the members' address order. */
  routes: MemberRoute[];
  dropped: DroppedMember[];
}

/**
 * The routes to the members' subnets. Members are taken in address order
 * (numeric), so which of two overlapping members is dropped does not depend
 * on the order the source listed them in: the lower address keeps its route.
 */
export function routesFromMembers(
  members: readonly MembershipMember[],
  own: { address?: string; subnet: Subnet; containerRange?: Subnet },
): MemberRoutes {
  const routes: (MemberRoute & { parsed: Subnet })[] = [];
  const dropped: DroppedMember[] = [];
  for (const member of [...members].sort((a, b) => compareAddresses(a.address, b.address))) {
    const drop = (reason: string) =>
      dropped.push({ address: member.address, ...(member.subnet ? { subnet: member.subnet } : {}), reason });
    if (member.address === own.address) continue;
    if (member.subnet === undefined) {
      drop('registers no subnet');
      continue;
    }
    if (!ipaddr.IPv4.isValidFourPartDecimal(member.address)) {
      drop('is not an IPv4 address');
      continue;
    }
    let subnet: Subnet;
    try {
      subnet = ipv4Subnet(member.subnet, 'subnet');
    } catch {
      drop('registers a subnet that is not an IPv4 network');
      continue;
    }
    if (overlaps(subnet, own.subnet)) {
      drop(`its subnet overlaps this host's own ${own.subnet.text}`);
      continue;
    }
    if (own.containerRange && !contains(own.containerRange, subnet)) {
      drop(`its subnet is outside containerRange ${own.containerRange.text}`);
      continue;
    }
    const clash = routes.find((r) => overlaps(r.parsed, subnet));
    if (clash) {
      drop(`its subnet overlaps ${clash.subnet} of member ${clash.via}`);
      continue;
    }
    routes.push({ subnet: subnet.text, via: member.address, parsed: subnet });
  }
  return { routes: routes.map(({ subnet, via }) => ({ subnet, via })), dropped };
}

function compareAddresses(a: string, b: string): number {
  try {
    const x = ipaddr.parse(a).toByteArray();
    const y = ipaddr.parse(b).toByteArray();
    if (x.length !== y.length) return x.length - y.length;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return 0;
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}
