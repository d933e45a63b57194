/**
 * Neighbours and bridge FDB entries (RTM_NEWNEIGH / DELNEIGH / GETNEIGH):
 * struct ndmsg and NDA_*. An FDB entry is a neighbour message of family
 * AF_BRIDGE; VXLAN remote VTEPs are FDB entries of the vxlan device with
 * NTF_SELF.
 *
 * Byte order: NDA_PORT is big-endian (the uapi spec file says u16; the
 * kernel puts and reads a __be16), NDA_VNI and NDA_SRC_VNI are host order.
 * NDA_DST is v4 or v6 by length: a vxlan FDB entry may point at either.
 *
 * Names are those of `ip -j neigh` and `bridge -j fdb show`; where they
 * disagree, ip's: NDA_LLADDR is `lladdr` (bridge prints "mac").
 */
import { layout, pad, s32, u16, u32, u8, type StructType } from '../../netlink/layout.js';
import { type MessageOf, messageSchema, type RequestMessageOf } from '../../netlink/message.js';
import { attr, type DecodedOf } from '../../netlink/schema.js';
import { fieldsOf, uapiSet } from '../../netlink/uapi.js';

export const ndmsg = layout('ndmsg', [
  u8('family'),
  pad('pad1', 1),
  pad('pad2', 2),
  s32('ifindex'),
  u16('state'),
  u8('flags'),
  u8('type'),
]);
/**
 * struct ndmsg.
 * - `state`: NUD_* (one state; a mask in some filters).
 * - `flags`: NTF_* bits.
 * - `type`: RTN_* (RTN_UNICAST for FDB entries).
 */
export type NdMsg = StructType<typeof ndmsg>;

export const ndaCacheinfo = layout('nda_cacheinfo', [u32('confirmed'), u32('used'), u32('updated'), u32('refcnt')]);
/** struct nda_cacheinfo: ages in centiseconds. */
export type NeighbourCacheinfo = StructType<typeof ndaCacheinfo>;

/** NDA_FDB_EXT_ATTRS: bridge FDB activity tracking. */
export const fdbExtAttrs = uapiSet('fdb_ext_attrs', {
  /** FDB_NOTIFY_BIT / FDB_NOTIFY_INACTIVE_BIT. */
  activity_notify: ['NFEA_ACTIVITY_NOTIFY', attr.u8(1)],
  dont_refresh: ['NFEA_DONT_REFRESH', attr.flag(2)],
});

export const neighbourAttrs = uapiSet(
  'neighbour',
  {
    /** IP of the neighbour; for a vxlan FDB entry, the remote VTEP (v4 or v6). */
    dst: ['NDA_DST', attr.ip(1)],
    lladdr: ['NDA_LLADDR', attr.mac(2)],
    cacheinfo: ['NDA_CACHEINFO', attr.struct(3, ndaCacheinfo)],
    probes: ['NDA_PROBES', attr.u32(4)],
    vlan: ['NDA_VLAN', attr.u16(5)],
    /** vxlan FDB: the remote's UDP port when it differs from the device's; big-endian. */
    port: ['NDA_PORT', attr.be16(6)],
    /** vxlan FDB: the remote's VNI when it differs from the device's; host order. */
    vni: ['NDA_VNI', attr.u32(7)],
    /** vxlan FDB: ifindex of the underlay device to reach the remote through (bridge prints "viaIfIndex"). */
    viaIfIndex: ['NDA_IFINDEX', attr.u32(8)],
    /** ifindex of the master (bridge) of an FDB entry; also a dump filter. */
    master: ['NDA_MASTER', attr.u32(9)],
    /** bridge prints "linkNetNsId". */
    linkNetNsId: ['NDA_LINK_NETNSID', attr.s32(10)],
    /** vxlan FDB in external (metadata) mode: the VNI the entry belongs to; host order. */
    src_vni: ['NDA_SRC_VNI', attr.u32(11)],
    protocol: ['NDA_PROTOCOL', attr.u8(12)],
    nhid: ['NDA_NH_ID', attr.u32(13)],
    fdb_ext_attrs: ['NDA_FDB_EXT_ATTRS', attr.nest(14, fdbExtAttrs)],
    /** NTF_EXT_* bits. */
    flags_ext: ['NDA_FLAGS_EXT', attr.u32(15)],
    /** Bulk delete filters (RTM_DELNEIGH with NLM_F_BULK). */
    ndm_state_mask: ['NDA_NDM_STATE_MASK', attr.u16(16)],
    ndm_flags_mask: ['NDA_NDM_FLAGS_MASK', attr.u8(17)],
  },
  fieldsOf(ndmsg),
);

export const neighbourSchema = messageSchema('neighbour', ndmsg, neighbourAttrs);

export type FdbExtAttrs = DecodedOf<typeof fdbExtAttrs>;

/** A decoded neighbour or FDB message: ndmsg's fields and the attributes, flat. */
export type NeighbourMessage = MessageOf<typeof neighbourSchema>;
/** A neighbour or FDB request: any of ndmsg's fields and the NDA_* attributes. */
export type NeighbourRequest = RequestMessageOf<typeof neighbourSchema>;
