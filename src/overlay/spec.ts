/**
 * The overlay spec: one host's part of an overlay network, declared once
 * (in code, or a JSON / YAML file) and fully validated, every error naming
 * its field ("dhcp.ranges[0].start: ...").
 */
import { readFile } from 'node:fs/promises';
import ipaddr from 'ipaddr.js';
import { validateOwner } from '../common/ownership.js';
import { type NetworkDhcp, resolveDhcp } from '../network/dhcp-spec.js';
import { type EvpnMembership, type ResolvedEvpn, resolveEvpn } from './evpn.js';
import { ValidationError, VxnetError } from '../netlink/errors.js';
import {
  addressFamily,
  isMulticast,
  validateMtu,
  validatePort,
  validatePortableIfname,
  validateVni,
} from '../rtnetlink/validate.js';
import { canonicalAddress, VXLAN_PORT } from '../vxlan/spec.js';
import { ipv4Subnet, type ResolvedRoutedSpec, resolveRoutedSpec, type RoutedSpec } from '../routed/spec.js';
import { decodeSpecFile, parseSpecText } from './spec-file.js';
import { type MembershipSpec, type ResolvedMembership, resolveMembership } from '../membership/etcd/spec.js';

/** The `dhcp` section (the same in routed mode: src/network/dhcp-spec.ts). */
export type OverlayDhcp = NetworkDhcp;

export interface OverlayMasquerade {
  /** Default true when `masquerade` is given. */
  enabled?: boolean;
  /** Masquerade only traffic leaving through this device. Default: any device. */
  egress?: string;
}

export interface OverlayFirewall {
  /** Accept the VXLAN UDP port in an input chain of vxnet's. Default true. */
  openPort?: boolean;
  /** In unicast mode, accept it only from the listed peers. Default true. */
  peersOnly?: boolean;
}

export interface OverlaySpec {
  /** Network name: tags everything vxnet creates for it (alias, table, dnsmasq instance). */
  name: string;
  /** vxlan (the default); a routed spec is a RoutedSpec (see resolveAnySpec). */
  mode?: 'vxlan';
  vni: number;
  /** UDP port; default 4789. Must be the same on every host. */
  port?: number;
  underlay: {
    /** The device the overlay runs over, e.g. "eth0". */
    device: string;
    /** This host's address on it. Required in unicast mode. */
    address?: string;
  };
  /** Multicast group (multicast mode). */
  group?: string;
  /** The other hosts' underlay addresses (unicast mode, for clouds without multicast). */
  peers?: string[];
  /**
   * Another way to find the other hosts, instead of a group or peers: `etcd` (the agent's peers from an etcd
   * cluster, docs/membership.md) or `evpn` (BGP EVPN through FRR, docs/routed.md). One of them.
   */
  membership?: OverlayMembership;
  /** The containers' network, e.g. "10.10.0.0/24". */
  subnet: string;
  /** This host's address on the bridge (the containers' router), inside the subnet. */
  gateway?: string;
  /** Device names; defaults derived from the network name (vx-NAME, br-NAME). */
  vxlan?: string;
  bridge?: string;
  /** Overlay MTU; default the underlay's minus 50 (IPv4) / 70 (IPv6). */
  mtu?: number;
  dhcp?: OverlayDhcp;
  masquerade?: boolean | OverlayMasquerade;
  firewall?: boolean | OverlayFirewall;
}

/** Where the other hosts come from, when not a multicast group or a peer list: one source. */
export interface OverlayMembership {
  /** Peers registered in etcd, kept by `vxnet agent` (unicast mode). See src/membership/etcd/. */
  etcd?: MembershipSpec['etcd'];
  /** BGP EVPN: FRR, run by vxnet, installs flood entries (type-3) and remote MACs (type-2). See src/overlay/evpn.ts. */
  evpn?: EvpnMembership;
}

/** A spec with defaults filled in and addresses in canonical form. */
export interface ResolvedSpec {
  name: string;
  vni: number;
  port: number;
  underlay: { device: string; address?: string };
  mode: 'multicast' | 'unicast' | 'evpn';
  group?: string;
  /** membership.evpn, resolved (mode evpn). */
  evpn?: ResolvedEvpn;
  peers: string[];
  /** The source of the peers when not `peers` (the agent's; `peers` is then empty). */
  membership?: ResolvedMembership;
  subnet: { text: string; address: string; prefixlen: number };
  gateway?: string;
  vxlan: string;
  bridge: string;
  mtu?: number;
  dhcp?: OverlayDhcp & { serve: boolean };
  masquerade?: { egress?: string };
  firewall?: { peersOnly: boolean };
}

