/**
 * The generic attribute engine: decodes and encodes any attribute set
 * described in schema.ts. Decoding fills a plain object in wire order (so
 * re-encoding keeps the kernel's order); attributes the schema does not know
 * are kept raw, with their position, and written back byte for byte.
 */
import ipaddr from 'ipaddr.js';
import { NLA_HDRLEN } from './align.js';
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';
import { DecodeError, ValidationError } from './errors.js';
import { HOST_LE, readBE16, readBE32, readS32, readU16, readU32 } from './bytes.js';
import { type Attr, type AttrSet, Kind, type KindCode, resolveSet, type SubMessage } from './schema.js';
import type { Writer } from './writer.js';
import { DECODED, WIRE_ORDER } from './layout.js';

export { WIRE_ORDER };

/** An attribute kept as bytes because the schema does not describe it. */
export interface RawAttr {
  /** Attribute number, flags masked off. */
  type: number;
  /** The NLA_F_NESTED / NLA_F_NET_BYTEORDER bits it came with. */
  flags: number;
  data: Uint8Array;
  /** Its position among its siblings, so it is written back where it was. */
  at: number;
}

/** Set on a decoded nest whose attribute came without NLA_F_NESTED, so re-encoding matches. */
export const UNFLAGGED_NEST: unique symbol = Symbol('vxnet.unflaggedNest');
/** Bytes past the end of a known struct (a newer kernel's struct grew). */
export const STRUCT_TAIL: unique symbol = Symbol('vxnet.structTail');

export type Decoded = Record<string, unknown> & { unknown?: RawAttr[]; [WIRE_ORDER]?: true };

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX_DIGIT = Uint8Array.from('0123456789abcdef', (ch) => ch.charCodeAt(0));

// Host-order readers for the rarer kinds, picked once.
const readS16 = HOST_LE ? 'readInt16LE' : 'readInt16BE';
const readU64 = HOST_LE ? 'readBigUInt64LE' : 'readBigUInt64BE';
const readS64 = HOST_LE ? 'readBigInt64LE' : 'readBigInt64BE';

/** Value bytes of the kinds that have exactly one size. */
const FIXED_SIZE: Partial<Record<KindCode, number>> = {
  [Kind.u8]: 1,
  [Kind.u16]: 2,
  [Kind.u32]: 4,
  [Kind.u64]: 8,
  [Kind.s8]: 1,
  [Kind.s16]: 2,
  [Kind.s32]: 4,
  [Kind.s64]: 8,
  [Kind.be16]: 2,
  [Kind.be32]: 4,
  [Kind.be64]: 8,
  [Kind.flag]: 0,
  [Kind.ipv4]: 4,
  [Kind.ipv6]: 16,
};

// ---------------------------------------------------------------- decoding

/**
 * Decodes the attributes in `buf[start, end)` into `out`. Throws only
 * DecodeError, with the byte offset and the attribute path.
 *
 * Each attribute set is compiled, on first use, into a function with one
 * `case` per attribute number (see compileDecoder): it stores each value
 * under a constant property name and reads the common kinds inline. The
 * tests hold it to a plain interpreter of the schema (test/helpers/decode-oracle.ts)
 * on every recorded kernel message and on mutations of them.
 */
export function decodeAttrs(set: AttrSet, buf: Buffer, start: number, end: number, out: Decoded): Decoded {
  out[WIRE_ORDER] = true;
  return decodeMarkedAttrs(set, buf, start, end, out);
}

/**
 * decodeAttrs into an object that carries WIRE_ORDER already, from its
 * prototype (layout.ts's DECODED): a header's or a nest's. The hot path,
 * where a store of the mark on each object was measurable.
 */
export function decodeMarkedAttrs(set: AttrSet, buf: Buffer, start: number, end: number, out: Decoded): Decoded {
  let decode = compiledDecoders.get(set);
  if (decode === undefined) {
    decode = compileDecoder(set);
    compiledDecoders.set(set, decode);
  }
  return decode(buf, start, end, out);
}

type AttrsDecoder = (buf: Buffer, start: number, end: number, out: Decoded) => Decoded;
const compiledDecoders = new WeakMap<AttrSet, AttrsDecoder>();

/** For an attribute of a fixed size that came with another (decodeValue's words). */
function sizeError(attr: Attr, size: number, at: number): DecodeError {
  return new DecodeError('attribute', `${attr.kind} needs ${FIXED_SIZE[attr.code]} bytes, got ${size}`, at);
}

