/**
 * IFLA_INFO_DATA of kind "vxlan": every IFLA_VXLAN_* of if_link.h.
 *
 * Byte order is mixed: the VNI is host order, the UDP ports (destination
 * port and source port range) are big-endian, and so is the IPv6 flow label.
 * Most switches are u8 0/1 both ways; GBP, GPE and REMCSUM_NOPARTIAL are
 * real flags (present or absent) both ways.
 */
import { be16, layout, type StructType } from '../../../netlink/layout.js';
import { attr, type DecodedOf } from '../../../netlink/schema.js';
import { uapiSet } from '../../../netlink/uapi.js';

export const vxlanPortRange = layout('ifla_vxlan_port_range', [be16('low'), be16('high')]);
/** struct ifla_vxlan_port_range: UDP source ports, both big-endian. */
export type VxlanPortRange = StructType<typeof vxlanPortRange>;

/** IFLA_VXLAN_DF values. */
export const VXLAN_DF_UNSET = 0;
export const VXLAN_DF_SET = 1;
export const VXLAN_DF_INHERIT = 2;

export const vxlanAttrs = uapiSet('vxlan info_data', {
  id: ['IFLA_VXLAN_ID', attr.u32(1)],
  /** IPv4 multicast group, or unicast remote (ip prints it as "remote" then). */
  group: ['IFLA_VXLAN_GROUP', attr.ipv4(2)],
  /** ifindex of the underlay device. */
  link: ['IFLA_VXLAN_LINK', attr.u32(3)],
  local: ['IFLA_VXLAN_LOCAL', attr.ipv4(4)],
  ttl: ['IFLA_VXLAN_TTL', attr.u8(5)],
  /** 1 = inherit from the inner packet (ip: "tos inherit"). */
  tos: ['IFLA_VXLAN_TOS', attr.u8(6)],
  learning: ['IFLA_VXLAN_LEARNING', attr.u8(7)],
  /** FDB entry lifetime, seconds. */
  ageing: ['IFLA_VXLAN_AGEING', attr.u32(8)],
  /** Maximum FDB entries (0 = unlimited); create-only. */
  limit: ['IFLA_VXLAN_LIMIT', attr.u32(9)],
  port_range: ['IFLA_VXLAN_PORT_RANGE', attr.struct(10, vxlanPortRange)],
  proxy: ['IFLA_VXLAN_PROXY', attr.u8(11)],
  rsc: ['IFLA_VXLAN_RSC', attr.u8(12)],
  l2miss: ['IFLA_VXLAN_L2MISS', attr.u8(13)],
  l3miss: ['IFLA_VXLAN_L3MISS', attr.u8(14)],
  /** UDP destination port, big-endian: 4789 is the bytes 0x12 0xb5. */
  port: ['IFLA_VXLAN_PORT', attr.be16(15)],
  group6: ['IFLA_VXLAN_GROUP6', attr.ipv6(16)],
  local6: ['IFLA_VXLAN_LOCAL6', attr.ipv6(17)],
  udp_csum: ['IFLA_VXLAN_UDP_CSUM', attr.u8(18)],
  udp_zero_csum6_tx: ['IFLA_VXLAN_UDP_ZERO_CSUM6_TX', attr.u8(19)],
  udp_zero_csum6_rx: ['IFLA_VXLAN_UDP_ZERO_CSUM6_RX', attr.u8(20)],
  remcsum_tx: ['IFLA_VXLAN_REMCSUM_TX', attr.u8(21)],
  remcsum_rx: ['IFLA_VXLAN_REMCSUM_RX', attr.u8(22)],
  gbp: ['IFLA_VXLAN_GBP', attr.flag(23)],
  remcsum_nopartial: ['IFLA_VXLAN_REMCSUM_NOPARTIAL', attr.flag(24)],
  /** Flow-based (metadata) mode; ip calls it "external". */
  external: ['IFLA_VXLAN_COLLECT_METADATA', attr.u8(25)],
  /** IPv6 flow label, big-endian on the wire (nla_put_be32). */
  label: ['IFLA_VXLAN_LABEL', attr.be32(26)],
  gpe: ['IFLA_VXLAN_GPE', attr.flag(27)],
  /**
   * Shape differs by direction: the kernel's policy wants a flag (no payload)
   * when creating, and dumps a u8 0/1 (a u8 in a request is refused with
   * ERANGE). `true` sends the flag; a number read from a dump goes back as is.
   */
  ttl_inherit: ['IFLA_VXLAN_TTL_INHERIT', attr.u8flag(28)],
  /** VXLAN_DF_UNSET / SET / INHERIT. */
  df: ['IFLA_VXLAN_DF', attr.u8(29)],
  /** Per-VNI filtering (needs external); u8 both ways. */
  vnifilter: ['IFLA_VXLAN_VNIFILTER', attr.u8(30)],
});

/** Decoded IFLA_INFO_DATA of a vxlan link. */
export type VxlanInfoData = DecodedOf<typeof vxlanAttrs>;