const TOP_KEYS = [
  'name',
  'mode',
  'vni',
  'port',
  'underlay',
  'group',
  'peers',
  'membership',
  'subnet',
  'gateway',
  'vxlan',
  'bridge',
  'mtu',
  'dhcp',
  'masquerade',
  'firewall',
];

function checkKeys(value: Record<string, unknown>, allowed: string[], at: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      throw new ValidationError(at ? `${at}.${key}` : key, `unknown field (known: ${allowed.join(', ')})`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Runs a nested validation, prefixing the field of any ValidationError with `prefix`. */
export function within<T>(prefix: string, validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    if (error instanceof ValidationError)
      throw new ValidationError(`${prefix}.${error.field}`, error.reason, error.value);
    throw error;
  }
}

function defaultName(prefix: string, name: string, field: string): string {
  const candidate = `${prefix}-${name}`;
  if (Buffer.byteLength(candidate) > 15) {
    throw new ValidationError(field, `the default ${candidate} is longer than 15 bytes: name the device in the spec`);
  }
  return candidate;
}

/** The membership section: one source (etcd or evpn), exclusive of group and peers. */
function resolveSources(
  spec: OverlaySpec,
  local: string | undefined,
): { evpn?: ResolvedEvpn; membership?: ResolvedMembership } {
  if (spec.membership === undefined) return {};
  if (!isObject(spec.membership))
    throw new ValidationError('membership', 'expected { etcd: { … } } or { evpn: { … } }', spec.membership);
  const section = spec.membership as unknown as Record<string, unknown>;
  checkKeys(section, ['etcd', 'evpn'], 'membership');
  const sources = Object.keys(section).filter((key) => section[key] !== undefined);
  if (sources.length !== 1)
    throw new ValidationError('membership', `give one source, etcd or evpn (here: ${sources.join(' and ') || 'none'})`);
  if (spec.membership.evpn !== undefined) {
    const other = spec.group !== undefined ? 'group' : spec.peers !== undefined ? 'peers' : undefined;
    if (other)
      throw new ValidationError('membership.evpn', `EVPN finds the other hosts itself: give it or ${other}, not both`);
    return { evpn: resolveEvpn(spec.membership.evpn, local) };
  }
  if (spec.peers !== undefined)
    throw new ValidationError('membership', 'give static peers or a membership source, not both');
  if (spec.group !== undefined)
    throw new ValidationError('membership', 'gives the peers of a unicast network: a multicast spec has none');
  if (local === undefined)
    throw new ValidationError('underlay.address', "membership registers this host's underlay address: give it");
  return { membership: resolveMembership({ etcd: spec.membership.etcd }, 'membership') };
}

/** Validates a spec (from code or a parsed file) and fills in its defaults. */
export function resolveSpec(input: unknown): ResolvedSpec {
  const spec = checkTopLevel(input);
  const name = validateOwner(spec.name, 'name');
  const vni = validateVni(spec.vni, 'vni');
  const port = spec.port === undefined ? VXLAN_PORT : validatePort(spec.port, 'port');
  const underlay = resolveUnderlay(spec);
  const reach = resolveReach(spec, underlay);
  const { subnet, network } = resolveSubnet(spec.subnet);
  const gateway = resolveGateway(spec.gateway, subnet, network);
  const { vxlan, bridge } = resolveDeviceNames(spec, name, underlay.device);
  const mtu = spec.mtu === undefined ? undefined : validateMtu(spec.mtu, 'mtu');
  const dhcp =
    spec.dhcp === undefined
      ? undefined
      : resolveDhcp(spec.dhcp, { text: subnet.text, ipv4: network[0].kind() === 'ipv4' }, gateway);
  const masquerade = resolveMasquerade(spec.masquerade, gateway);
  const firewall = resolveFirewall(spec.firewall);
  return brand({
    name,
    vni,
    port,
    underlay: { device: underlay.device, ...(underlay.local ? { address: underlay.local } : {}) },
    mode: reach.evpn ? 'evpn' : reach.group ? 'multicast' : 'unicast',
    ...(reach.group ? { group: reach.group } : {}),
    ...(reach.evpn ? { evpn: reach.evpn } : {}),
    peers: reach.peers,
    ...(reach.membership ? { membership: reach.membership } : {}),
    subnet,
    ...(gateway ? { gateway } : {}),
    vxlan,
    bridge,
    ...(mtu ? { mtu } : {}),
    ...(dhcp ? { dhcp } : {}),
    ...(masquerade ? { masquerade } : {}),
    ...(firewall ? { firewall } : {}),
  });
}

/** An object whose mode is vxlan's and whose keys are all known. */
function checkTopLevel(input: unknown): OverlaySpec {
  if (!isObject(input)) throw new ValidationError('spec', 'expected an object', input);
  if (input.mode === 'routed')
    throw new ValidationError('mode', 'a routed spec: resolve it with resolveAnySpec', input.mode);
  if (input.mode === 'unicast' || input.mode === 'multicast') {
    // A resolved VXLAN spec says unicast or multicast here. Only resolveSpec's own results are trusted as resolved
    // (see toResolvedSpec); a copy of one comes back here, and the refusal says why.
    throw new ValidationError(
      'mode',
      'is vxlan or routed in a spec: this looks like a resolved spec copied or changed after ' +
        'resolveSpec, which is not trusted; change the spec it was resolved from, and pass that (or resolve it again)',
      input.mode,
    );
  }
  if (input.mode !== undefined && input.mode !== 'vxlan')
    throw new ValidationError('mode', 'vxlan (the default) or routed', input.mode);
  checkKeys(input, TOP_KEYS, '');
  return input as unknown as OverlaySpec;
}

interface Underlay {
  device: string;
  /** This host's underlay address, canonical (unicast and EVPN need it). */
  local?: string;
  family?: 4 | 6;
}

function resolveUnderlay(spec: OverlaySpec): Underlay {
  if (!isObject(spec.underlay)) throw new ValidationError('underlay', 'expected { device, address? }', spec.underlay);
  checkKeys(spec.underlay, ['device', 'address'], 'underlay');
  const device = validatePortableIfname(spec.underlay.device, 'underlay.device');
  if (spec.underlay.address === undefined) return { device };
  const family = addressFamily(spec.underlay.address, 'underlay.address'); // first: it names a bad address's field
  return { device, local: canonicalAddress(spec.underlay.address), family };
}

/** How the hosts reach each other: a multicast group, unicast peers, or a membership source (etcd, EVPN). */
interface Reach {
  group?: string;
  peers: string[];
  evpn?: ResolvedEvpn;
  membership?: ResolvedMembership;
}

function resolveReach(spec: OverlaySpec, underlay: Underlay): Reach {
  if (spec.group !== undefined && spec.peers !== undefined)
    throw new ValidationError('peers', 'give a multicast group or unicast peers, not both');
  const { evpn, membership } = resolveSources(spec, underlay.local);
  if (spec.group === undefined && spec.peers === undefined && !evpn && !membership)
    throw new ValidationError(
      'group',
      'give a multicast group (multicast mode), peers (unicast mode) or membership (etcd, or evpn for BGP EVPN)',
    );
  const group = spec.group === undefined ? undefined : resolveGroup(spec.group, underlay.family);
  const peers = spec.peers === undefined ? [] : resolvePeers(spec.peers, underlay);
  return { ...(group ? { group } : {}), peers, ...(evpn ? { evpn } : {}), ...(membership ? { membership } : {}) };
}

function resolveGroup(group: string, family: 4 | 6 | undefined): string {
  const groupFamily = addressFamily(group, 'group');
  if (!isMulticast(group))
    throw new ValidationError('group', 'is not a multicast address (224.0.0.0/4, ff00::/8)', group);
  if (family !== undefined && groupFamily !== family)
    throw new ValidationError('group', `is IPv${groupFamily} but underlay.address is IPv${family}`, group);
  return canonicalAddress(group);
}

/** The other hosts' addresses, canonical, this host's own left out (the same list can go to every host). */
function resolvePeers(list: unknown, underlay: Underlay): string[] {
  if (!Array.isArray(list)) throw new ValidationError('peers', 'expected a list of addresses', list);
  if (underlay.local === undefined)
    throw new ValidationError('underlay.address', "unicast mode needs this host's underlay address (peers send to it)");
  const peers: string[] = [];
  const seen = new Set<string>();
  list.forEach((peer, i) => {
    const peerFamily = addressFamily(peer, `peers[${i}]`);
    if (peerFamily !== underlay.family)
      throw new ValidationError(
        `peers[${i}]`,
        `is IPv${peerFamily} but underlay.address is IPv${underlay.family}`,
        peer,
      );
    if (isMulticast(peer)) throw new ValidationError(`peers[${i}]`, 'a peer is a unicast address', peer);
    const canonical = canonicalAddress(peer);
    if (canonical === underlay.local) return; // the same list on every host: skip ourselves
    if (seen.has(canonical)) throw new ValidationError(`peers[${i}]`, 'is listed twice', peer);
    seen.add(canonical);
    peers.push(canonical);
  });
  return peers;
}

type Subnet = ResolvedSpec['subnet'];

/** The containers' network, without host bits; `network` is ipaddr's form of it for containment checks. */
function resolveSubnet(text: unknown): { subnet: Subnet; network: [ipaddr.IPv4 | ipaddr.IPv6, number] } {
  if (typeof text !== 'string' || !text.includes('/'))
    throw new ValidationError('subnet', 'expected a network like 10.10.0.0/24', text);
  let network: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    network = ipaddr.parseCIDR(text);
  } catch {
    throw new ValidationError('subnet', 'expected a network like 10.10.0.0/24', text);
  }
  const [base, prefixlen] = network;
  const networkAddress = (
    base.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text)
  ).toString();
  if (canonicalAddress(base.toString()) !== canonicalAddress(networkAddress))
    throw new ValidationError('subnet', `has host bits set: did you mean ${networkAddress}/${prefixlen}?`, text);
  const address = canonicalAddress(networkAddress);
  return { subnet: { text: `${address}/${prefixlen}`, address, prefixlen }, network };
}