function ipSizeError(size: number, at: number): DecodeError {
  return new DecodeError('attribute', `an IP address has 4 or 16 bytes, got ${size}`, at);
}

/**
 * Statements that decode attribute `A[k]` into `v` inline, for the kinds a
 * dump is mostly made of; undefined for the others, which go through
 * decodeValue (nests, structs, 64-bit and rare kinds).
 */
function inlineDecode(attr: Attr, k: number): string | undefined {
  const fixed = (n: number, read: string) => `if (size !== ${n}) throw sizeError(A[${k}], size, vs); v = ${read};`;
  switch (attr.code) {
    case Kind.u8:
      return fixed(1, 'buf[vs]');
    case Kind.u16:
      return fixed(2, 'readU16(buf, vs)');
    case Kind.u32:
      return fixed(4, 'readU32(buf, vs)');
    case Kind.s32:
      return fixed(4, 'readS32(buf, vs)');
    case Kind.be16:
      return fixed(2, 'readBE16(buf, vs)');
    case Kind.be32:
      return fixed(4, 'readBE32(buf, vs)');
    case Kind.string:
      return 'v = decodeString(buf, vs, ve);';
    case Kind.binary:
      return 'v = copy(buf, vs, ve);';
    case Kind.flag:
      return fixed(0, 'true');
    case Kind.ipv4:
      return fixed(4, 'formatIPv4(buf, vs)');
    case Kind.ipv6:
      return fixed(16, 'formatIPv6(buf, vs)');
    case Kind.ip:
      return (
        'if (size === 4) v = formatIPv4(buf, vs); ' +
        'else if (size === 16) v = formatIPv6(buf, vs); else throw ipSizeError(size, vs);'
      );
    case Kind.mac:
      return 'v = formatMac(buf, vs, ve);';
    default:
      return undefined;
  }
}

/**
 * Generates the decoder of one attribute set: a loop over the attributes
 * with a `switch` on the attribute number, the schema lookups resolved at
 * compile time. Each `case` stores its value under a constant property name,
 * so V8 keeps monomorphic inline caches for the stores, where
 * `out[attr.name] = value` in a loop is a megamorphic keyed store.
 */
function compileDecoder(set: AttrSet): AttrsDecoder {
  const attrs: Attr[] = [];
  const cases: string[] = [];
  set.byType.forEach((attr, type) => {
    if (attr === undefined) return;
    const k = attrs.push(attr) - 1;
    const key = JSON.stringify(attr.name);
    const read =
      inlineDecode(attr, k) ??
      `v = decodeValue(A[${k}], buf, vs, ve, out, rawType); ` +
        'if (v === SKIP) { attr = undefined; keepRaw(out, buf, vs, ve, rawType, position); break; }';
    const store = attr.multi
      ? `{ const list = out[${key}]; if (list === undefined) out[${key}] = [v]; else list.push(v); }`
      : `out[${key}] = v;`;
    cases.push(`case ${type}: attr = A[${k}]; ${read} ${store} attr = undefined; break;`);
  });
  const name = `decode_${set.name.replace(/[^\w$]/g, '_')}`;
  // The generated loop's errors, kept out of its template for width.
  const trailingError =
    `new DecodeError(S.name, \`\${end - offset} trailing bytes, ` + `too short for an attribute header\`, offset)`;
  const lengthError = `new DecodeError(S.name, \`attribute length \${length} is shorter than its header\`, offset)`;
  const overrunError =
    `new DecodeError(S.name, \`attribute type \${rawType & ${NLA_TYPE_MASK}} claims \${length} bytes, ` +
    `only \${end - offset} remain\`, offset)`;
  const source = `
    return function ${name}(buf, start, end, out) {
      let offset = start;
      let position = 0;
      let attr;
      try {
        while (offset < end) {
          if (end - offset < ${NLA_HDRLEN}) throw ${trailingError};
          const length = readU16(buf, offset);
          const rawType = readU16(buf, offset + 2);
          if (length < ${NLA_HDRLEN}) throw ${lengthError};
          if (offset + length > end) {
            throw ${overrunError};
          }
          const vs = offset + ${NLA_HDRLEN};
          const ve = offset + length;
          const size = length - ${NLA_HDRLEN};
          let v;
          switch (rawType & ${NLA_TYPE_MASK}) {
            ${cases.join('\n            ')}
            default: keepRaw(out, buf, vs, ve, rawType, position);
          }
          position++;
          // The last attribute may omit its padding; never step past \`end\`.
          offset = Math.min(offset + ((length + 3) & ~3), end);
        }
      } catch (error) {
        if (attr !== undefined && error instanceof DecodeError) throw error.within(attr.name);
        throw error;
      }
      return out;
    };`;
  const helpers = {
    DecodeError,
    readU16,
    readU32,
    readS32,
    readBE16,
    readBE32,
    decodeString,
    copy,
    formatIPv4,
    formatIPv6,
    formatMac,
    decodeValue,
    keepRaw,
    sizeError,
    ipSizeError,
    SKIP,
  };
  const names = Object.keys(helpers);
  return new Function('A', 'S', ...names, source)(
    attrs,
    set,
    ...names.map((n) => helpers[n as keyof typeof helpers]),
  ) as AttrsDecoder;
}

