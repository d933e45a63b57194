/**
 * What iproute2 (6.1, the Debian version the tests run against) would print
 * for an object vxnet decoded: one mapping per object kind, from vxnet's
 * decoded message to the JSON of `ip -j [-d] link show`, `ip -j addr`,
 * `ip -j [-d] route show table all`, `ip -j neigh`, `bridge -j fdb show` and
 * `bridge -j -d link show`.
 *
 * The parity tests compare the WHOLE object each mapping returns with the
 * whole object ip printed (every key, both ways; see `diffJson`). Each
 * mapping also accounts for every attribute vxnet decoded: an attribute is
 * either turned into what ip prints, or listed in the mapping's NOT_PRINTED
 * table with the reason iproute2 leaves it out. An attribute that is in
 * neither makes the comparison fail (`Unaccounted`), so a newly decoded
 * attribute cannot escape the comparison by accident.
 *
 * What the mappings translate, and why (all of it is iproute2's printing,
 * none of it is vxnet's decoding):
 * - numbers ip prints as names: interface indexes (dev, master, link, vxlan
 *   link, FDB via, bridge backup port), flags (IFF_*, IFA_F_*, RTNH_F_*,
 *   NTF_*, NUD_*), operstate, link mode, group 0 ("default"), ARPHRD types,
 *   route types, tables, protocols and scopes (the /etc/iproute2 files),
 *   macvlan modes, bridge port states, IPv6 address generation modes, IPv6
 *   route preferences;
 * - numbers ip prints in another unit or format: bridge and bridge-port
 *   timers (centiseconds → seconds), route expiry (centiseconds → seconds),
 *   hexadecimal strings (vxlan tos/label, bridge group_fwd_mask, port id/no),
 *   bridge and root ids ("8000.2:0:0:0:0:1"), u8 switches as booleans;
 * - keys named differently: vxlan group/group6 print as remote/remote6 when
 *   the address is unicast, IFA_LOCAL/IFA_ADDRESS print as local/address
 *   (address only when it differs), route dst/len as one "dst" text
 *   ("default" for /0), FDB lladdr as "mac", RTA_MULTIPATH as "nexthops" with
 *   weight = hops + 1;
 * - what ip leaves out by default: counters (no -s), route type unicast,
 *   table main, protocol boot and scope global without -d, vxlan ttl when
 *   ttl_inherit is set (6.1 prints "ttl inherit" only in text, not in JSON),
 *   vxlan options after "external" ... see each NOT_PRINTED table and the
 *   comments inline.
 */
import { AF_BRIDGE, AF_INET, AF_INET6 } from '../../src/rtnetlink/constants.js';
import { decodeNexthops } from '../../src/rtnetlink/nexthops.js';
import type { Address } from '../../src/rtnetlink/addresses.js';
import type { Link } from '../../src/rtnetlink/links.js';
import type { FdbEntry, Neighbour } from '../../src/rtnetlink/neighbours.js';
import type { Route } from '../../src/rtnetlink/routes.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

// ------------------------------------------------------------------ comparing

/** A numeric field whose value drifts between two reads (a timer, a lifetime): equal within `within`. */
export interface Tolerance {
  /** Matches the path of the field, e.g. /\.gc_timer$/. */
  path: RegExp;
  within: number;
}

/**
 * Every difference between two JSON values, as "path: ours X, ip Y" lines.
 * Keys are compared both ways: a key only one side has is a difference.
 */
export function diffJson(ours: unknown, theirs: unknown, path = '', tolerances: Tolerance[] = []): string[] {
  if (typeof ours === 'number' && typeof theirs === 'number') {
    const tolerance = tolerances.find((t) => t.path.test(path));
    if (tolerance ? Math.abs(ours - theirs) <= tolerance.within : ours === theirs) return [];
    return [`${path}: ours ${ours}, ip ${theirs}`];
  }
  if (Array.isArray(ours) && Array.isArray(theirs)) {
    const out: string[] = [];
    if (ours.length !== theirs.length) out.push(`${path}: ours has ${ours.length} entries, ip ${theirs.length}`);
    for (let i = 0; i < Math.min(ours.length, theirs.length); i++)
      out.push(...diffJson(ours[i], theirs[i], `${path}[${i}]`, tolerances));
    return out;
  }
  if (isObject(ours) && isObject(theirs)) {
    const out: string[] = [];
    for (const key of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
      const at = `${path}.${key}`;
      if (!(key in theirs)) out.push(`${at}: ours ${show(ours[key])}, ip prints nothing`);
      else if (!(key in ours)) out.push(`${at}: ours nothing, ip ${show(theirs[key])}`);
      else out.push(...diffJson(ours[key], theirs[key], at, tolerances));
    }
    return out;
  }
  if (ours === theirs) return [];
  return [`${path}: ours ${show(ours)}, ip ${show(theirs)}`];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
}

// ------------------------------------------------------------------ accounting

/** Attributes vxnet decoded that a mapping neither printed nor listed as not printed by ip. */
export class Unaccounted {
  readonly entries: string[] = [];
  add(where: string, keys: string[]): void {
    for (const key of keys) this.entries.push(`${where}.${key}`);
  }
}

/**
 * Hands out the fields of a decoded object and remembers which were used;
 * `finish` reports the rest unless the NOT_PRINTED table names them.
 */
class Fields<T extends object> {
  private readonly used = new Set<string>();
  constructor(
    private readonly object: T,
    private readonly where: string,
    private readonly notPrinted: Record<string, string>,
    private readonly unaccounted: Unaccounted,
  ) {}

  get<K extends keyof T & string>(key: K): T[K] {
    this.used.add(key);
    return this.object[key];
  }

  /** Marks keys as handled without reading them (printed through another key). */
  use(...keys: string[]): void {
    for (const key of keys) this.used.add(key);
  }

