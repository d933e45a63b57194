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
import { ConflictError } from '../common/conflict.js';
import type { MembershipMember } from '../membership/membership.js';
import { ValidationError } from '../netlink/errors.js';
import type { NetworkState } from '../network/state.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { claimedRoutes } from './plan.js';
import { RTPROT_VXNET } from './protocol.js';
import { mainTable, routeDestination } from './routes.js';
import { contains, ipv4Subnet, overlaps, type ResolvedRoutedSpec, type Subnet } from './spec.js';

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

/** Whether two subnets in CIDR text overlap (desiredRoutes' test). */
export function subnetsOverlap(a: string, b: string): boolean {
  return overlaps(ipv4Subnet(a, 'subnet'), ipv4Subnet(b, 'subnet'));
}

/** The network's routes in the kernel now: protocol vxnet, destinations its state claims, not its own subnet. */
export async function networkRoutes(
  rt: Rtnetlink,
  state: NetworkState,
  spec: ResolvedRoutedSpec,
): Promise<MemberRoute[]> {
  const claimed = new Set(claimedRoutes(state));
  return (await mainTable(rt))
    .flatMap((r) =>
      r.protocol === RTPROT_VXNET && r.gateway && claimed.has(routeDestination(r))
        ? [{ subnet: routeDestination(r), via: r.gateway }]
        : [],
    )
    .filter((r) => !subnetsOverlap(r.subnet, spec.subnet.text));
}

/**
 * The static route an apply error blames, if it blames one: a
 * ValidationError on routes.static[i] (a next hop off the underlay, a
 * subnet connected here), a ConflictError on its route (a foreign route in
 * the way). Undefined for an error about anything else.
 */
export function refusedRoute(spec: ResolvedRoutedSpec, error: unknown): MemberRoute | undefined {
  let index = -1;
  if (error instanceof ValidationError) {
    const match = /^routes\.static\[(\d+)\]/.exec(error.field ?? '');
    if (match) index = Number(match[1]);
  } else if (error instanceof ConflictError) {
    const match = /^route (\S+)$/.exec(error.target);
    if (match) index = spec.routes.static.findIndex((r) => r.subnet.text === match[1]);
  }
  const route = spec.routes.static[index];
  return route ? { subnet: route.subnet.text, via: route.via } : undefined;
}

function compareAddresses(a: string, b: string): number {
  try {
    const x = ipaddr.parse(a).toByteArray();
    const y = ipaddr.parse(b).toByteArray();
    if (x.length !== y.length) return x.length - y.length;
    for (const [i, byte] of x.entries()) {
      const other = y[i] ?? 0; // as long as x
      if (byte !== other) return byte - other;
    }
    return 0;
  } catch {
    return a < b ? -1 : a > b ? 1 : 0;
  }
}
