/**
 * Fixed C structures (nlmsghdr, ifinfomsg, rtmsg, nfgenmsg, ...).
 *
 * struct-fu is the single source of each layout: it computes every field's
 * offset and the struct's size. Its own pack/unpack are general (a loop over
 * field objects per call), an order of magnitude slower than direct reads,
 * so the hot path uses a reader and a writer generated from struct-fu's
 * offsets.
 */
import fu, { type Field } from 'struct-fu';
import { HOST_LE } from './bytes.js';

/**
 * Set on every decoded object (structs included): its keys are in wire order,
 * and encoding writes them in that order, so a decoded message re-encodes
 * byte for byte. Objects built by hand (requests) lack it and are written in
 * the order their attribute set declares (see encodeAttrs).
 */
export const WIRE_ORDER: unique symbol = Symbol('vxnet.wireOrder');

/**
 * The prototype of decoded objects: Object.prototype with WIRE_ORDER set. They
 * print, spread, compare (uvu, JSON) and report `constructor` as plain objects
 * do; only a check of the prototype itself (util.isDeepStrictEqual) tells
 * them apart. A copy made by spreading one is a plain object: a request.
 */
export const DECODED: object = Object.create(Object.prototype, {
  constructor: { value: Object, writable: true, configurable: true },
  [WIRE_ORDER]: { value: true, writable: true },
});

export { HOST_LE };

export type FieldKind =
  | 'u8'
  | 's8'
  | 'u16'
  | 's16'
  | 'u32'
  | 's32'
  | 'u64' // host byte order
  | 'be16'
  | 'be32'
  | 'be64' // network byte order
  | 'pad'; // reserved bytes: written as zero, not read

export interface FieldSpec<N extends string = string, K extends FieldKind = FieldKind> {
  name: N;
  kind: K;
  /** Bytes, for `pad` only. */
  size?: number;
}

export interface Layout<T> {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly (FieldSpec & { offset: number })[];
  /** Reads the struct at `offset`. The caller has checked that `size` bytes are there. */
  read(buffer: Buffer, offset: number): T;
  /** Writes the struct at `offset`; missing fields are written as zero. */
  write(buffer: Buffer, offset: number, value: Partial<T>): void;
}

function fuField(spec: FieldSpec): Field {
  const { name, kind } = spec;
  switch (kind) {
    case 'u8':
      return fu.uint8(name);
    case 's8':
      return fu.int8(name);
    case 'u16':
      return HOST_LE ? fu.uint16le(name) : fu.uint16(name);
    case 's16':
      return HOST_LE ? fu.int16le(name) : fu.int16(name);
    case 'u32':
      return HOST_LE ? fu.uint32le(name) : fu.uint32(name);
    case 's32':
      return HOST_LE ? fu.int32le(name) : fu.int32(name);
    case 'be16':
      return fu.uint16(name);
    case 'be32':
      return fu.uint32(name);
    // struct-fu has no 64-bit integers: declare the 8 bytes, read them ourselves.
    case 'u64':
    case 'be64':
      return fu.byte(name, 8);
    case 'pad':
      return fu.byte(name, spec.size ?? 1);
  }
}

const E = HOST_LE ? 'LE' : 'BE';
const READ: Record<Exclude<FieldKind, 'pad'>, string> = {
  u8: 'readUInt8',
  s8: 'readInt8',
  u16: `readUInt16${E}`,
  s16: `readInt16${E}`,
  u32: `readUInt32${E}`,
  s32: `readInt32${E}`,
  u64: `readBigUInt64${E}`,
  be16: 'readUInt16BE',
  be32: 'readUInt32BE',
  be64: 'readBigUInt64BE',
};
const WRITE: Record<Exclude<FieldKind, 'pad'>, string> = {
  u8: 'writeUInt8',
  s8: 'writeInt8',
  u16: `writeUInt16${E}`,
  s16: `writeInt16${E}`,
  u32: `writeUInt32${E}`,
  s32: `writeInt32${E}`,
  u64: `writeBigUInt64${E}`,
  be16: 'writeUInt16BE',
  be32: 'writeUInt32BE',
  be64: 'writeBigUInt64BE',
};

/** A byte at offset `o + at` in generated code. */
const byte = (at: number): string => `b[o + ${at}]`;

/**
 * Source of an expression reading one field: plain byte arithmetic for the
 * common widths (no per-call argument validation, unlike Buffer's readers),
 * Buffer's readers for the rest.
 */
function readExpression(kind: Exclude<FieldKind, 'pad'>, at: number): string {
  const [lo, hi] = HOST_LE ? [0, 1] : [1, 0];
  const le32 = `((${byte(at)} | (${byte(at + 1)} << 8) | (${byte(at + 2)} << 16)) + ${byte(at + 3)} * 0x1000000)`;
  const be32 = `(${byte(at)} * 0x1000000 + ((${byte(at + 1)} << 16) | (${byte(at + 2)} << 8) | ${byte(at + 3)}))`;
  switch (kind) {
    case 'u8':
      return byte(at);
    case 'u16':
      return `(${byte(at + lo)} | (${byte(at + hi)} << 8))`;
    case 'u32':
      return HOST_LE ? le32 : be32;
    case 's32':
      return `(${HOST_LE ? le32 : be32} | 0)`;
    case 'be16':
      return `((${byte(at)} << 8) | ${byte(at + 1)})`;
    case 'be32':
      return be32;
    default:
      return `b.${READ[kind]}(o + ${at})`;
  }
}