/** Keeps an attribute as raw bytes, with its position among its siblings. */
function keepRaw(
  out: Decoded,
  buf: Buffer,
  valueStart: number,
  valueEnd: number,
  rawType: number,
  position: number,
): void {
  out.unknown ??= [];
  out.unknown.push({
    type: rawType & NLA_TYPE_MASK,
    flags: rawType & ~NLA_TYPE_MASK,
    data: copy(buf, valueStart, valueEnd),
    at: position,
  });
}

/** The set a sibling's value selects: strings (IFLA_INFO_KIND) and numbers (RTA_ENCAP_TYPE) alike. */
function selectSet(select: SubMessage, selector: unknown): AttrSet | (() => AttrSet) | undefined {
  if (typeof selector !== 'string' && typeof selector !== 'number') return undefined;
  const sets = select.sets;
  return Object.hasOwn(sets, selector) ? sets[selector] : undefined;
}

/**
 * How deep attributes may nest, in decoding and encoding. A set can nest
 * itself (a thunk, schema.ts), and each level is a few JS frames: from about
 * 2,000 levels the stack overflows and a RangeError escapes, so bytes made
 * of nothing but nest headers could crash a listing. The kernel's own parser
 * gives up at 10 levels of nested policy (MAX_POLICY_RECURSION_DEPTH in
 * lib/nlattr.c) and the deepest message vxnet decodes (a verdict in a set
 * element's expression) is 7 deep: 64 is well above anything real.
 */
export const MAX_NEST_DEPTH = 64;

/** Nests entered by the decoder now (decoding is synchronous: one count serves every call). */
let decodeDepth = 0;
let encodeDepth = 0;

/** Returned by decodeValue when an attribute must be kept raw (unknown sub-message). */
const SKIP = Symbol('skip');

/** Decodes one attribute's value: the kinds compileDecoder does not read inline, and every nest. */
function decodeValue(attr: Attr, buf: Buffer, start: number, end: number, siblings: Decoded, rawType: number): unknown {
  const size = end - start;
  const fixed = FIXED_SIZE[attr.code];
  if (fixed !== undefined && size !== fixed) {
    throw new DecodeError('attribute', `${attr.kind} needs ${fixed} bytes, got ${size}`, start);
  }
  switch (attr.code) {
    case Kind.u8:
      return buf[start];
    case Kind.u16:
      return readU16(buf, start);
    case Kind.u32:
      return readU32(buf, start);
    case Kind.u64:
      return buf[readU64](start);
    case Kind.s8:
      return buf.readInt8(start);
    case Kind.s16:
      return buf[readS16](start);
    case Kind.s32:
      return readS32(buf, start);
    case Kind.s64:
      return buf[readS64](start);
    case Kind.be16:
      return buf.readUInt16BE(start);
    case Kind.be32:
      return buf.readUInt32BE(start);
    case Kind.be64:
      return buf.readBigUInt64BE(start);
    case Kind.string:
      return decodeString(buf, start, end);
    case Kind.binary:
      return copy(buf, start, end);
    case Kind.flag:
      return true;
    case Kind.ipv4:
      return formatIPv4(buf, start);
    case Kind.ipv6:
      return formatIPv6(buf, start);
    case Kind.ip:
      if (size === 4) return formatIPv4(buf, start);
      if (size === 16) return formatIPv6(buf, start);
      throw new DecodeError('attribute', `an IP address has 4 or 16 bytes, got ${size}`, start);
    case Kind.mac:
      return formatMac(buf, start, end);
    case Kind.nest: {
      let set: AttrSet | undefined;
      if (attr.select) {
        const selector = siblings[attr.select.by];
        const chosen = selectSet(attr.select, selector);
        if (chosen === undefined) return SKIP;
        set = resolveSet(chosen);
      } else {
        // attrSet refuses a nest with neither `set` nor `select`.
        set = resolveSet(attr.set!);
      }
      if (decodeDepth >= MAX_NEST_DEPTH)
        throw new DecodeError('attribute', `nests deeper than ${MAX_NEST_DEPTH} levels`, start);
      decodeDepth++;
      let value: Decoded;
      try {
        value = decodeMarkedAttrs(set, buf, start, end, Object.create(DECODED));
      } finally {
        decodeDepth--;
      }
      if ((rawType & NLA_F_NESTED) === 0) (value as any)[UNFLAGGED_NEST] = true;
      return value;
    }
    case Kind.u8flag:
      if (size === 0) return true;
      if (size === 1) return buf[start];
      throw new DecodeError('attribute', `u8flag has 0 or 1 bytes, got ${size}`, start);
    case Kind.uint:
      if (size === 4) return readU32(buf, start);
      if (size === 8) return buf[readU64](start);
      throw new DecodeError('attribute', `uint has 4 or 8 bytes, got ${size}`, start);
    case Kind.struct: {
      const layout = attr.layout!; // attrSet refuses a struct without a layout
      if (size < layout.size)
        throw new DecodeError('attribute', `struct ${layout.name} needs ${layout.size} bytes, got ${size}`, start);
      const value = layout.read(buf, start);
      if (size > layout.size) (value as any)[STRUCT_TAIL] = copy(buf, start + layout.size, end);
      return value;
    }
  }
  throw new DecodeError('attribute', `kind ${attr.kind} has no decoder`, start);
}

