/**
 * Routes (RTM_NEWROUTE / DELROUTE / GETROUTE): struct rtmsg and RTA_*.
 *
 * Addresses (dst, src, gateway, prefsrc) are 4 or 16 bytes by family: `ip`
 * kind. Left as bytes or raw, because the engine cannot express them:
 * - RTA_MULTIPATH (`nexthops`): a sequence of struct rtnexthop, each
 *   followed by its own attributes (RTA_GATEWAY, ...) and sized by
 *   rtnh_len. Kept as bytes.
 * - RTA_VIA (struct rtvia: a family, then an address of that family's
 *   length) and RTA_NEWDST (MPLS label stack): bytes.
 * - RTA_ENCAP: a nest whose contents depend on RTA_ENCAP_TYPE, a number
 *   (the engine selects on strings). Left raw, which also keeps its
 *   NLA_F_NESTED bit exact.
 */
import { layout, s32, u32, u64, u8, type StructType } from '../../netlink/layout.js';
import { type MessageOf, messageSchema, type RequestMessageOf } from '../../netlink/message.js';
import { attr, type DecodedOf } from '../../netlink/schema.js';
import { fieldsOf, uapiSet } from '../../netlink/uapi.js';

export const rtmsg = layout('rtmsg', [
  u8('family'),
  u8('dst_len'),
  u8('src_len'),
  u8('tos'),
  u8('rtm_table'),
  u8('protocol'),
  u8('scope'),
  u8('type'),
  u32('flags'),
]);
/**
 * struct rtmsg.
 * - `rtm_table`: The u8 table field, RT_TABLE_COMPAT (252) for tables above 255. Named after the C field because
 *   RTA_TABLE (the full u32 id, which ip prints) is `table`.
 * - `protocol`: RTPROT_*.
 * - `scope`: RT_SCOPE_*.
 * - `type`: RTN_*.
 * - `flags`: RTM_F_* and RTNH_F_* bits.
 */
export type RtMsg = StructType<typeof rtmsg>;

export const rtaCacheinfo = layout('rta_cacheinfo', [
  u32('clntref'),
  u32('lastuse'),
  s32('expires'),
  u32('error'),
  u32('used'),
  u32('id'),
  u32('ts'),
  u32('tsage'),
]);
/**
 * struct rta_cacheinfo.
 * - `expires`: Centiseconds until expiry (IPv6 routes with a lifetime), else 0.
 */
export type RouteCacheinfo = StructType<typeof rtaCacheinfo>;

export const rtaMfcStats = layout('rta_mfc_stats', [u64('packets'), u64('bytes'), u64('wrong_if')]);
/** struct rta_mfc_stats (multicast routes). */
export type RouteMfcStats = StructType<typeof rtaMfcStats>;

/** RTA_METRICS: RTAX_*, each a u32 but the congestion-control name. Names are ip's. */
export const routeMetricsAttrs = uapiSet('metrics', {
  /** Bit (1 << RTAX_*) per metric the route locks against path discovery. */
  lock: ['RTAX_LOCK', attr.u32(1)],
  mtu: ['RTAX_MTU', attr.u32(2)],
  window: ['RTAX_WINDOW', attr.u32(3)],
  rtt: ['RTAX_RTT', attr.u32(4)],
  rttvar: ['RTAX_RTTVAR', attr.u32(5)],
  ssthresh: ['RTAX_SSTHRESH', attr.u32(6)],
  cwnd: ['RTAX_CWND', attr.u32(7)],
  advmss: ['RTAX_ADVMSS', attr.u32(8)],
  reordering: ['RTAX_REORDERING', attr.u32(9)],
  hoplimit: ['RTAX_HOPLIMIT', attr.u32(10)],
  initcwnd: ['RTAX_INITCWND', attr.u32(11)],
  /** RTAX_FEATURE_* bits (ecn 1, ...). */
  features: ['RTAX_FEATURES', attr.u32(12)],
  rto_min: ['RTAX_RTO_MIN', attr.u32(13)],
  initrwnd: ['RTAX_INITRWND', attr.u32(14)],
  quickack: ['RTAX_QUICKACK', attr.u32(15)],
  congestion: ['RTAX_CC_ALGO', attr.string(16)],
  fastopen_no_cookie: ['RTAX_FASTOPEN_NO_COOKIE', attr.u32(17)],
});

