/**
 * Links (RTM_NEWLINK / DELLINK / GETLINK / SETLINK): struct ifinfomsg and
 * the IFLA_* attributes, with IFLA_LINKINFO's data chosen by kind.
 *
 * Two attributes mean different things depending on the message's family,
 * so their set is selected by the header's `family`:
 * - IFLA_AF_SPEC: in ordinary messages (AF_UNSPEC, what `ip link` sends and
 *   reads) one nest per address family; in AF_BRIDGE messages (`bridge
 *   link`, bridge VLANs, and the bridge's own RTNLGRP_LINK notifications)
 *   the IFLA_BRIDGE_* attributes.
 * - IFLA_PROTINFO: IFLA_BRPORT_* in AF_BRIDGE messages, IFLA_INET6_* in
 *   AF_INET6 ones (RTM_GETLINK for AF_INET6); absent otherwise.
 * A request that carries either must therefore give `family`.
 *
 * Not modelled (kept raw, written back byte for byte): IFLA_VFINFO_LIST,
 * IFLA_VF_PORTS and IFLA_PORT_SELF (SR-IOV hardware only, nothing here to
 * check them against), IFLA_INFO_XSTATS (a per-kind nest), IFLA_COST and
 * IFLA_PRIORITY (never used by the kernel), IFLA_PAD, and anything newer
 * than the installed uapi headers.
 */
import { layout, pad, s32, u16, u32, u64, u8, type StructType } from '../../netlink/layout.js';
import {
  decodePayload,
  encodePayloadInto,
  type MessageOf,
  messageSchema,
  type RequestMessageOf,
} from '../../netlink/message.js';
import { attr, type DecodedOf, type RequestOf } from '../../netlink/schema.js';
import { Writer } from '../../netlink/writer.js';
import { AF_BRIDGE, AF_INET6, AF_UNSPEC } from '../constants.js';
import { bridgeAfSpecAttrs, bridgeAttrs, bridgePortAttrs } from './kinds/bridge.js';
import { ipvlanAttrs } from './kinds/ipvlan.js';
import { macvlanAttrs } from './kinds/macvlan.js';
import { vethAttrs } from './kinds/veth.js';
import { vxlanAttrs } from './kinds/vxlan.js';
import { fieldsOf, uapiSet } from '../../netlink/uapi.js';

// ------------------------------------------------------------ structs

export const ifinfomsg = layout('ifinfomsg', [
  u8('family'),
  pad('pad', 1),
  u16('link_type'),
  s32('ifindex'),
  u32('flags'),
  u32('change'),
]);
/**
 * struct ifinfomsg.
 * - `link_type`: ifi_type, ARPHRD_* (1 ether, 772 loopback); ip prints it by name as link_type.
 * - `flags`: IFF_* flags.
 * - `change`: Which IFF_* bits a request changes (0 = none; 0xffffffff = all).
 */
export type IfInfoMsg = StructType<typeof ifinfomsg>;

/** The counters of rtnl_link_stats, in struct order; rtnl_link_stats64 adds rx_otherhost_dropped. */
const STATS_FIELDS = [
  'rx_packets',
  'tx_packets',
  'rx_bytes',
  'tx_bytes',
  'rx_errors',
  'tx_errors',
  'rx_dropped',
  'tx_dropped',
  'multicast',
  'collisions',
  'rx_length_errors',
  'rx_over_errors',
  'rx_crc_errors',
  'rx_frame_errors',
  'rx_fifo_errors',
  'rx_missed_errors',
  'tx_aborted_errors',
  'tx_carrier_errors',
  'tx_fifo_errors',
  'tx_heartbeat_errors',
  'tx_window_errors',
  'rx_compressed',
  'tx_compressed',
  'rx_nohandler',
] as const;

/**
 * 200 bytes with the 6.1 headers. A newer kernel that grows the struct is
 * fine: the extra bytes are kept (STRUCT_TAIL) and written back.
 */
export const rtnlLinkStats64 = layout('rtnl_link_stats64', [...STATS_FIELDS, 'rx_otherhost_dropped' as const].map(u64));
/** struct rtnl_link_stats64 (all u64, so bigint). */
export type LinkStats64 = StructType<typeof rtnlLinkStats64>;

/** struct rtnl_link_stats: the legacy 32-bit counters (they wrap). */
export const rtnlLinkStats = layout('rtnl_link_stats', STATS_FIELDS.map(u32));
export type LinkStats = StructType<typeof rtnlLinkStats>;

// 28 bytes of fields, padded to 32 by the u64 alignment; the kernel sends all 32.
export const rtnlLinkIfmap = layout('rtnl_link_ifmap', [
  u64('mem_start'),
  u64('mem_end'),
  u64('base_addr'),
  u16('irq'),
  u8('dma'),
  u8('port'),
  pad('pad', 4),
]);
/** struct rtnl_link_ifmap (struct ifmap): hardware resources of old ISA-style cards. */
export type LinkIfmap = StructType<typeof rtnlLinkIfmap>;

