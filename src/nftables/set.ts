/**
 * Named sets and their elements. vxnet uses one for the VXLAN peers, so a
 * change of peers is a change of elements, not of rules.
 */
import { checkInt, type Decoded } from '../netlink/codec.js';
import { ValidationError } from '../netlink/errors.js';
import { encodeMessage, messageSchema, type MessageOf, type RequestMessageOf } from '../netlink/message.js';
import { attr, type DecodedOf, type RequestOf } from '../netlink/schema.js';
import {
  NFT_MSG_DELSET,
  NFT_MSG_DELSETELEM,
  NFT_MSG_GETSET,
  NFT_MSG_GETSETELEM,
  NFT_MSG_NEWSET,
  NFT_MSG_NEWSETELEM,
  NFT_SET_ANONYMOUS,
  NFT_SET_ELEM_CATCHALL,
  NFT_SET_CONCAT,
  NFT_SET_CONSTANT,
  NFT_SET_EVAL,
  NFT_SET_EXPR,
  NFT_SET_INTERVAL,
  NFT_SET_MAP,
  NFT_SET_OBJECT,
  NFT_SET_TIMEOUT,
} from './constants.js';
import { dataAttrs, valueFromWire, valueToWire, type Verdict, verdictFromWire, verdictToWire } from './expr/data.js';
import { expressionAttrs, expressionListAttrs } from './expr/index.js';
import { flagsFromNumber, flagsToNumber } from './flags.js';
import { checkName } from './names.js';
import { type Family, familyName, familyNumber, header, NFGENMSG_FIELDS, nfgenmsg, nftType } from './nfgenmsg.js';
import { uapiSet } from '../netlink/uapi.js';
import { hasUnknown, identity, refuseRaw, required } from './unmodeled.js';

export const SET_FLAGS = {
  anonymous: NFT_SET_ANONYMOUS,
  constant: NFT_SET_CONSTANT,
  interval: NFT_SET_INTERVAL,
  map: NFT_SET_MAP,
  timeout: NFT_SET_TIMEOUT,
  dynamic: NFT_SET_EVAL,
  object: NFT_SET_OBJECT,
  concat: NFT_SET_CONCAT,
  expr: NFT_SET_EXPR,
} as const;
export type SetFlag = keyof typeof SET_FLAGS;

/**
 * nft's data type numbers (its own registry, not the kernel's: the kernel
 * stores NFTA_SET_KEY_TYPE for userspace and only checks the length).
 */
export const SET_KEY_TYPES = { ipv4_addr: 7, ipv6_addr: 8, ether_addr: 9, inet_proto: 12, inet_service: 13 } as const;

export interface NftSet {
  family: Family;
  table: string;
  name: string;
  /** A number of nft's type registry (SET_KEY_TYPES) and the key's length in bytes. */
  keyType: number;
  keyLen: number;
  flags?: (SetFlag | number)[];
  dataType?: number;
  dataLen?: number;
  /** Identifies the set within a batch, for lookups created with it. */
  id?: number;
  timeoutMs?: bigint;
  /** nft keeps the key's byte order and more here; it is written back as given. */
  userdata?: Uint8Array;
  /** Listings only. */
  handle?: bigint;
  /**
   * Listings only, and only when the fields above cannot say everything the
   * kernel sent (an unknown attribute or family, or one vxnet does not model:
   * a size or concatenation description, a policy, a GC interval, an object
   * type, per-element expressions): the decoded message, whose encoding is
   * the bytes it came from. Not written back (see unmodeled.ts).
   */
  raw?: Decoded;
}

export interface SetElement {
  /**
   * The key as the register holds it (an IPv4 address: its 4 bytes in
   * network order). The catch-all element has no key: here it is empty (a
   * real key has at least one byte), and `catchAll` is true.
   */
  key: Uint8Array;
  /**
   * The catch-all element (nft's `*`, NFT_SET_ELEM_CATCHALL, kernel 5.13+):
   * it matches every key no other element matches; a set holds at most one.
   */
  catchAll?: boolean;
  keyEnd?: Uint8Array;
  /** NFTA_SET_ELEM_FLAGS other than the catch-all bit (NFT_SET_ELEM_INTERVAL_END). */
  flags?: number;
  /** A data map's value. */
  data?: Uint8Array;
  /** A verdict map's value (`10.0.0.1 : accept`, `* : jump other`). */
  verdict?: Verdict;
  timeoutMs?: bigint;
  /** Listings only: the time left before an element with a timeout expires. */
  expiresMs?: bigint;
  userdata?: Uint8Array;
  /**
   * Listings only, and only when the fields above cannot say everything the
   * kernel sent (an unknown attribute, no key on an element that is not the
   * catch-all, an object reference, per-element expressions): the decoded
   * NFTA_LIST_ELEM, whose encoding is the bytes it came from. Not written back.
   */
  raw?: Decoded;
}

