/**
 * Declarative attribute sets. A family describes each set once (name,
 * number, kind, byte order, nested set, sub-message selector) and one generic
 * engine (codec.ts) encodes and decodes every message from that description.
 */
import type { RawAttr } from './codec.js';
import type { Layout } from './layout.js';

export type AttrKind =
  | 'u8'
  | 'u16'
  | 'u32'
  | 'u64'
  | 's8'
  | 's16'
  | 's32'
  | 's64' // host byte order
  | 'be16'
  | 'be32'
  | 'be64' // network byte order
  | 'string' // NUL-terminated
  | 'binary' // opaque bytes (Uint8Array)
  | 'flag' // present (true) or absent
  | 'ipv4'
  | 'ipv6'
  | 'ip' // address as text; `ip` takes either by length
  | 'mac' // link-layer address as aa:bb:cc:...
  | 'nest' // nested attribute set (or one chosen by a sibling: `select`)
  | 'struct' // a fixed C struct (Layout)
  | 'u8flag' // a u8 in dumps, a flag in requests (IFLA_VXLAN_TTL_INHERIT): true writes the flag, a number the u8
  | 'uint'; // 4 or 8 bytes by length (NLA_UINT, RTA_EXPIRES): number for 4, bigint for 8

/** Picks the set of a nested attribute from a sibling's value (IFLA_INFO_KIND → IFLA_INFO_DATA). */
export interface SubMessage {
  /** Name of the sibling attribute whose value selects the set. */
  by: string;
  /** Set per selector value (a string, or a number written as a key); a value not listed keeps the attribute raw. */
  sets: Record<string, AnySet | (() => AnySet)>;
}

/**
 * One attribute's definition. `Out` is the type of its decoded value, `In`
 * what a request may give (they differ for u64s, which also take a safe
 * integer, and for nests): type-only parameters, carried by the `attr.*`
 * shorthands, from which attrSet derives the set's object types.
 */
export interface AttrDef<Out = unknown, In = Out> {
  type: number;
  kind: AttrKind;
  /** For `nest`: the nested set (a thunk allows recursion and forward references). */
  set?: AnySet | (() => AnySet);
  /** For `nest`: a set chosen by a sibling attribute. */
  select?: SubMessage;
  /** For `struct`. */
  layout?: Layout<any>;
  /** The attribute may repeat: its value is an array, in wire order. */
  multi?: boolean;
  /** Type only (never present at run time): the decoded value's type. */
  readonly [OUT]?: Out;
  /** Type only: the type a request gives. */
  readonly [IN]?: In;
}

declare const OUT: unique symbol;
declare const IN: unique symbol;

/**
 * Each kind as a small integer, for the codec's switches (`case Kind.nest:`)
 * and its tables indexed by kind: the hot paths compare numbers, not strings.
 */
export const Kind = {
  u8: 0,
  u16: 1,
  u32: 2,
  u64: 3,
  s8: 4,
  s16: 5,
  s32: 6,
  s64: 7,
  be16: 8,
  be32: 9,
  be64: 10,
  string: 11,
  binary: 12,
  flag: 13,
  ipv4: 14,
  ipv6: 15,
  ip: 16,
  mac: 17,
  nest: 18,
  struct: 19,
  u8flag: 20,
  uint: 21,
} as const satisfies Record<AttrKind, number>;

/** The number of a kind (`Kind.nest` is 18). */
export type KindCode = (typeof Kind)[AttrKind];

/** Internal, resolved form of an attribute definition. */
export interface Attr extends AttrDef {
  name: string;
  /** `Kind[kind]`. */
  code: KindCode;
  /** Its place in the set's declaration: requests are written in this order. */
  rank: number;
}

/**
 * A declared attribute set. `Out` is the decoded object's type, `In` a
 * request's; both are derived from the declaration (see attrSet).
 */
export interface AttrSet<Out extends object = any, In extends object = any> {
  readonly name: string;
  /** Indexed by attribute number (flags masked off). */
  readonly byType: readonly (Attr | undefined)[];
  readonly byName: ReadonlyMap<string, Attr>;
  /** Names that belong to the object but are not attributes (the family header's fields). */
  readonly headerFields: ReadonlySet<string>;
  /** Type only: the decoded object. */
  readonly [OUT]?: Out;
  /** Type only: a request's object. */
  readonly [IN]?: In;
}

/** Any attribute set, whatever its types. */
// biome-ignore lint/suspicious/noExplicitAny: the widest set, for the engine and the selectors
export type AnySet = AttrSet<any, any>;

/** Flattens an intersection into one object type, so hovers and .d.ts show the fields themselves. */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The decoded value of an attribute definition. */
export type OutOf<D> = D extends AttrDef<infer O, unknown> ? O : never;
/** The request value of an attribute definition. */
export type InOf<D> = D extends AttrDef<unknown, infer I> ? I : never;

/** The decoded object of a set (`DecodedOf<typeof vxlanAttrs>`). */
export type DecodedOf<S> = S extends AttrSet<infer O, object> ? O : never;
/** The request object of a set. */
export type RequestOf<S> = S extends AttrSet<object, infer I> ? I : never;

/** The decoded object of a declaration: every attribute optional, unknown ones kept raw. */
export type DecodedAttrs<D extends Record<string, AttrDef>> = {
  -readonly [K in keyof D]?: OutOf<D[K]>;
} & { unknown?: RawAttr[] };
/** The request object of a declaration. */
export type RequestAttrs<D extends Record<string, AttrDef>> = {
  -readonly [K in keyof D]?: InOf<D[K]>;
} & { unknown?: RawAttr[] };