  finish(): void {
    const rest = Object.keys(this.object).filter((key) => !this.used.has(key) && !(key in this.notPrinted));
    this.unaccounted.add(this.where, rest);
  }
}

// ------------------------------------------------------------------ names ip prints for numbers

/** How ip turns an ifindex into a name (ll_index_to_name): the name, or "if<N>" when unknown. */
export type IndexNames = Map<number, string>;

export function indexName(names: IndexNames, ifindex: number): string {
  return names.get(ifindex) ?? `if${ifindex}`;
}

/** print_link_flags: IFF_* names in this order; IFF_RUNNING is never printed (NO-CARRIER says its absence). */
const LINK_FLAGS: [number, string][] = [
  [0x8, 'LOOPBACK'],
  [0x2, 'BROADCAST'],
  [0x10, 'POINTOPOINT'],
  [0x1000, 'MULTICAST'],
  [0x80, 'NOARP'],
  [0x200, 'ALLMULTI'],
  [0x100, 'PROMISC'],
  [0x400, 'MASTER'],
  [0x800, 'SLAVE'],
  [0x4, 'DEBUG'],
  [0x8000, 'DYNAMIC'],
  [0x4000, 'AUTOMEDIA'],
  [0x2000, 'PORTSEL'],
  [0x20, 'NOTRAILERS'],
  [0x1, 'UP'],
  [0x10000, 'LOWER_UP'],
  [0x20000, 'DORMANT'],
  [0x40000, 'ECHO'],
];
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;

/** `masterDown`: the master's IFF_UP is clear (ip prints M-DOWN). */
export function linkFlags(flags: number, masterDown: boolean): string[] {
  const out: string[] = [];
  if (flags & IFF_UP && !(flags & IFF_RUNNING)) out.push('NO-CARRIER');
  let rest = flags & ~IFF_RUNNING;
  for (const [bit, name] of LINK_FLAGS) {
    if (rest & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest) out.push(`0x${rest.toString(16)}`);
  if (masterDown) out.push('M-DOWN');
  return out;
}

const OPERSTATES = ['UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP'];
const LINKMODES = ['DEFAULT', 'DORMANT', 'TESTING'];
/** ll_type_n2a, for the ARPHRD types this kernel's devices have. */
const ARPHRD: Record<number, string> = {
  1: 'ether',
  772: 'loopback',
  65534: 'none',
  776: 'sit',
  768: 'ipip',
  778: 'gre',
  823: 'ip6gre',
  769: 'tunnel6',
};
/** /etc/iproute2/group: 0 is "default"; other groups print as their number. */
function groupName(group: number): string {
  return group === 0 ? 'default' : String(group);
}
const ADDR_GEN_MODES = ['eui64', 'none', 'stable_secret', 'random'];
/** /etc/iproute2/rt_scopes. */
const SCOPES: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };
export function scopeName(scope: number): string {
  return SCOPES[scope] ?? String(scope);
}
/** /etc/iproute2/rt_tables. */
const TABLES: Record<number, string> = { 0: 'unspec', 253: 'default', 254: 'main', 255: 'local' };
/** /etc/iproute2/rt_protos (the reserved part, plus the names iproute2 compiles in). */
const PROTOCOLS: Record<number, string> = {
  0: 'unspec',
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  8: 'gated',
  9: 'ra',
  10: 'mrt',
  11: 'zebra',
  12: 'bird',
  13: 'dnrouted',
  14: 'xorp',
  15: 'ntk',
  16: 'dhcp',
  18: 'keepalived',
  42: 'babel',
  99: 'openr',
  186: 'bgp',
  187: 'isis',
  188: 'ospf',
  189: 'rip',
  192: 'eigrp',
};
const ROUTE_TYPES = [
  'none',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
  'xresolve',
];
/** RTNH_F_* as ip names them in "flags", in the order print_rt_flags uses. */
const NEXTHOP_FLAGS: [number, string][] = [
  [1, 'dead'],
  [4, 'onlink'],
  [2, 'pervasive'],
  [8, 'offload'],
  [64, 'trap'],
  [16, 'linkdown'],
  [32, 'unresolved'],
];
const RTM_F_NOTIFY = 0x100;
const RTM_F_OFFLOAD_FAILED = 0x20000000;
/** RTA_PREF: ICMPV6_ROUTER_PREF_*. */
const ROUTE_PREFS: Record<number, string> = { 0: 'medium', 1: 'high', 3: 'low' };
/** RTAX_* names ip prints under "metrics" (rtnl_rtmetrics_n2a), in RTAX order. */
const METRIC_NAMES = [
  'lock',
  'mtu',
  'window',
  'rtt',
  'rttvar',
  'ssthresh',
  'cwnd',
  'advmss',
  'reordering',
  'hoplimit',
  'initcwnd',
  'features',
  'rto_min',
  'initrwnd',
  'quickack',
  'congctl',
  'fastopen_no_cookie',
];
/** NUD_* names (nud_state_n2a), lowest bit first. */
const NUD_NAMES: [number, string][] = [
  [0x01, 'INCOMPLETE'],
  [0x02, 'REACHABLE'],
  [0x04, 'STALE'],
  [0x08, 'DELAY'],
  [0x10, 'PROBE'],
  [0x20, 'FAILED'],
  [0x40, 'NOARP'],
  [0x80, 'PERMANENT'],
];
const BRPORT_STATES = ['disabled', 'listening', 'learning', 'forwarding', 'blocking'];
const MACVLAN_MODES: Record<number, string> = { 1: 'private', 2: 'vepa', 4: 'bridge', 8: 'passthru', 16: 'source' };

