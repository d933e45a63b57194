/**
 * Checks made before anything is sent: a request the kernel would refuse
 * with a bare EINVAL gets a ValidationError that names the field instead.
 */
import ipaddr from 'ipaddr.js';
import { ValidationError } from '../netlink/errors.js';

/** IFNAMSIZ is 16 with the NUL: 15 bytes of name. */
export const IFNAME_MAX_BYTES = 15;

/** dev_valid_name(): 1–15 bytes, not "." or "..", no "/", ":" or whitespace. */
export function validateIfname(name: unknown, field = 'ifname'): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(field, 'an interface name is a non-empty string', name);
  if (Buffer.byteLength(name) > IFNAME_MAX_BYTES) throw new ValidationError(field, `an interface name has at most ${IFNAME_MAX_BYTES} bytes`, name);
  if (name === '.' || name === '..' || /[/:\s\0]/.test(name)) {
    throw new ValidationError(field, 'an interface name has no "/", ":", whitespace or NUL and is not "." or ".."', name);
  }
  return name;
}

/** A VXLAN network identifier: 24 bits. */
export function validateVni(vni: unknown, field = 'id'): number {
  if (typeof vni !== 'number' || !Number.isInteger(vni) || vni < 0 || vni >= 2 ** 24) {
    throw new ValidationError(field, 'a VNI is an integer from 0 to 16777215 (24 bits)', vni);
  }
  return vni;
}

export function validatePort(port: unknown, field = 'port'): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(field, 'a UDP port is an integer from 1 to 65535', port);
  }
  return port;
}

export function validateMtu(mtu: unknown, field = 'mtu'): number {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 65535) {
    throw new ValidationError(field, 'an MTU is an integer from 68 to 65535', mtu);
  }
  return mtu;
}

export type Family = 4 | 6;

/** Parses an address (no zone, no prefix); returns its family. */
export function addressFamily(address: unknown, field: string): Family {
  if (typeof address === 'string') {
    if (ipaddr.IPv4.isValidFourPartDecimal(address)) return 4;
    if (!address.includes('%') && ipaddr.IPv6.isValid(address)) return 6;
  }
  throw new ValidationError(field, 'expected an IPv4 or IPv6 address', address);
}

export function isMulticast(address: string): boolean {
  return ipaddr.parse(address).range() === 'multicast';
}

export interface Prefix {
  address: string;
  prefixlen: number;
  family: Family;
}

/** "10.0.0.1/24" → address, prefix length and family; a bare address gets the full length. */
export function parsePrefix(text: unknown, field: string): Prefix {
  if (typeof text !== 'string') throw new ValidationError(field, 'expected an address with an optional /prefix', text);
  const [address, length, extra] = text.split('/');
  if (extra !== undefined) throw new ValidationError(field, 'expected an address with an optional /prefix', text);
  const family = addressFamily(address, field);
  const max = family === 4 ? 32 : 128;
  if (length === undefined) return { address: address!, prefixlen: max, family };
  if (!/^\d{1,3}$/.test(length) || Number(length) > max) throw new ValidationError(field, `a prefix length is 0 to ${max}`, text);
  return { address: address!, prefixlen: Number(length), family };
}

/** Addresses that must share one family (a VXLAN's group, local address and peers). */
export function sameFamily(entries: [field: string, address: string | undefined][]): Family | undefined {
  let first: [string, Family] | undefined;
  for (const [field, address] of entries) {
    if (address === undefined) continue;
    const family = addressFamily(address, field);
    if (!first) first = [field, family];
    else if (first[1] !== family) {
      throw new ValidationError(field, `is IPv${family} but ${first[0]} is IPv${first[1]}: one family per device`, address);
    }
  }
  return first?.[1];
}