export const iflaCacheinfo = layout('ifla_cacheinfo', [
  u32('max_reasm_len'),
  u32('tstamp'),
  u32('reachable_time'),
  u32('retrans_time'),
]);
/**
 * struct ifla_cacheinfo (IFLA_INET6_CACHEINFO).
 * - `tstamp`: ipv6InterfaceTable updated timestamp, centiseconds.
 */
export type Inet6Cacheinfo = StructType<typeof iflaCacheinfo>;

// ------------------------------------------------------------ nested sets

/** IFLA_LINKINFO: the kind, its data, and the data the master (bridge) keeps about this port. */
export const linkInfoAttrs = uapiSet('linkinfo', {
  info_kind: ['IFLA_INFO_KIND', attr.string(1)],
  info_data: [
    'IFLA_INFO_DATA',
    attr.select(2, 'info_kind', {
      vxlan: vxlanAttrs,
      bridge: bridgeAttrs,
      veth: vethAttrs,
      macvlan: macvlanAttrs,
      macvtap: macvlanAttrs,
      ipvlan: ipvlanAttrs,
      ipvtap: ipvlanAttrs,
    }),
  ],
  info_slave_kind: ['IFLA_INFO_SLAVE_KIND', attr.string(4)],
  info_slave_data: [
    'IFLA_INFO_SLAVE_DATA',
    attr.select(5, 'info_slave_kind', {
      bridge: bridgePortAttrs,
    }),
  ],
});

/** IFLA_PROP_LIST: properties with several values; today the alternative names. */
export const linkPropListAttrs = uapiSet('prop_list', {
  alt_ifname: ['IFLA_ALT_IFNAME', attr.multi(attr.string(53))],
});

/** IFLA_XDP: the attached XDP program(s). Dumped for every link, with attached 0 when none. */
export const linkXdpAttrs = uapiSet('xdp', {
  fd: ['IFLA_XDP_FD', attr.s32(1)],
  /** XDP_ATTACHED_* (0 none, 1 driver, 2 generic/skb, 3 hardware, 4 several). */
  attached: ['IFLA_XDP_ATTACHED', attr.u8(2)],
  flags: ['IFLA_XDP_FLAGS', attr.u32(3)],
  prog_id: ['IFLA_XDP_PROG_ID', attr.u32(4)],
  drv_prog_id: ['IFLA_XDP_DRV_PROG_ID', attr.u32(5)],
  skb_prog_id: ['IFLA_XDP_SKB_PROG_ID', attr.u32(6)],
  hw_prog_id: ['IFLA_XDP_HW_PROG_ID', attr.u32(7)],
  expected_fd: ['IFLA_XDP_EXPECTED_FD', attr.s32(8)],
});

/** IFLA_PROTO_DOWN_REASON: why a link was forced down, as reason bits. */
export const linkProtoDownReasonAttrs = uapiSet('proto_down_reason', {
  mask: ['IFLA_PROTO_DOWN_REASON_MASK', attr.u32(1)],
  value: ['IFLA_PROTO_DOWN_REASON_VALUE', attr.u32(2)],
});

/** IFLA_AF_SPEC > AF_INET. */
export const inetAfSpecAttrs = uapiSet('af_spec inet', {
  /** The interface's IPv4 sysctls (net.ipv4.conf.DEV.*): a u32 per IPV4_DEVCONF_* index, starting at 1. */
  conf: ['IFLA_INET_CONF', attr.binary(1)],
});

/** IFLA_AF_SPEC > AF_INET6, and IFLA_PROTINFO of AF_INET6 link messages (the kernel fills both alike). */
export const inet6AfSpecAttrs = uapiSet('af_spec inet6', {
  flags: ['IFLA_INET6_FLAGS', attr.u32(1)],
  /** net.ipv6.conf.DEV.*: an s32 per DEVCONF_* index. */
  conf: ['IFLA_INET6_CONF', attr.binary(2)],
  /** IPSTATS_MIB_* counters, u64 each. */
  stats: ['IFLA_INET6_STATS', attr.binary(3)],
  cacheinfo: ['IFLA_INET6_CACHEINFO', attr.struct(5, iflaCacheinfo)],
  /** ICMP6_MIB_* counters, u64 each. */
  icmp6stats: ['IFLA_INET6_ICMP6STATS', attr.binary(6)],
  token: ['IFLA_INET6_TOKEN', attr.ipv6(7)],
  /** IN6_ADDR_GEN_MODE_*; ip prints it as inet6_addr_gen_mode. */
  addr_gen_mode: ['IFLA_INET6_ADDR_GEN_MODE', attr.u8(8)],
  ra_mtu: ['IFLA_INET6_RA_MTU', attr.u32(9)],
});

