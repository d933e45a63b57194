/**
 * The bridge: IFLA_INFO_DATA of kind "bridge" (IFLA_BR_*), the port
 * attributes (IFLA_BRPORT_*, in IFLA_INFO_SLAVE_DATA of a port whose master
 * is a bridge, and in IFLA_PROTINFO of AF_BRIDGE link messages), and the
 * IFLA_BRIDGE_* attributes of IFLA_AF_SPEC in AF_BRIDGE link messages.
 *
 * Kinds follow the kernel's fill functions (br_fill_info, br_port_fill_attrs),
 * which dump what the set policy accepts, with two traps: timers and
 * multicast intervals are u64 (centiseconds), and IFLA_BR_VLAN_PROTOCOL is
 * big-endian (an EtherType, 0x8100).
 */
import { layout, u16, u32, type StructType } from '../../../netlink/layout.js';
import { attr, type DecodedOf } from '../../../netlink/schema.js';
import { uapiSet } from '../../../netlink/uapi.js';

export const brBooloptMulti = layout('br_boolopt_multi', [u32('optval'), u32('optmask')]);
/**
 * struct br_boolopt_multi: a bit per enum br_boolopt_id (no_linklocal_learn, mcast_vlan_snooping, ...).
 */
export type BridgeBooloptMulti = StructType<typeof brBooloptMulti>;

/** IFLA_BR_MCAST_QUERIER_STATE: the querier the bridge currently sees, per IP version. */
export const bridgeQuerierStateAttrs = uapiSet('bridge mcast_querier_state', {
  ip_address: ['BRIDGE_QUERIER_IP_ADDRESS', attr.ipv4(1)],
  ip_port: ['BRIDGE_QUERIER_IP_PORT', attr.u32(2)],
  ip_other_timer: ['BRIDGE_QUERIER_IP_OTHER_TIMER', attr.u64(3)],
  ipv6_address: ['BRIDGE_QUERIER_IPV6_ADDRESS', attr.ipv6(5)],
  ipv6_port: ['BRIDGE_QUERIER_IPV6_PORT', attr.u32(6)],
  ipv6_other_timer: ['BRIDGE_QUERIER_IPV6_OTHER_TIMER', attr.u64(7)],
});

/**
 * Bridge and root IDs (struct ifla_bridge_id: 2 priority bytes, then the
 * 6-byte MAC) stay bytes: a layout has no byte-array field to name `addr`.
 */
