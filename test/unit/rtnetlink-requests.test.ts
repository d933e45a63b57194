/**
 * What each API call sends: message type, flags, header fields, attributes
 * (decoded with the schemas) and, where byte order or shape is the point,
 * the bytes themselves. The FakeKernel answers link lookups from a fixed list
 * (lo 1, eth0 2, eth1 3, br0 4) and acknowledges everything else.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  NLA_F_NESTED,
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  NLM_F_REQUEST,
  NLMSG_NOOP,
} from '../../src/netlink/constants.js';
import { decodeMessage, type RawMessage } from '../../src/netlink/message.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFF_UP,
  NTF_EXT_LEARNED,
  NTF_MASTER,
  NTF_PROXY,
  NTF_ROUTER,
  NTF_SELF,
  NTF_STICKY,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_REACHABLE,
  NUD_STALE,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
} from '../../src/rtnetlink/constants.js';
import { decodeNexthops } from '../../src/rtnetlink/nexthops.js';
import { addressSchema } from '../../src/rtnetlink/schema/address.js';
import { decodeVethPeer, linkSchema } from '../../src/rtnetlink/schema/link.js';
import { neighbourSchema } from '../../src/rtnetlink/schema/neighbour.js';
import { routeSchema } from '../../src/rtnetlink/schema/route.js';
import { bytesOf, fakeRtnetlink } from '../helpers/fake-rtnetlink.js';

const WRITE = NLM_F_REQUEST | NLM_F_ACK;
const link = (m: RawMessage) => decodeMessage(linkSchema, m);
const address = (m: RawMessage) => decodeMessage(addressSchema, m);
const route = (m: RawMessage) => decodeMessage(routeSchema, m);
const neighbour = (m: RawMessage) => decodeMessage(neighbourSchema, m);

/** The one message of `type` that was sent (fails if there is not exactly one). */
function only(messages: RawMessage[], type: number): RawMessage {
  const found = messages.filter((m) => m.type === type);
  assert.is(found.length, 1, `one message of type ${type} (got ${found.length})`);
  return found[0]!;
}

/** Offsets of an attribute's payload inside a message, by walking the top level after a header of `headerSize`. */
function attrPayload(message: Buffer, headerSize: number, type: number, nested: number[] = []): Buffer {
  let start = 16 + headerSize;
  let end = message.readUInt32LE(0);
  for (const wanted of [...nested, type]) {
    let found: Buffer | undefined;
    for (let offset = start; offset + 4 <= end; ) {
      const length = message.readUInt16LE(offset);
      if ((message.readUInt16LE(offset + 2) & 0x3fff) === wanted) {
        found = message.subarray(offset + 4, offset + length);
        start = offset + 4;
        end = offset + length;
        break;
      }
      offset += (length + 3) & ~3;
    }
    assert.ok(found, `attribute ${wanted} is present`);
    if (wanted === type) return Buffer.from(found!);
  }
  throw new Error('unreachable');
}

// ---------------------------------------------------------------- links

test('links.list and get: a GETLINK dump of AF_UNSPEC; a lookup by name (IFLA_IFNAME) or by index (ifi_index)', async () => {
  const { rt, sent } = fakeRtnetlink();
  const links = await rt.links.list({ kind: 'bridge' });
  assert.equal(
    links.map((l) => l.ifname),
    ['br0'],
  );
  await rt.links.get('eth0');
  await rt.links.get(3);
  const [dump, byName, byIndex] = sent();
  assert.is(dump!.type, RTM_GETLINK);
  assert.is(dump!.flags, NLM_F_REQUEST | NLM_F_DUMP);
  assert.is(bytesOf(dump!).length, 48, 'nlmsghdr + ifinfomsg + IFLA_LINKINFO { IFLA_INFO_KIND "bridge" }');
  assert.is(link(dump!).family, AF_UNSPEC);
  assert.equal(link(dump!).linkinfo, { info_kind: 'bridge' }, 'the kind filter goes to the kernel');
  assert.is(byName!.flags, WRITE);
  assert.equal({ ...link(byName!) }, { family: 0, link_type: 0, ifindex: 0, flags: 0, change: 0, ifname: 'eth0' });
  assert.equal({ ...link(byIndex!) }, { family: 0, link_type: 0, ifindex: 3, flags: 0, change: 0 });
});

