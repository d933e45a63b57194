/**
 * The routed-mode spec: this host's container subnet on its bridge (with the
 * gateway, DHCP and masquerade of the VXLAN spec), and how the other hosts'
 * subnets are reached: static routes through their underlay addresses.
 *
 *   name: blue
 *   mode: routed
 *   underlay: { device: eth0, address: 192.168.100.1 }
 *   subnet: 10.20.1.0/24
 *   gateway: 10.20.1.1
 *   containerRange: 10.20.0.0/16         # masquerade only what leaves it
 *   routes:
 *     static:
 *       - { subnet: 10.20.2.0/24, via: 192.168.100.2 }
 *       - { subnet: 10.20.3.0/24, via: 192.168.100.3 }
 *
 * Everything that can be checked without the kernel is checked here, each
 * mistake a ValidationError naming its field. What needs the kernel (a `via`
 * outside the underlay's connected networks, a subnet another network here
 * already has) is checked by the plan, still before any write.
 *
 * With `membership: { etcd: { endpoints } }` instead of `routes`, the table
 * comes from the other hosts' registrations (src/membership/etcd/), kept by
 * `vxnet agent`: see routesFromMembers in members.ts.
 */
import ipaddr from 'ipaddr.js';
import { validateOwner } from '../common/ownership.js';
import { type NetworkDhcp, resolveDhcp } from '../network/dhcp-spec.js';
import { type BgpSession, type ResolvedBgpSession, resolveBgpSession } from '../frr/spec.js';
import { type MembershipSpec, type ResolvedMembership, resolveMembership } from '../membership/etcd/spec.js';
import { ValidationError } from '../netlink/errors.js';
import { addressFamily, validateMtu, validatePortableIfname } from '../rtnetlink/validate.js';

export interface RoutedStaticRoute {
  /** Another host's container subnet, e.g. "10.20.2.0/24". */
  subnet: string;
  /** That host's underlay address: the next hop. */
  via: string;
}

/** BGP through FRR (zebra + bgpd) run and supervised by vxnet for this network (src/frr/spec.ts). */
export type RoutedBgp = BgpSession;

export interface RoutedSpec {
  name: string;
  mode: 'routed';
  underlay: { device: string; address?: string };
  /** This host's container subnet. */
  subnet: string;
  /** This host's address on the bridge (the containers' router). */
  gateway: string;
  /**
   * Every host's container subnets together, e.g. "10.20.0.0/16": traffic leaving it is masqueraded (with
   * `masquerade`).
   */
  containerRange?: string;
  bridge?: string;
  /** Bridge MTU; default the underlay's (routing adds no encapsulation). */
  mtu?: number;
  dhcp?: NetworkDhcp;
  masquerade?: boolean | { enabled?: boolean; egress?: string };
  routes?: { static?: RoutedStaticRoute[]; bgp?: RoutedBgp };
  /**
   * The other hosts' subnets from etcd (with `vxnet agent`): each host registers its subnet, and every other
   * member's becomes a static route through its underlay address. Instead of `routes`.
   */
  membership?: MembershipSpec;
}

export type ResolvedBgp = ResolvedBgpSession;

export interface Subnet {
  text: string;
  address: string;
  prefixlen: number;
}

export interface ResolvedRoutedSpec {
  name: string;
  mode: 'routed';
  underlay: { device: string; address?: string };
  subnet: Subnet;
  gateway: string;
  containerRange?: Subnet;
  bridge: string;
  mtu?: number;
  dhcp?: NonNullable<RoutedSpec['dhcp']> & { serve: boolean };
  masquerade?: { egress?: string };
  /** In the spec's order (errors name entries by index); `via` canonical. */
  routes: { static: { subnet: Subnet; via: string }[]; bgp?: ResolvedBgp };
  /** membership.etcd, resolved: the agent makes `routes.static` from the members (empty here). */
  membership?: ResolvedMembership;
}

const TOP_KEYS = [
  'name',
  'mode',
  'underlay',
  'subnet',
  'gateway',
  'containerRange',
  'bridge',
  'mtu',
  'dhcp',
  'masquerade',
  'routes',
  'membership',
];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: string[], at: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw new ValidationError(at ? `${at}.${key}` : key, `unknown field (known: ${allowed.join(', ')})`);
  }
}

