/**
 * IFLA_INFO_DATA of kinds "macvlan" and "macvtap" (the same driver code and
 * attributes): every IFLA_MACVLAN_* of if_link.h.
 */
import { attr, type DecodedOf } from '../../../netlink/schema.js';
import { uapiSet } from '../../../netlink/uapi.js';

/** IFLA_MACVLAN_MODE values (enum macvlan_mode, one bit each). */
export const MACVLAN_MODE_PRIVATE = 1;
export const MACVLAN_MODE_VEPA = 2;
export const MACVLAN_MODE_BRIDGE = 4;
export const MACVLAN_MODE_PASSTHRU = 8;
export const MACVLAN_MODE_SOURCE = 16;

/** IFLA_MACVLAN_MACADDR_MODE values: how a request edits the source-mode MAC list. */
export const MACVLAN_MACADDR_ADD = 0;
export const MACVLAN_MACADDR_DEL = 1;
export const MACVLAN_MACADDR_FLUSH = 2;
export const MACVLAN_MACADDR_SET = 3;

/** IFLA_MACVLAN_FLAGS bits. */
export const MACVLAN_FLAG_NOPROMISC = 1;
export const MACVLAN_FLAG_NODST = 2;

/** IFLA_MACVLAN_MACADDR_DATA: the source-mode MAC list, one IFLA_MACVLAN_MACADDR each. */
export const macvlanMacaddrDataAttrs = uapiSet('macvlan macaddr_data', {
  macaddr: ['IFLA_MACVLAN_MACADDR', attr.multi(attr.mac(4))],
});

export const macvlanAttrs = uapiSet('macvlan info_data', {
  mode: ['IFLA_MACVLAN_MODE', attr.u32(1)],
  /** MACVLAN_FLAG_*; a u16, unlike the mode. */
  flags: ['IFLA_MACVLAN_FLAGS', attr.u16(2)],
  /** Set-only: MACVLAN_MACADDR_*. */
  macaddr_mode: ['IFLA_MACVLAN_MACADDR_MODE', attr.u32(3)],
  /** Set-only: one address to add or delete. */
  macaddr: ['IFLA_MACVLAN_MACADDR', attr.mac(4)],
  macaddr_data: ['IFLA_MACVLAN_MACADDR_DATA', attr.nest(5, macvlanMacaddrDataAttrs)],
  macaddr_count: ['IFLA_MACVLAN_MACADDR_COUNT', attr.u32(6)],
  bcqueuelen: ['IFLA_MACVLAN_BC_QUEUE_LEN', attr.u32(7)],
  /** Dump-only: the queue length in use (the largest any macvlan on the lower device asked for). */
  usedbcqueuelen: ['IFLA_MACVLAN_BC_QUEUE_LEN_USED', attr.u32(8)],
});

export type MacvlanMacaddrData = DecodedOf<typeof macvlanMacaddrDataAttrs>;

/** Decoded IFLA_INFO_DATA of a macvlan or macvtap link. */
export type MacvlanInfoData = DecodedOf<typeof macvlanAttrs>;