/** IN6_ADDR_GEN_MODE_* (IFLA_INET6_ADDR_GEN_MODE). */
export const IN6_ADDR_GEN_MODE_EUI64 = 0;
export const IN6_ADDR_GEN_MODE_NONE = 1;
export const IN6_ADDR_GEN_MODE_STABLE_PRIVACY = 2;
export const IN6_ADDR_GEN_MODE_RANDOM = 3;

/** IFLA_AF_SPEC of ordinary (AF_UNSPEC) link messages: attributes numbered by address family. */
export const linkAfSpecAttrs = uapiSet('af_spec', {
  inet: ['AF_INET', attr.nest(2, inetAfSpecAttrs)],
  inet6: ['AF_INET6', attr.nest(10, inet6AfSpecAttrs)],
});

// ------------------------------------------------------------ IFLA_*

/** The IFLA_* set. */
export const linkAttrs = uapiSet(
  'link',
  {
    /** Link-layer address; any length (6 for Ethernet, 0 for none, 4 for IPv4 tunnels). */
    address: ['IFLA_ADDRESS', attr.mac(1)],
    broadcast: ['IFLA_BROADCAST', attr.mac(2)],
    ifname: ['IFLA_IFNAME', attr.string(3)],
    mtu: ['IFLA_MTU', attr.u32(4)],
    /** ifindex of the lower/peer device (veth peer, macvlan parent). */
    link: ['IFLA_LINK', attr.u32(5)],
    qdisc: ['IFLA_QDISC', attr.string(6)],
    stats: ['IFLA_STATS', attr.struct(7, rtnlLinkStats)],
    /** ifindex of the master (bridge); 0 in a request detaches. */
    master: ['IFLA_MASTER', attr.u32(10)],
    /** Wireless-extension event payload (events only). */
    wireless: ['IFLA_WIRELESS', attr.binary(11)],
    /** Chosen by family: bridge port state (AF_BRIDGE) or IPv6 link data (AF_INET6). */
    protinfo: [
      'IFLA_PROTINFO',
      attr.select(12, 'family', {
        [AF_BRIDGE]: bridgePortAttrs,
        [AF_INET6]: inet6AfSpecAttrs,
      }),
    ],
    txqlen: ['IFLA_TXQLEN', attr.u32(13)],
    map: ['IFLA_MAP', attr.struct(14, rtnlLinkIfmap)],
    weight: ['IFLA_WEIGHT', attr.u32(15)],
    /** IF_OPER_*. */
    operstate: ['IFLA_OPERSTATE', attr.u8(16)],
    /** IF_LINK_MODE_* (0 default, 1 dormant, 2 testing). */
    linkmode: ['IFLA_LINKMODE', attr.u8(17)],
    linkinfo: ['IFLA_LINKINFO', attr.nest(18, linkInfoAttrs)],
    /** Request-only: move the link to the network namespace of this process. */
    net_ns_pid: ['IFLA_NET_NS_PID', attr.u32(19)],
    ifalias: ['IFLA_IFALIAS', attr.string(20)],
    num_vf: ['IFLA_NUM_VF', attr.u32(21)],
    stats64: ['IFLA_STATS64', attr.struct(23, rtnlLinkStats64)],
    /** Chosen by family: per-family nests (AF_UNSPEC) or IFLA_BRIDGE_* (AF_BRIDGE). */
    af_spec: [
      'IFLA_AF_SPEC',
      attr.select(26, 'family', {
        [AF_UNSPEC]: linkAfSpecAttrs,
        [AF_BRIDGE]: bridgeAfSpecAttrs,
      }),
    ],
    group: ['IFLA_GROUP', attr.u32(27)],
    /** Request-only: move the link to the network namespace this file descriptor refers to. */
    net_ns_fd: ['IFLA_NET_NS_FD', attr.u32(28)],
    /** Request-only: RTEXT_FILTER_* bits. */
    ext_mask: ['IFLA_EXT_MASK', attr.u32(29)],
    promiscuity: ['IFLA_PROMISCUITY', attr.u32(30)],
    num_tx_queues: ['IFLA_NUM_TX_QUEUES', attr.u32(31)],
    num_rx_queues: ['IFLA_NUM_RX_QUEUES', attr.u32(32)],
    carrier: ['IFLA_CARRIER', attr.u8(33)],
    phys_port_id: ['IFLA_PHYS_PORT_ID', attr.binary(34)],
    carrier_changes: ['IFLA_CARRIER_CHANGES', attr.u32(35)],
    phys_switch_id: ['IFLA_PHYS_SWITCH_ID', attr.binary(36)],
    /** The peer's namespace, as an nsid of the namespace this message comes from (veth across namespaces). */
    link_netnsid: ['IFLA_LINK_NETNSID', attr.s32(37)],
    phys_port_name: ['IFLA_PHYS_PORT_NAME', attr.string(38)],
    proto_down: ['IFLA_PROTO_DOWN', attr.u8(39)],
    gso_max_segs: ['IFLA_GSO_MAX_SEGS', attr.u32(40)],
    gso_max_size: ['IFLA_GSO_MAX_SIZE', attr.u32(41)],
    xdp: ['IFLA_XDP', attr.nest(43, linkXdpAttrs)],
    /** Events only: IFLA_EVENT_* (why a notification was sent). */
    event: ['IFLA_EVENT', attr.u32(44)],
    /** Events only: the nsid the link moved to. */
    new_netnsid: ['IFLA_NEW_NETNSID', attr.s32(45)],
    /** Act on (or report) the namespace with this nsid (IFLA_IF_NETNSID is the older name). */
    target_netnsid: ['IFLA_TARGET_NETNSID', attr.s32(46)],
    carrier_up_count: ['IFLA_CARRIER_UP_COUNT', attr.u32(47)],
    carrier_down_count: ['IFLA_CARRIER_DOWN_COUNT', attr.u32(48)],
    /** Events only: the ifindex the link got in its new namespace. */
    new_ifindex: ['IFLA_NEW_IFINDEX', attr.s32(49)],
    min_mtu: ['IFLA_MIN_MTU', attr.u32(50)],
    max_mtu: ['IFLA_MAX_MTU', attr.u32(51)],
    prop_list: ['IFLA_PROP_LIST', attr.nest(52, linkPropListAttrs)],
    /** Top level only in requests (look a link up, or RTM_NEWLINKPROP); dumps list them in prop_list. */
    alt_ifname: ['IFLA_ALT_IFNAME', attr.string(53)],
    permaddr: ['IFLA_PERM_ADDRESS', attr.mac(54)],
    proto_down_reason: ['IFLA_PROTO_DOWN_REASON', attr.nest(55, linkProtoDownReasonAttrs)],
    parentdev: ['IFLA_PARENT_DEV_NAME', attr.string(56)],
    parentbus: ['IFLA_PARENT_DEV_BUS_NAME', attr.string(57)],
    gro_max_size: ['IFLA_GRO_MAX_SIZE', attr.u32(58)],
    tso_max_size: ['IFLA_TSO_MAX_SIZE', attr.u32(59)],
    tso_max_segs: ['IFLA_TSO_MAX_SEGS', attr.u32(60)],
    allmulti: ['IFLA_ALLMULTI', attr.u32(61)],
  },
  fieldsOf(ifinfomsg),
);

