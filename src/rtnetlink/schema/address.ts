/**
 * Addresses (RTM_NEWADDR / DELADDR / GETADDR): struct ifaddrmsg and IFA_*.
 *
 * IFA_ADDRESS and IFA_LOCAL are 4 or 16 bytes by family, so they use the
 * `ip` kind. On a broadcast link they are equal; on a point-to-point link
 * IFA_LOCAL is ours and IFA_ADDRESS the peer (ip prints "local" and "address").
 */
import { layout, u32, u8, type StructType } from '../../netlink/layout.js';
import { type MessageOf, messageSchema, type RequestMessageOf } from '../../netlink/message.js';
import { attr } from '../../netlink/schema.js';
import { fieldsOf, uapiSet } from '../../netlink/uapi.js';

export const ifaddrmsg = layout('ifaddrmsg', [
  u8('family'),
  u8('prefixlen'),
  u8('ifa_flags'),
  u8('scope'),
  u32('ifindex'),
]);
/**
 * struct ifaddrmsg.
 * - `ifa_flags`: The legacy u8 flags (IFA_F_* below 0x100). Named after the C field because the IFA_FLAGS
 *   attribute (u32, which wins when present) is `flags`.
 * - `scope`: RT_SCOPE_*.
 */
export type IfAddrMsg = StructType<typeof ifaddrmsg>;

export const ifaCacheinfo = layout('ifa_cacheinfo', [
  u32('preferred_life_time'),
  u32('valid_life_time'),
  u32('cstamp'),
  u32('tstamp'),
]);
/**
 * struct ifa_cacheinfo, with ip's names for the lifetimes (seconds;
 * 0xffffffff is forever). The timestamps are centiseconds since boot.
 */
export type AddressCacheinfo = StructType<typeof ifaCacheinfo>;

export const addressAttrs = uapiSet(
  'address',
  {
    /** Prefix address; the peer on point-to-point links. */
    address: ['IFA_ADDRESS', attr.ip(1)],
    local: ['IFA_LOCAL', attr.ip(2)],
    /** IPv4 only: the label (`eth0:1`), defaults to the link name. */
    label: ['IFA_LABEL', attr.string(3)],
    broadcast: ['IFA_BROADCAST', attr.ipv4(4)],
    anycast: ['IFA_ANYCAST', attr.ip(5)],
    cacheinfo: ['IFA_CACHEINFO', attr.struct(6, ifaCacheinfo)],
    /** RTM_GETMULTICAST replies. */
    multicast: ['IFA_MULTICAST', attr.ip(7)],
    /** IFA_F_* as u32; supersedes ifa_flags. */
    flags: ['IFA_FLAGS', attr.u32(8)],
    /** Metric of the prefix route the kernel adds with the address. */
    metric: ['IFA_RT_PRIORITY', attr.u32(9)],
    target_netnsid: ['IFA_TARGET_NETNSID', attr.s32(10)],
    /** IFAPROT_*. */
    protocol: ['IFA_PROTO', attr.u8(11)],
  },
  fieldsOf(ifaddrmsg),
);

export const addressSchema = messageSchema('address', ifaddrmsg, addressAttrs);

/** A decoded address message: ifaddrmsg's fields and the attributes, flat. */
export type AddressMessage = MessageOf<typeof addressSchema>;
/** An address request: any of ifaddrmsg's fields and the IFA_* attributes. */
export type AddressRequest = RequestMessageOf<typeof addressSchema>;