/** Decoded values own their bytes: a transport may reuse its receive buffer. */
function copy(buf: Buffer, start: number, end: number): Buffer {
  return Buffer.from(buf.subarray(start, end));
}

function decodeString(buf: Buffer, start: number, end: number): string {
  // Stop at the first NUL: the kernel always terminates, but be lenient about it.
  let stop = start;
  while (stop < end && buf[stop] !== 0) stop++;
  return buf.toString('utf8', start, stop);
}

/**
 * Text is built as character codes in a scratch array and made into a string
 * with one String.fromCharCode call of the right arity: one allocation per
 * address. A template literal (`${a}.${b}.${c}.${d}`) allocates an
 * intermediate string per piece, and longer results become trees of cons
 * strings (docs/benchmarks.md has the measurements behind this file's shape).
 */
const chars = new Uint8Array(64);
const fromCharCode = String.fromCharCode;

/** Character codes of address text. */
const DOT = 0x2e; // '.'
const COLON = 0x3a; // ':'
const DIGIT_0 = 0x30; // '0'
const DIGIT_9 = 0x39; // '9'
const LOWER_A = 0x61; // 'a'
const LOWER_F = 0x66; // 'f'
/** ASCII letters differ from their lower case by this bit alone. */
const LOWER_CASE_BIT = 0x20;
/**
 * The longest address text: an IPv6 address with a dotted IPv4 tail,
 * "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".
 */
const MAX_ADDRESS_TEXT = 45;

// The cases of charsToString's switch, one for each length up to MAX_ADDRESS_TEXT.
const charsToStringCases = Array.from(
  { length: MAX_ADDRESS_TEXT + 1 },
  (_, n) => `case ${n}: return f(${Array.from({ length: n }, (__, i) => `c[${i}]`).join(', ')});`,
);

/**
 * The first `n` codes of `chars` as a string: a String.fromCharCode call
 * with exactly n arguments, from a switch generated once (up to the 45 of
 * the longest IPv6 text with a dotted tail); longer text takes a slower path.
 */
const charsToString = new Function(
  'c',
  'f',
  `return function charsToString(n) {
  switch (n) {
    ${charsToStringCases.join('\n    ')}
    default: return f.apply(null, Array.from(c.subarray(0, n)));
  }
};`,
)(chars, fromCharCode) as (n: number) => string;

/** Writes `v` (0–255) in decimal at `chars[n]`; returns the next position. */
function putDecimal(v: number, n: number): number {
  if (v >= 100) {
    chars[n++] = DIGIT_0 + ((v / 100) | 0);
    chars[n++] = DIGIT_0 + (((v / 10) | 0) % 10);
  } else if (v >= 10) {
    chars[n++] = DIGIT_0 + ((v / 10) | 0);
  }
  chars[n++] = DIGIT_0 + (v % 10);
  return n;
}

