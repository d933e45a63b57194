/**
 * The test oracle of the attribute decoder: a plain loop that interprets a
 * schema, written for clarity and shared with production code only through
 * the schema itself, the error type and the two markers. Buffer's own
 * readers stand in for the hot-path byte arithmetic, template literals and
 * ipaddr.js for the one-allocation text formatters, and struct fields are
 * read one by one from the layout's declared offsets instead of through the
 * generated readers.
 *
 * The production decoder (`decodeAttrs`, compiled per attribute set) must
 * give exactly what this gives, errors included: codec-oracle.test.ts holds
 * the two together on every recorded kernel message and on mutations of
 * them, codec-depth.test.ts on deep nests.
 */
import { endianness } from 'node:os';
import ipaddr from 'ipaddr.js';
import { type Decoded, MAX_NEST_DEPTH, STRUCT_TAIL, UNFLAGGED_NEST } from '../../src/netlink/codec.js';
import { NLA_F_NESTED, NLA_TYPE_MASK } from '../../src/netlink/constants.js';
import { DecodeError } from '../../src/netlink/errors.js';
import type { Layout } from '../../src/netlink/layout.js';
import { type Attr, type AttrKind, type AttrSet, resolveSet } from '../../src/netlink/schema.js';

const LE = endianness() === 'LE';
const HEADER = 4;

/** The value sizes of the kinds that have only one. */
const SIZE: Partial<Record<AttrKind, number>> = {
  u8: 1,
  u16: 2,
  u32: 4,
  u64: 8,
  s8: 1,
  s16: 2,
  s32: 4,
  s64: 8,
  be16: 2,
  be32: 4,
  be64: 8,
  flag: 0,
  ipv4: 4,
  ipv6: 16,
};

/** What `decodeAttrs` returns for these bytes, or the DecodeError it throws. */
export function oracleDecodeAttrs(set: AttrSet, buf: Buffer, start: number, end: number, out: Decoded): Decoded {
  return decodeSet(set, buf, start, end, out, 0);
}

/** A struct read field by field from its declared offsets. */
export function oracleReadStruct(layout: Layout<unknown>, buf: Buffer, at: number): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const field of layout.fields) {
    const o = at + field.offset;
    switch (field.kind) {
      case 'pad':
        continue;
      case 'u8':
        value[field.name] = buf.readUInt8(o);
        break;
      case 's8':
        value[field.name] = buf.readInt8(o);
        break;
      case 'u16':
        value[field.name] = LE ? buf.readUInt16LE(o) : buf.readUInt16BE(o);
        break;
      case 's16':
        value[field.name] = LE ? buf.readInt16LE(o) : buf.readInt16BE(o);
        break;
      case 'u32':
        value[field.name] = LE ? buf.readUInt32LE(o) : buf.readUInt32BE(o);
        break;
      case 's32':
        value[field.name] = LE ? buf.readInt32LE(o) : buf.readInt32BE(o);
        break;
      case 'u64':
        value[field.name] = LE ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o);
        break;
      case 'be16':
        value[field.name] = buf.readUInt16BE(o);
        break;
      case 'be32':
        value[field.name] = buf.readUInt32BE(o);
        break;
      case 'be64':
        value[field.name] = buf.readBigUInt64BE(o);
        break;
    }
  }
  return value;
}