/**
 * Declares a struct. Field names are JavaScript identifiers (they are used
 * as property names in generated code).
 */
/** A field's value: u64s as bigint, the other integers as number; pad has none. */
type FieldValue<K extends FieldKind> = K extends 'pad' ? never : K extends 'u64' | 'be64' ? bigint : number;

/** The object a struct's fields read into (`StructOf<typeof specs>`); pad fields are left out. */
export type StructOf<S extends readonly FieldSpec[]> = {
  [F in S[number] as F['kind'] extends 'pad' ? never : F['name']]: FieldValue<F['kind']>;
} & {};

/** The object a layout reads (`StructType<typeof ifinfomsg>`). */
export type StructType<L> = L extends Layout<infer T> ? T : never;

export function layout<const S extends readonly FieldSpec[]>(name: string, specs: S): Layout<StructOf<S>>;
/**
 * @deprecated The struct's type comes from its fields: drop the type argument
 * (kept so that code written before the types were derived still compiles).
 */
export function layout<T>(name: string, specs: readonly FieldSpec[]): Layout<T>;
export function layout(name: string, specs: readonly FieldSpec[]): Layout<Record<string, number | bigint>> {
  type T = Record<string, number | bigint>;
  for (const spec of specs) {
    if (!/^[A-Za-z_$][\w$]*$/.test(spec.name)) throw new Error(`layout ${name}: bad field name ${spec.name}`);
  }
  const struct = fu.struct(specs.map(fuField));
  const fields = specs.map((spec) => {
    const field = struct.fields[spec.name];
    if (field === undefined) throw new Error(`layout ${name}: ${spec.name} is missing from the built struct`);
    const offset = field.offset;
    if (typeof offset !== 'number') throw new Error(`layout ${name}: ${spec.name} is not byte aligned`);
    return { ...spec, offset };
  });
  const data = fields.filter((f) => f.kind !== 'pad');

  // Generated on first use, since most of the ~50 layouts a process loads are
  // never read: straight-line reads at constant offsets, which V8 compiles to
  // a handful of loads. The stubs replace themselves on the object.
  const generate = (): void => {
    const writeBody = fields
      .map((f) => {
        if (f.kind === 'pad') return `b.fill(0, o + ${f.offset}, o + ${f.offset + (f.size ?? 1)});`;
        const zero = f.kind === 'u64' || f.kind === 'be64' ? '0n' : '0';
        return `b.${WRITE[f.kind]}(v.${f.name} ?? ${zero}, o + ${f.offset});`;
      })
      .join('\n');
    // A constructor rather than an object literal: V8 sizes its objects for the attributes added after
    // the header (slack tracking), and its prototype carries the WIRE_ORDER mark (see DECODED).
    const assignBody = data
      .map((f) => `this.${f.name} = ${readExpression(f.kind as Exclude<FieldKind, 'pad'>, f.offset)};`)
      .join('\n');
    generated.read = new Function(
      'P',
      `function Struct(b, o) {\n${assignBody}\n}\nStruct.prototype = P;\n` +
        'return function read(b, o) { return new Struct(b, o); };',
    )(DECODED) as Layout<T>['read'];
    generated.write = new Function('b', 'o', 'v', writeBody) as Layout<T>['write'];
    Object.assign(result, generated);
  };
  const generated = {} as Pick<Layout<T>, 'read' | 'write'>;
  const result: Layout<T> = {
    name,
    size: struct.size,
    fields,
    read(b, o) {
      if (!generated.read) generate();
      return generated.read(b, o);
    },
    write(b, o, v) {
      if (!generated.write) generate();
      generated.write(b, o, v);
    },
  };
  return result;
}

export const u8 = <N extends string>(name: N): FieldSpec<N, 'u8'> => ({ name, kind: 'u8' });
export const s8 = <N extends string>(name: N): FieldSpec<N, 's8'> => ({ name, kind: 's8' });
export const u16 = <N extends string>(name: N): FieldSpec<N, 'u16'> => ({ name, kind: 'u16' });
export const s16 = <N extends string>(name: N): FieldSpec<N, 's16'> => ({ name, kind: 's16' });
export const u32 = <N extends string>(name: N): FieldSpec<N, 'u32'> => ({ name, kind: 'u32' });
export const s32 = <N extends string>(name: N): FieldSpec<N, 's32'> => ({ name, kind: 's32' });
export const u64 = <N extends string>(name: N): FieldSpec<N, 'u64'> => ({ name, kind: 'u64' });
export const be16 = <N extends string>(name: N): FieldSpec<N, 'be16'> => ({ name, kind: 'be16' });
export const be32 = <N extends string>(name: N): FieldSpec<N, 'be32'> => ({ name, kind: 'be32' });
export const be64 = <N extends string>(name: N): FieldSpec<N, 'be64'> => ({ name, kind: 'be64' });
export const pad = <N extends string>(name: N, size: number): FieldSpec<N, 'pad'> => ({ name, kind: 'pad', size });

/** struct nlmsghdr */
export const nlmsghdr = layout('nlmsghdr', [u32('len'), u16('type'), u16('flags'), u32('seq'), u32('pid')]);
export type NlMsgHdr = StructType<typeof nlmsghdr>;

/** struct nlattr */
export const nlattr = layout('nlattr', [u16('len'), u16('type')]);
export type NlAttr = StructType<typeof nlattr>;

/** struct nlmsgerr: the error code, then the header of the request it answers. */
export const nlmsgerr = layout('nlmsgerr', [s32('error')]);
export type NlMsgErr = StructType<typeof nlmsgerr>;
