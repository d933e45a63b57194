/**
 * What vxnet keeps in etcd, and how its values are read. Everything is
 * under PREFIX/NETWORK/:
 *
 *   PREFIX/NETWORK/network          the shared parameters (JSON), written once by the first host
 *   PREFIX/NETWORK/hosts/ADDRESS    one host's registration (JSON), under that host's lease
 *
 * The key of a registration is the host's underlay address (canonical), so
 * one address is one member: a value that claims another address than its
 * key is not a member. Values are read defensively: anything under the
 * prefix that is not a well-formed registration of this network is ignored
 * with a reason naming the key, never programmed.
 */
import { addressFamily } from '../../rtnetlink/validate.js';
import type { ResolvedSpec } from '../../overlay/spec.js';
import type { ResolvedRoutedSpec } from '../../routed/spec.js';
import { canonicalAddress } from '../../vxlan/spec.js';
import { ipv4Subnet } from '../../routed/spec.js';
import type { ParameterMismatch } from './errors.js';

export function networkKey(prefix: string, network: string): string {
  return `${prefix}/${network}/network`;
}

export function hostsPrefix(prefix: string, network: string): string {
  return `${prefix}/${network}/hosts/`;
}

export function hostKey(prefix: string, network: string, address: string): string {
  return `${hostsPrefix(prefix, network)}${canonicalAddress(address)}`;
}

/** The end of etcd's range for every key starting with `prefix` (the prefix with its last byte + 1). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end[i] ?? 0xff; // i is within the buffer
    if (byte < 0xff) {
      end[i] = byte + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]); // every key
}

/** The parameters every host of a VXLAN network must share. */
export interface VxlanSharedParameters {
  vni: number;
  port: number;
  subnet: string;
  /** The overlay MTU, or "default" (the underlay's minus the overhead) when the spec leaves it out. */
  mtu: number | 'default';
  mode: 'unicast';
}

/** The parameters every host of a routed network must share (each host has a subnet of its own). */
export interface RoutedSharedParameters {
  mode: 'routed';
  /** Every host's subnets together, when the spec gives it: a host with another range is refused. */
  containerRange?: string;
}

export type SharedParameters = VxlanSharedParameters | RoutedSharedParameters;

export function sharedParameters(spec: ResolvedSpec | ResolvedRoutedSpec): SharedParameters {
  if (spec.mode === 'routed')
    return { mode: 'routed', ...(spec.containerRange ? { containerRange: spec.containerRange.text } : {}) };
  return { vni: spec.vni, port: spec.port, subnet: spec.subnet.text, mtu: spec.mtu ?? 'default', mode: 'unicast' };
}

const SHARED_FIELDS = ['vni', 'port', 'subnet', 'mtu', 'mode'] as const;
const ROUTED_FIELDS = ['mode', 'containerRange'] as const;

/** The network's record, or a reason it is not one (it is then left alone, and the host refused). */
export function parseShared(text: string): SharedParameters | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'is not a JSON object' };
  const record = value as Record<string, unknown>;
  if (record.mode === 'routed') {
    if (record.containerRange !== undefined && typeof record.containerRange !== 'string')
      return { problem: 'has a containerRange that is not a string' };
    return {
      mode: 'routed',
      ...(record.containerRange !== undefined ? { containerRange: record.containerRange } : {}),
    };
  }
  for (const field of SHARED_FIELDS) if (!(field in record)) return { problem: `has no ${field}` };
  return {
    vni: record.vni as number,
    port: record.port as number,
    subnet: record.subnet as string,
    mtu: record.mtu as number | 'default',
    mode: record.mode as 'unicast',
  };
}