/** a.b.c.d */
export function oracleIPv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** RFC 5952 text (ipaddr.js), with the dotted tail of an IPv4-mapped address as `ip` prints it. */
export function oracleIPv6(bytes: Uint8Array): string {
  const address = ipaddr.fromByteArray([...bytes]) as ipaddr.IPv6;
  const w = address.parts;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${[...bytes.subarray(12)].join('.')}`;
  }
  return address.toRFC5952String();
}

/** aa:bb:cc (any length). */
export function oracleMac(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function decodeSet(set: AttrSet, buf: Buffer, start: number, end: number, out: Decoded, depth: number): Decoded {
  let offset = start;
  let position = 0;
  while (offset < end) {
    if (end - offset < HEADER)
      throw new DecodeError(set.name, `${end - offset} trailing bytes, too short for an attribute header`, offset);
    const length = LE ? buf.readUInt16LE(offset) : buf.readUInt16BE(offset);
    const rawType = LE ? buf.readUInt16LE(offset + 2) : buf.readUInt16BE(offset + 2);
    const type = rawType & NLA_TYPE_MASK;
    if (length < HEADER)
      throw new DecodeError(set.name, `attribute length ${length} is shorter than its header`, offset);
    if (offset + length > end) {
      throw new DecodeError(
        set.name,
        `attribute type ${type} claims ${length} bytes, only ${end - offset} remain`,
        offset,
      );
    }
    const valueStart = offset + HEADER;
    const valueEnd = offset + length;
    const attr = set.byType[type];
    let value: unknown = KEEP_RAW;
    if (attr !== undefined) {
      try {
        value = decodeValue(attr, buf, valueStart, valueEnd, out, rawType, depth);
      } catch (error) {
        throw error instanceof DecodeError ? error.within(attr.name) : error;
      }
    }
    if (value === KEEP_RAW) {
      (out.unknown ??= []).push({
        type,
        flags: rawType & ~NLA_TYPE_MASK,
        data: Buffer.from(buf.subarray(valueStart, valueEnd)),
        at: position,
      });
    } else if (attr!.multi) {
      ((out[attr!.name] ??= []) as unknown[]).push(value);
    } else {
      out[attr!.name] = value;
    }
    position++;
    // Padding may be missing after the last attribute.
    offset = Math.min(offset + ((length + 3) & ~3), end);
  }
  return out;
}

/** An attribute the schema cannot place (a sub-message selector with no set): kept as bytes. */
const KEEP_RAW = Symbol('keep raw');

function decodeValue(
  attr: Attr,
  buf: Buffer,
  start: number,
  end: number,
  siblings: Decoded,
  rawType: number,
  depth: number,
): unknown {
  const size = end - start;
  const bytes = buf.subarray(start, end);
  const fixed = SIZE[attr.kind];
  if (fixed !== undefined && size !== fixed)
    throw new DecodeError('attribute', `${attr.kind} needs ${fixed} bytes, got ${size}`, start);
  switch (attr.kind) {
    case 'u8':
      return buf.readUInt8(start);
    case 'u16':
      return LE ? buf.readUInt16LE(start) : buf.readUInt16BE(start);
    case 'u32':
      return LE ? buf.readUInt32LE(start) : buf.readUInt32BE(start);
    case 'u64':
      return LE ? buf.readBigUInt64LE(start) : buf.readBigUInt64BE(start);
    case 's8':
      return buf.readInt8(start);
    case 's16':
      return LE ? buf.readInt16LE(start) : buf.readInt16BE(start);
    case 's32':
      return LE ? buf.readInt32LE(start) : buf.readInt32BE(start);
    case 's64':
      return LE ? buf.readBigInt64LE(start) : buf.readBigInt64BE(start);
    case 'be16':
      return buf.readUInt16BE(start);
    case 'be32':
      return buf.readUInt32BE(start);
    case 'be64':
      return buf.readBigUInt64BE(start);
    case 'string': {
      const nul = bytes.indexOf(0);
      return bytes.toString('utf8', 0, nul === -1 ? size : nul);
    }
    case 'binary':
      return Buffer.from(bytes);
    case 'flag':
      return true;
    case 'ipv4':
      return oracleIPv4(bytes);
    case 'ipv6':
      return oracleIPv6(bytes);
    case 'ip':
      if (size === 4) return oracleIPv4(bytes);
      if (size === 16) return oracleIPv6(bytes);
      throw new DecodeError('attribute', `an IP address has 4 or 16 bytes, got ${size}`, start);
    case 'mac':
      return oracleMac(bytes);
    case 'u8flag':
      if (size === 0) return true;
      if (size === 1) return buf.readUInt8(start);
      throw new DecodeError('attribute', `u8flag has 0 or 1 bytes, got ${size}`, start);
    case 'uint':
      if (size === 4) return LE ? buf.readUInt32LE(start) : buf.readUInt32BE(start);
      if (size === 8) return LE ? buf.readBigUInt64LE(start) : buf.readBigUInt64BE(start);
      throw new DecodeError('attribute', `uint has 4 or 8 bytes, got ${size}`, start);
    case 'struct': {
      const layout = attr.layout!;
      if (size < layout.size)
        throw new DecodeError('attribute', `struct ${layout.name} needs ${layout.size} bytes, got ${size}`, start);
      const value = oracleReadStruct(layout, buf, start);
      if (size > layout.size)
        (value as Record<symbol, unknown>)[STRUCT_TAIL] = Buffer.from(bytes.subarray(layout.size));
      return value;
    }
    case 'nest': {
      let set: AttrSet;
      if (attr.select) {
        const selector = siblings[attr.select.by];
        if (typeof selector !== 'string' && typeof selector !== 'number') return KEEP_RAW;
        if (!Object.hasOwn(attr.select.sets, selector)) return KEEP_RAW;
        set = resolveSet(attr.select.sets[selector]!);
      } else {
        set = resolveSet(attr.set!);
      }
      if (depth >= MAX_NEST_DEPTH)
        throw new DecodeError('attribute', `nests deeper than ${MAX_NEST_DEPTH} levels`, start);
      const value = decodeSet(set, buf, start, end, {}, depth + 1);
      if ((rawType & NLA_F_NESTED) === 0) (value as Record<symbol, unknown>)[UNFLAGGED_NEST] = true;
      return value;
    }
  }
}