test('links.create vxlan: NEWLINK with CREATE|EXCL, the underlay resolved to its index, the VNI first, the port big-endian, TTL inherit as a flag', async () => {
  const { rt, requests } = fakeRtnetlink();
  await rt.links
    .create({
      ifname: 'vx0',
      kind: 'vxlan',
      mtu: 1450,
      up: true,
      vxlan: {
        link: 'eth0',
        port: 4789,
        ttl_inherit: true,
        learning: 0,
        group: '239.1.1.1',
        id: 42,
        port_range: { low: 5000, high: 6000 },
        label: 0x12345,
        gbp: true,
      },
    })
    .catch(() => undefined); // the read-back finds no vx0 in the fake kernel: only the request matters here
  const create = only(requests(), RTM_NEWLINK);
  assert.is(create.flags, WRITE | NLM_F_CREATE | NLM_F_EXCL);
  const decoded = link(create);
  assert.is(decoded.ifname, 'vx0');
  assert.is(decoded.mtu, 1450);
  assert.is(decoded.flags, IFF_UP);
  assert.is(decoded.change, IFF_UP);
  assert.is(decoded.linkinfo?.info_kind, 'vxlan');
  const data = decoded.linkinfo!.info_data as Record<string, unknown>;
  assert.is(Object.keys(data)[0], 'id', "the VNI comes first, as in the kernel's dumps");
  assert.equal(data, {
    id: 42,
    port: 4789,
    ttl_inherit: true,
    learning: 0,
    group: '239.1.1.1',
    port_range: { low: 5000, high: 6000 },
    label: 0x12345,
    gbp: true,
    link: 2,
  });
  const bytes = bytesOf(create);
  assert.equal([...attrPayload(bytes, 16, 15, [18, 2])], [0x12, 0xb5], 'IFLA_VXLAN_PORT 4789 is big-endian');
  assert.equal([...attrPayload(bytes, 16, 10, [18, 2])], [0x13, 0x88, 0x17, 0x70], 'the source port range too');
  assert.equal([...attrPayload(bytes, 16, 1, [18, 2])], [42, 0, 0, 0], 'IFLA_VXLAN_ID is host order');
  assert.equal([...attrPayload(bytes, 16, 26, [18, 2])], [0x00, 0x01, 0x23, 0x45], 'the flow label is big-endian');
  assert.is(attrPayload(bytes, 16, 28, [18, 2]).length, 0, 'IFLA_VXLAN_TTL_INHERIT goes out as a flag (no payload)');
  assert.is(attrPayload(bytes, 16, 23, [18, 2]).length, 0, 'IFLA_VXLAN_GBP is a flag');
  // IFLA_LINKINFO and IFLA_INFO_DATA are nests with NLA_F_NESTED.
  const linkinfoType = bytes.readUInt16LE(bytes.indexOf(Buffer.from('vxlan\0')) - 8 + 2);
  assert.ok(linkinfoType & NLA_F_NESTED, 'linkinfo is flagged as a nest');
});

test('links.create veth: the peer is an ifinfomsg with its own attributes; its namespace is a descriptor the transport opened', async () => {
  const { rt, requests, kernel } = fakeRtnetlink();
  let opened = '';
  (kernel as { openFd: (path: string) => Promise<number> }).openFd = async (path) => {
    opened = path;
    return 77;
  };
  await rt.links
    .create({
      ifname: 've0',
      kind: 'veth',
      peer: { ifname: 've1', namespace: 'other', mtu: 9000, address: '02:00:00:00:00:09' },
    })
    .catch(() => undefined);
  assert.is(opened, '/run/netns/other');
  const decoded = link(only(requests(), RTM_NEWLINK));
  assert.is(decoded.linkinfo?.info_kind, 'veth');
  const peer = decodeVethPeer((decoded.linkinfo!.info_data as { peer: Uint8Array }).peer);
  assert.equal(
    { ...peer },
    {
      family: 0,
      link_type: 0,
      ifindex: 0,
      flags: 0,
      change: 0,
      ifname: 've1',
      mtu: 9000,
      address: '02:00:00:00:00:09',
      net_ns_fd: 77,
    },
  );
  assert.is(decoded.net_ns_fd, undefined, 've0 itself stays here');
});

