/** Tables: the namespace of chains, rules and sets; vxnet owns one and marks it in its userdata. */
import type { Decoded } from '../netlink/codec.js';
import { encodeMessage, messageSchema, type MessageOf, type RequestMessageOf } from '../netlink/message.js';
import { attr } from '../netlink/schema.js';
import {
  NFT_MSG_DELTABLE,
  NFT_MSG_GETTABLE,
  NFT_MSG_NEWTABLE,
  NFT_TABLE_F_DORMANT,
  NFT_TABLE_F_OWNER,
  NFT_TABLE_F_PERSIST,
} from './constants.js';
import { flagsFromNumber, flagsToNumber } from './flags.js';
import { checkName } from './names.js';
import { type Family, familyName, familyNumber, header, NFGENMSG_FIELDS, nfgenmsg, nftType } from './nfgenmsg.js';
import { uapiSet } from '../netlink/uapi.js';
import { hasUnknown, identity, refuseRaw } from './unmodeled.js';
import { userdataFromWire, userdataToWire } from './userdata.js';

export const TABLE_FLAGS = {
  dormant: NFT_TABLE_F_DORMANT,
  owner: NFT_TABLE_F_OWNER,
  persist: NFT_TABLE_F_PERSIST,
} as const;
export type TableFlag = keyof typeof TABLE_FLAGS;

export interface Table {
  family: Family;
  name: string;
  /**
   * `owner`: the table lives as long as the creating socket and only that
   * socket may change it; `persist` (kernel 6.9+) keeps an owned table when
   * the socket closes; `dormant`: its chains are not attached to hooks.
   */
  flags?: (TableFlag | number)[];
  /** nft's comment item; or `userdata` for anything else. */
  comment?: string;
  userdata?: Uint8Array;
  /** Listings only. */
  handle?: bigint;
  /** Listings only: how many chains it holds. */
  use?: number;
  /** Listings only: the netlink port of the owner of an owned table. */
  ownerPort?: number;
  /**
   * Listings only, and only when the fields above cannot say everything the
   * kernel sent (an attribute or a family this code does not know): the
   * decoded message, whose encoding is the bytes it came from. A table with
   * `raw` is not written back from its fields (see unmodeled.ts).
   */
  raw?: Decoded;
}

export const tableAttrs = uapiSet(
  'table',
  {
    name: ['NFTA_TABLE_NAME', attr.string(1)],
    flags: ['NFTA_TABLE_FLAGS', attr.be32(2)],
    use: ['NFTA_TABLE_USE', attr.be32(3)],
    handle: ['NFTA_TABLE_HANDLE', attr.be64(4)],
    pad: ['NFTA_TABLE_PAD', attr.binary(5)],
    userdata: ['NFTA_TABLE_USERDATA', attr.binary(6)],
    owner: ['NFTA_TABLE_OWNER', attr.be32(7)],
  },
  NFGENMSG_FIELDS,
);

export const tableSchema = messageSchema('table', nfgenmsg, tableAttrs);
/** A table message as a request gives it. */
export type TableWire = RequestMessageOf<typeof tableSchema>;

/** The wire object of a table to create. */
export function tableToWire(t: Table, field = 'table'): TableWire {
  refuseRaw(t, field, 'table');
  const out: TableWire = {
    ...header(familyNumber(t.family, `${field}.family`)),
    name: checkName(t.name, `${field}.name`),
  };
  out.flags = flagsToNumber(TABLE_FLAGS, t.flags, `${field}.flags`);
  const userdata = userdataToWire(t, field);
  if (userdata) out.userdata = userdata;
  return out;
}

export function tableFromWire(w: MessageOf<typeof tableSchema>): Table {
  const family = familyName(w.family as number);
  const t: Table = { family: family as Family, name: identity(w, 'name', 'table', 'NFTA_TABLE_NAME') };
  if (typeof w.flags === 'number' && w.flags !== 0) t.flags = flagsFromNumber(TABLE_FLAGS, w.flags);
  Object.assign(t, userdataFromWire(w.userdata));
  if (typeof w.handle === 'bigint') t.handle = w.handle;
  if (typeof w.use === 'number') t.use = w.use;
  if (typeof w.owner === 'number') t.ownerPort = w.owner;
  if (typeof family === 'number' || hasUnknown(w)) t.raw = w;
  return t;
}

/** Names a table in messages: "ip vxnet". */
export function tableLabel(family: Family | number, name: string): string {
  return `${family} ${name}`;
}

export function newTableMessage(t: Table, flags: number): Buffer {
  return encodeMessage(nftType(NFT_MSG_NEWTABLE), flags, tableSchema, tableToWire(t));
}

export function deleteTableMessage(family: Family, name: string): Buffer {
  return encodeMessage(nftType(NFT_MSG_DELTABLE), 0, tableSchema, {
    ...header(familyNumber(family)),
    name: checkName(name, 'table.name'),
  });
}

/** A get by name, or (without a name) the request of a dump. */
export function getTableMessage(family?: Family, name?: string): Buffer {
  const w: TableWire = { ...header(familyNumber(family)) };
  if (name !== undefined) w.name = checkName(name, 'table.name');
  return encodeMessage(nftType(NFT_MSG_GETTABLE), 0, tableSchema, w);
}