/** An IPv4 network in CIDR form without host bits, or a ValidationError on `field`. */
export function ipv4Subnet(text: unknown, field: string): Subnet {
  if (typeof text !== 'string' || !ipaddr.isValidCIDR(text))
    throw new ValidationError(field, 'expected a network like 10.20.1.0/24', text);
  const [base, prefixlen] = ipaddr.parseCIDR(text);
  const [baseText = ''] = text.split('/'); // split always yields a first element
  if (base.kind() !== 'ipv4' || !ipaddr.IPv4.isValidFourPartDecimal(baseText)) {
    throw new ValidationError(field, 'routed mode takes IPv4 networks in dotted-quad form, like 10.20.1.0/24', text);
  }
  const network = ipaddr.IPv4.networkAddressFromCIDR(text).toString();
  if (network !== base.toString())
    throw new ValidationError(field, `has host bits set: did you mean ${network}/${prefixlen}?`, text);
  return { text: `${network}/${prefixlen}`, address: network, prefixlen };
}

export function contains(outer: Subnet, inner: Subnet): boolean {
  return (
    inner.prefixlen >= outer.prefixlen &&
    ipaddr.parse(inner.address).match(ipaddr.parse(outer.address), outer.prefixlen)
  );
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  return contains(a, b) || contains(b, a);
}

function defaultBridge(name: string): string {
  const candidate = `br-${name}`;
  if (Buffer.byteLength(candidate) > 15)
    throw new ValidationError(
      'bridge',
      `the default ${candidate} is longer than 15 bytes: name the device in the spec`,
    );
  return candidate;
}

