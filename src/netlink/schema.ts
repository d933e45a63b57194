/**
 * Declarative attribute sets. A family describes each set once (name,
 * number, kind, byte order, nested set, sub-message selector) and one generic
 * engine (codec.ts) encodes and decodes every message from that description.
 */
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
  sets: Record<string, AttrSet | (() => AttrSet)>;
}

export interface AttrDef {
  type: number;
  kind: AttrKind;
  /** For `nest`: the nested set (a thunk allows recursion and forward references). */
  set?: AttrSet | (() => AttrSet);
  /** For `nest`: a set chosen by a sibling attribute. */
  select?: SubMessage;
  /** For `struct`. */
  layout?: Layout<any>;
  /** The attribute may repeat: its value is an array, in wire order. */
  multi?: boolean;
}

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
}

export interface AttrSet {
  readonly name: string;
  /** Indexed by attribute number (flags masked off). */
  readonly byType: readonly (Attr | undefined)[];
  readonly byName: ReadonlyMap<string, Attr>;
  /** Names that belong to the object but are not attributes (the family header's fields). */
  readonly headerFields: ReadonlySet<string>;
}

/**
 * Declares an attribute set. `headerFields` names the fields that the message
 * header (ifinfomsg, ...) contributes to the same decoded object.
 */
export function attrSet(name: string, defs: Record<string, AttrDef>, headerFields: readonly string[] = []): AttrSet {
  const byType: (Attr | undefined)[] = [];
  const byName = new Map<string, Attr>();
  for (const [attrName, def] of Object.entries(defs)) {
    if (attrName === 'unknown') throw new Error(`attribute set ${name}: "unknown" is reserved for raw attributes`);
    if (!Number.isInteger(def.type) || def.type < 0 || def.type > 0x3fff) {
      throw new Error(`attribute set ${name}: ${attrName} has type ${def.type}`);
    }
    if (byType[def.type])
      throw new Error(`attribute set ${name}: ${attrName} and ${byType[def.type]!.name} share type ${def.type}`);
    if (def.kind === 'struct' && !def.layout) throw new Error(`attribute set ${name}: ${attrName} needs a layout`);
    const attr: Attr = { ...def, name: attrName, code: Kind[def.kind] };
    byType[def.type] = attr;
    byName.set(attrName, attr);
  }
  for (const field of headerFields) {
    if (byName.has(field)) throw new Error(`attribute set ${name}: ${field} is both a header field and an attribute`);
  }
  return { name, byType, byName, headerFields: new Set(headerFields) };
}

export function resolveSet(set: AttrSet | (() => AttrSet)): AttrSet {
  return typeof set === 'function' ? set() : set;
}

/** Shorthands for attribute definitions, so a set reads like the uapi header. */
export const attr = {
  u8: (type: number): AttrDef => ({ type, kind: 'u8' }),
  u16: (type: number): AttrDef => ({ type, kind: 'u16' }),
  u32: (type: number): AttrDef => ({ type, kind: 'u32' }),
  u64: (type: number): AttrDef => ({ type, kind: 'u64' }),
  s8: (type: number): AttrDef => ({ type, kind: 's8' }),
  s16: (type: number): AttrDef => ({ type, kind: 's16' }),
  s32: (type: number): AttrDef => ({ type, kind: 's32' }),
  s64: (type: number): AttrDef => ({ type, kind: 's64' }),
  be16: (type: number): AttrDef => ({ type, kind: 'be16' }),
  be32: (type: number): AttrDef => ({ type, kind: 'be32' }),
  be64: (type: number): AttrDef => ({ type, kind: 'be64' }),
  string: (type: number): AttrDef => ({ type, kind: 'string' }),
  binary: (type: number): AttrDef => ({ type, kind: 'binary' }),
  flag: (type: number): AttrDef => ({ type, kind: 'flag' }),
  ipv4: (type: number): AttrDef => ({ type, kind: 'ipv4' }),
  ipv6: (type: number): AttrDef => ({ type, kind: 'ipv6' }),
  ip: (type: number): AttrDef => ({ type, kind: 'ip' }),
  mac: (type: number): AttrDef => ({ type, kind: 'mac' }),
  nest: (type: number, set: AttrSet | (() => AttrSet)): AttrDef => ({ type, kind: 'nest', set }),
  select: (type: number, by: string, sets: SubMessage['sets']): AttrDef => ({
    type,
    kind: 'nest',
    select: { by, sets },
  }),
  struct: (type: number, layout: Layout<any>): AttrDef => ({ type, kind: 'struct', layout }),
  u8flag: (type: number): AttrDef => ({ type, kind: 'u8flag' }),
  uint: (type: number): AttrDef => ({ type, kind: 'uint' }),
  /** Any of the above, repeated. */
  multi: (def: AttrDef): AttrDef => ({ ...def, multi: true }),
};
