/**
 * A small schema-driven protobuf codec (proto3 wire format): the part etcd's
 * messages need, and no more. Field types are bool, int64, uint64, string,
 * bytes, enum and message; only message fields repeat (etcd's messages that
 * we use have no repeated scalars, so packed encoding is not needed).
 *
 * Why not protobufjs: loading it and parsing the proto text cost the agent
 * about 9 MiB of RSS, and its decode followed by toObject walked every
 * watch response twice. Here a message decodes in one pass into the plain
 * object membership reads: int64/uint64 as decimal strings (etcd's lease IDs
 * are random 63-bit numbers), enums as their names, every scalar field
 * present with its default, repeated fields as [] when absent, and absent
 * message fields (and oneof members) left out.
 */
import { ProtobufDecodeError, ProtobufEncodeError } from './errors.js';

export type ScalarType = 'bool' | 'int64' | 'uint64' | 'string' | 'bytes';

/** An enum whose values are 0, 1, 2, … in the order of `names` (all of etcd's that we use are). */
export interface EnumDescriptor {
  readonly kind: 'enum';
  readonly name: string;
  readonly names: readonly string[];
}

export interface FieldDescriptor {
  readonly number: number;
  readonly name: string;
  readonly type: ScalarType | EnumDescriptor | MessageDescriptor;
  readonly repeated: boolean;
  /** The oneof this field belongs to: such a field is written whenever it is set, even to its default. */
  readonly oneof?: string;
}

export interface MessageDescriptor {
  readonly kind: 'message';
  readonly name: string;
  readonly fields: readonly FieldDescriptor[];
  /** Fields by number (a sparse array: etcd's field numbers are small). */
  readonly byNumber: readonly (FieldDescriptor | undefined)[];
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** Shared by every decoded empty bytes field: it has no bytes anyone could change. */
const EMPTY_BYTES = Buffer.alloc(0);

export function defineEnum(name: string, names: readonly string[]): EnumDescriptor {
  return { kind: 'enum', name, names };
}

export function field(
  number: number,
  name: string,
  type: FieldDescriptor['type'],
  options: { repeated?: boolean; oneof?: string } = {},
): FieldDescriptor {
  const repeated = options.repeated ?? false;
  if (repeated && (typeof type === 'string' || type.kind !== 'message'))
    throw new Error(`field ${name}: only message fields may repeat here (no packed scalars)`);
  if (repeated && options.oneof) throw new Error(`field ${name}: a oneof member cannot repeat`);
  return { number, name, type, repeated, ...(options.oneof ? { oneof: options.oneof } : {}) };
}

export function defineMessage(name: string, fields: readonly FieldDescriptor[]): MessageDescriptor {
  const byNumber: (FieldDescriptor | undefined)[] = [];
  for (const f of fields) {
    if (!Number.isInteger(f.number) || f.number < 1 || f.number > 0x1fffffff)
      throw new Error(`${name}.${f.name}: field number ${f.number} is not valid`);
    if (byNumber[f.number]) throw new Error(`${name}: field number ${f.number} is used twice`);
    byNumber[f.number] = f;
  }
  return { kind: 'message', name, fields, byNumber };
}

function wireTypeOf(type: FieldDescriptor['type']): number {
  if (type === 'string' || type === 'bytes' || (typeof type === 'object' && type.kind === 'message'))
    return WIRE_LENGTH_DELIMITED;
  return WIRE_VARINT;
}

// ---------------------------------------------------------------- decoding

/** A read position in one message's bytes, bounded by the message being read (not by the whole buffer). */
class Reader {
  pos = 0;
  limit: number;
  /** The innermost message being read, for errors. */
  typeName: string;

  constructor(
    readonly bytes: Buffer,
    typeName: string,
  ) {
    this.limit = bytes.length;
    this.typeName = typeName;
  }

  fail(offset: number, reason: string): never {
    throw new ProtobufDecodeError(this.typeName, offset, reason);
  }