/** Validates a routed spec and fills in its defaults (not yet branded: the overlay's resolveSpec does that). */
export function resolveRoutedSpec(input: unknown): ResolvedRoutedSpec {
  if (!isObject(input)) throw new ValidationError('spec', 'expected an object', input);
  checkKeys(input, TOP_KEYS, '');
  const spec = input as unknown as RoutedSpec;
  if (spec.mode !== 'routed') throw new ValidationError('mode', 'expected routed', spec.mode);
  const name = validateOwner(spec.name, 'name');
  // One source of the other hosts' subnets: said first, whatever else the routes section holds.
  if (spec.membership !== undefined && spec.routes !== undefined)
    throw new ValidationError(
      'membership',
      "gives the other hosts' subnets (from etcd): give it or routes (static or bgp), not both",
    );

  if (!isObject(spec.underlay)) throw new ValidationError('underlay', 'expected { device, address? }', spec.underlay);
  checkKeys(spec.underlay, ['device', 'address'], 'underlay');
  const device = validatePortableIfname(spec.underlay.device, 'underlay.device');
  let local: string | undefined;
  if (spec.underlay.address !== undefined) {
    if (addressFamily(spec.underlay.address, 'underlay.address') !== 4)
      throw new ValidationError('underlay.address', 'routed mode runs over an IPv4 underlay', spec.underlay.address);
    local = ipaddr.parse(spec.underlay.address).toString();
  }

  const subnet = ipv4Subnet(spec.subnet, 'subnet');
  if (spec.gateway === undefined)
    throw new ValidationError(
      'gateway',
      "routed mode needs this host's address on the bridge: the containers route through it",
    );
  if (
    addressFamily(spec.gateway, 'gateway') !== 4 ||
    !ipaddr.parse(spec.gateway).match(ipaddr.parse(subnet.address), subnet.prefixlen)
  ) {
    throw new ValidationError('gateway', `is not inside the subnet ${subnet.text}`, spec.gateway);
  }
  const gateway = ipaddr.parse(spec.gateway).toString();
  if (gateway === subnet.address) throw new ValidationError('gateway', 'is the network address itself', spec.gateway);

  let containerRange: Subnet | undefined;
  if (spec.containerRange !== undefined) {
    containerRange = ipv4Subnet(spec.containerRange, 'containerRange');
    if (!contains(containerRange, subnet))
      throw new ValidationError(
        'containerRange',
        `does not contain this host's subnet ${subnet.text}`,
        spec.containerRange,
      );
  }

  const bridge = spec.bridge === undefined ? defaultBridge(name) : validatePortableIfname(spec.bridge, 'bridge');
  if (bridge === device) throw new ValidationError('underlay.device', 'is also the name of the bridge', device);
  const mtu = spec.mtu === undefined ? undefined : validateMtu(spec.mtu, 'mtu');

  const dhcp = spec.dhcp === undefined ? undefined : resolveDhcp(spec.dhcp, { ...subnet, ipv4: true }, gateway);

  let masquerade: ResolvedRoutedSpec['masquerade'];
  if (spec.masquerade !== undefined && spec.masquerade !== false) {
    const m: Record<string, unknown> =
      spec.masquerade === true ? {} : (spec.masquerade as unknown as Record<string, unknown>);
    if (!isObject(m)) throw new ValidationError('masquerade', 'true, false or { enabled?, egress? }', spec.masquerade);
    checkKeys(m, ['enabled', 'egress'], 'masquerade');
    if (m.enabled !== undefined && typeof m.enabled !== 'boolean')
      throw new ValidationError('masquerade.enabled', 'true or false', m.enabled);
    if (m.enabled !== false) {
      if (m.egress !== undefined) validatePortableIfname(m.egress, 'masquerade.egress');
      masquerade = m.egress !== undefined ? { egress: m.egress as string } : {};
    }
  }

  const routes: ResolvedRoutedSpec['routes'] = { static: [] };
  if (spec.routes !== undefined) {
    if (!isObject(spec.routes))
      throw new ValidationError(
        'routes',
        'expected { static: [{ subnet, via }, ...] } or { bgp: { asn, ... } }',
        spec.routes,
      );
    checkKeys(spec.routes, ['static', 'bgp'], 'routes');
    if (spec.routes.static !== undefined && spec.routes.bgp !== undefined) {
      throw new ValidationError('routes', "takes static or bgp, not both: BGP learns the other hosts' subnets itself");
    }
    if (spec.routes.bgp !== undefined) routes.bgp = resolveBgpSession(spec.routes.bgp, local, 'routes.bgp');
    const table = spec.routes.static ?? [];
    if (!Array.isArray(table)) throw new ValidationError('routes.static', 'expected a list of { subnet, via }', table);
    table.forEach((entry, i) => {
      const at = `routes.static[${i}]`;
      if (!isObject(entry)) throw new ValidationError(at, 'expected { subnet, via }', entry);
      checkKeys(entry, ['subnet', 'via'], at);
      const other = ipv4Subnet(entry.subnet, `${at}.subnet`);
      if (addressFamily(entry.via, `${at}.via`) !== 4)
        throw new ValidationError(`${at}.via`, 'an IPv4 underlay address', entry.via);
      const via = ipaddr.parse(entry.via).toString();
      if (overlaps(other, subnet))
        throw new ValidationError(`${at}.subnet`, `overlaps this host's own subnet ${subnet.text}`, entry.subnet);
      if (containerRange && !contains(containerRange, other))
        throw new ValidationError(`${at}.subnet`, `is outside containerRange ${containerRange.text}`, entry.subnet);
      if (local !== undefined && via === local)
        throw new ValidationError(`${at}.via`, "is this host's own underlay address", entry.via);
      for (const [j, seen] of routes.static.entries()) {
        if (overlaps(seen.subnet, other))
          throw new ValidationError(
            `${at}.subnet`,
            `overlaps routes.static[${j}].subnet ${seen.subnet.text}`,
            entry.subnet,
          );
      }
      routes.static.push({ subnet: other, via });
    });
  }

  let membership: ResolvedMembership | undefined;
  if (spec.membership !== undefined) {
    if (local === undefined)
      throw new ValidationError('underlay.address', "membership registers this host's underlay address: give it");
    membership = resolveMembership(spec.membership, 'membership');
  }

  return {
    name,
    mode: 'routed',
    underlay: { device, ...(local ? { address: local } : {}) },
    subnet,
    gateway,
    ...(containerRange ? { containerRange } : {}),
    bridge,
    ...(mtu ? { mtu } : {}),
    ...(dhcp ? { dhcp } : {}),
    ...(masquerade ? { masquerade } : {}),
    routes,
    ...(membership ? { membership } : {}),
  };
}