test('links.create bridge, macvlan, a device created in another namespace, an alias set after creation', async () => {
  const { rt, requests, kernel } = fakeRtnetlink();
  kernel.openFd = async () => 55;
  await rt.links
    .create({
      ifname: 'br1',
      kind: 'bridge',
      bridge: { stp_state: 1, forward_delay: 400, vlan_filtering: 0 },
      master: 'br0',
    })
    .catch(() => undefined);
  await rt.links.create({ ifname: 'mv0', kind: 'macvlan', link: 'eth1', mode: 'bridge' }).catch(() => undefined);
  await rt.links
    .create({ ifname: 'mt0', kind: 'macvtap', link: 3, mode: 'passthru', macvlan: { flags: 1 } })
    .catch(() => undefined);
  await rt.links.create({ ifname: 'br9', kind: 'bridge', namespace: 'away' });
  const [bridge, macvlan, macvtap, away] = requests()
    .filter((m) => m.type === RTM_NEWLINK)
    .map(link);
  assert.equal(bridge!.linkinfo, {
    info_kind: 'bridge',
    info_data: { stp_state: 1, forward_delay: 400, vlan_filtering: 0 },
  });
  assert.is(bridge!.master, 4, "the master resolved to br0's index");
  assert.equal(macvlan!.linkinfo, { info_kind: 'macvlan', info_data: { mode: 4 } });
  assert.is(macvlan!.link, 3, 'IFLA_LINK: the lower device');
  assert.equal(macvtap!.linkinfo, { info_kind: 'macvtap', info_data: { flags: 1, mode: 8 } });
  assert.is(away!.net_ns_fd, 55, 'IFLA_NET_NS_FD on the device itself');

  const alias = fakeRtnetlink([
    ...(await import('../helpers/fake-rtnetlink.js')).FAKE_LINKS,
    { family: 0, link_type: 1, ifindex: 9, flags: 0, change: 0, ifname: 'vx9' },
  ]);
  await alias.rt.links.create({ ifname: 'vx9', kind: 'vxlan', vxlan: { id: 9 }, ifalias: 'overlay 9' });
  const writes = alias
    .requests()
    .filter((m) => m.type === RTM_NEWLINK)
    .map(link);
  assert.is(writes.length, 2, 'create, then change');
  assert.is(writes[0]!.ifalias, undefined, 'the kernel ignores IFLA_IFALIAS on create');
  assert.equal({ ...writes[1]! }, { family: 0, link_type: 0, ifindex: 9, flags: 0, change: 0, ifalias: 'overlay 9' });
});

test('links.create ipvlan (this kernel has none: bytes only): a u16 mode, the lower device as IFLA_LINK; any other kind with its linkinfo', async () => {
  const { rt, requests } = fakeRtnetlink();
  await rt.links
    .create({ ifname: 'ipv0', kind: 'ipvlan', link: 'eth0', mode: 'l3', ipvlan: { flags: 1 } })
    .catch(() => undefined);
  await rt.links.create({ ifname: 'ifb0', kind: 'ifb', txqlen: 32 }).catch(() => undefined);
  const [ipvlan, ifb] = requests().filter((m) => m.type === RTM_NEWLINK);
  assert.equal(link(ipvlan!).linkinfo, { info_kind: 'ipvlan', info_data: { flags: 1, mode: 1 } });
  assert.is(link(ipvlan!).link, 2);
  assert.equal(
    [...attrPayload(bytesOf(ipvlan!), 16, 1, [18, 2])],
    [1, 0],
    "IFLA_IPVLAN_MODE is a u16, unlike macvlan's u32",
  );
  assert.equal(
    { ...link(ifb!) },
    {
      family: 0,
      link_type: 0,
      ifindex: 0,
      flags: 0,
      change: 0,
      ifname: 'ifb0',
      txqlen: 32,
      linkinfo: { info_kind: 'ifb' },
    },
  );
});

