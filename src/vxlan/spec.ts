/**
 * The VXLAN spec and its validation: everything checked before anything is
 * sent, each error naming the field.
 */
import { createHash } from 'node:crypto';
import { formatIPv6, parseIPv6 } from '../netlink/codec.js';
import { ValidationError } from '../netlink/errors.js';
import { validateOwner } from '../common/ownership.js';
import {
  addressFamily,
  isMulticast,
  validateIfname,
  validateMtu,
  validatePort,
  validatePortableIfname,
  validateVni,
} from '../rtnetlink/validate.js';

/** IANA's VXLAN port. (The Linux driver's own default, when no port is given, is 8472.) */
export const VXLAN_PORT = 4789;
export const LINUX_DEFAULT_VXLAN_PORT = 8472;

/** Bytes VXLAN adds to each frame: outer IP + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export const VXLAN_OVERHEAD = { 4: 20 + 8 + 8 + 14, 6: 40 + 8 + 8 + 14 } as const;

export interface VxlanSpec {
  /** Device name, e.g. "vx0". */
  name: string;
  /** VXLAN network identifier (24 bits), e.g. 42. */
  vni: number;
  /** The underlay device the tunnel runs over (and joins the multicast group on), e.g. "eth0". */
  underlay?: string;
  /** This host's underlay address (the tunnel's source). */
  local?: string;
  /** Multicast group for flooding (multicast mode), e.g. "239.1.1.1". */
  group?: string;
  /** Unicast peers for flooding (cloud mode, no multicast): the other hosts' underlay addresses. */
  peers?: string[];
  /** UDP port; default 4789 (IANA). 8472 is the Linux driver's default: every host must agree. */
  port?: number;
  /** Outer TTL; default: the kernel's (inherit from the route). */
  ttl?: number;
  /** Learn remote MACs from received traffic; default true. */
  learning?: boolean;
  /** Device MTU; default the underlay's MTU minus 50 (IPv4) or 70 (IPv6). */
  mtu?: number;
  /** Marks the device as vxnet's (alias "vxnet:<owner>"). */
  owner?: string;
  /**
   * The device's MAC when it is created; an existing device keeps its own
   * (never changed in place). Default: the kernel's random one.
   */
  createAddress?: string;
}

export type AddressFamily = 4 | 6;

/** Checks a spec; returns the underlay address family it implies (4 when nothing says). */
export function validateVxlanSpec(spec: VxlanSpec): AddressFamily {
  if (typeof spec !== 'object' || spec === null)
    throw new ValidationError('vxlan', 'expected a VXLAN spec object', spec);
  validatePortableIfname(spec.name, 'name');
  validateVni(spec.vni, 'vni');
  if (spec.port !== undefined) validatePort(spec.port, 'port');
  if (spec.underlay !== undefined) validateIfname(spec.underlay, 'underlay');
  if (spec.mtu !== undefined) validateMtu(spec.mtu, 'mtu');
  if (spec.owner !== undefined) validateOwner(spec.owner);
  if (spec.ttl !== undefined && (!Number.isInteger(spec.ttl) || spec.ttl < 1 || spec.ttl > 255)) {
    throw new ValidationError('ttl', 'a TTL is 1 to 255 (leave it unset to inherit)', spec.ttl);
  }
  if (spec.learning !== undefined && typeof spec.learning !== 'boolean')
    throw new ValidationError('learning', 'true or false', spec.learning);
  if (spec.group !== undefined && spec.peers !== undefined) {
    throw new ValidationError('peers', 'flood either to a multicast group or to unicast peers, not both');
  }
  const families: [string, AddressFamily][] = [];
  if (spec.local !== undefined) {
    const family = addressFamily(spec.local, 'local');
    if (isMulticast(spec.local))
      throw new ValidationError('local', "the local address is this host's unicast underlay address", spec.local);
    families.push(['local', family]);
  }
  if (spec.group !== undefined) {
    const family = addressFamily(spec.group, 'group');
    if (!isMulticast(spec.group)) {
      throw new ValidationError(
        'group',
        `is not a multicast address (IPv4 224.0.0.0/4, IPv6 ff00::/8); for unicast peers use peers`,
        spec.group,
      );
    }
    if (spec.underlay === undefined)
      throw new ValidationError('underlay', 'a multicast group needs the underlay device to join it on');
    families.push(['group', family]);
  }
  if (spec.peers !== undefined) {
    if (!Array.isArray(spec.peers)) throw new ValidationError('peers', 'expected a list of addresses', spec.peers);
    const seen = new Set<string>();
    spec.peers.forEach((peer, i) => {
      const family = addressFamily(peer, `peers[${i}]`);
      if (isMulticast(peer))
        throw new ValidationError(`peers[${i}]`, 'a peer is a unicast address (for multicast use group)', peer);
      const canonical = canonicalAddress(peer);
      if (seen.has(canonical)) throw new ValidationError(`peers[${i}]`, 'is listed twice', peer);
      if (spec.local !== undefined && canonical === canonicalAddress(spec.local))
        throw new ValidationError(`peers[${i}]`, "is this host's own local address", peer);
      seen.add(canonical);
      families.push([`peers[${i}]`, family]);
    });
  }
  const [first] = families;
  for (const [field, family] of families) {
    if (first && family !== first[1])
      throw new ValidationError(
        field,
        `is IPv${family} but ${first[0]} is IPv${first[1]}: one address family per overlay`,
      );
  }
  return first?.[1] ?? 4;
}

/** The same text for the same address ("2001:db8::1" and "2001:0db8::0001" alike), as the kernel's answers decode. */
export function canonicalAddress(address: string): string {
  return address.includes(':') ? formatIPv6(Buffer.from(parseIPv6(address, 'address')), 0) : address;
}

/**
 * A VXLAN device's MAC derived from its network and this host's underlay
 * address: locally administered, unicast, and the same every time the
 * device is created again (after a reboot), so what others know the host by
 * (its etcd registration's `mac`) does not change with it.
 */
export function stableVxlanMac(network: string, local: string): string {
  const digest = createHash('sha256')
    .update(`vxnet vxlan ${network} ${canonicalAddress(local)}`)
    .digest();
  // 0x02: locally administered; bit 0 clear: unicast.
  const bytes = [(digest.readUInt8(0) & 0xfc) | 0x02, ...digest.subarray(1, 6)];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