export const bridgeAttrs = uapiSet('bridge info_data', {
  /** Times in centiseconds (USER_HZ), as u32. */
  forward_delay: ['IFLA_BR_FORWARD_DELAY', attr.u32(1)],
  hello_time: ['IFLA_BR_HELLO_TIME', attr.u32(2)],
  max_age: ['IFLA_BR_MAX_AGE', attr.u32(3)],
  ageing_time: ['IFLA_BR_AGEING_TIME', attr.u32(4)],
  stp_state: ['IFLA_BR_STP_STATE', attr.u32(5)],
  priority: ['IFLA_BR_PRIORITY', attr.u16(6)],
  vlan_filtering: ['IFLA_BR_VLAN_FILTERING', attr.u8(7)],
  /** EtherType, big-endian (nla_put_be16): 0x8100 for 802.1Q. */
  vlan_protocol: ['IFLA_BR_VLAN_PROTOCOL', attr.be16(8)],
  group_fwd_mask: ['IFLA_BR_GROUP_FWD_MASK', attr.u16(9)],
  root_id: ['IFLA_BR_ROOT_ID', attr.binary(10)],
  bridge_id: ['IFLA_BR_BRIDGE_ID', attr.binary(11)],
  root_port: ['IFLA_BR_ROOT_PORT', attr.u16(12)],
  root_path_cost: ['IFLA_BR_ROOT_PATH_COST', attr.u32(13)],
  topology_change: ['IFLA_BR_TOPOLOGY_CHANGE', attr.u8(14)],
  topology_change_detected: ['IFLA_BR_TOPOLOGY_CHANGE_DETECTED', attr.u8(15)],
  /** Timers: time left, centiseconds, u64. */
  hello_timer: ['IFLA_BR_HELLO_TIMER', attr.u64(16)],
  tcn_timer: ['IFLA_BR_TCN_TIMER', attr.u64(17)],
  topology_change_timer: ['IFLA_BR_TOPOLOGY_CHANGE_TIMER', attr.u64(18)],
  gc_timer: ['IFLA_BR_GC_TIMER', attr.u64(19)],
  group_addr: ['IFLA_BR_GROUP_ADDR', attr.mac(20)],
  /** Set-only: flush the bridge's FDB. */
  fdb_flush: ['IFLA_BR_FDB_FLUSH', attr.flag(21)],
  mcast_router: ['IFLA_BR_MCAST_ROUTER', attr.u8(22)],
  mcast_snooping: ['IFLA_BR_MCAST_SNOOPING', attr.u8(23)],
  mcast_query_use_ifaddr: ['IFLA_BR_MCAST_QUERY_USE_IFADDR', attr.u8(24)],
  mcast_querier: ['IFLA_BR_MCAST_QUERIER', attr.u8(25)],
  mcast_hash_elasticity: ['IFLA_BR_MCAST_HASH_ELASTICITY', attr.u32(26)],
  mcast_hash_max: ['IFLA_BR_MCAST_HASH_MAX', attr.u32(27)],
  mcast_last_member_cnt: ['IFLA_BR_MCAST_LAST_MEMBER_CNT', attr.u32(28)],
  mcast_startup_query_cnt: ['IFLA_BR_MCAST_STARTUP_QUERY_CNT', attr.u32(29)],
  /** Intervals: centiseconds, u64. */
  mcast_last_member_intvl: ['IFLA_BR_MCAST_LAST_MEMBER_INTVL', attr.u64(30)],
  mcast_membership_intvl: ['IFLA_BR_MCAST_MEMBERSHIP_INTVL', attr.u64(31)],
  mcast_querier_intvl: ['IFLA_BR_MCAST_QUERIER_INTVL', attr.u64(32)],
  mcast_query_intvl: ['IFLA_BR_MCAST_QUERY_INTVL', attr.u64(33)],
  mcast_query_response_intvl: ['IFLA_BR_MCAST_QUERY_RESPONSE_INTVL', attr.u64(34)],
  mcast_startup_query_intvl: ['IFLA_BR_MCAST_STARTUP_QUERY_INTVL', attr.u64(35)],
  nf_call_iptables: ['IFLA_BR_NF_CALL_IPTABLES', attr.u8(36)],
  nf_call_ip6tables: ['IFLA_BR_NF_CALL_IP6TABLES', attr.u8(37)],
  nf_call_arptables: ['IFLA_BR_NF_CALL_ARPTABLES', attr.u8(38)],
  vlan_default_pvid: ['IFLA_BR_VLAN_DEFAULT_PVID', attr.u16(39)],
  vlan_stats_enabled: ['IFLA_BR_VLAN_STATS_ENABLED', attr.u8(41)],
  mcast_stats_enabled: ['IFLA_BR_MCAST_STATS_ENABLED', attr.u8(42)],
  mcast_igmp_version: ['IFLA_BR_MCAST_IGMP_VERSION', attr.u8(43)],
  mcast_mld_version: ['IFLA_BR_MCAST_MLD_VERSION', attr.u8(44)],
  vlan_stats_per_port: ['IFLA_BR_VLAN_STATS_PER_PORT', attr.u8(45)],
  multi_boolopt: ['IFLA_BR_MULTI_BOOLOPT', attr.struct(46, brBooloptMulti)],
  mcast_querier_state: ['IFLA_BR_MCAST_QUERIER_STATE', attr.nest(47, bridgeQuerierStateAttrs)],
});

/**
 * A bridge port. The on/off switches are u8 0/1 both ways (the uapi spec
 * calls some of them flags; the kernel puts and expects u8).
 */