test('links.set: rename, MTU, address, alias, down, release, move; bridge port options as slave data; delete', async () => {
  const { rt, requests, kernel } = fakeRtnetlink();
  kernel.openFd = async () => 31;
  await rt.links.set('eth0', {
    ifname: 'wan0',
    mtu: 1400,
    address: '02:00:00:00:00:42',
    ifalias: 'uplink',
    up: false,
    master: null,
  });
  await rt.links.set(3, { namespace: '/proc/1/ns/net' });
  await rt.links.set('eth1', { master: 'br0', up: true });
  await rt.links.setBridgePort('eth1', {
    learning: 0,
    flood: 0,
    mcast_flood: 0,
    neigh_suppress: 1,
    isolated: 1,
    hairpin: 1,
    cost: 55,
    priority: 7,
    state: 3,
  });
  await rt.links.delete('eth1');
  await rt.links.delete(2);
  const writes = requests();
  const [change, move, enslave, port] = writes.filter((m) => m.type === RTM_NEWLINK);
  for (const m of [change, move, enslave, port]) assert.is(m!.flags, WRITE, 'a change has no CREATE/EXCL/REPLACE');
  assert.equal(
    { ...link(change!) },
    {
      family: 0,
      link_type: 0,
      ifindex: 2,
      flags: 0,
      change: IFF_UP,
      ifname: 'wan0',
      mtu: 1400,
      address: '02:00:00:00:00:42',
      ifalias: 'uplink',
      master: 0,
    },
  );
  assert.equal({ ...link(move!) }, { family: 0, link_type: 0, ifindex: 3, flags: 0, change: 0, net_ns_fd: 31 });
  assert.equal(
    { ...link(enslave!) },
    { family: 0, link_type: 0, ifindex: 3, flags: IFF_UP, change: IFF_UP, master: 4 },
  );
  assert.equal(link(port!).linkinfo, {
    info_slave_kind: 'bridge',
    info_slave_data: {
      learning: 0,
      flood: 0,
      mcast_flood: 0,
      neigh_suppress: 1,
      isolated: 1,
      hairpin: 1,
      cost: 55,
      priority: 7,
      state: 3,
    },
  });
  const deletes = writes.filter((m) => m.type === RTM_DELLINK).map(link);
  assert.equal(
    deletes.map((d) => [d.ifindex, d.ifname]),
    [
      [0, 'eth1'],
      [2, undefined],
    ],
  );
});

// ---------------------------------------------------------------- addresses

