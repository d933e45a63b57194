/**
 * Named sets and their elements. vxnet uses one for the VXLAN peers, so a
 * change of peers is a change of elements, not of rules.
 */
import { checkInt, type Decoded } from '../netlink/codec.js';
import { ValidationError } from '../netlink/errors.js';
import { encodeMessage, type MessageSchema } from '../netlink/message.js';
import { attr } from '../netlink/schema.js';
import {
  NFT_MSG_DELSET, NFT_MSG_DELSETELEM, NFT_MSG_GETSET, NFT_MSG_GETSETELEM, NFT_MSG_NEWSET, NFT_MSG_NEWSETELEM, NFT_SET_ANONYMOUS,
  NFT_SET_CONCAT, NFT_SET_CONSTANT, NFT_SET_EVAL, NFT_SET_EXPR, NFT_SET_INTERVAL, NFT_SET_MAP, NFT_SET_OBJECT, NFT_SET_TIMEOUT,
} from './constants.js';
import { dataAttrs, valueFromWire, valueToWire } from './expr/data.js';
import { expressionAttrs, expressionListAttrs } from './expr/index.js';
import { flagsFromNumber, flagsToNumber } from './flags.js';
import { checkName } from './names.js';
import { type Family, familyName, familyNumber, header, NFGENMSG_FIELDS, nfgenmsg, nftType } from './nfgenmsg.js';
import { uapiSet } from '../netlink/uapi.js';

export const SET_FLAGS = {
  anonymous: NFT_SET_ANONYMOUS, constant: NFT_SET_CONSTANT, interval: NFT_SET_INTERVAL, map: NFT_SET_MAP, timeout: NFT_SET_TIMEOUT,
  dynamic: NFT_SET_EVAL, object: NFT_SET_OBJECT, concat: NFT_SET_CONCAT, expr: NFT_SET_EXPR,
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
}

export interface SetElement {
  /** The key as the register holds it (an IPv4 address: its 4 bytes in network order). */
  key: Uint8Array;
  keyEnd?: Uint8Array;
  flags?: number;
  data?: Uint8Array;
  timeoutMs?: bigint;
  userdata?: Uint8Array;
}

const descAttrs = uapiSet('set desc', {
  size: ['NFTA_SET_DESC_SIZE', attr.be32(1)],
  concat: ['NFTA_SET_DESC_CONCAT', attr.binary(2)],
});

export const setAttrs = uapiSet('set', {
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
}, NFGENMSG_FIELDS);

export const setSchema: MessageSchema = { name: 'set', header: nfgenmsg, attrs: setAttrs };

const elementAttrs = uapiSet('set element', {
  key: ['NFTA_SET_ELEM_KEY', attr.nest(1, dataAttrs)],
  data: ['NFTA_SET_ELEM_DATA', attr.nest(2, dataAttrs)],
  flags: ['NFTA_SET_ELEM_FLAGS', attr.be32(3)],
  timeout: ['NFTA_SET_ELEM_TIMEOUT', attr.be64(4)],
  expiration: ['NFTA_SET_ELEM_EXPIRATION', attr.be64(5)],
  userdata: ['NFTA_SET_ELEM_USERDATA', attr.binary(6)],
  expr: ['NFTA_SET_ELEM_EXPR', attr.nest(7, expressionAttrs)],
  pad: ['NFTA_SET_ELEM_PAD', attr.binary(8)],
  objref: ['NFTA_SET_ELEM_OBJREF', attr.string(9)],
  key_end: ['NFTA_SET_ELEM_KEY_END', attr.nest(10, dataAttrs)],
  expressions: ['NFTA_SET_ELEM_EXPRESSIONS', attr.nest(11, expressionListAttrs)],
});

export const setElementListAttrs = uapiSet('set element list', {
  table: ['NFTA_SET_ELEM_LIST_TABLE', attr.string(1)],
  set: ['NFTA_SET_ELEM_LIST_SET', attr.string(2)],
  elements: ['NFTA_SET_ELEM_LIST_ELEMENTS', attr.nest(3, uapiSet('set elements', { elem: ['NFTA_LIST_ELEM', attr.multi(attr.nest(1, elementAttrs))] }))],
  set_id: ['NFTA_SET_ELEM_LIST_SET_ID', attr.be32(4)],
}, NFGENMSG_FIELDS);

export const setElementsSchema: MessageSchema = { name: 'set elements', header: nfgenmsg, attrs: setElementListAttrs };