type SetOf<S> = S extends () => infer R ? R : S;

/**
 * Declares an attribute set. `headerFields` names the fields that the message
 * header (ifinfomsg, ...) contributes to the same decoded object.
 */
export function attrSet<const D extends Record<string, AttrDef>>(
  name: string,
  defs: D,
  headerFields: readonly string[] = [],
): AttrSet<Simplify<DecodedAttrs<D>>, Simplify<RequestAttrs<D>>> {
  const byType: (Attr | undefined)[] = [];
  const byName = new Map<string, Attr>();
  for (const [attrName, def] of Object.entries(defs)) {
    if (attrName === 'unknown') throw new Error(`attribute set ${name}: "unknown" is reserved for raw attributes`);
    if (!Number.isInteger(def.type) || def.type < 0 || def.type > 0x3fff) {
      throw new Error(`attribute set ${name}: ${attrName} has type ${def.type}`);
    }
    const clash = byType[def.type];
    if (clash) throw new Error(`attribute set ${name}: ${attrName} and ${clash.name} share type ${def.type}`);
    if (def.kind === 'struct' && !def.layout) throw new Error(`attribute set ${name}: ${attrName} needs a layout`);
    if (def.kind === 'nest' && !def.set && !def.select)
      throw new Error(`attribute set ${name}: ${attrName} needs a set or a select`);
    const attr: Attr = { ...def, name: attrName, code: Kind[def.kind], rank: byName.size };
    // A request is written in declaration order, and the decoder reads a selector before what it selects.
    const by = def.select?.by;
    if (by !== undefined && !byName.has(by) && !headerFields.includes(by))
      throw new Error(`attribute set ${name}: ${attrName} is selected by ${by}, which must be declared before it`);
    byType[def.type] = attr;
    byName.set(attrName, attr);
  }
  for (const field of headerFields) {
    if (byName.has(field)) throw new Error(`attribute set ${name}: ${field} is both a header field and an attribute`);
  }
  return { name, byType, byName, headerFields: new Set(headerFields) };
}

export function resolveSet(set: AnySet | (() => AnySet)): AnySet {
  return typeof set === 'function' ? set() : set;
}

/** Shorthands for attribute definitions, so a set reads like the uapi header. */
export const attr = {
  u8: (type: number): AttrDef<number> => ({ type, kind: 'u8' }),
  u16: (type: number): AttrDef<number> => ({ type, kind: 'u16' }),
  u32: (type: number): AttrDef<number> => ({ type, kind: 'u32' }),
  u64: (type: number): AttrDef<bigint, bigint | number> => ({ type, kind: 'u64' }),
  s8: (type: number): AttrDef<number> => ({ type, kind: 's8' }),
  s16: (type: number): AttrDef<number> => ({ type, kind: 's16' }),
  s32: (type: number): AttrDef<number> => ({ type, kind: 's32' }),
  s64: (type: number): AttrDef<bigint, bigint | number> => ({ type, kind: 's64' }),
  be16: (type: number): AttrDef<number> => ({ type, kind: 'be16' }),
  be32: (type: number): AttrDef<number> => ({ type, kind: 'be32' }),
  be64: (type: number): AttrDef<bigint, bigint | number> => ({ type, kind: 'be64' }),
  string: (type: number): AttrDef<string> => ({ type, kind: 'string' }),
  binary: (type: number): AttrDef<Uint8Array> => ({ type, kind: 'binary' }),
  flag: (type: number): AttrDef<boolean> => ({ type, kind: 'flag' }),
  ipv4: (type: number): AttrDef<string> => ({ type, kind: 'ipv4' }),
  ipv6: (type: number): AttrDef<string> => ({ type, kind: 'ipv6' }),
  ip: (type: number): AttrDef<string> => ({ type, kind: 'ip' }),
  mac: (type: number): AttrDef<string> => ({ type, kind: 'mac' }),
  nest: <S extends AnySet | (() => AnySet)>(
    type: number,
    set: S,
  ): AttrDef<DecodedOf<SetOf<S>>, RequestOf<SetOf<S>>> => ({ type, kind: 'nest', set }),
  /** A nest whose set a sibling's value chooses: its type is the union of the sets'. */
  select: <const S extends Record<string, AnySet | (() => AnySet)>>(
    type: number,
    by: string,
    sets: S,
  ): AttrDef<DecodedOf<SetOf<S[keyof S]>>, RequestOf<SetOf<S[keyof S]>>> => ({
    type,
    kind: 'nest',
    select: { by, sets },
  }),
  struct: <T>(type: number, layout: Layout<T>): AttrDef<T> => ({ type, kind: 'struct', layout }),
  /** A u8 in dumps, a flag in requests: `true` writes the flag, a number the u8. */
  u8flag: (type: number): AttrDef<boolean | number> => ({ type, kind: 'u8flag' }),
  /** 4 or 8 bytes by length: a number for 4, a bigint for 8. */
  uint: (type: number): AttrDef<number | bigint> => ({ type, kind: 'uint' }),
  /** Any of the above, repeated. */
  multi: <O, I>(def: AttrDef<O, I>): AttrDef<O[], I[]> => ({ ...def, multi: true }) as AttrDef<O[], I[]>,
};