function resolveGateway(
  gateway: unknown,
  subnet: Subnet,
  network: [ipaddr.IPv4 | ipaddr.IPv6, number],
): string | undefined {
  if (gateway === undefined) return undefined;
  addressFamily(gateway, 'gateway');
  const parsed = ipaddr.parse(gateway as string);
  if (parsed.kind() !== network[0].kind() || !parsed.match(network))
    throw new ValidationError('gateway', `is not inside the subnet ${subnet.text}`, gateway);
  if (canonicalAddress(gateway as string) === subnet.address)
    throw new ValidationError('gateway', 'is the network address itself', gateway);
  return canonicalAddress(gateway as string);
}

function resolveDeviceNames(spec: OverlaySpec, name: string, underlay: string): { vxlan: string; bridge: string } {
  const vxlan =
    spec.vxlan === undefined ? defaultName('vx', name, 'vxlan') : validatePortableIfname(spec.vxlan, 'vxlan');
  const bridge =
    spec.bridge === undefined ? defaultName('br', name, 'bridge') : validatePortableIfname(spec.bridge, 'bridge');
  if (vxlan === bridge)
    throw new ValidationError('bridge', 'the bridge and the VXLAN device need different names', bridge);
  if (vxlan === underlay || bridge === underlay)
    throw new ValidationError('underlay.device', 'is also the name of the VXLAN device or the bridge', underlay);
  return { vxlan, bridge };
}