/** C's "%#x": "0" for zero, "0x…" otherwise. */
function hashHex(value: number): string {
  return value === 0 ? '0' : `0x${value.toString(16)}`;
}

/** br_dump_bridge_id: two priority bytes as %.2x%.2x, a dot, then the MAC as ether_ntoa does it (no zero padding). */
function bridgeId(bytes: Uint8Array): string {
  const b = [...bytes];
  return `${hex2(b[0]!)}${hex2(b[1]!)}.${b
    .slice(2, 8)
    .map((x) => x.toString(16))
    .join(':')}`;
}
function hex2(value: number): string {
  return value.toString(16).padStart(2, '0');
}

/** Bridge timers are u64 centiseconds; ip prints seconds (%4.2f, a JSON number). */
function seconds(centiseconds: bigint | number | undefined): number {
  return Number(centiseconds ?? 0) / 100;
}

function bool(value: number | boolean | undefined): boolean {
  return Boolean(value);
}

// ------------------------------------------------------------------ links

export interface LinkContext {
  names: IndexNames;
  /** ifi_flags of every link, to tell whether a master is down. */
  flags: Map<number, number>;
  unaccounted: Unaccounted;
}

/** Link attributes `ip link` does not print, and why. */
const LINK_NOT_PRINTED: Record<string, string> = {
  family: 'ifinfomsg header: always AF_UNSPEC in these dumps',
  change: 'ifinfomsg header: 0 in dumps',
  stats: 'counters: printed only with -s',
  stats64: 'counters: printed only with -s',
  map: 'struct ifmap of old ISA cards: not printed',
  carrier: 'printed as the NO-CARRIER flag, not as a field',
  carrier_changes: 'printed only with -s -s',
  carrier_up_count: 'printed only with -s -s',
  carrier_down_count: 'printed only with -s -s',
  xdp: 'printed only when a program is attached (attached != 0, checked below)',
  af_spec: 'only af_spec.inet6.addr_gen_mode is printed (inet6_addr_gen_mode, -d); the rest are sysctls and counters',
  unknown:
    'attributes newer than the installed uapi headers (IFLA_DEVLINK_PORT, IFLA_GSO_IPV4_MAX_SIZE, ...): iproute2 6.1 predates them too',
};

/** `ip -j link show` (details false) or `ip -j -d link show` (details true) for one link. */
export function linkAsIp(link: Link, ctx: LinkContext, details: boolean): JsonObject {
  const f = new Fields(link, `link ${link.ifname}`, LINK_NOT_PRINTED, ctx.unaccounted);
  const out: JsonObject = {};
  out.ifindex = f.get('ifindex');
  const lower = f.get('link');
  const netnsid = f.get('link_netnsid');
  if (lower !== undefined) {
    // In another namespace the index means nothing here: ip prints the number.
    if (lower === 0) out.link = null;
    else if (netnsid !== undefined) out.link_index = lower;
    else out.link = indexName(ctx.names, lower);
  }
  out.ifname = f.get('ifname')!;
  const master = f.get('master');
  out.flags = linkFlags(f.get('flags'), master !== undefined && !((ctx.flags.get(master) ?? 0) & IFF_UP));
  out.mtu = f.get('mtu')!;
  const xdp = link.xdp;
  if (xdp && xdp.attached)
    throw new Error(`link ${link.ifname}: an XDP program is attached; the mapping does not print XDP`);
  out.qdisc = f.get('qdisc')!;
  if (master !== undefined) out.master = indexName(ctx.names, master);
  out.operstate = OPERSTATES[f.get('operstate')!] ?? String(link.operstate);
  out.linkmode = LINKMODES[f.get('linkmode')!] ?? String(link.linkmode);
  out.group = groupName(f.get('group')!);
  out.txqlen = f.get('txqlen')!;
  out.link_type = ARPHRD[f.get('link_type')] ?? String(link.link_type);
  const address = f.get('address');
  if (address !== undefined) out.address = address;
  const broadcast = f.get('broadcast');
  // On a point-to-point link ip calls the broadcast attribute the peer.
  if (broadcast !== undefined) out[link.flags & 0x10 ? 'link_pointtopoint' : 'broadcast'] = broadcast;
  const permaddr = f.get('permaddr');
  if (permaddr !== undefined) out.permaddr = permaddr;
  if (netnsid !== undefined) out.link_netnsid = netnsid;
  const protoDown = f.get('proto_down');
  if (protoDown) out.proto_down = true;
  f.use('proto_down_reason');
  if (details) {
    out.promiscuity = f.get('promiscuity')!;
    out.allmulti = f.get('allmulti')!;
    out.min_mtu = f.get('min_mtu')!;
    out.max_mtu = f.get('max_mtu')!;
    const linkinfo = f.get('linkinfo');
    if (linkinfo) out.linkinfo = linkinfoAsIp(link, ctx);
    const spec = link.af_spec as { inet6?: { addr_gen_mode?: number } } | undefined;
    if (spec?.inet6?.addr_gen_mode !== undefined)
      out.inet6_addr_gen_mode = ADDR_GEN_MODES[spec.inet6.addr_gen_mode] ?? String(spec.inet6.addr_gen_mode);
    out.num_tx_queues = f.get('num_tx_queues')!;
    out.num_rx_queues = f.get('num_rx_queues')!;
    out.gso_max_size = f.get('gso_max_size')!;
    out.gso_max_segs = f.get('gso_max_segs')!;
    out.tso_max_size = f.get('tso_max_size')!;
    out.tso_max_segs = f.get('tso_max_segs')!;
    out.gro_max_size = f.get('gro_max_size')!;
    const parentbus = f.get('parentbus');
    if (parentbus !== undefined) out.parentbus = parentbus;
    const parentdev = f.get('parentdev');
    if (parentdev !== undefined) out.parentdev = parentdev;
    const portName = f.get('phys_port_name');
    if (portName !== undefined) out.phys_port_name = portName;
  } else {
    // Printed with -d only.
    f.use(
      'promiscuity',
      'allmulti',
      'min_mtu',
      'max_mtu',
      'linkinfo',
      'num_tx_queues',
      'num_rx_queues',
      'gso_max_size',
      'gso_max_segs',
      'tso_max_size',
      'tso_max_segs',
      'gro_max_size',
      'parentbus',
      'parentdev',
      'phys_port_name',
    );
  }
  const alias = f.get('ifalias');
  if (alias !== undefined) out.ifalias = alias;
  const alt = f.get('prop_list')?.alt_ifname;
  if (alt?.length) out.altnames = alt;
  f.finish();
  return out;
}

