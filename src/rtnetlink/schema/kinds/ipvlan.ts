/**
 * IFLA_INFO_DATA of kinds "ipvlan" and "ipvtap": every IFLA_IPVLAN_* of
 * if_link.h. Both are u16, mode included (unlike macvlan's u32 mode).
 */
import { attr, type DecodedOf } from '../../../netlink/schema.js';
import { uapiSet } from '../../../netlink/uapi.js';

/** IFLA_IPVLAN_MODE values (enum ipvlan_mode). */
export const IPVLAN_MODE_L2 = 0;
export const IPVLAN_MODE_L3 = 1;
export const IPVLAN_MODE_L3S = 2;

/** IFLA_IPVLAN_FLAGS bits. */
export const IPVLAN_F_PRIVATE = 0x01;
export const IPVLAN_F_VEPA = 0x02;

export const ipvlanAttrs = uapiSet('ipvlan info_data', {
  mode: ['IFLA_IPVLAN_MODE', attr.u16(1)],
  flags: ['IFLA_IPVLAN_FLAGS', attr.u16(2)],
});

/** Decoded IFLA_INFO_DATA of an ipvlan or ipvtap link. */
export type IpvlanInfoData = DecodedOf<typeof ipvlanAttrs>;
