import { existsSync, readdirSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NLA_F_NESTED } from '../../src/netlink/constants.js';
import { decodeMessage, encodeMessage, type MessageSchema, parseMessages } from '../../src/netlink/message.js';
import { type AttrSet, resolveSet } from '../../src/netlink/schema.js';
import * as rtConstants from '../../src/rtnetlink/constants.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  NTF_SELF,
  NUD_NOARP,
  NUD_PERMANENT,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
} from '../../src/rtnetlink/constants.js';
import { addressSchema } from '../../src/rtnetlink/schema/address.js';
import * as bridgeKind from '../../src/rtnetlink/schema/kinds/bridge.js';
import * as ipvlanKind from '../../src/rtnetlink/schema/kinds/ipvlan.js';
import * as macvlanKind from '../../src/rtnetlink/schema/kinds/macvlan.js';
import * as vxlanKind from '../../src/rtnetlink/schema/kinds/vxlan.js';
import * as linkModule from '../../src/rtnetlink/schema/link.js';
import { decodeVethPeer, encodeVethPeer, linkSchema } from '../../src/rtnetlink/schema/link.js';
import { neighbourSchema } from '../../src/rtnetlink/schema/neighbour.js';
import { routeSchema } from '../../src/rtnetlink/schema/route.js';
import { readHeaders, uapiMismatches } from '../helpers/uapi-headers.js';

// ---------------------------------------------------------------- the uapi headers