/** An element to add or delete: a SetElement, whose key the catch-all element may leave out. */
export type SetElementInput = Omit<SetElement, 'key'> & { key?: Uint8Array };

const descAttrs = uapiSet('set desc', {
  size: ['NFTA_SET_DESC_SIZE', attr.be32(1)],
  concat: ['NFTA_SET_DESC_CONCAT', attr.binary(2)],
});

export const setAttrs = uapiSet(
  'set',
  {
    table: ['NFTA_SET_TABLE', attr.string(1)],
    name: ['NFTA_SET_NAME', attr.string(2)],
    flags: ['NFTA_SET_FLAGS', attr.be32(3)],
    key_type: ['NFTA_SET_KEY_TYPE', attr.be32(4)],
    key_len: ['NFTA_SET_KEY_LEN', attr.be32(5)],
    data_type: ['NFTA_SET_DATA_TYPE', attr.be32(6)],
    data_len: ['NFTA_SET_DATA_LEN', attr.be32(7)],
    policy: ['NFTA_SET_POLICY', attr.be32(8)],
    desc: ['NFTA_SET_DESC', attr.nest(9, descAttrs)],
    id: ['NFTA_SET_ID', attr.be32(10)],
    timeout: ['NFTA_SET_TIMEOUT', attr.be64(11)],
    gc_interval: ['NFTA_SET_GC_INTERVAL', attr.be32(12)],
    userdata: ['NFTA_SET_USERDATA', attr.binary(13)],
    pad: ['NFTA_SET_PAD', attr.binary(14)],
    obj_type: ['NFTA_SET_OBJ_TYPE', attr.be32(15)],
    handle: ['NFTA_SET_HANDLE', attr.be64(16)],
    expr: ['NFTA_SET_EXPR', attr.nest(17, expressionAttrs)],
    expressions: ['NFTA_SET_EXPRESSIONS', attr.nest(18, expressionListAttrs)],
  },
  NFGENMSG_FIELDS,
);

export const setSchema = messageSchema('set', nfgenmsg, setAttrs);

/** In the order our requests were recorded in (nft's, for expressions): requests follow declaration order. */
const elementAttrs = uapiSet('set element', {
  key: ['NFTA_SET_ELEM_KEY', attr.nest(1, dataAttrs)],
  key_end: ['NFTA_SET_ELEM_KEY_END', attr.nest(10, dataAttrs)],
  data: ['NFTA_SET_ELEM_DATA', attr.nest(2, dataAttrs)],
  flags: ['NFTA_SET_ELEM_FLAGS', attr.be32(3)],
  timeout: ['NFTA_SET_ELEM_TIMEOUT', attr.be64(4)],
  expiration: ['NFTA_SET_ELEM_EXPIRATION', attr.be64(5)],
  userdata: ['NFTA_SET_ELEM_USERDATA', attr.binary(6)],
  expr: ['NFTA_SET_ELEM_EXPR', attr.nest(7, expressionAttrs)],
  pad: ['NFTA_SET_ELEM_PAD', attr.binary(8)],
  objref: ['NFTA_SET_ELEM_OBJREF', attr.string(9)],
  expressions: ['NFTA_SET_ELEM_EXPRESSIONS', attr.nest(11, expressionListAttrs)],
});

/** In the order our requests were recorded in (nft's, for expressions): requests follow declaration order. */
export const setElementListAttrs = uapiSet(
  'set element list',
  {
    table: ['NFTA_SET_ELEM_LIST_TABLE', attr.string(1)],
    set: ['NFTA_SET_ELEM_LIST_SET', attr.string(2)],
    set_id: ['NFTA_SET_ELEM_LIST_SET_ID', attr.be32(4)],
    elements: [
      'NFTA_SET_ELEM_LIST_ELEMENTS',
      attr.nest(3, uapiSet('set elements', { elem: ['NFTA_LIST_ELEM', attr.multi(attr.nest(1, elementAttrs))] })),
    ],
  },
  NFGENMSG_FIELDS,
);

export const setElementsSchema = messageSchema('set elements', nfgenmsg, setElementListAttrs);

export function setToWire(s: NftSet, field = 'set'): RequestMessageOf<typeof setSchema> {
  refuseRaw(s, field, 'set');
  const out: RequestMessageOf<typeof setSchema> = {
    ...header(familyNumber(s.family, `${field}.family`)),
    table: checkName(s.table, `${field}.table`),
    name: checkName(s.name, `${field}.name`),
    flags: flagsToNumber(SET_FLAGS, s.flags, `${field}.flags`),
    key_type: checkInt(s.keyType, 0, 0xffffffff, `${field}.keyType`),
    key_len: checkInt(s.keyLen, 1, 64, `${field}.keyLen`),
  };
  if (s.dataType !== undefined) out.data_type = checkInt(s.dataType, 0, 0xffffffff, `${field}.dataType`);
  if (s.dataLen !== undefined) out.data_len = checkInt(s.dataLen, 1, 64, `${field}.dataLen`);
  if (s.id !== undefined) out.id = checkInt(s.id, 1, 0xffffffff, `${field}.id`);
  if (s.timeoutMs !== undefined) out.timeout = s.timeoutMs;
  if (s.userdata !== undefined) out.userdata = s.userdata;
  return out;
}

