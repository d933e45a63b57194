/**
 * Building blocks for rules, each producing exactly the expressions `nft`
 * itself sends for the same words (checked against `nft --debug=netlink`):
 * `match.ipSaddr('10.244.0.0/24')` is nft's `ip saddr 10.244.0.0/24`, a
 * 3-byte payload load and a cmp. They are written for tables of the ip (and
 * ip6) family: an inet table needs `match.nfproto(...)` in front, as nft adds.
 */
import ipaddr from 'ipaddr.js';
import { ValidationError } from '../netlink/errors.js';
import { writeU32 } from '../netlink/bytes.js';
import {
  CT_STATE_BITS,
  type CtStateName,
  IPPROTO_TCP,
  IPPROTO_UDP,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  NFT_REG_1,
  NFT_REG_2,
  NFT_REG_VERDICT,
} from './constants.js';
import type { Expression } from './expr/index.js';
import type { MasqFlag } from './expr/masq.js';
import { checkInterfaceName, checkName } from './names.js';
import { checkInt } from '../netlink/codec.js';

/** Where the fields nft matches lie in their headers (offsetof in struct iphdr, ipv6hdr, udphdr and tcphdr). */
const IPV4_SADDR = 12;
const IPV4_DADDR = 16;
const IPV6_SADDR = 8;
const IPV6_DADDR = 24;
const L4_DPORT = 2;

/** A parsed prefix: the address family, the network's bytes and the prefix length. */
export interface Prefix {
  family: 'ipv4' | 'ipv6';
  bytes: Uint8Array;
  length: number;
  text: string;
}

/**
 * Parses "10.244.0.0/24" (ipaddr.js). The address must be the network
 * itself: host bits set are most likely a typo for another network.
 */
export function parsePrefix(text: unknown, field: string): Prefix {
  if (typeof text !== 'string' || !ipaddr.isValidCIDR(text))
    throw new ValidationError(field, 'expected a network in CIDR form, like 10.244.0.0/24', text);
  const [address, length] = ipaddr.parseCIDR(text);
  const [addressText = ''] = text.split('/'); // split always yields a first element
  const family = address.kind() as 'ipv4' | 'ipv6';
  if (family === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(addressText)) {
    throw new ValidationError(field, 'expected an IPv4 network in dotted-quad form, like 10.244.0.0/24', text);
  }
  const network =
    family === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
  if (network.toString() !== address.toString()) {
    throw new ValidationError(
      field,
      `host bits are set: the network of this prefix is ${network.toString()}/${length}`,
      text,
    );
  }
  if (length === 0)
    throw new ValidationError(field, 'a /0 prefix matches every address; leave the match out instead', text);
  return { family, bytes: Uint8Array.from(address.toByteArray()), length, text };
}

/** Parses a single IPv4 address. */
export function parseIPv4(text: unknown, field: string): Uint8Array {
  if (typeof text !== 'string' || !ipaddr.IPv4.isValidFourPartDecimal(text)) {
    if (typeof text === 'string' && ipaddr.IPv6.isValid(text))
      throw new ValidationError(field, 'family mismatch: an IPv6 address where IPv4 is needed', text);
    throw new ValidationError(field, 'expected an IPv4 address (a.b.c.d)', text);
  }
  return Uint8Array.from(ipaddr.IPv4.parse(text).toByteArray());
}

function addressMatch(offset: number, prefix: Prefix, op: 'eq' | 'neq'): Expression[] {
  const size = prefix.bytes.length;
  if (prefix.length === size * 8) {
    return [
      { type: 'payload', base: 'network', offset, len: size, dreg: NFT_REG_1 },
      { type: 'cmp', sreg: NFT_REG_1, op, data: prefix.bytes },
    ];
  }
  if (prefix.length % 8 === 0) {
    // nft loads only the prefix's bytes: no mask needed.
    const len = prefix.length / 8;
    return [
      { type: 'payload', base: 'network', offset, len, dreg: NFT_REG_1 },
      { type: 'cmp', sreg: NFT_REG_1, op, data: prefix.bytes.slice(0, len) },
    ];
  }
  const mask = new Uint8Array(size);
  for (let i = 0; i < size; i++) mask[i] = (0xff00 >> Math.min(8, Math.max(0, prefix.length - 8 * i))) & 0xff;
  return [
    { type: 'payload', base: 'network', offset, len: size, dreg: NFT_REG_1 },
    { type: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len: size, mask, xor: new Uint8Array(size) },
    { type: 'cmp', sreg: NFT_REG_1, op, data: prefix.bytes },
  ];
}