function resolveMasquerade(input: OverlaySpec['masquerade'], gateway: string | undefined): ResolvedSpec['masquerade'] {
  if (input === undefined || input === false) return undefined;
  const m: Record<string, unknown> = input === true ? {} : (input as unknown as Record<string, unknown>);
  if (!isObject(m)) throw new ValidationError('masquerade', 'true, false or { enabled?, egress? }', input);
  checkKeys(m, ['enabled', 'egress'], 'masquerade');
  if (m.enabled !== undefined && typeof m.enabled !== 'boolean')
    throw new ValidationError('masquerade.enabled', 'true or false', m.enabled);
  if (m.enabled === false) return undefined;
  if (m.egress !== undefined) validatePortableIfname(m.egress, 'masquerade.egress');
  if (gateway === undefined)
    throw new ValidationError('gateway', 'masquerade needs a gateway on the bridge for containers to route through');
  return m.egress !== undefined ? { egress: m.egress as string } : {};
}

function resolveFirewall(input: OverlaySpec['firewall']): ResolvedSpec['firewall'] {
  if (input === undefined || input === false) return undefined;
  const f: Record<string, unknown> = input === true ? {} : (input as unknown as Record<string, unknown>);
  if (!isObject(f)) throw new ValidationError('firewall', 'true, false or { openPort?, peersOnly? }', input);
  checkKeys(f, ['openPort', 'peersOnly'], 'firewall');
  for (const key of ['openPort', 'peersOnly'] as const) {
    if (f[key] !== undefined && typeof f[key] !== 'boolean')
      throw new ValidationError(`firewall.${key}`, 'true or false', f[key]);
  }
  return f.openPort === false ? undefined : { peersOnly: (f.peersOnly as boolean | undefined) ?? true };
}