/**
 * The attributes of a set listing the typed form says (pad is filler; the header's version and res_id are
 * the message's).
 */
const SET_READ = new Set([
  'family',
  'version',
  'res_id',
  'table',
  'name',
  'flags',
  'key_type',
  'key_len',
  'data_type',
  'data_len',
  'id',
  'timeout',
  'userdata',
  'pad',
  'handle',
]);

export function setFromWire(w: MessageOf<typeof setSchema>): NftSet {
  const family = familyName(w.family as number);
  const s: NftSet = {
    family: family as Family,
    table: identity(w, 'table', 'set', 'NFTA_SET_TABLE'),
    name: identity(w, 'name', 'set', 'NFTA_SET_NAME'),
    // The kernel always lists both (a set created without a key type has type 0).
    keyType: required(w, 'key_type', 'set', 'NFTA_SET_KEY_TYPE'),
    keyLen: required(w, 'key_len', 'set', 'NFTA_SET_KEY_LEN'),
  };
  if (typeof w.flags === 'number' && w.flags !== 0) s.flags = flagsFromNumber(SET_FLAGS, w.flags);
  if (typeof w.data_type === 'number') s.dataType = w.data_type;
  if (typeof w.data_len === 'number') s.dataLen = w.data_len;
  if (typeof w.id === 'number') s.id = w.id;
  if (typeof w.timeout === 'bigint') s.timeoutMs = w.timeout;
  if (w.userdata instanceof Uint8Array) s.userdata = w.userdata;
  if (typeof w.handle === 'bigint') s.handle = w.handle;
  // Kernels list NFTA_SET_DESC on every set, empty unless a size or a concatenation was given.
  const said = (key: string) => SET_READ.has(key) || (key === 'desc' && Object.keys(w.desc ?? {}).length === 0);
  if (typeof family === 'number' || Object.keys(w).some((key) => !said(key))) s.raw = w;
  return s;
}

function elementToWire(e: SetElementInput, field: string): RequestOf<typeof elementAttrs> {
  refuseRaw(e, field, 'set element');
  const catchAll = e.catchAll === true || (typeof e.flags === 'number' && (e.flags & NFT_SET_ELEM_CATCHALL) !== 0);
  const out: RequestOf<typeof elementAttrs> = {};
  if (!catchAll) out.key = valueToWire(e.key as Uint8Array, `${field}.key`);
  else if (e.key !== undefined && !(e.key instanceof Uint8Array && e.key.length === 0)) {
    throw new ValidationError(
      `${field}.key`,
      'the catch-all element has no key (leave it out, or give an empty one)',
      e.key,
    );
  }
  if (e.keyEnd !== undefined) out.key_end = valueToWire(e.keyEnd, `${field}.keyEnd`);
  if (e.data !== undefined && e.verdict !== undefined)
    throw new ValidationError(field, 'give data (a data map) or verdict (a verdict map), not both');
  if (e.data !== undefined) out.data = valueToWire(e.data, `${field}.data`);
  if (e.verdict !== undefined) out.data = { verdict: verdictToWire(e.verdict, `${field}.verdict`) };
  const flags =
    (e.flags === undefined ? 0 : checkInt(e.flags, 0, 0xffffffff, `${field}.flags`)) |
    (catchAll ? NFT_SET_ELEM_CATCHALL : 0);
  if (e.flags !== undefined || catchAll) out.flags = flags >>> 0;
  if (e.timeoutMs !== undefined) out.timeout = e.timeoutMs;
  if (e.userdata !== undefined) out.userdata = e.userdata;
  return out;
}

/** The attributes of a listed element the typed form says. */
const ELEMENT_READ = new Set(['key', 'key_end', 'data', 'flags', 'timeout', 'expiration', 'userdata', 'pad']);
const NO_KEY = new Uint8Array(0);