export const linkSchema = messageSchema('link', ifinfomsg, linkAttrs);

// ------------------------------------------------------------ veth peer

/**
 * Builds VETH_INFO_PEER's payload: the peer's ifinfomsg and IFLA_*
 * attributes (usually just `ifname`, perhaps `net_ns_fd`).
 */
export function encodeVethPeer(peer: LinkRequest): Uint8Array {
  const w = new Writer(64);
  encodePayloadInto(w, linkSchema, peer);
  return w.finish();
}

/** Reads VETH_INFO_PEER's payload back into a link object. */
export function decodeVethPeer(payload: Uint8Array): LinkMessage {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return decodePayload(linkSchema, buf, 0, buf.length);
}

// ------------------------------------------------------------ decoded shapes

/** Decoded IFLA_INFO_DATA: its shape follows info_kind (see linkInfoAttrs). */
export type LinkInfoData = NonNullable<LinkInfo['info_data']>;
/** Decoded IFLA_LINKINFO. */
export type LinkInfo = DecodedOf<typeof linkInfoAttrs>;
/** IFLA_LINKINFO in a request (a link's kind and its data). */
export type LinkInfoRequest = RequestOf<typeof linkInfoAttrs>;
export type LinkPropList = DecodedOf<typeof linkPropListAttrs>;
export type LinkXdp = DecodedOf<typeof linkXdpAttrs>;
export type LinkProtoDownReason = DecodedOf<typeof linkProtoDownReasonAttrs>;
export type InetAfSpec = DecodedOf<typeof inetAfSpecAttrs>;
export type Inet6AfSpec = DecodedOf<typeof inet6AfSpecAttrs>;
export type LinkAfSpec = DecodedOf<typeof linkAfSpecAttrs>;

/** A decoded link message: ifinfomsg's fields and the IFLA_* attributes, flat. */
export type LinkMessage = MessageOf<typeof linkSchema>;
/** A link request: any of ifinfomsg's fields and the IFLA_* attributes. */
export type LinkRequest = RequestMessageOf<typeof linkSchema>;