  byte(start: number): number {
    if (this.pos >= this.limit) this.fail(start, 'truncated varint');
    return this.bytes[this.pos++] as number;
  }

  /** The low 32 bits of a varint, as an unsigned number (tags, lengths, enums). */
  varint32(): number {
    const start = this.pos;
    let value = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(start);
      // Bits past the 32nd are dropped, as protobuf does for 32-bit fields.
      if (i < 5) value |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return value >>> 0;
    }
    return this.fail(start, 'varint longer than 10 bytes');
  }

  /** A bool: true if any of the varint's bits is set (not only the low 32). */
  varintNonZero(): boolean {
    const start = this.pos;
    let any = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte(start);
      any |= b & 0x7f;
      if (b < 0x80) return any !== 0;
    }
    return this.fail(start, 'varint longer than 10 bytes');
  }

  /**
   * A 64-bit varint as a decimal string. Read as two 32-bit halves in plain numbers; BigInt only for a value
   * at or above 2^53 (random lease IDs) or a negative int64 (10 bytes of two's complement).
   */
  varint64(signed: boolean): string {
    const start = this.pos;
    let low = 0;
    let high = 0;
    let b = 0;
    for (let i = 0; i < 4; i++) {
      b = this.byte(start);
      low |= (b & 0x7f) << (7 * i);
      if (b < 0x80) return String(low >>> 0);
    }
    // The fifth byte holds bits 28–34: four for the low half, three for the high.
    b = this.byte(start);
    low |= (b & 0x7f) << 28;
    high = (b & 0x7f) >> 4;
    if (b >= 0x80) {
      for (let i = 0; ; i++) {
        if (i === 5) this.fail(start, 'varint longer than 10 bytes');
        b = this.byte(start);
        high |= (b & 0x7f) << (7 * i + 3);
        if (b < 0x80) break;
      }
    }
    low >>>= 0;
    high >>>= 0;
    if (high < 0x200000) return String(high * 0x100000000 + low);
    const unsigned = (BigInt(high) << 32n) | BigInt(low);
    return (signed ? BigInt.asIntN(64, unsigned) : unsigned).toString();
  }

  /** The end of a length-delimited value whose length starts here, checked against the message's end. */
  lengthDelimitedEnd(): number {
    const start = this.pos;
    const length = this.varint32();
    const end = this.pos + length;
    if (end > this.limit) this.fail(start, `length ${length} runs past the end (${this.limit - this.pos} bytes left)`);
    return end;
  }

  /** Steps over a field this schema does not know, as protobuf requires (newer etcd versions add fields). */
  skip(wireType: number, tagStart: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varintNonZero();
        return;
      case WIRE_FIXED64:
      case WIRE_FIXED32: {
        const size = wireType === WIRE_FIXED64 ? 8 : 4;
        if (this.pos + size > this.limit) this.fail(this.pos, `truncated ${size * 8}-bit fixed value`);
        this.pos += size;
        return;
      }
      case WIRE_LENGTH_DELIMITED:
        this.pos = this.lengthDelimitedEnd();
        return;
      default:
        // 3 and 4 are proto2 groups (never used by etcd), 6 and 7 do not exist.
        this.fail(tagStart, `unsupported wire type ${wireType}`);
    }
  }
}

type Decoded = Record<string, unknown>;

function withDefaults(type: MessageDescriptor): Decoded {
  const out: Decoded = {};
  for (const f of type.fields) {
    if (f.oneof) continue;
    if (f.repeated) out[f.name] = [];
    else if (typeof f.type === 'object') {
      if (f.type.kind === 'enum') out[f.name] = f.type.names[0] ?? 0;
    } else out[f.name] = SCALAR_DEFAULTS[f.type];
  }
  return out;
}

const SCALAR_DEFAULTS: Record<ScalarType, unknown> = {
  bool: false,
  int64: '0',
  uint64: '0',
  string: '',
  bytes: EMPTY_BYTES,
};