export function setToWire(s: NftSet, field = 'set'): Decoded {
  const out: Decoded = {
    ...header(familyNumber(s.family, `${field}.family`)), table: checkName(s.table, `${field}.table`), name: checkName(s.name, `${field}.name`),
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

export function setFromWire(w: Decoded): NftSet {
  const s: NftSet = {
    family: familyName(w.family as number) as Family, table: w.table as string, name: w.name as string,
    keyType: w.key_type as number, keyLen: w.key_len as number,
  };
  if (typeof w.flags === 'number' && w.flags !== 0) s.flags = flagsFromNumber(SET_FLAGS, w.flags);
  if (typeof w.data_type === 'number') s.dataType = w.data_type;
  if (typeof w.data_len === 'number') s.dataLen = w.data_len;
  if (typeof w.timeout === 'bigint') s.timeoutMs = w.timeout;
  if (w.userdata instanceof Uint8Array) s.userdata = w.userdata;
  if (typeof w.handle === 'bigint') s.handle = w.handle;
  return s;
}

function elementToWire(e: SetElement, field: string): Decoded {
  const out: Decoded = { key: valueToWire(e.key, `${field}.key`) };
  if (e.keyEnd !== undefined) out.key_end = valueToWire(e.keyEnd, `${field}.keyEnd`);
  if (e.data !== undefined) out.data = valueToWire(e.data, `${field}.data`);
  if (e.flags !== undefined) out.flags = checkInt(e.flags, 0, 0xffffffff, `${field}.flags`);
  if (e.timeoutMs !== undefined) out.timeout = e.timeoutMs;
  if (e.userdata !== undefined) out.userdata = e.userdata;
  return out;
}

function elementFromWire(w: Decoded): SetElement {
  const key = valueFromWire(w.key);
  if (!key) throw new ValidationError('set element', 'has no value key');
  const e: SetElement = { key };
  const keyEnd = valueFromWire(w.key_end);
  if (keyEnd) e.keyEnd = keyEnd;
  const data = valueFromWire(w.data);
  if (data) e.data = data;
  if (typeof w.flags === 'number') e.flags = w.flags;
  if (typeof w.timeout === 'bigint') e.timeoutMs = w.timeout;
  if (w.userdata instanceof Uint8Array) e.userdata = w.userdata;
  return e;
}

export function setLabel(s: { family: Family | number; table: string; name: string }): string {
  return `${s.family} ${s.table} @${s.name}`;
}

export function newSetMessage(s: NftSet, flags: number): Buffer {
  return encodeMessage(nftType(NFT_MSG_NEWSET), flags, setSchema, setToWire(s));
}

export function deleteSetMessage(family: Family, table: string, name: string): Buffer {
  return encodeMessage(nftType(NFT_MSG_DELSET), 0, setSchema, { ...header(familyNumber(family)), table: checkName(table, 'set.table'), name: checkName(name, 'set.name') });
}

export function getSetMessage(family?: Family, table?: string, name?: string): Buffer {
  const w: Decoded = { ...header(familyNumber(family)) };
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

function elementListWire(ref: SetRef, elements: readonly SetElement[] | undefined, field: string): Decoded {
  const out: Decoded = { ...header(familyNumber(ref.family, `${field}.family`)), table: checkName(ref.table, `${field}.table`), set: checkName(ref.set, `${field}.set`) };
  if (ref.setId !== undefined) out.set_id = checkInt(ref.setId, 1, 0xffffffff, `${field}.setId`);
  if (elements !== undefined) {
    if (!Array.isArray(elements) || elements.length === 0) throw new ValidationError(`${field}.elements`, 'a non-empty list of elements', elements);
    out.elements = { elem: elements.map((e, i) => elementToWire(e, `${field}.elements[${i}]`)) };
  }
  return out;
}

export function newSetElementsMessage(ref: SetRef, elements: readonly SetElement[], flags: number): Buffer {
  return encodeMessage(nftType(NFT_MSG_NEWSETELEM), flags, setElementsSchema, elementListWire(ref, elements, 'elements'));
}

export function deleteSetElementsMessage(ref: SetRef, elements: readonly SetElement[]): Buffer {
  return encodeMessage(nftType(NFT_MSG_DELSETELEM), 0, setElementsSchema, elementListWire(ref, elements, 'elements'));
}

/** The request of an element dump (the kernel needs the table and the set). */
export function getSetElementsMessage(ref: SetRef): Buffer {
  return encodeMessage(nftType(NFT_MSG_GETSETELEM), 0, setElementsSchema, elementListWire(ref, undefined, 'elements'));
}

export function elementsFromWire(w: Decoded): SetElement[] {
  const list = ((w.elements as Decoded | undefined)?.elem as Decoded[] | undefined) ?? [];
  return list.map(elementFromWire);
}