/**
 * Hot path, no bounds check: the caller guarantees `at + 4 <= buf.length` (the decoder checks the attribute's
 * size first), hence the `!`s.
 */
export function formatIPv4(buf: Uint8Array, at: number): string {
  let n = putDecimal(buf[at]!, 0);
  chars[n++] = DOT;
  n = putDecimal(buf[at + 1]!, n);
  chars[n++] = DOT;
  n = putDecimal(buf[at + 2]!, n);
  chars[n++] = DOT;
  n = putDecimal(buf[at + 3]!, n);
  return charsToString(n);
}

/**
 * RFC 5952 text, built as character codes like formatIPv4, without the
 * arrays, normalized string and regular expression of a general formatter
 * such as ipaddr.js's toRFC5952String, which the tests hold it to.
 * IPv4-mapped addresses with the dotted tail,
 * as inet_ntop and `ip` print them. (inet_ntop also writes the deprecated IPv4-compatible form
 * "::0.1.0.2" for ::1:2; we do not, because parsers, ipaddr.js among them, read
 * that text back as a different, mapped address.)
 */
// Hot path, no bounds check: the caller guarantees `at + 16 <= buf.length` (the `!`s below rely on it).
export function formatIPv6(buf: Uint8Array, at: number): string {
  // The eight 16-bit groups, and the longest run of two or more zero groups (the first, on a tie).
  let zeroAt = -1;
  let zeroLength = 1;
  for (let i = 0, runAt = -1; i < 8; i++) {
    if (buf[at + 2 * i] === 0 && buf[at + 2 * i + 1] === 0) {
      if (runAt < 0) runAt = i;
      if (i - runAt + 1 > zeroLength) {
        zeroAt = runAt;
        zeroLength = i - runAt + 1;
      }
    } else runAt = -1;
  }
  if (zeroAt === 0 && zeroLength === 5 && buf[at + 10] === 0xff && buf[at + 11] === 0xff) {
    // ::ffff:a.b.c.d
    chars[0] = COLON;
    chars[1] = COLON;
    chars[2] = chars[3] = chars[4] = chars[5] = LOWER_F;
    chars[6] = COLON;
    let n = putDecimal(buf[at + 12]!, 7);
    chars[n++] = DOT;
    n = putDecimal(buf[at + 13]!, n);
    chars[n++] = DOT;
    n = putDecimal(buf[at + 14]!, n);
    chars[n++] = DOT;
    return charsToString(putDecimal(buf[at + 15]!, n));
  }
  // RFC 5952: lowercase hex without leading zeros, the run written "::".
  let n = 0;
  for (let i = 0; i < 8; i++) {
    if (i === zeroAt) {
      chars[n++] = COLON;
      if (i === 0) chars[n++] = COLON;
      i += zeroLength - 1;
      continue;
    }
    n = putHexGroup((buf[at + 2 * i]! << 8) | buf[at + 2 * i + 1]!, n);
    if (i < 7) chars[n++] = COLON;
  }
  return charsToString(n);
}

/** Writes a 16-bit group in lowercase hex without leading zeros at `chars[n]`; returns the next position. */
// HEX_DIGIT has 16 entries and every index is masked to 0..15.
function putHexGroup(v: number, n: number): number {
  if (v >= 0x1000) chars[n++] = HEX_DIGIT[v >> 12]!;
  if (v >= 0x100) chars[n++] = HEX_DIGIT[(v >> 8) & 15]!;
  if (v >= 0x10) chars[n++] = HEX_DIGIT[(v >> 4) & 15]!;
  chars[n++] = HEX_DIGIT[v & 15]!;
  return n;
}

/** aa:bb:cc:dd:ee:ff (any length; the common 6 bytes in one allocation, see charsToString). */
// Hot path: the caller guarantees `end <= buf.length` (an attribute's bounds), so buf[i]! holds; HEX has 256
// entries and HEX_DIGIT 16, indexed by a byte and a nibble.
export function formatMac(buf: Uint8Array, start: number, end: number): string {
  // Two digits and a colon a byte: text that would not fit the scratch array is built as a string.
  if (3 * (end - start) - 1 > chars.length) {
    let text = '';
    for (let i = start; i < end; i++) text += i === start ? HEX[buf[i]!] : `:${HEX[buf[i]!]}`;
    return text;
  }
  let n = 0;
  for (let i = start; i < end; i++) {
    if (i !== start) chars[n++] = COLON;
    const b = buf[i]!;
    chars[n++] = HEX_DIGIT[b >> 4]!;
    chars[n++] = HEX_DIGIT[b & 15]!;
  }
  return charsToString(n);
}