/**
 * Specs that resolveSpec made. Only the library can add to this set, and a
 * resolved spec is frozen, so an object that looks resolved (has a `mode`)
 * but skipped validation, or was changed after it, is validated again.
 */
const resolvedSpecs = new WeakSet<object>();

function brand<T extends object>(spec: T): T {
  const frozen = deepFreeze(structuredClone(spec));
  resolvedSpecs.add(frozen);
  return frozen;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** True for a spec resolveSpec returned (and so validated). */
export function isResolvedSpec(value: unknown): value is ResolvedSpec {
  return (
    typeof value === 'object' &&
    value !== null &&
    resolvedSpecs.has(value) &&
    (value as { mode?: string }).mode !== 'routed'
  );
}

/** A spec of either mode, as written. */
export type AnySpec = OverlaySpec | RoutedSpec;
/** A validated spec of either mode: `mode` tells which ('routed', or the VXLAN membership). */
export type AnyResolvedSpec = ResolvedSpec | ResolvedRoutedSpec;

/** Validates a spec of either mode (`mode: routed`, or VXLAN: the default) and fills in its defaults. */
export function resolveAnySpec(input: unknown): AnyResolvedSpec {
  if (isObject(input) && input.mode === 'routed') return brand(resolveRoutedSpec(input));
  return resolveSpec(input);
}

/** Either mode: `input` itself when resolveAnySpec (or resolveSpec) made it, else resolveAnySpec(input). */
export function toAnyResolvedSpec(input: unknown): AnyResolvedSpec {
  return typeof input === 'object' && input !== null && resolvedSpecs.has(input)
    ? (input as AnyResolvedSpec)
    : resolveAnySpec(input);
}

/**
 * A routed spec with `routes` as its static table: the agent's table from etcd membership (routesFromMembers
 * checked each entry against the spec already; the plan checks them against the host).
 */
export function withStaticRoutes(
  spec: ResolvedRoutedSpec,
  routes: readonly { subnet: string; via: string }[],
): ResolvedRoutedSpec {
  const table = routes.map((r, i) => ({ subnet: ipv4Subnet(r.subnet, `routes.static[${i}].subnet`), via: r.via }));
  return brand({ ...spec, routes: { static: table } });
}

export function isRoutedSpec(spec: AnyResolvedSpec): spec is ResolvedRoutedSpec {
  return spec.mode === 'routed';
}

/** A validated spec: `input` itself when resolveSpec made it, else resolveSpec(input). */
export function toResolvedSpec(input: unknown): ResolvedSpec {
  return isResolvedSpec(input) ? input : resolveSpec(input);
}

/**
 * Reads a spec file: JSON (.json) or YAML (anything else), then validates it.
 * The bytes must be UTF-8 (a UTF-8 byte order mark is allowed): anything else
 * is refused, never decoded with replacement characters. Every error about
 * the file is a ValidationError on `spec`, one line: FILE:LINE:COLUMN and the
 * reason (the parser's own error, with its excerpt, is its `cause`). Nothing
 * is sent or written.
 */
export async function loadSpec(path: string): Promise<ResolvedSpec> {
  const spec = await loadAnySpec(path);
  if (isRoutedSpec(spec))
    throw new ValidationError('mode', `${path} is a routed spec: read it with loadAnySpec`, 'routed');
  return spec;
}

/** loadSpec for either mode. */
export async function loadAnySpec(path: string): Promise<AnyResolvedSpec> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new VxnetError(`cannot read the spec ${path}: ${(error as Error).message}`);
  }
  return resolveAnySpec(parseSpecText(decodeSpecFile(bytes, path), path));
}