/** Each field on which this host's parameters and the network's differ (only `mode` when the modes do). */
export function compareShared(ours: SharedParameters, network: SharedParameters): ParameterMismatch[] {
  if (ours.mode !== network.mode) return [{ field: 'mode', ours: ours.mode, network: network.mode }];
  const a = ours as unknown as Record<string, unknown>;
  const b = network as unknown as Record<string, unknown>;
  const fields: readonly string[] = ours.mode === 'routed' ? ROUTED_FIELDS : SHARED_FIELDS;
  return fields
    .filter((field) => a[field] !== b[field])
    .map((field) => ({
      field,
      ours: (a[field] ?? 'none') as ParameterMismatch['ours'],
      network: (b[field] ?? 'none') as ParameterMismatch['network'],
    }));
}

/**
 * One host's registration: what the other hosts need to reach it, and what
 * identifies it. A VXLAN network's has port, vni and mac; a routed
 * network's has subnet instead.
 */
export interface Registration {
  /** Underlay address (canonical); also the last part of the key. */
  address: string;
  port?: number;
  vni?: number;
  /** The VXLAN device's MAC: tells a restarted agent its own registration from another host's. */
  mac?: string;
  /** A routed network's: this host's container subnet (also what tells a restarted agent its own registration). */
  subnet?: string;
  hostname: string;
  version: string;
}

export function formatRegistration(registration: Registration): string {
  return JSON.stringify(registration);
}

/** What a registration must agree with to be a member of this network. */
export type RegistrationContext =
  | { hostsPrefix: string; mode: 'unicast'; vni: number; port: number; family: 4 | 6 }
  | { hostsPrefix: string; mode: 'routed'; family: 4 };

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** The registration under `key`, or why it is not one. */
export function parseRegistration(
  key: string,
  text: string,
  context: RegistrationContext,
): { registration: Registration } | { problem: string } {
  if (!key.startsWith(context.hostsPrefix)) return { problem: 'is not under the hosts prefix' };
  const keyAddress = key.slice(context.hostsPrefix.length);
  let family: 4 | 6;
  try {
    family = addressFamily(keyAddress, 'key');
  } catch {
    return { problem: `does not end in an address (${JSON.stringify(keyAddress)})` };
  }
  if (canonicalAddress(keyAddress) !== keyAddress) return { problem: 'ends in an address that is not canonical' };
  if (family !== context.family) return { problem: `is an IPv${family} host in an IPv${context.family} network` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: 'holds a value that is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { problem: 'holds a value that is not a JSON object' };
  const r = value as Record<string, unknown>;
  if (typeof r.address !== 'string') return { problem: 'has no address' };
  let address: string;
  try {
    addressFamily(r.address, 'address');
    address = canonicalAddress(r.address);
  } catch {
    return { problem: `has an address that is not one (${JSON.stringify(r.address)})` };
  }
  if (address !== keyAddress)
    return { problem: `claims address ${address}, but the key is ${keyAddress}'s (a host registers its own address)` };
  const hostname = typeof r.hostname === 'string' ? r.hostname : '';
  const version = typeof r.version === 'string' ? r.version : '';
  if (context.mode === 'routed') {
    if (typeof r.subnet !== 'string') return { problem: `has no subnet (${JSON.stringify(r.subnet)})` };
    let subnet: string;
    try {
      subnet = ipv4Subnet(r.subnet, 'subnet').text;
    } catch {
      return { problem: `has a subnet that is not an IPv4 network (${JSON.stringify(r.subnet)})` };
    }
    if (subnet !== r.subnet) return { problem: `has a subnet that is not canonical (${JSON.stringify(r.subnet)})` };
    return { registration: { address, subnet, hostname, version } };
  }
  if (r.port !== context.port)
    return { problem: `has port ${JSON.stringify(r.port)}, the network's is ${context.port}` };
  if (r.vni !== context.vni) return { problem: `has vni ${JSON.stringify(r.vni)}, the network's is ${context.vni}` };
  if (typeof r.mac !== 'string' || !MAC.test(r.mac)) return { problem: `has no valid mac (${JSON.stringify(r.mac)})` };
  return { registration: { address, port: r.port, vni: r.vni, mac: r.mac, hostname, version } };
}