// ---------------------------------------------------------------- encoding

/**
 * Encodes the attributes of `value` described by `set`. A decoded object
 * (WIRE_ORDER) is written in its keys' order, the wire order it came in; any
 * other object in the order its set declares the attributes, whatever the
 * order of its keys. Raw attributes in `value.unknown` go back to their
 * recorded positions. A key that is neither an attribute nor a header field
 * is a ValidationError: a typo must not be silently dropped.
 */
export function encodeAttrs(set: AttrSet, value: Decoded, w: Writer, path: string): void {
  const writer = new AttrsWriter(value, w, path);
  if (value[WIRE_ORDER] === true) {
    for (const key in value) {
      const attr = attrOf(set, value, key, path);
      if (attr !== undefined) writer.attr(attr, value[key]);
    }
  } else {
    // Insertion sort by rank: a request has a handful of attributes.
    const attrs: Attr[] = [];
    for (const key in value) {
      const attr = attrOf(set, value, key, path);
      if (attr === undefined) continue;
      let i = attrs.length;
      // 0 < i <= attrs.length: attrs[i - 1] is there (a guard would only repeat `i > 0`).
      while (i > 0 && attrs[i - 1]!.rank > attr.rank) {
        attrs[i] = attrs[i - 1]!;
        i--;
      }
      attrs[i] = attr;
    }
    for (const attr of attrs) writer.attr(attr, value[attr.name]);
  }
  writer.end();
}

/** The attribute a key of `value` names; undefined for `unknown`, header fields and undefined values. */
function attrOf(set: AttrSet, value: Decoded, key: string, path: string): Attr | undefined {
  if (key === 'unknown') return undefined;
  const attr = set.byName.get(key);
  if (attr === undefined) {
    if (set.headerFields.has(key)) return undefined;
    throw new ValidationError(join(path, key), `not an attribute of ${set.name}`);
  }
  return value[key] === undefined ? undefined : attr;
}

/** Writes one object's attributes, putting its raw ones back at their positions. */
class AttrsWriter {
  private readonly raws: RawAttr[] | undefined;
  private rawIndex = 0;
  private position = 0;

  constructor(
    private readonly value: Decoded,
    private readonly w: Writer,
    private readonly path: string,
  ) {
    this.raws = value.unknown;
  }

  attr(attr: Attr, v: unknown): void {
    const path = join(this.path, attr.name);
    if (!attr.multi) {
      this.flushRaws();
      if (writeAttr(attr, v, this.value, this.w, path)) this.position++;
      return;
    }
    if (!Array.isArray(v)) throw new ValidationError(path, 'expected an array (this attribute repeats)', v);
    for (let i = 0; i < v.length; i++) {
      this.flushRaws();
      if (writeAttr(attr, v[i], this.value, this.w, `${path}[${i}]`)) this.position++;
    }
  }

  /** Raw attributes recorded after every known one. */
  end(): void {
    const raws = this.raws;
    // rawIndex < raws.length is checked before each read (here and in flushRaws).
    while (raws && this.rawIndex < raws.length) writeRaw(raws[this.rawIndex++]!, this.w);
  }

  private flushRaws(): void {
    const raws = this.raws;
    while (raws && this.rawIndex < raws.length && raws[this.rawIndex]!.at <= this.position) {
      writeRaw(raws[this.rawIndex]!, this.w);
      this.rawIndex++;
      this.position++;
    }
  }
}