test('addresses: add (CREATE|EXCL), replace (CREATE|REPLACE), delete; local and address, label, broadcast, lifetimes, flags, metric', async () => {
  const { rt, requests } = fakeRtnetlink();
  await rt.addresses.add({
    dev: 'eth0',
    address: '198.51.100.5/24',
    broadcast: '198.51.100.255',
    label: 'eth0:web',
    validLifetime: 1000,
    preferredLifetime: 500,
    metric: 77,
  });
  await rt.addresses.replace({ dev: 2, address: '203.0.113.1/32', peer: '203.0.113.2', scope: 'link' });
  await rt.addresses.add({ dev: 'eth1', address: 'fd00::5/64', flags: 0x202 });
  await rt.addresses.delete({ dev: 'eth0', address: '198.51.100.5/24' });
  await rt.addresses.list({ family: 6 });
  const [add, replace, add6, del, dump] = requests();
  assert.is(add!.type, RTM_NEWADDR);
  assert.is(add!.flags, WRITE | NLM_F_CREATE | NLM_F_EXCL);
  assert.equal(
    { ...address(add!) },
    {
      family: AF_INET,
      prefixlen: 24,
      ifa_flags: 0,
      scope: 0,
      ifindex: 2,
      local: '198.51.100.5',
      address: '198.51.100.5',
      label: 'eth0:web',
      broadcast: '198.51.100.255',
      metric: 77,
      cacheinfo: { preferred_life_time: 500, valid_life_time: 1000, cstamp: 0, tstamp: 0 },
    },
  );
  assert.is(replace!.flags, WRITE | NLM_F_CREATE | NLM_F_REPLACE);
  assert.equal(
    { ...address(replace!) },
    {
      family: AF_INET,
      prefixlen: 32,
      ifa_flags: 0,
      scope: 253,
      ifindex: 2,
      local: '203.0.113.1',
      address: '203.0.113.2',
    },
  );
  assert.equal(
    { ...address(add6!) },
    {
      family: AF_INET6,
      prefixlen: 64,
      ifa_flags: 0,
      scope: 0,
      ifindex: 3,
      local: 'fd00::5',
      address: 'fd00::5',
      flags: 0x202,
    },
  );
  assert.is(del!.type, RTM_DELADDR);
  assert.is(del!.flags, WRITE);
  assert.is(address(del!).local, '198.51.100.5');
  assert.is(dump!.type, RTM_GETADDR);
  assert.is(dump!.flags, NLM_F_REQUEST | NLM_F_DUMP);
  assert.is(address(dump!).family, AF_INET6);
});

// ---------------------------------------------------------------- routes

test('routes: the defaults of ip route add; tables above 255; blackhole; delete matches any scope and protocol', async () => {
  const { rt, requests } = fakeRtnetlink();
  await rt.routes.add({ dst: '10.0.0.0/8', dev: 'eth0' });
  await rt.routes.add({ dst: 'default', gateway: '192.0.2.1' });
  await rt.routes.replace({
    dst: '2001:db8::/32',
    gateway: '2001:db8:1::1',
    dev: 2,
    table: 1000,
    metric: 50,
    prefsrc: '2001:db8:1::2',
    protocol: 188,
  });
  await rt.routes.add({ dst: '10.22.0.0/16', type: 'blackhole', table: 100 });
  await rt.routes.add({ dst: '203.0.113.9', dev: 'eth1', scope: 'host' });
  await rt.routes.delete({ dst: '10.0.0.0/8', table: 254 });
  const [connected, byDefault, v6, blackhole, host, del] = requests();
  assert.is(connected!.type, RTM_NEWROUTE);
  assert.is(connected!.flags, WRITE | NLM_F_CREATE | NLM_F_EXCL);
  assert.equal(
    { ...route(connected!) },
    {
      family: AF_INET,
      dst_len: 8,
      src_len: 0,
      tos: 0,
      rtm_table: 254,
      protocol: 3,
      scope: 253,
      type: 1,
      flags: 0,
      table: 254,
      dst: '10.0.0.0',
      oif: 2,
    },
  );
  assert.equal(
    { ...route(byDefault!) },
    {
      family: AF_INET,
      dst_len: 0,
      src_len: 0,
      tos: 0,
      rtm_table: 254,
      protocol: 3,
      scope: 0,
      type: 1,
      flags: 0,
      table: 254,
      gateway: '192.0.2.1',
    },
  );
  assert.is(v6!.flags, WRITE | NLM_F_CREATE | NLM_F_REPLACE);
  assert.equal(
    { ...route(v6!) },
    {
      family: AF_INET6,
      dst_len: 32,
      src_len: 0,
      tos: 0,
      rtm_table: 252,
      protocol: 188,
      scope: 0,
      type: 1,
      flags: 0,
      table: 1000,
      dst: '2001:db8::',
      gateway: '2001:db8:1::1',
      oif: 2,
      prefsrc: '2001:db8:1::2',
      metric: 50,
    },
  );
  assert.equal(
    { ...route(blackhole!) },
    {
      family: AF_INET,
      dst_len: 16,
      src_len: 0,
      tos: 0,
      rtm_table: 100,
      protocol: 3,
      scope: 0,
      type: 6,
      flags: 0,
      table: 100,
      dst: '10.22.0.0',
    },
  );
  assert.equal([route(host!).dst, route(host!).dst_len, route(host!).scope], ['203.0.113.9', 32, 254]);
  assert.is(del!.type, RTM_DELROUTE);
  assert.is(del!.flags, WRITE);
  assert.equal(
    { ...route(del!) },
    {
      family: AF_INET,
      dst_len: 8,
      src_len: 0,
      tos: 0,
      rtm_table: 254,
      protocol: 0,
      scope: 255,
      type: 0,
      flags: 0,
      table: 254,
      dst: '10.0.0.0',
    },
  );
});

