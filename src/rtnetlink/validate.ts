/**
 * Checks made before anything is sent: a request the kernel would refuse
 * with a bare EINVAL gets a ValidationError that names the field instead.
 */
import ipaddr from 'ipaddr.js';
import { ipv4Bytes, isIPv4Text, parseMac } from '../netlink/codec.js';
import { ValidationError } from '../netlink/errors.js';
import type { RequestOf } from '../netlink/schema.js';
import type { vxlanAttrs } from './schema/kinds/vxlan.js';

/** IFNAMSIZ is 16 with the NUL: 15 bytes of name. */
export const IFNAME_MAX_BYTES = 15;

/** The bytes the kernel's isspace() matches (lib/ctype.c): \t \n \v \f \r, space, and 0xA0 (Latin-1 no-break space). */
function isKernelSpace(byte: number): boolean {
  return (byte >= 0x09 && byte <= 0x0d) || byte === 0x20 || byte === 0xa0;
}

/** Whether a JS string has a lone UTF-16 surrogate (which would be sent as U+FFFD). */
function hasLoneSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return true;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return true;
  }
  return false;
}

/**
 * The kernel's own rule, dev_valid_name(), on the UTF-8 bytes of the name:
 * 1–15 bytes, not "." or "..", no "/", ":", NUL or isspace() byte (which
 * includes 0xA0: "à" is C3 A0 and the kernel refuses it). Used for every
 * request, including lookups of devices someone else named: a device with an
 * odd (but kernel-valid) name can still be read and deleted. Names vxnet is
 * asked to create go through validatePortableIfname as well.
 */
export function validateIfname(name: unknown, field = 'ifname'): string {
  if (typeof name !== 'string' || name.length === 0)
    throw new ValidationError(field, 'an interface name is a non-empty string', name);
  if (hasLoneSurrogate(name))
    throw new ValidationError(
      field,
      'an interface name cannot hold a lone UTF-16 surrogate (it has no UTF-8 form)',
      name,
    );
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length > IFNAME_MAX_BYTES)
    throw new ValidationError(field, `an interface name has at most ${IFNAME_MAX_BYTES} bytes`, name);
  if (name === '.' || name === '..' || bytes.some((b) => b === 0x2f || b === 0x3a || b === 0 || isKernelSpace(b))) {
    throw new ValidationError(
      field,
      'an interface name has no "/", ":", whitespace or NUL and is not "." or ".." ' +
        '(the kernel also refuses the byte 0xA0, as in "à")',
      name,
    );
  }
  return name;
}

function describeCharacter(char: string): string {
  const code = char.codePointAt(0)!; // one character (from for…of): never empty
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  // Printable characters are shown as themselves, the others (controls, spaces, format characters) only by code point.
  return /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(char) ? `"${char}" (${hex})` : hex;
}

/**
 * Names vxnet creates, or is given in a spec: the kernel's rule, narrowed to
 * what iproute2 and the other tools handle in practice: printable ASCII
 * (0x21–0x7E) without "/" and ":", 1–15 bytes, not "." or "..". The error
 * names the refused character and its position (1-based, in characters).
 */
export function validatePortableIfname(name: unknown, field = 'ifname'): string {
  if (typeof name !== 'string' || name.length === 0)
    throw new ValidationError(field, 'an interface name is a non-empty string', name);
  let position = 0;
  for (const char of name) {
    position++;
    const code = char.codePointAt(0)!; // for…of yields non-empty characters
    if (code < 0x21 || code > 0x7e || char === '/' || char === ':') {
      throw new ValidationError(
        field,
        `refuses ${describeCharacter(char)} at position ${position}: ` +
          `an interface name is printable ASCII (! to ~) without "/" or ":"`,
        name,
      );
    }
  }
  return validateIfname(name, field);
}

/** The MTUs the kernel accepts for an Ethernet device (ETH_MIN_MTU, ETH_MAX_MTU). */
const MIN_MTU = 68;
const MAX_MTU = 0xffff;

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
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
    throw new ValidationError(field, `an MTU is an integer from ${MIN_MTU} to ${MAX_MTU}`, mtu);
  }
  return mtu;
}

/**
 * A device alias (IFLA_IFALIAS): text, at most 254 bytes. The kernel keeps
 * an alias and its terminating NUL (which vxnet sends) below IFALIASZ, 256,
 * and refuses longer ones with ERANGE; on a create that refusal would come
 * after the device exists (the alias is set after creation), so it is
 * refused here, before anything is sent.
 */