function shortPath(path: string): string {
  const parts = path.split('.');
  return parts.length <= 8
    ? path
    : `${parts.slice(0, 4).join('.')}.(${parts.length - 8} more).${parts.slice(-4).join('.')}`;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function writeRaw(raw: RawAttr, w: Writer): void {
  if (!Number.isInteger(raw.type) || raw.type < 0 || raw.type > NLA_TYPE_MASK)
    throw new ValidationError('unknown.type', 'not an attribute number', raw.type);
  const start = w.beginAttr(raw.type | (raw.flags & ~NLA_TYPE_MASK));
  w.bytes(raw.data);
  w.endAttr(start);
}

/** Writes one attribute; returns false when nothing was written (a false flag). */
function writeAttr(attr: Attr, v: unknown, siblings: Decoded, w: Writer, path: string): boolean {
  switch (attr.code) {
    case Kind.flag:
      if (v === false) return false;
      if (v !== true) throw new ValidationError(path, 'a flag is true or false', v);
      w.endAttr(w.beginAttr(attr.type));
      return true;
    case Kind.u8flag:
      // A request sets it as a flag; a value read from a dump goes back as the u8 it was.
      if (v === false) return false;
      if (v === true) {
        w.endAttr(w.beginAttr(attr.type));
        return true;
      }
      {
        const start = w.beginAttr(attr.type);
        w.u8(checkInt(v, 0, 0xff, path));
        w.endAttr(start);
      }
      return true;
    case Kind.nest: {
      let set: AttrSet;
      if (attr.select) {
        const selector = siblings[attr.select.by];
        const chosen = selectSet(attr.select, selector);
        if (chosen === undefined) {
          throw new ValidationError(path, `no attribute set for ${attr.select.by} ${JSON.stringify(selector)}`);
        }
        set = resolveSet(chosen);
      } else {
        // attrSet refuses a nest with neither `set` nor `select`.
        set = resolveSet(attr.set!);
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw new ValidationError(path, 'expected an object of nested attributes', v);
      const flagged = (v as any)[UNFLAGGED_NEST] === true ? 0 : NLA_F_NESTED;
      // The path names every level: cut it short, the start and the end say where.
      if (encodeDepth >= MAX_NEST_DEPTH)
        throw new ValidationError(
          shortPath(path),
          `nests deeper than ${MAX_NEST_DEPTH} levels (an object that contains itself?)`,
        );
      const start = w.beginAttr(attr.type | flagged);
      encodeDepth++;
      try {
        encodeAttrs(set, v as Decoded, w, path);
      } finally {
        encodeDepth--;
      }
      w.endAttr(start);
      return true;
    }
    default: {
      const start = w.beginAttr(attr.type);
      writeScalar(attr, v, w, path);
      w.endAttr(start);
      return true;
    }
  }
}

function writeScalar(attr: Attr, v: unknown, w: Writer, path: string): void {
  switch (attr.code) {
    case Kind.u8:
      w.u8(checkInt(v, 0, 0xff, path));
      return;
    case Kind.u16:
      w.u16(checkInt(v, 0, 0xffff, path));
      return;
    case Kind.u32:
      w.u32(checkInt(v, 0, 0xffffffff, path));
      return;
    case Kind.u64:
      w.u64(checkBig(v, 0n, 0xffffffffffffffffn, path));
      return;
    case Kind.s8:
      w.s8(checkInt(v, -0x80, 0x7f, path));
      return;
    case Kind.s16:
      w.s16(checkInt(v, -0x8000, 0x7fff, path));
      return;
    case Kind.s32:
      w.s32(checkInt(v, -0x80000000, 0x7fffffff, path));
      return;
    case Kind.s64:
      w.s64(checkBig(v, -0x8000000000000000n, 0x7fffffffffffffffn, path));
      return;
    case Kind.be16:
      w.be16(checkInt(v, 0, 0xffff, path));
      return;
    case Kind.be32:
      w.be32(checkInt(v, 0, 0xffffffff, path));
      return;
    case Kind.be64:
      w.be64(checkBig(v, 0n, 0xffffffffffffffffn, path));
      return;
    case Kind.string: {
      if (typeof v !== 'string') throw new ValidationError(path, 'expected a string', v);
      if (v.includes('\0')) throw new ValidationError(path, 'a string cannot contain NUL', v);
      w.string(v);
      w.u8(0);
      return;
    }
    case Kind.binary:
      if (!(v instanceof Uint8Array)) throw new ValidationError(path, 'expected bytes (Uint8Array)', v);
      w.bytes(v);
      return;
    case Kind.ipv4:
      w.bytes(parseIPv4(v, path));
      return;
    case Kind.ipv6:
      w.bytes(parseIPv6(v, path));
      return;
    case Kind.ip:
      w.bytes(parseIP(v, path));
      return;
    case Kind.mac:
      w.bytes(parseMac(v, path));
      return;
    case Kind.uint:
      if (typeof v === 'bigint') {
        w.u64(checkBig(v, 0n, 0xffffffffffffffffn, path));
        return;
      }
      w.u32(checkInt(v, 0, 0xffffffff, path));
      return;
    case Kind.struct: {
      const layout = attr.layout!; // attrSet refuses a struct without a layout
      if (typeof v !== 'object' || v === null) throw new ValidationError(path, `expected a ${layout.name} object`, v);
      const at = w.reserve(layout.size);
      try {
        layout.write(w.buf, at, v as any);
      } catch (error) {
        throw new ValidationError(path, `not a valid ${layout.name}: ${(error as Error).message}`);
      }
      const tail = (v as any)[STRUCT_TAIL] as Uint8Array | undefined;
      if (tail) w.bytes(tail);
      return;
    }
  }
}

export function checkInt(v: unknown, min: number, max: number, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ValidationError(path, `expected an integer from ${min} to ${max}`, v);
  }
  return v;
}

function checkBig(v: unknown, min: bigint, max: bigint, path: string): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
  else throw new ValidationError(path, 'expected a bigint (or a safe integer)', v);
  if (b < min || b > max) throw new ValidationError(path, `expected a value from ${min} to ${max}`, v);
  return b;
}