function readValue(reader: Reader, f: FieldDescriptor): unknown {
  const type = f.type;
  switch (type) {
    case 'bool':
      return reader.varintNonZero();
    case 'int64':
      return reader.varint64(true);
    case 'uint64':
      return reader.varint64(false);
    case 'string': {
      const end = reader.lengthDelimitedEnd();
      const text = reader.bytes.toString('utf8', reader.pos, end);
      reader.pos = end;
      return text;
    }
    case 'bytes': {
      const end = reader.lengthDelimitedEnd();
      // A view, not a copy: grpc-js hands each message its own Buffer (StreamDecoder's Buffer.concat, or
      // the decompressed output) and never writes to it again, so the view stays valid (protobufjs did the same).
      const bytes = reader.bytes.subarray(reader.pos, end);
      reader.pos = end;
      return bytes;
    }
  }
  if (type.kind === 'enum') {
    const value = reader.varint32() | 0;
    // An enum value newer than our schema stays a number (as protobufjs's toObject gave it).
    return type.names[value] ?? value;
  }
  const end = reader.lengthDelimitedEnd();
  const outerLimit = reader.limit;
  const outerType = reader.typeName;
  reader.limit = end;
  reader.typeName = type.name;
  const message = readMessage(reader, type);
  reader.limit = outerLimit;
  reader.typeName = outerType;
  return message;
}

function readMessage(reader: Reader, type: MessageDescriptor): Decoded {
  const out = withDefaults(type);
  while (reader.pos < reader.limit) {
    const tagStart = reader.pos;
    const tag = reader.varint32();
    const number = tag >>> 3;
    const wireType = tag & 7;
    if (number === 0) reader.fail(tagStart, 'field number 0');
    const f = type.byNumber[number];
    if (f === undefined) {
      reader.skip(wireType, tagStart);
      continue;
    }
    if (wireType !== wireTypeOf(f.type))
      reader.fail(tagStart, `field ${f.name} (${number}) has wire type ${wireType}, not ${wireTypeOf(f.type)}`);
    const value = readValue(reader, f);
    if (f.repeated) (out[f.name] as unknown[]).push(value);
    else {
      // A later member of a oneof replaces an earlier one; a repeated message field replaces (as protobufjs did).
      if (f.oneof) for (const other of type.fields) if (other.oneof === f.oneof && other !== f) delete out[other.name];
      out[f.name] = value;
    }
  }
  return out;
}

/** One pass from bytes to a plain object; throws ProtobufDecodeError on a truncated or malformed message. */
export function decodeMessage(type: MessageDescriptor, bytes: Uint8Array): Decoded {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return readMessage(new Reader(buffer, type.name), type);
}

// ---------------------------------------------------------------- encoding

/** A growable output; a nested message is written to its own Writer first, as its length comes before it. */
class Writer {
  buffer = Buffer.allocUnsafe(64);
  length = 0;