function linkinfoAsIp(link: Link, ctx: LinkContext): JsonObject {
  const info = link.linkinfo!;
  const f = new Fields(info, `link ${link.ifname}.linkinfo`, {}, ctx.unaccounted);
  const out: JsonObject = {};
  const kind = f.get('info_kind');
  if (kind !== undefined) out.info_kind = kind;
  const data = f.get('info_data');
  if (data !== undefined) {
    const where = `link ${link.ifname}.linkinfo.info_data`;
    if (kind === 'vxlan') out.info_data = vxlanAsIp(data as never, ctx, where);
    else if (kind === 'bridge') out.info_data = bridgeAsIp(data as never, ctx, where);
    else if (kind === 'macvlan' || kind === 'macvtap') out.info_data = macvlanAsIp(data as never, ctx, where);
    else throw new Error(`${where}: no mapping for kind ${kind}`);
  }
  const slaveKind = f.get('info_slave_kind');
  if (slaveKind !== undefined) out.info_slave_kind = slaveKind;
  const slaveData = f.get('info_slave_data');
  if (slaveData !== undefined) {
    if (slaveKind !== 'bridge') throw new Error(`link ${link.ifname}: no mapping for slave kind ${slaveKind}`);
    out.info_slave_data = bridgePortAsIp(slaveData, ctx, `link ${link.ifname}.linkinfo.info_slave_data`, false);
  }
  f.finish();
  return out;
}

type Vxlan = import('../../src/rtnetlink/schema/kinds/vxlan.js').VxlanInfoData;