/**
 * Address text to bytes. IPv4 is the strict dotted-decimal grammar of
 * node:net's isIPv4 and ipaddr.js's isValidFourPartDecimal (four values
 * 0–255, no leading zeros), checked and read in one pass over the
 * characters, where ipaddr.js parses each address twice with a general
 * grammar and node:net is a module of its own to load at start-up. IPv6
 * goes through ipaddr.js, parsed once. Undefined when `v` is not IPv4 text.
 */
export function ipv4Bytes(v: string): number[] | undefined {
  const length = v.length;
  if (length < 7 || length > 15) return undefined;
  const out = [0, 0, 0, 0];
  let part = 0;
  let digits = 0;
  for (let i = 0; i < length; i++) {
    const c = v.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || ++part > 3) return undefined;
      digits = 0;
    } else if (c >= DIGIT_0 && c <= DIGIT_9) {
      // A leading zero only as the whole value ("0", not "01").
      if (digits === 1 && out[part] === 0) return undefined;
      const value = out[part]! * 10 + (c - DIGIT_0); // part <= 3 (checked at each dot), out has 4
      if (value > 255) return undefined;
      out[part] = value;
      digits++;
    } else {
      return undefined;
    }
  }
  return part === 3 && digits > 0 ? out : undefined;
}

/** True for strict dotted-decimal IPv4 text (see ipv4Bytes). */
export function isIPv4Text(v: string): boolean {
  return ipv4Bytes(v) !== undefined;
}

function ipv6Bytes(v: string): number[] | undefined {
  if (v.indexOf(':') === -1 || v.includes('%')) return undefined;
  try {
    return ipaddr.IPv6.parse(v).toByteArray();
  } catch {
    return undefined;
  }
}

export function parseIPv4(v: unknown, path: string): number[] {
  const bytes = typeof v === 'string' ? ipv4Bytes(v) : undefined;
  if (bytes === undefined) throw new ValidationError(path, 'expected an IPv4 address (a.b.c.d)', v);
  return bytes;
}

export function parseIPv6(v: unknown, path: string): number[] {
  const bytes = typeof v === 'string' ? ipv6Bytes(v) : undefined;
  if (bytes === undefined) throw new ValidationError(path, 'expected an IPv6 address without a zone', v);
  return bytes;
}

export function parseIP(v: unknown, path: string): number[] {
  if (typeof v === 'string') {
    const bytes = ipv4Bytes(v) ?? ipv6Bytes(v);
    if (bytes !== undefined) return bytes;
  }
  throw new ValidationError(path, 'expected an IPv4 or IPv6 address', v);
}

const MAC_TEXT = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/;

/** A hex digit's value, for a character the MAC pattern has already accepted. */
function hexValue(c: number): number {
  return c <= DIGIT_9 ? c - DIGIT_0 : (c | LOWER_CASE_BIT) - LOWER_A + 10;
}

export function parseMac(v: unknown, path: string): number[] {
  if (typeof v !== 'string' || !MAC_TEXT.test(v)) {
    throw new ValidationError(path, 'expected a link-layer address like 02:00:00:aa:bb:cc', v);
  }
  // "aa:bb:...": two digits every three characters, read by character code (no split, no parseInt).
  const bytes = new Array<number>((v.length + 1) / 3);
  for (let i = 0, k = 0; i < v.length; i += 3, k++)
    bytes[k] = (hexValue(v.charCodeAt(i)) << 4) | hexValue(v.charCodeAt(i + 1));
  return bytes;
}