test('routes: multipath as struct rtnexthop entries (weight - 1 in rtnh_hops), each with its RTA_GATEWAY', async () => {
  const { rt, requests } = fakeRtnetlink();
  await rt.routes.add({
    dst: '10.25.0.0/16',
    nexthops: [
      { gateway: '192.0.2.2', dev: 'eth0', weight: 2 },
      { gateway: '192.0.2.3', dev: 'eth1', weight: 5 },
    ],
  });
  const sent = requests()[0]!;
  const decoded = route(sent);
  assert.is(decoded.scope, 0, 'universe: the hops have gateways');
  assert.equal(decodeNexthops(decoded.nexthops!), [
    { flags: 0, hops: 1, ifindex: 2, gateway: '192.0.2.2' },
    { flags: 0, hops: 4, ifindex: 3, gateway: '192.0.2.3' },
  ]);
  const payload = attrPayload(bytesOf(sent), 12, 9);
  assert.equal(
    [...payload.subarray(0, 16)],
    [16, 0, 0, 1, 2, 0, 0, 0, 8, 0, 5, 0, 192, 0, 2, 2],
    'rtnh_len 16, flags 0, hops 1, ifindex 2, then RTA_GATEWAY',
  );
});

test('routes.addMany: several messages per sendmsg without acks, then a NOOP barrier', async () => {
  const { rt, kernel } = fakeRtnetlink();
  const result = await rt.routes.addMany(
    Array.from({ length: 5 }, (_, i) => ({ dst: `10.${i}.0.0/16`, gateway: '192.0.2.1' })),
  );
  assert.equal(result, { succeeded: 5, failed: [] });
  const datagram = kernel.sent.find((d) => d.some((m) => m.readUInt16LE(4) === RTM_NEWROUTE))!;
  assert.equal(
    datagram.map((m) => m.readUInt16LE(4)),
    [RTM_NEWROUTE, RTM_NEWROUTE, RTM_NEWROUTE, RTM_NEWROUTE, RTM_NEWROUTE, NLMSG_NOOP],
    'one sendmsg, the barrier last',
  );
  assert.ok(
    datagram.slice(0, 5).every((m) => (m.readUInt16LE(6) & NLM_F_ACK) === 0),
    'no ack asked: the kernel reports failures anyway',
  );
  assert.is(datagram[5]!.readUInt16LE(6), NLM_F_REQUEST | NLM_F_ACK, 'the NOOP barrier asks for an ack');
});

test('routes.list: a GETROUTE dump of the family asked for', async () => {
  const { rt, requests } = fakeRtnetlink();
  await rt.routes.list({ family: 6, table: 100 });
  const [dump] = requests();
  assert.is(dump!.type, RTM_GETROUTE);
  assert.is(dump!.flags, NLM_F_REQUEST | NLM_F_DUMP);
  assert.is(route(dump!).family, AF_INET6);
});

// ---------------------------------------------------------------- neighbours

