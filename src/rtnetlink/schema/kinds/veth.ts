/**
 * IFLA_INFO_DATA of kind "veth": only VETH_INFO_PEER (veth.h), and only in
 * create requests (the driver dumps no INFO_DATA).
 *
 * The peer's payload is a whole link message body: a struct ifinfomsg, then
 * IFLA_* attributes. The attribute engine has no "struct followed by
 * attributes" kind, so the set keeps the payload as bytes and link.ts offers
 * encodeVethPeer / decodeVethPeer to build and read it with the link schema.
 */
import { attr, type DecodedOf } from '../../../netlink/schema.js';
import { uapiSet } from '../../../netlink/uapi.js';

export const vethAttrs = uapiSet('veth info_data', {
  /** ifinfomsg + IFLA_* of the peer (see encodeVethPeer). */
  peer: ['VETH_INFO_PEER', attr.binary(1)],
});

export type VethInfoData = DecodedOf<typeof vethAttrs>;
