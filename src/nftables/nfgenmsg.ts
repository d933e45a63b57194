/**
 * nfgenmsg, the 4-byte header of every nfnetlink message, and the message
 * numbering of nf_tables: type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_*.
 */
import { be16, layout, u8, type StructType } from '../netlink/layout.js';
import { ValidationError } from '../netlink/errors.js';
import {
  NFNETLINK_V0,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO_ARP,
  NFPROTO_BRIDGE,
  NFPROTO_INET,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  NFPROTO_NETDEV,
  NFPROTO_UNSPEC,
} from './constants.js';
import * as C from './constants.js';

export const nfgenmsg = layout('nfgenmsg', [u8('family'), u8('version'), be16('res_id')]);
/**
 * struct nfgenmsg. `res_id` is big-endian: the subsystem in a batch header, the generation (low 16 bits)
 * in replies.
 */
export type NfGenMsg = StructType<typeof nfgenmsg>;
export const NFGENMSG_FIELDS = ['family', 'version', 'res_id'] as const;

/** The netlink message type of an nf_tables message. */
export function nftType(message: number): number {
  return (NFNL_SUBSYS_NFTABLES << 8) | message;
}

/** Table families by the name nft uses for them. */
export type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

const FAMILIES: Record<Family, number> = {
  ip: NFPROTO_IPV4,
  ip6: NFPROTO_IPV6,
  inet: NFPROTO_INET,
  arp: NFPROTO_ARP,
  bridge: NFPROTO_BRIDGE,
  netdev: NFPROTO_NETDEV,
};
const FAMILY_NAMES = new Map<number, Family>(Object.entries(FAMILIES).map(([name, value]) => [value, name as Family]));

export function familyNumber(family: Family | undefined, field = 'family'): number {
  if (family === undefined) return NFPROTO_UNSPEC;
  const value = FAMILIES[family];
  if (value === undefined || !Object.hasOwn(FAMILIES, family)) {
    throw new ValidationError(field, `not a table family (${Object.keys(FAMILIES).join(', ')})`, family);
  }
  return value;
}

/** The family's nft name; a number this code does not know stays a number. */
export function familyName(value: number): Family | number {
  return FAMILY_NAMES.get(value) ?? value;
}

const MESSAGE_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(C)) {
  if (name.startsWith('NFT_MSG_') && typeof value === 'number') MESSAGE_NAMES.set(nftType(value), name);
}
MESSAGE_NAMES.set(NFNL_MSG_BATCH_BEGIN, 'NFNL_MSG_BATCH_BEGIN');
MESSAGE_NAMES.set(NFNL_MSG_BATCH_END, 'NFNL_MSG_BATCH_END');

/** Names nfnetlink message types on the summary lines of a fixture. */
export function nftablesTypeName(type: number): string | undefined {
  return MESSAGE_NAMES.get(type);
}

/** The header every request we build carries. */
export function header(family: number, resId = 0): NfGenMsg {
  return { family, version: NFNETLINK_V0, res_id: resId };
}