function toPrefix(value: string | Prefix, field: string, family: 'ipv4' | 'ipv6'): Prefix {
  const prefix =
    typeof value === 'string'
      ? parsePrefix(value.includes('/') ? value : `${value}/${family === 'ipv4' ? 32 : 128}`, field)
      : value;
  if (prefix.family !== family)
    throw new ValidationError(
      field,
      `family mismatch: an ${prefix.family === 'ipv4' ? 'IPv4' : 'IPv6'} network ` +
        `where ${family === 'ipv4' ? 'IPv4' : 'IPv6'} is needed`,
      prefix.text,
    );
  return prefix;
}

const hostOrderU32 = (value: number): Uint8Array => {
  const bytes = new Uint8Array(4);
  writeU32(bytes, 0, value);
  return bytes;
};

const ifname = (name: string, field: string): Uint8Array => {
  // nft compares the whole IFNAMSIZ buffer: the name, then NULs up to 16 bytes.
  const bytes = new Uint8Array(16);
  bytes.set(Buffer.from(checkInterfaceName(name, field)));
  return bytes;
};

const L4 = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP } as const;

export const match = {
  /** `ip saddr PREFIX` (or `!=` with negate). A bare address is a /32. */
  ipSaddr: (prefix: string | Prefix, options: { negate?: boolean } = {}): Expression[] =>
    addressMatch(IPV4_SADDR, toPrefix(prefix, 'ip saddr', 'ipv4'), options.negate ? 'neq' : 'eq'),
  /** `ip daddr PREFIX`. */
  ipDaddr: (prefix: string | Prefix, options: { negate?: boolean } = {}): Expression[] =>
    addressMatch(IPV4_DADDR, toPrefix(prefix, 'ip daddr', 'ipv4'), options.negate ? 'neq' : 'eq'),
  /** `ip6 saddr PREFIX`. */
  ip6Saddr: (prefix: string | Prefix, options: { negate?: boolean } = {}): Expression[] =>
    addressMatch(IPV6_SADDR, toPrefix(prefix, 'ip6 saddr', 'ipv6'), options.negate ? 'neq' : 'eq'),
  /** `ip6 daddr PREFIX`. */
  ip6Daddr: (prefix: string | Prefix, options: { negate?: boolean } = {}): Expression[] =>
    addressMatch(IPV6_DADDR, toPrefix(prefix, 'ip6 daddr', 'ipv6'), options.negate ? 'neq' : 'eq'),
  /** `ip saddr @SET`: the source address is in the named set (setId when the set is created in the same batch). */
  ipSaddrInSet: (set: string, setId?: number): Expression[] => [
    { type: 'payload', base: 'network', offset: IPV4_SADDR, len: 4, dreg: NFT_REG_1 },
    { type: 'lookup', set: checkName(set, 'set'), sreg: NFT_REG_1, ...(setId !== undefined ? { setId } : {}) },
  ],
  /** `ip6 saddr @SET` (an ipv6_addr set): a 16-byte load at network header + 8 and the lookup. */
  ip6SaddrInSet: (set: string, setId?: number): Expression[] => [
    { type: 'payload', base: 'network', offset: IPV6_SADDR, len: 16, dreg: NFT_REG_1 },
    { type: 'lookup', set: checkName(set, 'set'), sreg: NFT_REG_1, ...(setId !== undefined ? { setId } : {}) },
  ],
  /** `meta nfproto ipv4|ipv6` (inet tables). */
  nfproto: (family: 'ipv4' | 'ipv6'): Expression[] => [
    { type: 'meta', key: 'nfproto', dreg: NFT_REG_1 },
    { type: 'cmp', sreg: NFT_REG_1, op: 'eq', data: Uint8Array.of(family === 'ipv4' ? NFPROTO_IPV4 : NFPROTO_IPV6) },
  ],
  /** `meta l4proto udp`. */
  l4proto: (protocol: keyof typeof L4 | number): Expression[] => [
    { type: 'meta', key: 'l4proto', dreg: NFT_REG_1 },
    {
      type: 'cmp',
      sreg: NFT_REG_1,
      op: 'eq',
      data: Uint8Array.of(typeof protocol === 'number' ? checkInt(protocol, 0, 255, 'l4proto') : L4[protocol]),
    },
  ],
  /** `udp dport PORT` (with the l4proto match nft adds in front). */
  udpDport: (port: number): Expression[] => portMatch('udp', port),
  /** `tcp dport PORT`. */
  tcpDport: (port: number): Expression[] => portMatch('tcp', port),
  /** `iifname "NAME"`. */
  iifname: (name: string): Expression[] => [
    { type: 'meta', key: 'iifname', dreg: NFT_REG_1 },
    { type: 'cmp', sreg: NFT_REG_1, op: 'eq', data: ifname(name, 'iifname') },
  ],
  /** `oifname "NAME"`. */
  oifname: (name: string): Expression[] => [
    { type: 'meta', key: 'oifname', dreg: NFT_REG_1 },
    { type: 'cmp', sreg: NFT_REG_1, op: 'eq', data: ifname(name, 'oifname') },
  ],
  /** `ct state established,related`: any of the states. */
  ctState: (states: CtStateName[]): Expression[] => {
    if (!Array.isArray(states) || states.length === 0)
      throw new ValidationError('ct state', 'a non-empty list of states', states);
    let bits = 0;
    for (const state of states) {
      if (!Object.hasOwn(CT_STATE_BITS, state))
        throw new ValidationError('ct state', `not a state (${Object.keys(CT_STATE_BITS).join(', ')})`, state);
      bits |= CT_STATE_BITS[state];
    }
    return [
      { type: 'ct', key: 'state', dreg: NFT_REG_1 },
      { type: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len: 4, mask: hostOrderU32(bits), xor: new Uint8Array(4) },
      { type: 'cmp', sreg: NFT_REG_1, op: 'neq', data: new Uint8Array(4) },
    ];
  },
};