test('neighbours: add (permanent by default), replace, router and proxy flags, delete, list', async () => {
  const { rt, requests } = fakeRtnetlink();
  await rt.neighbours.add({ dev: 'eth0', dst: '192.0.2.7', lladdr: '02:00:00:00:00:07' });
  await rt.neighbours.replace({
    dev: 2,
    dst: '2001:db8::9',
    lladdr: '02:00:00:00:00:09',
    state: 'stale',
    router: true,
  });
  await rt.neighbours.add({ dev: 2, dst: '192.0.2.11', proxy: true });
  await rt.neighbours.delete({ dev: 'eth0', dst: '192.0.2.7' });
  await rt.neighbours.list({ family: 4 });
  await rt.neighbours.list({ proxy: true });
  await rt.neighbours.delete({ dev: 2, dst: '192.0.2.11', proxy: true });
  const [add, replace, proxy, del, dump, proxyDump, proxyDelete] = requests();
  assert.is(add!.type, RTM_NEWNEIGH);
  assert.is(add!.flags, WRITE | NLM_F_CREATE | NLM_F_EXCL);
  assert.equal(
    { ...neighbour(add!) },
    {
      family: AF_INET,
      ifindex: 2,
      state: NUD_PERMANENT,
      flags: 0,
      type: 0,
      dst: '192.0.2.7',
      lladdr: '02:00:00:00:00:07',
    },
  );
  assert.is(replace!.flags, WRITE | NLM_F_CREATE | NLM_F_REPLACE);
  assert.equal(
    { ...neighbour(replace!) },
    {
      family: AF_INET6,
      ifindex: 2,
      state: NUD_STALE,
      flags: NTF_ROUTER,
      type: 0,
      dst: '2001:db8::9',
      lladdr: '02:00:00:00:00:09',
    },
  );
  assert.is(neighbour(proxy!).flags, NTF_PROXY);
  assert.is(del!.type, RTM_DELNEIGH);
  assert.equal([neighbour(del!).dst, neighbour(del!).ifindex], ['192.0.2.7', 2]);
  assert.is(dump!.type, RTM_GETNEIGH);
  assert.equal([neighbour(dump!).family, neighbour(dump!).flags], [AF_INET, 0]);
  assert.equal(
    [proxyDump!.type, neighbour(proxyDump!).flags],
    [RTM_GETNEIGH, NTF_PROXY],
    'the proxy table is dumped when asked with NTF_PROXY',
  );
  assert.equal(
    [proxyDelete!.type, neighbour(proxyDelete!).flags],
    [RTM_DELNEIGH, NTF_PROXY],
    'and a proxy entry deleted with it',
  );
});

// ---------------------------------------------------------------- FDB

