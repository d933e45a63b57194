/**
 * The VXLAN peers' addresses as the firewall holds them: a set key of 4
 * (IPv4 underlay, table ip) or 16 bytes (IPv6 underlay, table ip6), and the
 * canonical text status reports ("192.0.2.3", "fd00::3").
 */
import ipaddr from 'ipaddr.js';
import { formatIPv6 } from '../netlink/codec.js';
import { ValidationError } from '../netlink/errors.js';
import { parseIPv4 } from '../nftables/match.js';

export type AddressFamily = 4 | 6;

export interface PeerAddress {
  family: AddressFamily;
  /** Network order: the set element's key. */
  bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 (as the kernel's answers decode). */
  text: string;
}

/**
 * Parses a peer's underlay address; with `family`, one of that family
 * (a ValidationError naming `field` otherwise, before anything is sent).
 */
export function peerAddress(text: unknown, field: string, family?: AddressFamily): PeerAddress {
  const isV6 = typeof text === 'string' && !text.includes('%') && !text.includes('/') && ipaddr.IPv6.isValid(text);
  if (family === 4 || (family === undefined && !isV6)) {
    const bytes = parseIPv4(text, field);
    return { family: 4, bytes, text: bytes.join('.') };
  }
  if (!isV6) {
    if (typeof text === 'string' && ipaddr.IPv4.isValidFourPartDecimal(text)) {
      throw new ValidationError(
        field,
        'family mismatch: an IPv4 address where IPv6 is needed (the underlay is IPv6)',
        text,
      );
    }
    throw new ValidationError(field, 'expected an IPv6 address', text);
  }
  const bytes = Uint8Array.from(ipaddr.IPv6.parse(text as string).toByteArray());
  return { family: 6, bytes, text: keyText(bytes) };
}

/** A set element's key as canonical text. */
export function keyText(key: Uint8Array): string {
  return key.length === 16 ? formatIPv6(key, 0) : key.join('.');
}

/** Canonical text (of either family) back to the key. */
export function addressKey(text: string): Uint8Array {
  return peerAddress(text, 'address').bytes;
}