export function validateIfalias(alias: unknown, field = 'ifalias'): string {
  if (typeof alias !== 'string') throw new ValidationError(field, 'an alias is a string', alias);
  if (alias.includes('\0')) throw new ValidationError(field, 'an alias cannot contain NUL', alias);
  if (Buffer.byteLength(alias) > MAX_IFALIAS)
    throw new ValidationError(field, `an alias has at most ${MAX_IFALIAS} bytes`, alias);
  return alias;
}

const MAX_IFALIAS = 254;

/**
 * The address of an Ethernet device: six bytes, not multicast (the lowest
 * bit of the first byte), not all zeros. The kernel refuses the others with
 * EINVAL or EADDRNOTAVAIL.
 */
export function validateUnicastMac(mac: unknown, field = 'address'): string {
  const bytes = parseMac(mac, field);
  if (bytes.length !== 6)
    throw new ValidationError(field, `an Ethernet address has 6 bytes, this one ${bytes.length}`, mac);
  const [first = 0] = bytes; // six bytes, as just checked
  if (first & 1)
    throw new ValidationError(field, 'a device address must be unicast (the first byte is odd: multicast)', mac);
  if (bytes.every((b) => b === 0)) throw new ValidationError(field, 'a device address cannot be all zeros', mac);
  return mac as string;
}

export type Family = 4 | 6;

/**
 * Parses an address (no zone, no prefix); returns its family. IPv4 is
 * checked in one pass by the codec (the grammar of ipaddr.js's
 * isValidFourPartDecimal, without parsing the text in full first).
 */
export function addressFamily(address: unknown, field: string): Family {
  if (typeof address === 'string') {
    if (isIPv4Text(address)) return 4;
    if (!address.includes('%') && ipaddr.IPv6.isValid(address)) return 6;
  }
  throw new ValidationError(field, 'expected an IPv4 or IPv6 address', address);
}

export function isMulticast(address: string): boolean {
  // Dotted-decimal IPv4, the common case (each peer of a network, each flood entry read back), without ipaddr's
  // parser, which was most of a 1,000-peer plan's own time: IPv4 multicast is 224.0.0.0/4.
  const first = ipv4Bytes(address)?.[0];
  if (first !== undefined) return first >= 224 && first <= 239;
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
  const [address = '', length, extra] = text.split('/'); // split always yields a first element
  if (extra !== undefined) throw new ValidationError(field, 'expected an address with an optional /prefix', text);
  const family = addressFamily(address, field);
  const max = family === 4 ? 32 : 128;
  if (length === undefined) return { address, prefixlen: max, family };
  if (!/^\d{1,3}$/.test(length) || Number(length) > max)
    throw new ValidationError(field, `a prefix length is 0 to ${max}`, text);
  return { address, prefixlen: Number(length), family };
}

/** A UDP source port range (IFLA_VXLAN_PORT_RANGE): 0 0 is the driver's default; low may not exceed high. */
export function validatePortRange(range: unknown, field = 'port_range'): { low: number; high: number } {
  const r = range as { low?: unknown; high?: unknown } | null;
  if (typeof r !== 'object' || r === null) throw new ValidationError(field, 'expected { low, high }', range);
  for (const end of ['low', 'high'] as const) {
    const port = r[end];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ValidationError(`${field}.${end}`, 'a UDP port is an integer from 0 to 65535', port);
    }
  }
  if ((r.low as number) > (r.high as number))
    throw new ValidationError(field, `low (${r.low}) cannot exceed high (${r.high})`, range);
  return r as { low: number; high: number };
}

/** fe80::/10: an IPv6 address that is only meaningful together with an interface. */
export function isLinkLocal6(address: string): boolean {
  return ipaddr.parse(address).range() === 'linkLocal';
}

/**
 * Everything about VXLAN options that can be known before asking the
 * kernel, in the order the kernel itself checks them. Each rule here is one
 * the kernel answers with a bare EINVAL (or, for the flow label, silently
 * truncates), so the error names the field instead.
 */