export const bridgePortAttrs = uapiSet('bridge port', {
  /** BR_STATE_*. */
  state: ['IFLA_BRPORT_STATE', attr.u8(1)],
  priority: ['IFLA_BRPORT_PRIORITY', attr.u16(2)],
  cost: ['IFLA_BRPORT_COST', attr.u32(3)],
  hairpin: ['IFLA_BRPORT_MODE', attr.u8(4)],
  guard: ['IFLA_BRPORT_GUARD', attr.u8(5)],
  root_block: ['IFLA_BRPORT_PROTECT', attr.u8(6)],
  fastleave: ['IFLA_BRPORT_FAST_LEAVE', attr.u8(7)],
  learning: ['IFLA_BRPORT_LEARNING', attr.u8(8)],
  flood: ['IFLA_BRPORT_UNICAST_FLOOD', attr.u8(9)],
  proxy_arp: ['IFLA_BRPORT_PROXYARP', attr.u8(10)],
  learning_sync: ['IFLA_BRPORT_LEARNING_SYNC', attr.u8(11)],
  proxy_arp_wifi: ['IFLA_BRPORT_PROXYARP_WIFI', attr.u8(12)],
  root_id: ['IFLA_BRPORT_ROOT_ID', attr.binary(13)],
  bridge_id: ['IFLA_BRPORT_BRIDGE_ID', attr.binary(14)],
  designated_port: ['IFLA_BRPORT_DESIGNATED_PORT', attr.u16(15)],
  designated_cost: ['IFLA_BRPORT_DESIGNATED_COST', attr.u16(16)],
  id: ['IFLA_BRPORT_ID', attr.u16(17)],
  no: ['IFLA_BRPORT_NO', attr.u16(18)],
  topology_change_ack: ['IFLA_BRPORT_TOPOLOGY_CHANGE_ACK', attr.u8(19)],
  config_pending: ['IFLA_BRPORT_CONFIG_PENDING', attr.u8(20)],
  message_age_timer: ['IFLA_BRPORT_MESSAGE_AGE_TIMER', attr.u64(21)],
  forward_delay_timer: ['IFLA_BRPORT_FORWARD_DELAY_TIMER', attr.u64(22)],
  hold_timer: ['IFLA_BRPORT_HOLD_TIMER', attr.u64(23)],
  /** Set-only: flush this port's FDB entries. */
  flush: ['IFLA_BRPORT_FLUSH', attr.flag(24)],
  multicast_router: ['IFLA_BRPORT_MULTICAST_ROUTER', attr.u8(25)],
  mcast_flood: ['IFLA_BRPORT_MCAST_FLOOD', attr.u8(27)],
  mcast_to_unicast: ['IFLA_BRPORT_MCAST_TO_UCAST', attr.u8(28)],
  vlan_tunnel: ['IFLA_BRPORT_VLAN_TUNNEL', attr.u8(29)],
  bcast_flood: ['IFLA_BRPORT_BCAST_FLOOD', attr.u8(30)],
  group_fwd_mask: ['IFLA_BRPORT_GROUP_FWD_MASK', attr.u16(31)],
  neigh_suppress: ['IFLA_BRPORT_NEIGH_SUPPRESS', attr.u8(32)],
  isolated: ['IFLA_BRPORT_ISOLATED', attr.u8(33)],
  /** ifindex of the backup port (0 removes it). */
  backup_port: ['IFLA_BRPORT_BACKUP_PORT', attr.u32(34)],
  mrp_ring_open: ['IFLA_BRPORT_MRP_RING_OPEN', attr.u8(35)],
  mrp_in_open: ['IFLA_BRPORT_MRP_IN_OPEN', attr.u8(36)],
  mcast_eht_hosts_limit: ['IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT', attr.u32(37)],
  mcast_eht_hosts_cnt: ['IFLA_BRPORT_MCAST_EHT_HOSTS_CNT', attr.u32(38)],
  locked: ['IFLA_BRPORT_LOCKED', attr.u8(39)],
});

export const bridgeVlanInfo = layout('bridge_vlan_info', [u16('flags'), u16('vid')]);
/**
 * struct bridge_vlan_info.
 * - `flags`: BRIDGE_VLAN_INFO_* bits (PVID 0x2, UNTAGGED 0x4, RANGE_BEGIN/END 0x8/0x10).
 */
export type BridgeVlanInfo = StructType<typeof bridgeVlanInfo>;

/** IFLA_BRIDGE_VLAN_TUNNEL_INFO: VLAN to tunnel ID (VNI) mapping of a port. */
export const bridgeVlanTunnelAttrs = uapiSet('bridge vlan_tunnel_info', {
  id: ['IFLA_BRIDGE_VLAN_TUNNEL_ID', attr.u32(1)],
  vid: ['IFLA_BRIDGE_VLAN_TUNNEL_VID', attr.u16(2)],
  flags: ['IFLA_BRIDGE_VLAN_TUNNEL_FLAGS', attr.u16(3)],
});

/**
 * IFLA_AF_SPEC of an AF_BRIDGE link message. Numbering starts at 0
 * (IFLA_BRIDGE_FLAGS). VLANs appear only when the dump asked for them
 * (IFLA_EXT_MASK with RTEXT_FILTER_BRVLAN). MRP, CFM and MST are left raw.
 */
export const bridgeAfSpecAttrs = uapiSet('bridge af_spec', {
  /** BRIDGE_FLAGS_MASTER / BRIDGE_FLAGS_SELF: which side a request addresses. */
  flags: ['IFLA_BRIDGE_FLAGS', attr.u16(0)],
  mode: ['IFLA_BRIDGE_MODE', attr.u16(1)],
  vlan_info: ['IFLA_BRIDGE_VLAN_INFO', attr.multi(attr.struct(2, bridgeVlanInfo))],
  vlan_tunnel_info: ['IFLA_BRIDGE_VLAN_TUNNEL_INFO', attr.multi(attr.nest(3, bridgeVlanTunnelAttrs))],
});

export type BridgeQuerierState = DecodedOf<typeof bridgeQuerierStateAttrs>;

/** Decoded IFLA_INFO_DATA of a bridge. */
export type BridgeInfoData = DecodedOf<typeof bridgeAttrs>;

/** Decoded IFLA_INFO_SLAVE_DATA of a bridge port (also IFLA_PROTINFO of AF_BRIDGE messages). */
export type BridgePortData = DecodedOf<typeof bridgePortAttrs>;

export type BridgeVlanTunnelInfo = DecodedOf<typeof bridgeVlanTunnelAttrs>;

/** Decoded IFLA_AF_SPEC of an AF_BRIDGE link message. */
export type BridgeAfSpec = DecodedOf<typeof bridgeAfSpecAttrs>;