  private reserve(size: number): void {
    if (this.length + size <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + size));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  varint32(value: number): void {
    this.reserve(5);
    let v = value >>> 0;
    while (v > 0x7f) {
      this.buffer[this.length++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buffer[this.length++] = v;
  }

  /** A 64-bit varint: `value` is taken modulo 2^64, so a negative int64 becomes 10 bytes of two's complement. */
  varint64(value: bigint): void {
    this.reserve(10);
    let v = BigInt.asUintN(64, value);
    while (v > 0x7fn) {
      this.buffer[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.length++] = Number(v);
  }

  bytes(value: Uint8Array): void {
    this.varint32(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  tag(number: number, wireType: number): void {
    this.varint32(((number << 3) | wireType) >>> 0);
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** An int64/uint64 given as a decimal string (as decoded), a safe-integer number, or a bigint. */
function toInteger(type: MessageDescriptor, f: FieldDescriptor, value: unknown): bigint {
  let integer: bigint;
  if (typeof value === 'bigint') integer = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) integer = BigInt(value);
  else if (typeof value === 'string' && /^-?\d+$/.test(value)) integer = BigInt(value);
  else throw new ProtobufEncodeError(type.name, f.name, `${JSON.stringify(String(value))} is not an integer`);
  const [min, max] = f.type === 'int64' ? [INT64_MIN, INT64_MAX] : [0n, UINT64_MAX];
  if (integer < min || integer > max)
    throw new ProtobufEncodeError(type.name, f.name, `${integer} is outside ${f.type}'s range`);
  return integer;
}

function toEnumNumber(type: MessageDescriptor, f: FieldDescriptor, e: EnumDescriptor, value: unknown): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0x7fffffff) return value;
  const index = typeof value === 'string' ? e.names.indexOf(value) : -1;
  if (index < 0) throw new ProtobufEncodeError(type.name, f.name, `${JSON.stringify(value)} is not a ${e.name}`);
  return index;
}

function writeField(writer: Writer, type: MessageDescriptor, f: FieldDescriptor, value: unknown): void {
  // proto3: a scalar equal to its default is not written, unless it is a oneof member (whose presence is the point).
  const always = f.oneof !== undefined;
  const fieldType = f.type;
  switch (fieldType) {
    case 'bool':
      if (value || always) {
        writer.tag(f.number, WIRE_VARINT);
        writer.varint32(value ? 1 : 0);
      }
      return;
    case 'int64':
    case 'uint64': {
      const integer = toInteger(type, f, value);
      if (integer !== 0n || always) {
        writer.tag(f.number, WIRE_VARINT);
        writer.varint64(integer);
      }
      return;
    }
    case 'string':
      if (typeof value !== 'string') throw new ProtobufEncodeError(type.name, f.name, 'is not a string');
      if (value !== '' || always) {
        writer.tag(f.number, WIRE_LENGTH_DELIMITED);
        writer.bytes(Buffer.from(value, 'utf8'));
      }
      return;
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw new ProtobufEncodeError(type.name, f.name, 'is not a Buffer');
      if (value.length > 0 || always) {
        writer.tag(f.number, WIRE_LENGTH_DELIMITED);
        writer.bytes(value);
      }
      return;
  }
  if (fieldType.kind === 'enum') {
    const number = toEnumNumber(type, f, fieldType, value);
    if (number !== 0 || always) {
      writer.tag(f.number, WIRE_VARINT);
      writer.varint32(number);
    }
    return;
  }
  if (typeof value !== 'object' || value === null)
    throw new ProtobufEncodeError(type.name, f.name, `is not a ${fieldType.name} object`);
  writer.tag(f.number, WIRE_LENGTH_DELIMITED);
  writer.bytes(encodeMessage(fieldType, value));
}

/**
 * A plain object to bytes: fields by their names (int64 as decimal strings, numbers or bigints; enums by name
 * or number; bytes as Buffers; a oneof member by its own field name); properties the schema lacks are ignored.
 */
export function encodeMessage(type: MessageDescriptor, value: object): Buffer {
  const writer = new Writer();
  const record = value as Record<string, unknown>;
  let oneofSet: Map<string, string> | undefined;
  for (const f of type.fields) {
    const v = record[f.name];
    if (v === undefined || v === null) continue;
    if (f.oneof) {
      oneofSet ??= new Map();
      const other = oneofSet.get(f.oneof);
      if (other) throw new ProtobufEncodeError(type.name, f.name, `oneof ${f.oneof} already has ${other}`);
      oneofSet.set(f.oneof, f.name);
    }
    if (f.repeated) {
      if (!Array.isArray(v)) throw new ProtobufEncodeError(type.name, f.name, 'is not an array');
      for (const element of v) writeField(writer, type, f, element);
    } else writeField(writer, type, f, v);
  }
  return writer.finish();
}