/** vxlan_print_opt of iproute2 6.1. */
function vxlanAsIp(data: Vxlan, ctx: LinkContext, where: string): JsonObject {
  const f = new Fields(
    data,
    where,
    {
      ttl_inherit:
        'iproute2 6.1 prints "ttl inherit" in text output only; in JSON it leaves ttl out instead (handled below)',
      remcsum_nopartial: 'not printed by iproute2 6.1',
      unknown:
        'attributes newer than the installed uapi headers (IFLA_VXLAN_LOCALBYPASS, ...): not printed by iproute2 6.1',
    },
    ctx.unaccounted,
  );
  const out: JsonObject = {};
  const external = f.get('external');
  if (external) out.external = true;
  const vnifilter = f.get('vnifilter');
  if (vnifilter) out.vnifilter = true;
  out.id = f.get('id')!;
  const group = f.get('group');
  if (group !== undefined && group !== '0.0.0.0') out[isMulticast4(group) ? 'group' : 'remote'] = group;
  const group6 = f.get('group6');
  if (group === undefined && group6 !== undefined && group6 !== '::')
    out[group6.toLowerCase().startsWith('ff') ? 'group6' : 'remote6'] = group6;
  const local = f.get('local');
  if (local !== undefined && local !== '0.0.0.0') out.local = local;
  const local6 = f.get('local6');
  if (local === undefined && local6 !== undefined && local6 !== '::') out.local6 = local6;
  const lower = f.get('link');
  if (lower) out.link = indexName(ctx.names, lower);
  const range = f.get('port_range');
  if (range) out.port_range = { low: range.low, high: range.high };
  const port = f.get('port');
  if (port !== undefined) out.port = port;
  const learning = f.get('learning');
  if (learning !== undefined) out.learning = bool(learning);
  for (const key of ['proxy', 'rsc', 'l2miss', 'l3miss'] as const) if (f.get(key)) out[key] = true;
  const tos = f.get('tos');
  if (tos) out.tos = hashHex(tos);
  const ttl = f.get('ttl');
  if (!data.ttl_inherit && ttl !== undefined) out.ttl = ttl;
  const df = f.get('df');
  if (df !== undefined) out.df = ['unset', 'set', 'inherit'][df] ?? String(df);
  const label = f.get('label');
  if (label) out.label = hashHex(label);
  const ageing = f.get('ageing');
  if (ageing !== undefined) out.ageing = ageing;
  const limit = f.get('limit');
  if (limit) out.limit = limit;
  for (const key of ['udp_csum', 'udp_zero_csum6_tx', 'udp_zero_csum6_rx'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = bool(value);
  }
  for (const key of ['remcsum_tx', 'remcsum_rx'] as const) if (f.get(key)) out[key] = true;
  if (f.get('gbp')) out.gbp = true;
  if (f.get('gpe')) out.gpe = true;
  f.finish();
  return out;
}

function isMulticast4(address: string): boolean {
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

type BridgeData = import('../../src/rtnetlink/schema/kinds/bridge.js').BridgeInfoData;
type BridgePort = import('../../src/rtnetlink/schema/kinds/bridge.js').BridgePortData;

/** bridge_print_opt of iproute2 6.1. */
function bridgeAsIp(data: BridgeData, ctx: LinkContext, where: string): JsonObject {
  const f = new Fields(
    data,
    where,
    {
      mcast_querier_state: 'not printed by iproute2 6.1',
      unknown:
        'attributes newer than the installed uapi headers (IFLA_BR_FDB_N_LEARNED, ...): not printed by iproute2 6.1',
    },
    ctx.unaccounted,
  );
  const out: JsonObject = {};
  const plain = [
    'forward_delay',
    'hello_time',
    'max_age',
    'ageing_time',
    'stp_state',
    'priority',
    'vlan_filtering',
  ] as const;
  for (const key of plain) {
    const value = f.get(key);
    if (value !== undefined) out[key] = value;
  }
  const vlanProtocol = f.get('vlan_protocol');
  if (vlanProtocol !== undefined)
    out.vlan_protocol =
      vlanProtocol === 0x8100 ? '802.1Q' : vlanProtocol === 0x88a8 ? '802.1ad' : hashHex(vlanProtocol);
  const bridgeIdValue = f.get('bridge_id');
  if (bridgeIdValue) out.bridge_id = bridgeId(bridgeIdValue);
  const rootId = f.get('root_id');
  if (rootId) out.root_id = bridgeId(rootId);
  for (const key of ['root_port', 'root_path_cost', 'topology_change', 'topology_change_detected'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = value;
  }
  for (const key of ['hello_timer', 'tcn_timer', 'topology_change_timer', 'gc_timer'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = seconds(value);
  }
  const pvid = f.get('vlan_default_pvid');
  if (pvid !== undefined) out.vlan_default_pvid = pvid;
  for (const key of ['vlan_stats_enabled', 'vlan_stats_per_port'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = value;
  }
  const fwdMask = f.get('group_fwd_mask');
  if (fwdMask !== undefined) out.group_fwd_mask = hashHex(fwdMask);
  const groupAddr = f.get('group_addr');
  if (groupAddr !== undefined) out.group_addr = groupAddr;
  const snooping = f.get('mcast_snooping');
  if (snooping !== undefined) out.mcast_snooping = snooping;
  const boolopt = f.get('multi_boolopt');
  if (boolopt) {
    // BR_BOOLOPT_NO_LL_LEARN (bit 0) and BR_BOOLOPT_MCAST_VLAN_SNOOPING (bit 1): the two 6.1 prints.
    if (boolopt.optmask & 1) out.no_linklocal_learn = boolopt.optval & 1 ? 1 : 0;
    if (boolopt.optmask & 2) out.mcast_vlan_snooping = boolopt.optval & 2 ? 1 : 0;
  }
  const numbers = [
    'mcast_router',
    'mcast_query_use_ifaddr',
    'mcast_querier',
    'mcast_hash_elasticity',
    'mcast_hash_max',
    'mcast_last_member_cnt',
    'mcast_startup_query_cnt',
    'mcast_last_member_intvl',
    'mcast_membership_intvl',
    'mcast_querier_intvl',
    'mcast_query_intvl',
    'mcast_query_response_intvl',
    'mcast_startup_query_intvl',
    'mcast_stats_enabled',
    'mcast_igmp_version',
    'mcast_mld_version',
    'nf_call_iptables',
    'nf_call_ip6tables',
    'nf_call_arptables',
  ] as const;
  for (const key of numbers) {
    const value = f.get(key);
    if (value !== undefined) out[key] = Number(value);
  }
  f.finish();
  return out;
}

/**
 * bridge_slave_print_opt of ip 6.1 (ip -d: info_slave_data), and, with
 * `bridgeTool`, the port part of `bridge -d link show` (print_protinfo),
 * which prints fewer of them and in other shapes.
 */
function bridgePortAsIp(data: BridgePort, ctx: LinkContext, where: string, bridgeTool: boolean): JsonObject {
  const f = new Fields(
    data,
    where,
    bridgeTool
      ? BRIDGE_TOOL_PORT_NOT_PRINTED
      : {
          learning_sync: 'not printed by ip 6.1',
          mrp_ring_open: 'not printed by ip 6.1',
          mrp_in_open: 'not printed by ip 6.1',
          mcast_eht_hosts_limit: 'not printed by ip 6.1',
          mcast_eht_hosts_cnt: 'not printed by ip 6.1',
          unknown: 'attributes newer than the installed uapi headers (IFLA_BRPORT_MAB, ...)',
        },
    ctx.unaccounted,
  );
  const out: JsonObject = {};
  const state = f.get('state');
  if (state !== undefined) out.state = BRPORT_STATES[state] ?? String(state);
  for (const key of ['priority', 'cost'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = value;
  }
  const switches = ['hairpin', 'guard', 'root_block', 'fastleave', 'learning', 'flood'] as const;
  for (const key of switches) {
    const value = f.get(key);
    if (value !== undefined) out[key] = bool(value);
  }
  if (bridgeTool) {
    for (const key of ['mcast_flood', 'bcast_flood'] as const) {
      const value = f.get(key);
      if (value !== undefined) out[key] = bool(value);
    }
    const router = f.get('multicast_router');
    if (router !== undefined) out.mcast_router = router;
    for (const key of ['mcast_to_unicast', 'neigh_suppress', 'vlan_tunnel', 'isolated', 'locked'] as const) {
      const value = f.get(key);
      if (value !== undefined) out[key] = bool(value);
    }
    const backup = f.get('backup_port');
    if (backup) out.backup_port = indexName(ctx.names, backup);
    f.finish();
    return out;
  }
  const id = f.get('id');
  if (id !== undefined) out.id = hashHex(id);
  const no = f.get('no');
  if (no !== undefined) out.no = hashHex(no);
  for (const key of ['designated_port', 'designated_cost'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = value;
  }
  const bridgeIdValue = f.get('bridge_id');
  if (bridgeIdValue) out.bridge_id = bridgeId(bridgeIdValue);
  const rootId = f.get('root_id');
  if (rootId) out.root_id = bridgeId(rootId);
  for (const key of ['hold_timer', 'message_age_timer', 'forward_delay_timer'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = seconds(value);
  }
  for (const key of ['topology_change_ack', 'config_pending'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = value;
  }
  for (const key of ['proxy_arp', 'proxy_arp_wifi'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = bool(value);
  }
  const router = f.get('multicast_router');
  if (router !== undefined) out.multicast_router = router;
  for (const key of ['mcast_flood', 'bcast_flood', 'mcast_to_unicast', 'neigh_suppress'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = bool(value);
  }
  const fwdMask = f.get('group_fwd_mask');
  if (fwdMask !== undefined) {
    out.group_fwd_mask = hashHex(fwdMask);
    // Printed twice by 6.1: once as %#x, once as the text of its bits (0x%x, no names for an empty mask).
    out.group_fwd_mask_str = `0x${fwdMask.toString(16)}`;
  }
  for (const key of ['vlan_tunnel', 'isolated', 'locked'] as const) {
    const value = f.get(key);
    if (value !== undefined) out[key] = bool(value);
  }
  const backup = f.get('backup_port');
  if (backup) out.backup_port = indexName(ctx.names, backup);
  f.finish();
  return out;
}

const BRIDGE_TOOL_PORT_NOT_PRINTED: Record<string, string> = {
  id: 'bridge link does not print port ids',
  no: 'bridge link does not print port numbers',
  designated_port: 'STP detail, not printed by bridge link',
  designated_cost: 'STP detail, not printed by bridge link',
  bridge_id: 'STP detail, not printed by bridge link',
  root_id: 'STP detail, not printed by bridge link',
  hold_timer: 'timer, not printed by bridge link',
  message_age_timer: 'timer, not printed by bridge link',
  forward_delay_timer: 'timer, not printed by bridge link',
  topology_change_ack: 'STP detail, not printed by bridge link',
  config_pending: 'STP detail, not printed by bridge link',
  proxy_arp: 'not printed by bridge link 6.1 (ip -d prints it)',
  proxy_arp_wifi: 'not printed by bridge link 6.1 (ip -d prints it)',
  group_fwd_mask: 'not printed by bridge link 6.1',
  learning_sync: 'not printed by bridge link 6.1',
  mrp_ring_open: 'not printed by bridge link 6.1',
  mrp_in_open: 'not printed by bridge link 6.1',
  mcast_eht_hosts_limit: 'not printed by bridge link 6.1',
  mcast_eht_hosts_cnt: 'not printed by bridge link 6.1',
  unknown: 'attributes newer than the installed uapi headers',
};

type Macvlan = import('../../src/rtnetlink/schema/kinds/macvlan.js').MacvlanInfoData;

/** macvlan_print_opt of iproute2 6.1 (also for macvtap). */
function macvlanAsIp(data: Macvlan, ctx: LinkContext, where: string): JsonObject {
  const f = new Fields(data, where, {}, ctx.unaccounted);
  const out: JsonObject = {};
  const mode = f.get('mode');
  if (mode !== undefined) out.mode = MACVLAN_MODES[mode] ?? 'unknown';
  const flags = f.get('flags');
  if (flags !== undefined && flags & 1) out.nopromisc = true;
  if (flags !== undefined && flags & 2) out.nodst = true;
  const count = f.get('macaddr_count');
  if (count !== undefined && mode === 16) out.macaddr_count = count;
  f.use('macaddr_data');
  if (data.macaddr_data?.macaddr?.length) out.macaddr_data = data.macaddr_data.macaddr;
  const bc = f.get('bcqueuelen');
  if (bc !== undefined) out.bcqueuelen = bc;
  const used = f.get('usedbcqueuelen');
  if (used !== undefined) out.usedbcqueuelen = used;
  f.finish();
  return out;
}

/** `bridge -j -d link show` for one port, from an AF_BRIDGE link message (IFLA_PROTINFO holds the port). */
export function bridgeLinkAsIp(link: Link, ctx: LinkContext): JsonObject {
  const f = new Fields(
    link,
    `bridge link ${link.ifname}`,
    {
      ...LINK_NOT_PRINTED,
      family: 'AF_BRIDGE in these dumps',
      link_type: 'bridge link does not print the type',
      operstate: 'bridge link prints "state" of the port instead',
      linkmode: 'not printed by bridge link',
      af_spec: 'VLANs (bridge vlan show); flags and mode are not printed by bridge link',
    },
    ctx.unaccounted,
  );
  const out: JsonObject = {};
  out.ifindex = f.get('ifindex');
  const lower = f.get('link');
  // bridge 6.1 names the lower device in OUR namespace even when IFLA_LINK_NETNSID says it lives elsewhere.
  if (lower !== undefined && lower !== out.ifindex) out.link = indexName(ctx.names, lower);
  f.use('link_netnsid');
  out.ifname = f.get('ifname')!;
  const master = f.get('master');
  out.flags = linkFlags(f.get('flags'), master !== undefined && !((ctx.flags.get(master) ?? 0) & IFF_UP));
  out.mtu = f.get('mtu')!;
  if (master !== undefined) out.master = indexName(ctx.names, master);
  f.use('address'); // not printed by bridge link
  const protinfo = f.get('protinfo') as BridgePort | undefined;
  if (protinfo) Object.assign(out, bridgePortAsIp(protinfo, ctx, `bridge link ${link.ifname}.protinfo`, true));
  f.finish();
  return out;
}

// ------------------------------------------------------------------ addresses

const ADDRESS_FLAGS: [number, string][] = [
  [0x02, 'nodad'],
  [0x04, 'optimistic'],
  [0x08, 'dadfailed'],
  [0x10, 'home'],
  [0x20, 'deprecated'],
  [0x40, 'tentative'],
  [0x100, 'mngtmpaddr'],
  [0x200, 'noprefixroute'],
  [0x400, 'autojoin'],
  [0x800, 'stable-privacy'],
];

const ADDRESS_NOT_PRINTED: Record<string, string> = {
  ifa_flags: 'the legacy u8 flags: ip prints IFA_FLAGS (flags) when present (checked below)',
  ifindex: 'the address is printed under its link',
  protocol: 'IFA_PROTO (who added it): not printed by ip 6.1',
  unknown: 'attributes newer than the installed uapi headers',
};

/** One entry of `ip -j addr`'s addr_info (print_addrinfo of ip 6.1). */
export function addressAsIp(address: Address, unaccounted: Unaccounted): JsonObject {
  const f = new Fields(address, `address ${address.local ?? address.address}`, ADDRESS_NOT_PRINTED, unaccounted);
  const out: JsonObject = {};
  const family = f.get('family');
  out.family = family === AF_INET ? 'inet' : family === AF_INET6 ? 'inet6' : String(family);
  const local = f.get('local');
  const peer = f.get('address');
  out.local = (local ?? peer)!;
  if (local !== undefined && peer !== undefined && peer !== local) out.address = peer;
  out.prefixlen = f.get('prefixlen');
  const broadcast = f.get('broadcast');
  if (broadcast !== undefined) out.broadcast = broadcast;
  const anycast = f.get('anycast');
  if (anycast !== undefined) out.anycast = anycast;
  const metric = f.get('metric');
  if (metric !== undefined) out.metric = metric;
  out.scope = scopeName(f.get('scope'));
  const flags = f.get('flags') ?? address.ifa_flags;
  if (flags & 0x01) out[family === AF_INET6 ? 'temporary' : 'secondary'] = true;
  if (!(flags & 0x80)) out.dynamic = true;
  for (const [bit, name] of ADDRESS_FLAGS) if (flags & bit) out[name] = true;
  const label = f.get('label');
  if (label !== undefined) out.label = label;
  const cacheinfo = f.get('cacheinfo');
  if (cacheinfo) {
    out.valid_life_time = cacheinfo.valid_life_time;
    out.preferred_life_time = cacheinfo.preferred_life_time;
  }
  f.use('target_netnsid', 'multicast');
  f.finish();
  return out;
}

/** `ip -j addr`: each link (the non -d link fields, without linkmode) with its addr_info. */
export function addressListAsIp(links: Link[], addresses: Address[], ctx: LinkContext): JsonObject[] {
  return links.map((link) => {
    const base = linkAsIp(link, ctx, false);
    // ip addr prints neither the link mode nor the alias.
    delete base.linkmode;
    delete base.ifalias;
    return {
      ...base,
      addr_info: addresses.filter((a) => a.ifindex === link.ifindex).map((a) => addressAsIp(a, ctx.unaccounted)),
    };
  });
}

// ------------------------------------------------------------------ routes

const ROUTE_NOT_PRINTED: Record<string, string> = {
  rtm_table: 'the u8 table: ip prints RTA_TABLE (table) when present (checked below)',
  cacheinfo: 'printed only with -s, except the expiry (checked below)',
  tos: 'printed only when non-zero (checked below)',
  src_len: 'printed with src (checked below)',
  dst_len: 'printed with dst (checked below)',
  unknown: 'attributes newer than the installed uapi headers',
};

/** One route of `ip -j [-d] route show table all` (print_route of ip 6.1). */
export function routeAsIp(route: Route, names: IndexNames, details: boolean, unaccounted: Unaccounted): JsonObject {
  const f = new Fields(route, `route ${route.dst ?? 'default'}/${route.dst_len}`, ROUTE_NOT_PRINTED, unaccounted);
  const out: JsonObject = {};
  const family = f.get('family');
  const max = family === AF_INET ? 32 : 128;
  const type = f.get('type');
  if (type !== 1 || details) out.type = ROUTE_TYPES[type] ?? String(type);
  const dst = f.get('dst');
  out.dst =
    dst === undefined
      ? route.dst_len === 0
        ? 'default'
        : `0/${route.dst_len}`
      : route.dst_len === max
        ? dst
        : `${dst}/${route.dst_len}`;
  const src = f.get('src');
  if (src !== undefined) out.from = route.src_len === max ? src : `${src}/${route.src_len}`;
  if (route.tos) out.tos = hashHex(route.tos);
  const gateway = f.get('gateway');
  if (gateway !== undefined) out.gateway = gateway;
  const oif = f.get('oif');
  if (oif !== undefined) out.dev = indexName(names, oif);
  const table = f.get('table') ?? route.rtm_table;
  if (table !== 254 || details) out.table = TABLES[table] ?? String(table);
  const protocol = f.get('protocol');
  if (protocol !== 3 || details) out.protocol = PROTOCOLS[protocol] ?? String(protocol);
  const scope = f.get('scope');
  if (scope !== 0 || details) out.scope = scopeName(scope);
  const prefsrc = f.get('prefsrc');
  if (prefsrc !== undefined) out.prefsrc = prefsrc;
  const metric = f.get('metric');
  if (metric !== undefined) out.metric = metric;
  out.flags = routeFlags(f.get('flags'));
  const metrics = f.get('metrics');
  if (metrics) {
    const entry: JsonObject = {};
    for (const [key, value] of Object.entries(metrics)) {
      if (key === 'unknown') continue;
      entry[key === 'congestion' ? 'congctl' : key] = value as Json;
    }
    out.metrics = [entry];
  }
  const expires = route.cacheinfo?.expires;
  if (expires) out.expires = Math.trunc(expires / 100);
  const pref = f.get('pref');
  if (pref !== undefined) out.pref = ROUTE_PREFS[pref] ?? String(pref);
  const multipath = f.get('nexthops');
  if (multipath) {
    out.nexthops = decodeNexthops(multipath).map((hop) => {
      const entry: JsonObject = {};
      if (hop.gateway !== undefined) entry.gateway = hop.gateway;
      if (hop.ifindex) entry.dev = indexName(names, hop.ifindex);
      entry.weight = hop.hops + 1;
      entry.flags = routeFlags(hop.flags);
      return entry;
    });
  }
  f.use(
    'iif',
    'flow',
    'mark',
    'via',
    'newdst',
    'encap_type',
    'expires',
    'uid',
    'ttl_propagate',
    'ip_proto',
    'sport',
    'dport',
    'nhid',
    'mfc_stats',
  );
  for (const key of ['iif', 'flow', 'mark', 'via', 'newdst', 'encap_type', 'uid', 'nhid'] as const) {
    if (route[key] !== undefined) throw new Error(`route ${out.dst}: has ${key}, which this mapping does not print`);
  }
  f.finish();
  return out;
}

function routeFlags(flags: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of NEXTHOP_FLAGS) if (flags & bit) out.push(name);
  if (flags & RTM_F_NOTIFY) out.push('notify');
  if (flags & RTM_F_OFFLOAD_FAILED) out.push('rt_offload_failed');
  return out;
}

// ------------------------------------------------------------------ neighbours

const NEIGHBOUR_NOT_PRINTED: Record<string, string> = {
  family: 'printed as the address family of dst',
  ifindex: 'printed as dev (checked below)',
  type: 'RTN_UNICAST for every neighbour; not printed',
  cacheinfo: 'printed only with -s',
  probes: 'printed only with -s',
  unknown: 'attributes newer than the installed uapi headers',
};

/** One entry of `ip -j neigh show nud all` (print_neigh of ip 6.1). */
export function neighbourAsIp(neighbour: Neighbour, names: IndexNames, unaccounted: Unaccounted): JsonObject {
  const f = new Fields(neighbour, `neighbour ${neighbour.dst}`, NEIGHBOUR_NOT_PRINTED, unaccounted);
  const out: JsonObject = {};
  out.dst = f.get('dst')!;
  out.dev = indexName(names, neighbour.ifindex);
  const lladdr = f.get('lladdr');
  if (lladdr !== undefined) out.lladdr = lladdr;
  const flags = f.get('flags');
  // ip prints these flags as keys with a null value.
  if (flags & 0x80) out.router = null;
  if (flags & 0x08) out.proxy = null;
  if (flags & 0x10) out.extern_learn = null;
  if (flags & 0x20) out.offload = null;
  const protocol = f.get('protocol');
  if (protocol !== undefined) out.protocol = PROTOCOLS[protocol] ?? String(protocol);
  const flagsExt = f.get('flags_ext');
  if (flagsExt !== undefined && flagsExt & 1) out.managed = null;
  const state = f.get('state');
  // NUD_NONE prints no state at all.
  if (state !== 0) out.state = NUD_NAMES.filter(([bit]) => state & bit).map(([, name]) => name);
  f.finish();
  return out;
}

/** ip neigh show without "nud": ip's default filter hides NOARP and NONE entries (and proxies, which a neighbour dump has not). */
export function shownByDefault(neighbour: Neighbour): boolean {
  return neighbour.state !== 0 && !(neighbour.state & 0x40);
}

// ------------------------------------------------------------------ FDB

const FDB_NOT_PRINTED: Record<string, string> = {
  family: 'AF_BRIDGE for every entry',
  ifindex: 'printed as ifname (checked below)',
  type: 'not printed',
  cacheinfo: 'used/updated ages: printed only with -s',
  unknown: 'attributes newer than the installed uapi headers',
};

/** One entry of `bridge -j fdb show` (print_fdb of bridge 6.1). */
export function fdbAsIp(entry: FdbEntry, names: IndexNames, unaccounted: Unaccounted): JsonObject {
  const f = new Fields(entry, `fdb ${entry.lladdr} dev ${entry.ifindex}`, FDB_NOT_PRINTED, unaccounted);
  const out: JsonObject = {};
  out.mac = f.get('lladdr')!;
  out.ifname = indexName(names, entry.ifindex);
  const vlan = f.get('vlan');
  if (vlan !== undefined) out.vlan = vlan;
  const dst = f.get('dst');
  if (dst !== undefined) out.dst = dst;
  const port = f.get('port');
  if (port !== undefined) out.port = port;
  const vni = f.get('vni');
  if (vni !== undefined) out.vni = vni;
  const srcVni = f.get('src_vni');
  if (srcVni !== undefined) out.src_vni = srcVni;
  const via = f.get('viaIfIndex');
  if (via !== undefined) out.viaIf = indexName(names, via);
  const nhid = f.get('nhid');
  if (nhid !== undefined) out.nhid = nhid;
  const netnsid = f.get('linkNetNsId');
  if (netnsid !== undefined) out.linkNetNsId = netnsid;
  const flags = f.get('flags');
  const named: string[] = [];
  if (flags & 0x02) named.push('self');
  if (flags & 0x80) named.push('router');
  if (flags & 0x10) named.push('extern_learn');
  if (flags & 0x20) named.push('offload');
  if (flags & 0x04) named.push('master');
  if (flags & 0x40) named.push('sticky');
  out.flags = named;
  const master = f.get('master');
  if (master !== undefined) out.master = indexName(names, master);
  const state = f.get('state');
  out.state = state & 0x80 ? 'permanent' : state & 0x40 ? 'static' : state & 0x04 ? 'stale' : '';
  f.use('protocol', 'flags_ext', 'fdb_ext_attrs');
  f.finish();
  return out;
}

export { AF_BRIDGE };