function elementFromWire(w: DecodedOf<typeof elementAttrs>): SetElement {
  const flags = typeof w.flags === 'number' ? w.flags : 0;
  const catchAll = (flags & NFT_SET_ELEM_CATCHALL) !== 0;
  const key = valueFromWire(w.key);
  const e: SetElement = { key: key ?? NO_KEY };
  // The catch-all has no key, every other element has one.
  let complete = catchAll ? w.key === undefined : key !== undefined;
  if (catchAll) e.catchAll = true;
  if (w.key_end !== undefined) {
    const keyEnd = valueFromWire(w.key_end);
    if (keyEnd) e.keyEnd = keyEnd;
    else complete = false;
  }
  if (w.data !== undefined) {
    const data = valueFromWire(w.data);
    const verdict = dataVerdict(w.data);
    if (data) e.data = data;
    else if (verdict) e.verdict = verdict;
    else complete = false;
  }
  if ((flags & ~NFT_SET_ELEM_CATCHALL) !== 0) e.flags = (flags & ~NFT_SET_ELEM_CATCHALL) >>> 0;
  if (typeof w.timeout === 'bigint') e.timeoutMs = w.timeout;
  if (typeof w.expiration === 'bigint') e.expiresMs = w.expiration;
  if (w.userdata instanceof Uint8Array) e.userdata = w.userdata;
  if (!complete || hasUnknown(w) || Object.keys(w).some((k) => !ELEMENT_READ.has(k))) e.raw = w;
  return e;
}

/** The verdict of a verdict map's element data, when that is all the data holds. */
function dataVerdict(w: unknown): Verdict | undefined {
  if (typeof w !== 'object' || w === null) return undefined;
  const { verdict, ...rest } = w as Decoded;
  if (Object.keys(rest).length !== 0 || typeof verdict !== 'object' || verdict === null) return undefined;
  const v = verdict as Decoded;
  if (Object.keys(v).some((k) => k !== 'code' && k !== 'chain')) return undefined;
  return verdictFromWire(v);
}

export function setLabel(s: { family: Family | number; table: string; name: string }): string {
  return `${s.family} ${s.table} @${s.name}`;
}

export function newSetMessage(s: NftSet, flags: number): Buffer {
  return encodeMessage(nftType(NFT_MSG_NEWSET), flags, setSchema, setToWire(s));
}

export function deleteSetMessage(family: Family, table: string, name: string): Buffer {
  return encodeMessage(nftType(NFT_MSG_DELSET), 0, setSchema, {
    ...header(familyNumber(family)),
    table: checkName(table, 'set.table'),
    name: checkName(name, 'set.name'),
  });
}

export function getSetMessage(family?: Family, table?: string, name?: string): Buffer {
  const w: RequestMessageOf<typeof setSchema> = { ...header(familyNumber(family)) };
  if (table !== undefined) w.table = checkName(table, 'set.table');
  if (name !== undefined) w.name = checkName(name, 'set.name');
  return encodeMessage(nftType(NFT_MSG_GETSET), 0, setSchema, w);
}

export interface SetRef {
  family: Family;
  table: string;
  set: string;
  /** The set's id when it is created in the same batch. */
  setId?: number;
}

function elementListWire(
  ref: SetRef,
  elements: readonly SetElementInput[] | undefined,
  field: string,
): RequestMessageOf<typeof setElementsSchema> {
  const out: RequestMessageOf<typeof setElementsSchema> = {
    ...header(familyNumber(ref.family, `${field}.family`)),
    table: checkName(ref.table, `${field}.table`),
    set: checkName(ref.set, `${field}.set`),
  };
  if (ref.setId !== undefined) out.set_id = checkInt(ref.setId, 1, 0xffffffff, `${field}.setId`);
  if (elements !== undefined) {
    if (!Array.isArray(elements) || elements.length === 0)
      throw new ValidationError(`${field}.elements`, 'a non-empty list of elements', elements);
    out.elements = { elem: elements.map((e, i) => elementToWire(e, `${field}.elements[${i}]`)) };
  }
  return out;
}

export function newSetElementsMessage(ref: SetRef, elements: readonly SetElementInput[], flags: number): Buffer {
  return encodeMessage(
    nftType(NFT_MSG_NEWSETELEM),
    flags,
    setElementsSchema,
    elementListWire(ref, elements, 'elements'),
  );
}

export function deleteSetElementsMessage(ref: SetRef, elements: readonly SetElementInput[]): Buffer {
  return encodeMessage(nftType(NFT_MSG_DELSETELEM), 0, setElementsSchema, elementListWire(ref, elements, 'elements'));
}

/** The request of an element dump (the kernel needs the table and the set). */
export function getSetElementsMessage(ref: SetRef): Buffer {
  return encodeMessage(nftType(NFT_MSG_GETSETELEM), 0, setElementsSchema, elementListWire(ref, undefined, 'elements'));
}

/**
 * The elements of one NEWSETELEM message. (The list's own envelope holds the
 * table and set the caller asked for, and nothing else in kernels to date.)
 */
export function elementsFromWire(w: MessageOf<typeof setElementsSchema>): SetElement[] {
  const list = w.elements?.elem ?? [];
  return list.map(elementFromWire);
}