export function validateVxlanOptions(options: VxlanLike): void {
  if (typeof options !== 'object' || options === null)
    throw new ValidationError('vxlan', 'expected the vxlan options ({ id, ... })', options);
  validateVni(options.id, 'vxlan.id');
  if (options.port !== undefined) validatePort(options.port, 'vxlan.port');
  if (options.port_range !== undefined) validatePortRange(options.port_range, 'vxlan.port_range');
  const byte = (field: 'ttl' | 'tos', what: string): void => {
    const value = options[field];
    if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255)) {
      throw new ValidationError(`vxlan.${field}`, what, value);
    }
  };
  byte('ttl', 'a TTL is 0 to 255 (0: inherit from the route)');
  byte('tos', 'a TOS is 0 to 255 (1: inherit from the inner packet)');
  if (options.df !== undefined && (typeof options.df !== 'number' || ![0, 1, 2].includes(options.df))) {
    throw new ValidationError('vxlan.df', 'df is 0 (unset), 1 (set) or 2 (inherit)', options.df);
  }
  if (
    options.label !== undefined &&
    (typeof options.label !== 'number' ||
      !Number.isInteger(options.label) ||
      options.label < 0 ||
      options.label > 0xfffff)
  ) {
    // The kernel masks the label to 20 bits without a word: a larger value would be silently changed.
    throw new ValidationError('vxlan.label', 'an IPv6 flow label is 0 to 1048575 (20 bits)', options.label);
  }
  if (options.ageing === 0) {
    // The kernel reads 0 as "use the default" and stores 300 without a word.
    throw new ValidationError(
      'vxlan.ageing',
      'an FDB lifetime is 1 second or more (the kernel turns 0 into its default, 300 s); omit it for the default',
      0,
    );
  }
  for (const [field, family] of [
    ['group', 4],
    ['local', 4],
    ['group6', 6],
    ['local6', 6],
  ] as const) {
    const value = options[field];
    if (value !== undefined && addressFamily(value, `vxlan.${field}`) !== family) {
      throw new ValidationError(
        `vxlan.${field}`,
        `expected an IPv${family} address ` +
          `(use ${family === 4 ? `${field}6` : field.slice(0, -1)} for IPv${family === 4 ? 6 : 4})`,
        value,
      );
    }
  }
  if (options.group !== undefined && options.group6 !== undefined) {
    throw new ValidationError(
      'vxlan.group6',
      'a device has one remote: group (IPv4) or group6 (IPv6), not both',
      options.group6,
    );
  }
  if (options.local !== undefined && options.local6 !== undefined) {
    throw new ValidationError(
      'vxlan.local6',
      'a device has one local address: local (IPv4) or local6 (IPv6), not both',
      options.local6,
    );
  }
  const remote =
    options.group !== undefined
      ? (['group', options.group, 4] as const)
      : options.group6 !== undefined
        ? (['group6', options.group6, 6] as const)
        : undefined;
  const local =
    options.local !== undefined
      ? (['local', options.local, 4] as const)
      : options.local6 !== undefined
        ? (['local6', options.local6, 6] as const)
        : undefined;
  if (remote && local && remote[2] !== local[2]) {
    throw new ValidationError(
      `vxlan.${local[0]}`,
      `is IPv${local[2]} but vxlan.${remote[0]} is IPv${remote[2]}: ` +
        `the local and remote addresses of a device are one family`,
      local[1],
    );
  }
  if (remote && isMulticast(remote[1]) && options.link === undefined) {
    // The kernel refuses this with a bare EINVAL ("multicast destination requires interface").
    throw new ValidationError('vxlan.link', `a multicast group (${remote[1]}) needs the underlay device to join it on`);
  }
  for (const [field, value] of [
    ['group6', options.group6],
    ['local6', options.local6],
  ] as const) {
    if (value !== undefined && isLinkLocal6(value) && options.link === undefined) {
      throw new ValidationError(
        'vxlan.link',
        `a link-local ${field} (${value}) is only meaningful on one interface: give the underlay device`,
      );
    }
  }
  if (options.vnifilter && !options.external) {
    throw new ValidationError(
      'vxlan.vnifilter',
      'VNI filtering works only on an external (collect-metadata) device: set external: 1',
      options.vnifilter,
    );
  }
}

/** The VXLAN options validateVxlanOptions reads (links.ts's VxlanOptions): a request's, id and link unchecked yet. */
export type VxlanLike = Omit<RequestOf<typeof vxlanAttrs>, 'id' | 'link'> & { id?: unknown; link?: unknown };

/** Addresses that must share one family (a VXLAN's group, local address and peers). */
export function sameFamily(entries: [field: string, address: string | undefined][]): Family | undefined {
  let first: [string, Family] | undefined;
  for (const [field, address] of entries) {
    if (address === undefined) continue;
    const family = addressFamily(address, field);
    if (!first) first = [field, family];
    else if (first[1] !== family) {
      throw new ValidationError(
        field,
        `is IPv${family} but ${first[0]} is IPv${first[1]}: one family per device`,
        address,
      );
    }
  }
  return first?.[1];
}