const UAPI = '/usr/include/linux';
const socketHeader = readdirSync('/usr/include', { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => `/usr/include/${entry.name}/bits/socket.h`)
  .find((path) => existsSync(path));
if (!existsSync(`${UAPI}/if_link.h`)) {
  throw new Error(
    `${UAPI}/if_link.h is missing: install linux-libc-dev (scripts/setup.sh does) to check the schemas against the kernel's headers`,
  );
}
const headers = readHeaders([
  ...['if.h', 'if_arp.h', 'if_link.h', 'if_addr.h', 'rtnetlink.h', 'neighbour.h', 'if_bridge.h', 'veth.h'].map(
    (name) => `${UAPI}/${name}`,
  ),
  ...(socketHeader ? [socketHeader] : []),
]);

/** Every set reachable from the four schemas: nests and every sub-message choice. */
function reachableSets(): AttrSet[] {
  const seen = new Set<AttrSet>();
  const visit = (set: AttrSet): void => {
    if (seen.has(set)) return;
    seen.add(set);
    for (const attr of set.byName.values()) {
      if (attr.set) visit(resolveSet(attr.set));
      if (attr.select) for (const choice of Object.values(attr.select.sets)) visit(resolveSet(choice));
    }
  };
  for (const schema of [linkSchema, addressSchema, routeSchema, neighbourSchema]) visit(schema.attrs);
  return [...seen];
}

test('the header reader understands the headers it reads', () => {
  assert.is(headers.get('IFLA_IFNAME'), 3);
  assert.is(headers.get('IFLA_TARGET_NETNSID'), headers.get('IFLA_IF_NETNSID'));
  assert.is(headers.get('RTM_GETNEIGH'), 30);
  assert.is(headers.get('RTAX_CC_ALGO'), 16);
  assert.is(headers.get('NTF_EXT_LEARNED'), 16);
  assert.is(headers.get('IFLA_BRIDGE_FLAGS'), 0);
  assert.is(headers.get('VETH_INFO_PEER'), 1);
});

test('every attribute number equals the uapi value of the constant it models', () => {
  const sets = reachableSets();
  const { problems, checked } = uapiMismatches(sets, headers);
  assert.equal(problems, []);
  assert.ok(sets.length >= 20, `only ${sets.length} sets reached`);
  assert.ok(checked >= 250, `only ${checked} attributes checked`);
});

test('every exported constant equals the uapi value of the same name', () => {
  const problems: string[] = [];
  let checked = 0;
  for (const module of [rtConstants, vxlanKind, bridgeKind, macvlanKind, ipvlanKind, linkModule]) {
    for (const [name, value] of Object.entries(module)) {
      if (!/^[A-Z][A-Z0-9_]+$/.test(name) || typeof value !== 'number') continue;
      const expected = headers.get(name);
      if (expected === undefined) problems.push(`${name}: not in the headers`);
      else if (expected !== value) problems.push(`${name}: ${value}, header says ${expected}`);
      checked++;
    }
  }
  assert.equal(problems, []);
  assert.ok(checked >= 150, `only ${checked} constants checked`);
});

// ---------------------------------------------------------------- round trips

/** Encodes a message and decodes it back, as the kernel's reply would be. */
function roundTrip<T>(type: number, schema: MessageSchema, value: object): { bytes: Buffer; decoded: T } {
  const bytes = encodeMessage(type, 0, schema, value);
  const [message] = parseMessages(bytes);
  return { bytes, decoded: decodeMessage(schema, message!) as T };
}

/** nlattr bytes by hand, host order (little-endian, like the machines this runs on). */
function nla(type: number, payload: number[]): number[] {
  const length = 4 + payload.length;
  const padded = [...payload];
  while (padded.length % 4) padded.push(0);
  return [length & 0xff, length >> 8, type & 0xff, type >> 8, ...padded];
}

function includes(haystack: Buffer, needle: number[]): boolean {
  return haystack.indexOf(Buffer.from(needle)) >= 0;
}

const LINK_HEADER = { family: 0, link_type: 0, ifindex: 0, flags: 0, change: 0 };

test('vxlan: every option round-trips; the port is big-endian, the VNI host order', () => {
  const link = {
    ...LINK_HEADER,
    ifname: 'vx0',
    mtu: 1450,
    linkinfo: {
      info_kind: 'vxlan',
      info_data: {
        id: 42,
        group: '239.1.1.1',
        link: 3,
        local: '10.0.0.1',
        ttl: 16,
        tos: 1,
        learning: 0,
        ageing: 300,
        limit: 0,
        port_range: { low: 40000, high: 50000 },
        proxy: 0,
        rsc: 0,
        l2miss: 1,
        l3miss: 1,
        port: 4789,
        udp_csum: 1,
        udp_zero_csum6_tx: 0,
        udp_zero_csum6_rx: 0,
        remcsum_tx: 0,
        remcsum_rx: 0,
        gbp: true,
        external: 0,
        label: 0,
        ttl_inherit: 0,
        df: vxlanKind.VXLAN_DF_INHERIT,
        vnifilter: 0,
      },
    },
  };
  const { bytes, decoded } = roundTrip(RTM_NEWLINK, linkSchema, link);
  assert.equal(decoded, link);
  assert.ok(includes(bytes, nla(15, [0x12, 0xb5])), 'IFLA_VXLAN_PORT 4789 is 0x12 0xb5');
  assert.ok(includes(bytes, nla(10, [0x9c, 0x40, 0xc3, 0x50])), 'port range 40000-50000, both big-endian');
  assert.ok(includes(bytes, nla(1, [42, 0, 0, 0])), 'IFLA_VXLAN_ID 42 in host order');
  assert.ok(includes(bytes, nla(23, [])), 'GBP is a zero-length flag');
});

test('vxlan over IPv6: group6/local6 and the big-endian flow label', () => {
  const data = { id: 7, group6: 'ff05::1', local6: 'fd00::1', label: 0x12345, gpe: true, remcsum_nopartial: true };
  const { bytes, decoded } = roundTrip<any>(RTM_NEWLINK, linkSchema, {
    ...LINK_HEADER,
    linkinfo: { info_kind: 'vxlan', info_data: data },
  });
  assert.equal(decoded.linkinfo.info_data, data);
  assert.ok(includes(bytes, nla(26, [0x00, 0x01, 0x23, 0x45])));
});

test('a link request goes out in IFLA_* order whatever the order of its keys, nests included', () => {
  const inOrder = encodeMessage(RTM_NEWLINK, 0, linkSchema, {
    family: 0,
    address: '02:00:00:00:00:01',
    ifname: 'vx0',
    mtu: 1450,
    master: 7,
    linkinfo: { info_kind: 'vxlan', info_data: { id: 42, group: '239.1.1.1', link: 2, ttl: 8, port: 4789 } },
    ifalias: 'vxnet:seed',
  });
  const scrambled = encodeMessage(RTM_NEWLINK, 0, linkSchema, {
    ifalias: 'vxnet:seed',
    linkinfo: { info_data: { port: 4789, ttl: 8, link: 2, group: '239.1.1.1', id: 42 }, info_kind: 'vxlan' },
    master: 7,
    mtu: 1450,
    ifname: 'vx0',
    address: '02:00:00:00:00:01',
    family: 0,
  });
  assert.equal([...scrambled], [...inOrder]);
  // The attribute numbers as they follow each other on the wire: IFLA_* ascending, and so inside the nests.
  const types: number[] = [];
  const walk = (from: number, to: number): void => {
    for (let at = from; at < to; at += (scrambled.readUInt16LE(at) + 3) & ~3) {
      const type = scrambled.readUInt16LE(at + 2);
      types.push(type & 0x3fff);
      if (type & NLA_F_NESTED) walk(at + 4, at + scrambled.readUInt16LE(at));
    }
  };
  walk(32, scrambled.length);
  assert.equal(types, [1, 3, 4, 10, 18, 1, 2, 1, 2, 3, 5, 15, 20]);
});

test('vxlan TTL inherit: the dump shape (u8) round-trips, true goes out as the flag a request needs', () => {
  // As a dump carries it: a u8.
  const dumped = roundTrip<any>(RTM_NEWLINK, linkSchema, {
    ...LINK_HEADER,
    linkinfo: { info_kind: 'vxlan', info_data: { ttl_inherit: 1 } },
  });
  assert.ok(includes(dumped.bytes, nla(28, [1])));
  assert.is(dumped.decoded.linkinfo.info_data.ttl_inherit, 1);
  // As a create request must carry it: no payload at all.
  const request = encodeMessage(RTM_NEWLINK, 0, linkSchema, {
    ifname: 'vx0',
    linkinfo: { info_kind: 'vxlan', info_data: { ttl_inherit: true, id: 42 } },
  });
  assert.ok(includes(request, [...nla(1, [42, 0, 0, 0]), ...nla(28, [])]));
});

test('bridge: u64 timers, the big-endian VLAN protocol, structs and the querier nest', () => {
  const data = {
    forward_delay: 1500,
    hello_time: 200,
    max_age: 2000,
    ageing_time: 30000,
    stp_state: 0,
    priority: 32768,
    vlan_filtering: 1,
    vlan_protocol: 0x8100,
    group_fwd_mask: 0,
    root_id: new Uint8Array([0x80, 0, 2, 0x58, 0xa3, 0xb3, 0xff, 0x20]),
    bridge_id: new Uint8Array([0x80, 0, 2, 0x58, 0xa3, 0xb3, 0xff, 0x20]),
    root_port: 0,
    root_path_cost: 0,
    topology_change: 0,
    topology_change_detected: 0,
    hello_timer: 0n,
    tcn_timer: 0n,
    topology_change_timer: 0n,
    gc_timer: 5411n,
    group_addr: '01:80:c2:00:00:00',
    mcast_router: 1,
    mcast_snooping: 1,
    mcast_query_use_ifaddr: 0,
    mcast_querier: 0,
    mcast_hash_elasticity: 16,
    mcast_hash_max: 4096,
    mcast_last_member_cnt: 2,
    mcast_startup_query_cnt: 2,
    mcast_last_member_intvl: 100n,
    mcast_membership_intvl: 26000n,
    mcast_querier_intvl: 25500n,
    mcast_query_intvl: 12500n,
    mcast_query_response_intvl: 1000n,
    mcast_startup_query_intvl: 3124n,
    nf_call_iptables: 0,
    nf_call_ip6tables: 0,
    nf_call_arptables: 0,
    vlan_default_pvid: 1,
    vlan_stats_enabled: 0,
    mcast_stats_enabled: 0,
    mcast_igmp_version: 2,
    mcast_mld_version: 1,
    vlan_stats_per_port: 0,
    multi_boolopt: { optval: 0, optmask: 31 },
    mcast_querier_state: {
      ip_address: '0.0.0.0',
      ip_port: 0,
      ip_other_timer: 0n,
      ipv6_address: '::',
      ipv6_port: 0,
      ipv6_other_timer: 0n,
    },
  };
  const { bytes, decoded } = roundTrip<any>(RTM_NEWLINK, linkSchema, {
    ...LINK_HEADER,
    ifname: 'br0',
    linkinfo: { info_kind: 'bridge', info_data: data },
  });
  const back = decoded.linkinfo.info_data;
  assert.equal(
    { ...back, root_id: [...back.root_id], bridge_id: [...back.bridge_id] },
    { ...data, root_id: [...data.root_id], bridge_id: [...data.bridge_id] },
  );
  assert.ok(includes(bytes, nla(8, [0x81, 0x00])), 'IFLA_BR_VLAN_PROTOCOL 0x8100 is big-endian');
  assert.ok(includes(bytes, nla(19, [0x23, 0x15, 0, 0, 0, 0, 0, 0])), 'IFLA_BR_GC_TIMER is a u64');
});

test('bridge port: slave data by info_slave_kind, and IFLA_PROTINFO of AF_BRIDGE messages', () => {
  const port = {
    state: 3,
    priority: 32,
    cost: 2,
    hairpin: 0,
    learning: 1,
    flood: 1,
    designated_cost: 0,
    message_age_timer: 0n,
    backup_port: 4,
    locked: 0,
  };
  const slave = roundTrip<any>(RTM_NEWLINK, linkSchema, {
    ...LINK_HEADER,
    ifname: 've2',
    linkinfo: { info_kind: 'veth', info_slave_kind: 'bridge', info_slave_data: port },
  });
  assert.equal(slave.decoded.linkinfo.info_slave_data, port);
  const bridgeMessage = {
    ...LINK_HEADER,
    family: AF_BRIDGE,
    ifindex: 4,
    ifname: 'vx0',
    master: 9,
    protinfo: port,
    af_spec: {
      flags: 2,
      vlan_info: [
        { flags: 6, vid: 1 },
        { flags: 0, vid: 100 },
      ],
      vlan_tunnel_info: [{ id: 4242, vid: 100, flags: 0 }],
    },
  };
  const { bytes, decoded } = roundTrip(RTM_NEWLINK, linkSchema, bridgeMessage);
  assert.equal(decoded, bridgeMessage);
  assert.ok(includes(bytes, nla(0, [2, 0])), 'IFLA_BRIDGE_FLAGS is attribute 0');
});

test('AF_INET6 link messages: IFLA_PROTINFO holds the IPv6 link data', () => {
  const message = {
    ...LINK_HEADER,
    family: AF_INET6,
    ifindex: 2,
    ifname: 've1',
    protinfo: {
      flags: 0x80000000,
      cacheinfo: { max_reasm_len: 65535, tstamp: 51719, reachable_time: 22352, retrans_time: 1000 },
      token: 'fd00::1:2:3:4',
      addr_gen_mode: 0,
    },
  };
  assert.equal(roundTrip(RTM_NEWLINK, linkSchema, message).decoded, message);
});

test('link: stats structs, AF_SPEC per family, XDP, alternative names', () => {
  const stats64 = Object.fromEntries(
    linkModule.rtnlLinkStats64.fields.map((field, i) => [field.name, BigInt(i) * 1000n + 1n]),
  );
  const stats = Object.fromEntries(linkModule.rtnlLinkStats.fields.map((field, i) => [field.name, i * 3]));
  const link = {
    ...LINK_HEADER,
    ifindex: 3,
    ifname: 've0',
    address: '12:b2:3a:59:4d:d9',
    broadcast: 'ff:ff:ff:ff:ff:ff',
    operstate: 6,
    stats64,
    stats,
    map: { mem_start: 0n, mem_end: 0n, base_addr: 0n, irq: 0, dma: 0, port: 0 },
    xdp: { attached: 0 },
    link_netnsid: -1,
    prop_list: { alt_ifname: ['underlay0', 'underlay-zero'] },
    af_spec: { inet: { conf: new Uint8Array(8) }, inet6: { flags: 16, addr_gen_mode: 1, token: '::' } },
  };
  const { decoded } = roundTrip<any>(RTM_NEWLINK, linkSchema, link);
  assert.equal(
    { ...decoded, af_spec: { ...decoded.af_spec, inet: { conf: [...decoded.af_spec.inet.conf] } } },
    { ...link, af_spec: { ...link.af_spec, inet: { conf: [0, 0, 0, 0, 0, 0, 0, 0] } } },
  );
  assert.is(linkModule.rtnlLinkStats64.size, 200);
  assert.is(linkModule.rtnlLinkStats.size, 96);
  assert.is(linkModule.rtnlLinkIfmap.size, 32);
});

test('linkinfo is a flagged nest, and data of an unknown kind stays raw', () => {
  const bytes = encodeMessage(RTM_NEWLINK, 0, linkSchema, {
    ifname: 'x',
    linkinfo: { info_kind: 'vxlan', info_data: { id: 1 } },
  });
  const at = bytes.indexOf(Buffer.from([18, 0x80]), 32) - 2;
  assert.ok(at > 0 && (bytes.readUInt16LE(at + 2) & NLA_F_NESTED) !== 0);
  // A kind we do not model (here "wireguard"): INFO_DATA comes back as a raw attribute, byte for byte.
  const raw = encodeMessage(RTM_NEWLINK, 0, linkSchema, {
    ifname: 'wg0',
    linkinfo: {
      info_kind: 'wireguard',
      unknown: [{ type: 2, flags: NLA_F_NESTED, data: new Uint8Array(nla(1, [7, 0])), at: 1 }],
    },
  });
  const decoded = decodeMessage(linkSchema, parseMessages(raw)[0]!);
  assert.is(decoded.linkinfo?.unknown?.length, 1);
  assert.equal(encodeMessage(RTM_NEWLINK, 0, linkSchema, decoded), raw);
});

test('veth: the peer is an ifinfomsg followed by IFLA_* attributes', () => {
  const peer = encodeVethPeer({ ifname: 've1', mtu: 1400 });
  assert.is(peer.length, 16 + 8 + 8);
  assert.equal([...peer.subarray(16, 24)], nla(3, [0x76, 0x65, 0x31, 0]));
  const { decoded } = roundTrip<any>(RTM_NEWLINK, linkSchema, {
    ...LINK_HEADER,
    ifname: 've0',
    linkinfo: { info_kind: 'veth', info_data: { peer } },
  });
  assert.equal(decodeVethPeer(decoded.linkinfo.info_data.peer), { ...LINK_HEADER, ifname: 've1', mtu: 1400 });
});

test('macvlan and ipvlan', () => {
  const macvlan = {
    mode: macvlanKind.MACVLAN_MODE_SOURCE,
    flags: 0,
    macaddr_count: 2,
    macaddr_data: { macaddr: ['02:aa:bb:cc:dd:02', '02:aa:bb:cc:dd:01'] },
    bcqueuelen: 1000,
    usedbcqueuelen: 1000,
  };
  assert.equal(
    roundTrip<any>(RTM_NEWLINK, linkSchema, { ...LINK_HEADER, linkinfo: { info_kind: 'macvtap', info_data: macvlan } })
      .decoded.linkinfo.info_data,
    macvlan,
  );
  const ipvlan = { mode: ipvlanKind.IPVLAN_MODE_L3, flags: ipvlanKind.IPVLAN_F_PRIVATE };
  const { bytes, decoded } = roundTrip<any>(RTM_NEWLINK, linkSchema, {
    ...LINK_HEADER,
    linkinfo: { info_kind: 'ipvlan', info_data: ipvlan },
  });
  assert.equal(decoded.linkinfo.info_data, ipvlan);
  assert.ok(includes(bytes, nla(1, [1, 0])), 'IFLA_IPVLAN_MODE is a u16');
});

test('address: IPv4 with peer, label and lifetimes; IPv6', () => {
  const v4 = {
    family: AF_INET,
    prefixlen: 32,
    ifa_flags: 0x80,
    scope: 0,
    ifindex: 2,
    address: '10.9.9.2',
    local: '10.9.9.1',
    label: 've1',
    broadcast: '10.9.9.255',
    flags: 0x280,
    metric: 55,
    protocol: 99,
    cacheinfo: { preferred_life_time: 200, valid_life_time: 300, cstamp: 1234, tstamp: 5678 },
  };
  assert.equal(roundTrip(RTM_NEWADDR, addressSchema, v4).decoded, v4);
  const v6 = {
    family: AF_INET6,
    prefixlen: 64,
    ifa_flags: 0,
    scope: 0,
    ifindex: 9,
    address: 'fd01::5',
    flags: 0x202,
    multicast: 'ff02::1',
  };
  assert.equal(roundTrip(RTM_NEWADDR, addressSchema, v6).decoded, v6);
});

test('route: table above 255, metrics, multipath bytes, cacheinfo, IPv6 preference', () => {
  const route = {
    family: AF_INET,
    dst_len: 16,
    src_len: 0,
    tos: 0,
    rtm_table: 252,
    protocol: 4,
    scope: 0,
    type: 1,
    flags: 0,
    table: 1000,
    dst: '172.16.0.0',
    gateway: '10.0.0.2',
    oif: 3,
    metric: 100,
    prefsrc: '10.0.0.1',
    metrics: {
      lock: 4,
      mtu: 1300,
      advmss: 1260,
      hoplimit: 3,
      initcwnd: 10,
      features: 1,
      quickack: 1,
      congestion: 'cubic',
    },
    nexthops: new Uint8Array([16, 0, 0, 0, 3, 0, 0, 0, ...nla(5, [10, 0, 0, 2])]),
  };
  const { decoded } = roundTrip<any>(RTM_NEWROUTE, routeSchema, route);
  assert.equal({ ...decoded, nexthops: [...decoded.nexthops] }, { ...route, nexthops: [...route.nexthops] });
  const v6 = {
    family: AF_INET6,
    dst_len: 64,
    src_len: 0,
    tos: 0,
    rtm_table: 254,
    protocol: 3,
    scope: 0,
    type: 1,
    flags: 0,
    table: 254,
    dst: 'fd02::',
    gateway: 'fd00::2',
    oif: 3,
    metric: 1024,
    pref: 1,
    cacheinfo: { clntref: 0, lastuse: 0, expires: 10183, error: 0, used: 0, id: 0, ts: 0, tsage: 0 },
  };
  assert.equal(roundTrip(RTM_NEWROUTE, routeSchema, v6).decoded, v6);
});

test('FDB entry: dst v4 or v6, port big-endian, VNI and source VNI host order', () => {
  const entry = {
    family: AF_BRIDGE,
    ifindex: 4,
    state: NUD_PERMANENT | NUD_NOARP,
    flags: NTF_SELF,
    type: 1,
    lladdr: '00:00:00:00:00:00',
    dst: '10.0.0.2',
    port: 4789,
    vni: 42,
    viaIfIndex: 2,
    cacheinfo: { confirmed: 0, used: 10665, updated: 19817, refcnt: 0 },
  };
  const { bytes, decoded } = roundTrip(RTM_NEWNEIGH, neighbourSchema, entry);
  assert.equal(decoded, entry);
  assert.ok(includes(bytes, nla(6, [0x12, 0xb5])), 'NDA_PORT 4789 is 0x12 0xb5');
  assert.ok(includes(bytes, nla(7, [42, 0, 0, 0])), 'NDA_VNI 42 in host order');
  const v6 = {
    family: AF_BRIDGE,
    ifindex: 16,
    state: NUD_PERMANENT,
    flags: NTF_SELF,
    type: 1,
    lladdr: '02:00:00:00:00:09',
    dst: 'fd00::9',
    src_vni: 500,
  };
  const six = roundTrip(RTM_NEWNEIGH, neighbourSchema, v6);
  assert.equal(six.decoded, v6);
  assert.ok(includes(six.bytes, nla(11, [0xf4, 0x01, 0, 0])), 'NDA_SRC_VNI 500 in host order');
  const bridged = {
    family: AF_BRIDGE,
    ifindex: 21,
    state: 64,
    flags: 0,
    type: 0,
    lladdr: '02:00:00:00:09:0a',
    master: 24,
    flags_ext: 0,
    fdb_ext_attrs: { activity_notify: 1 },
  };
  assert.equal(roundTrip(RTM_NEWNEIGH, neighbourSchema, bridged).decoded, bridged);
});

test('neighbour: IPv6 router entry', () => {
  const neighbour = {
    family: AF_INET6,
    ifindex: 3,
    state: 2,
    flags: 0x80,
    type: 1,
    dst: 'fd00::2',
    lladdr: '02:00:00:00:00:02',
    probes: 0,
    protocol: 42,
  };
  assert.equal(roundTrip(RTM_NEWNEIGH, neighbourSchema, neighbour).decoded, neighbour);
});

test.run();