test('FDB: the states and flags bridge fdb sends; append for the flood list; NDA_PORT big-endian, NDA_VNI host order', async () => {
  const { rt, requests } = fakeRtnetlink();
  await rt.fdb.append({ dev: 'eth0', mac: '00:00:00:00:00:00', dst: '192.0.2.2' });
  await rt.fdb.add({
    dev: 'eth0',
    mac: '02:11:22:33:44:55',
    dst: '192.0.2.4',
    state: 'static',
    port: 4790,
    vni: 200,
    via: 'eth1',
  });
  await rt.fdb.replace({ dev: 'eth0', mac: '02:11:22:33:44:56', dst: '2001:db8::5', state: 'dynamic', src_vni: 5000 });
  await rt.fdb.add({ dev: 'eth1', mac: '02:aa:00:00:00:01', master: true, sticky: true, state: 'static' });
  await rt.fdb.add({ dev: 'eth1', mac: '02:aa:00:00:00:02', master: true, self: true, extern_learn: true, vlan: 10 });
  await rt.fdb.delete({ dev: 'eth0', mac: '00:00:00:00:00:00', dst: '192.0.2.2' });
  const [append, add, replace, sticky, both, del] = requests();
  assert.is(append!.flags, WRITE | NLM_F_CREATE | NLM_F_APPEND);
  assert.equal(
    { ...neighbour(append!) },
    {
      family: AF_BRIDGE,
      ifindex: 2,
      state: NUD_NOARP | NUD_PERMANENT,
      flags: NTF_SELF,
      type: 0,
      lladdr: '00:00:00:00:00:00',
      dst: '192.0.2.2',
    },
  );
  assert.is(add!.flags, WRITE | NLM_F_CREATE | NLM_F_EXCL);
  assert.equal(
    { ...neighbour(add!) },
    {
      family: AF_BRIDGE,
      ifindex: 2,
      state: NUD_NOARP | NUD_REACHABLE,
      flags: NTF_SELF,
      type: 0,
      lladdr: '02:11:22:33:44:55',
      dst: '192.0.2.4',
      port: 4790,
      vni: 200,
      viaIfIndex: 3,
    },
  );
  assert.equal([...attrPayload(bytesOf(add!), 12, 6)], [0x12, 0xb6], 'NDA_PORT 4790 is big-endian');
  assert.equal([...attrPayload(bytesOf(add!), 12, 7)], [200, 0, 0, 0], 'NDA_VNI is host order');
  assert.is(replace!.flags, WRITE | NLM_F_CREATE | NLM_F_REPLACE);
  assert.equal(
    [neighbour(replace!).state, neighbour(replace!).dst, neighbour(replace!).src_vni],
    [NUD_REACHABLE, '2001:db8::5', 5000],
  );
  assert.is(neighbour(sticky!).flags, NTF_MASTER | NTF_STICKY, "master alone: not the device's own table");
  assert.is(neighbour(both!).flags, NTF_SELF | NTF_MASTER | NTF_EXT_LEARNED);
  assert.is(neighbour(both!).vlan, 10);
  assert.is(del!.type, RTM_DELNEIGH);
  assert.is(del!.flags, WRITE);
  assert.equal([neighbour(del!).lladdr, neighbour(del!).dst], ['00:00:00:00:00:00', '192.0.2.2']);
});

test("fdb.list: all entries as an ndmsg dump; one device's as the AF_BRIDGE ifinfomsg the kernel filters by", async () => {
  const { rt, requests } = fakeRtnetlink();
  await rt.fdb.list();
  await rt.fdb.list({ dev: 'eth1' });
  const [all, one] = requests();
  assert.is(all!.type, RTM_GETNEIGH);
  assert.is(all!.flags, NLM_F_REQUEST | NLM_F_DUMP);
  assert.equal(
    [...bytesOf(all!).subarray(16)],
    [AF_BRIDGE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    'struct ndmsg, family AF_BRIDGE',
  );
  assert.is(one!.type, RTM_GETNEIGH);
  assert.equal(
    [...bytesOf(one!).subarray(16)],
    [AF_BRIDGE, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    'struct ifinfomsg: 16 bytes, ifi_index 3',
  );
});

test('fdb.appendMany and deleteMany: one batch, each entry its own message', async () => {
  const { rt, kernel } = fakeRtnetlink();
  const peers = ['192.0.2.2', '192.0.2.3', '192.0.2.4'];
  assert.equal(await rt.fdb.appendMany(peers.map((dst) => ({ dev: 'eth0', mac: '00:00:00:00:00:00', dst }))), {
    succeeded: 3,
    failed: [],
  });
  assert.equal(await rt.fdb.deleteMany(peers.map((dst) => ({ dev: 2, mac: '00:00:00:00:00:00', dst }))), {
    succeeded: 3,
    failed: [],
  });
  const batches = kernel.sent.filter((d) => d.length === 4);
  assert.equal(
    batches.map((d) => d.map((m) => m.readUInt16LE(4))),
    [
      [RTM_NEWNEIGH, RTM_NEWNEIGH, RTM_NEWNEIGH, NLMSG_NOOP],
      [RTM_DELNEIGH, RTM_DELNEIGH, RTM_DELNEIGH, NLMSG_NOOP],
    ],
  );
  assert.ok(batches[0]!.slice(0, 3).every((m) => m.readUInt16LE(6) === (NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND)));
});

test.run();