export const routeAttrs = uapiSet(
  'route',
  {
    dst: ['RTA_DST', attr.ip(1)],
    src: ['RTA_SRC', attr.ip(2)],
    /** Input interface (lookups, multicast routes). */
    iif: ['RTA_IIF', attr.u32(3)],
    /** Output interface index; ip prints its name as "dev". */
    oif: ['RTA_OIF', attr.u32(4)],
    gateway: ['RTA_GATEWAY', attr.ip(5)],
    metric: ['RTA_PRIORITY', attr.u32(6)],
    prefsrc: ['RTA_PREFSRC', attr.ip(7)],
    metrics: ['RTA_METRICS', attr.nest(8, routeMetricsAttrs)],
    /** struct rtnexthop entries with their attributes, as bytes (see the file comment). */
    nexthops: ['RTA_MULTIPATH', attr.binary(9)],
    /** Realms: (from << 16) | to. */
    flow: ['RTA_FLOW', attr.u32(11)],
    cacheinfo: ['RTA_CACHEINFO', attr.struct(12, rtaCacheinfo)],
    /** The full table id (ip prints it as "table"); rtm_table is 252 above 255. */
    table: ['RTA_TABLE', attr.u32(15)],
    /** Firewall mark (route lookups). */
    mark: ['RTA_MARK', attr.u32(16)],
    mfc_stats: ['RTA_MFC_STATS', attr.struct(17, rtaMfcStats)],
    /** struct rtvia: family u16, then the address (a gateway of another family). */
    via: ['RTA_VIA', attr.binary(18)],
    /** MPLS label stack to swap to. */
    newdst: ['RTA_NEWDST', attr.binary(19)],
    /** IPv6 router preference: 0 medium, 1 high, 3 low (ICMPV6_ROUTER_PREF_*). */
    pref: ['RTA_PREF', attr.u8(20)],
    /** LWTUNNEL_ENCAP_*; RTA_ENCAP itself stays raw. */
    encap_type: ['RTA_ENCAP_TYPE', attr.u16(21)],
    /**
     * Seconds until expiry, IPv6 routes, request side. Dumps report expiry in
     * cacheinfo instead; multicast routing (ipmr) dumps put a u64 here.
     */
    /** Seconds until expiry: a u32 for IPv6 routes, a u64 in multicast (ipmr) dumps. */
    expires: ['RTA_EXPIRES', attr.uint(23)],
    uid: ['RTA_UID', attr.u32(25)],
    ttl_propagate: ['RTA_TTL_PROPAGATE', attr.u8(26)],
    /** Route lookups (RTM_GETROUTE) by flow: IP protocol and ports, ports big-endian. */
    ip_proto: ['RTA_IP_PROTO', attr.u8(27)],
    sport: ['RTA_SPORT', attr.be16(28)],
    dport: ['RTA_DPORT', attr.be16(29)],
    nhid: ['RTA_NH_ID', attr.u32(30)],
  },
  fieldsOf(rtmsg),
);

export const routeSchema = messageSchema('route', rtmsg, routeAttrs);

export type RouteMetrics = DecodedOf<typeof routeMetricsAttrs>;

/** A decoded route message: rtmsg's fields and the attributes, flat. */
export type RouteMessage = MessageOf<typeof routeSchema>;
/** A route request: any of rtmsg's fields and the RTA_* attributes. */
export type RouteRequest = RequestMessageOf<typeof routeSchema>;