function portMatch(protocol: keyof typeof L4, port: number): Expression[] {
  const value = checkInt(port, 0, 0xffff, `${protocol} dport`);
  return [
    ...match.l4proto(protocol),
    { type: 'payload', base: 'transport', offset: L4_DPORT, len: 2, dreg: NFT_REG_1 },
    { type: 'cmp', sreg: NFT_REG_1, op: 'eq', data: Uint8Array.of(value >> 8, value & 0xff) },
  ];
}

/** Verdicts: the last expression of a rule. */
export const verdict = {
  accept: (): Expression => ({ type: 'immediate', dreg: NFT_REG_VERDICT, verdict: 'accept' }),
  drop: (): Expression => ({ type: 'immediate', dreg: NFT_REG_VERDICT, verdict: 'drop' }),
  return: (): Expression => ({ type: 'immediate', dreg: NFT_REG_VERDICT, verdict: 'return' }),
  jump: (chain: string): Expression => ({
    type: 'immediate',
    dreg: NFT_REG_VERDICT,
    verdict: 'jump',
    chain: checkName(chain, 'jump'),
  }),
  goto: (chain: string): Expression => ({
    type: 'immediate',
    dreg: NFT_REG_VERDICT,
    verdict: 'goto',
    chain: checkName(chain, 'goto'),
  }),
};

/** `counter`. */
export const counter = (): Expression => ({ type: 'counter' });

export interface MasqExpressionOptions {
  flags?: MasqFlag[];
  /** `to :MIN-MAX`: the source ports to use (nft requires a tcp/udp match before it). */
  ports?: readonly [number, number];
}

/** `masquerade [to :MIN-MAX] [flags]`. */
export function masquerade(options: MasqExpressionOptions = {}): Expression[] {
  if (!options.ports) return [{ type: 'masq', ...(options.flags?.length ? { flags: [...options.flags] } : {}) }];
  const [min, max] = options.ports;
  checkInt(min, 1, 0xffff, 'ports[0]');
  checkInt(max, min, 0xffff, 'ports[1]');
  return [
    { type: 'immediate', dreg: NFT_REG_1, data: Uint8Array.of(min >> 8, min & 0xff) },
    { type: 'immediate', dreg: NFT_REG_2, data: Uint8Array.of(max >> 8, max & 0xff) },
    {
      type: 'masq',
      ...(options.flags?.length ? { flags: [...options.flags] } : {}),
      regProtoMin: NFT_REG_1,
      regProtoMax: NFT_REG_2,
    },
  ];
}
