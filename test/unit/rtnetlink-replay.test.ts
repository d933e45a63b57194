/**
 * The Rtnetlink client replayed from recorded kernel exchanges
 * (test/fixtures/rtnetlink/*.nlfix, recipes in test/fixtures/recipes/rtnetlink.ts):
 * every request the client builds must be the bytes the kernel was sent, and
 * what it decodes from the kernel's answers must be what the scene holds.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { forEachMessage, type RawMessage } from '../../src/netlink/message.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  IFF_UP,
  NTF_EXT_LEARNED,
  NTF_ROUTER,
  NTF_SELF,
  NTF_STICKY,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_REACHABLE,
  NUD_STALE,
  RTM_NEWLINK,
} from '../../src/rtnetlink/constants.js';
import { decodeEvent } from '../../src/rtnetlink/events.js';
import type { Link } from '../../src/rtnetlink/links.js';
import { decodeNexthops } from '../../src/rtnetlink/nexthops.js';
import type { BridgeInfoData, BridgePortData } from '../../src/rtnetlink/schema/kinds/bridge.js';
import type { MacvlanInfoData } from '../../src/rtnetlink/schema/kinds/macvlan.js';
import type { VxlanInfoData } from '../../src/rtnetlink/schema/kinds/vxlan.js';
import { fixturePath, loadFixture, replayFixture } from '../helpers/fixtures.js';
import {
  addresses,
  errors,
  fdb,
  linksChange,
  linksCreate,
  linksList,
  neighbours,
  type Refusal,
  routes,
} from '../fixtures/recipes/rtnetlink.js';

const vxlan = (link: Link) => link.linkinfo!.info_data as VxlanInfoData;
const byName = (links: Link[], name: string) => links.find((l) => l.ifname === name)!;

test('rtnetlink/links-list: twelve links of every kind, decoded with their options; filters by kind and master; lookups', async () => {
  const r = await replayFixture(fixturePath('rtnetlink/links-list'), linksList);
  assert.equal(
    r.all.map((l) => l.ifname),
    ['lo', 'ul1', 'ul0', 'vx4', 'vx6', 'vxe', 'br0', 'p0b', 'p0', 'p1', 'mv0', 'mt0'],
  );
  assert.equal(r.vxlans, ['vx4', 'vx6', 'vxe']);
  assert.equal(r.ports, ['p0', 'p1']);
  assert.is(r.byIndex, 'vx4');
  assert.is(r.missing, true);
  // vx4, as ip built it: every option back, the ports big-endian on the wire and right here.
  const vx4 = vxlan(r.vx4);
  assert.is(r.vx4.linkinfo?.info_kind, 'vxlan');
  assert.equal(
    {
      id: vx4.id,
      group: vx4.group,
      link: vx4.link,
      port: vx4.port,
      port_range: vx4.port_range,
      ttl: vx4.ttl,
      tos: vx4.tos,
      df: vx4.df,
      ageing: vx4.ageing,
      limit: vx4.limit,
      proxy: vx4.proxy,
      l2miss: vx4.l2miss,
      l3miss: vx4.l3miss,
      learning: vx4.learning,
    },
    {
      id: 42,
      group: '239.1.1.1',
      link: byName(r.all, 'ul0').ifindex,
      port: 4789,
      port_range: { low: 5000, high: 6000 },
      ttl: 10,
      tos: 0x10,
      df: 1,
      ageing: 100,
      limit: 50,
      proxy: 1,
      l2miss: 1,
      l3miss: 1,
      learning: 1,
    },
  );
  assert.is(r.vx4.mtu, 1450, 'the driver subtracts the IPv4 overhead from the underlay MTU');
  const vx6 = vxlan(byName(r.all, 'vx6'));
  assert.equal(
    {
      group6: vx6.group6,
      local6: vx6.local6,
      port: vx6.port,
      ttl_inherit: vx6.ttl_inherit,
      label: vx6.label,
      learning: vx6.learning,
      tx: vx6.udp_zero_csum6_tx,
      rx: vx6.udp_zero_csum6_rx,
      gbp: vx6.gbp,
    },
    {
      group6: '2001:db8::2',
      local6: '2001:db8::1',
      port: 4790,
      ttl_inherit: 1,
      label: 0x12345,
      learning: 0,
      tx: 1,
      rx: 1,
      gbp: true,
    },
    'TTL inherit comes back as the u8 of a dump, not the flag of a request',
  );
  const vxe = vxlan(byName(r.all, 'vxe'));
  assert.equal([vxe.external, vxe.vnifilter, vxe.port], [1, 1, 4791]);
  const br0 = byName(r.all, 'br0');
  const bridge = br0.linkinfo!.info_data as BridgeInfoData;
  assert.equal([bridge.stp_state, bridge.forward_delay, bridge.priority, bridge.mcast_snooping], [0, 400, 100, 0]);
  assert.is(typeof bridge.gc_timer, 'bigint', 'bridge timers are u64');
  assert.ok(br0.flags & IFF_UP);
  const p0 = byName(r.all, 'p0');
  assert.is(p0.master, br0.ifindex);
  assert.is(p0.linkinfo?.info_slave_kind, 'bridge');
  const port = p0.linkinfo!.info_slave_data as BridgePortData;
  assert.equal([port.learning, port.neigh_suppress, port.isolated, port.cost, port.priority], [0, 1, 1, 55, 7]);
  const p1 = byName(r.all, 'p1');
  assert.ok(p1.link_netnsid !== undefined, "p1's peer lives in another namespace");
  assert.equal((byName(r.all, 'mv0').linkinfo!.info_data as MacvlanInfoData).mode, 4, 'macvlan bridge');
  assert.equal(byName(r.all, 'mt0').linkinfo, {
    info_kind: 'macvtap',
    info_data: { mode: 2, flags: 0, macaddr_count: 0, bcqueuelen: 1000, usedbcqueuelen: 1000 },
  });
  for (const link of r.all)
    assert.is(typeof link.stats64?.rx_bytes, 'bigint', `${link.ifname}: 64-bit counters as bigint`);
});

test('rtnetlink/links-create: each kind created with its options and read back as asked', async () => {
  const r = await replayFixture(fixturePath('rtnetlink/links-create'), linksCreate);
  const { created } = r;
  assert.equal(Object.keys(created), ['vx4', 'vxr', 'vx6', 'vxe', 'vxg', 'br0', 've0', 'vp0', 'mv0', 'mt0']);
  const vx4 = vxlan(created.vx4!);
  assert.equal(
    [
      vx4.id,
      vx4.group,
      vx4.port,
      vx4.port_range,
      vx4.ttl,
      vx4.tos,
      vx4.df,
      vx4.learning,
      vx4.ageing,
      vx4.limit,
      vx4.proxy,
      vx4.rsc,
      vx4.l2miss,
      vx4.l3miss,
      vx4.udp_csum,
    ],
    [42, '239.1.1.1', 4789, { low: 5000, high: 6000 }, 10, 0x10, 1, 1, 100, 50, 1, 1, 1, 1, 1],
  );
  assert.is(created.vx4!.mtu, 1450);
  const vxr = vxlan(created.vxr!);
  assert.equal(
    [vxr.group, vxr.local, vxr.tos, vxr.df, vxr.learning, vxr.udp_csum],
    ['192.0.2.2', '192.0.2.1', 1, 2, 0, 0],
  );
  const vx6 = vxlan(created.vx6!);
  assert.equal(
    [vx6.group6, vx6.local6, vx6.ttl_inherit, vx6.label, vx6.remcsum_tx, vx6.remcsum_rx, vx6.gbp],
    ['2001:db8::2', '2001:db8::1', 1, 0x12345, 1, 1, true],
  );
  assert.equal([vxlan(created.vxe!).external, vxlan(created.vxe!).vnifilter], [1, 1]);
  assert.equal([vxlan(created.vxg!).external, vxlan(created.vxg!).gpe, vxlan(created.vxg!).learning], [1, true, 0]);
  assert.is(created.vxg!.link_type, 65534, 'a GPE device carries no Ethernet header (ARPHRD_NONE)');
  const bridge = created.br0!.linkinfo!.info_data as BridgeInfoData;
  assert.equal(
    [
      bridge.stp_state,
      bridge.forward_delay,
      bridge.hello_time,
      bridge.ageing_time,
      bridge.priority,
      bridge.mcast_snooping,
    ],
    [0, 400, 300, 12000, 100, 0],
  );
  const ve0 = created.ve0!;
  assert.equal(
    [ve0.mtu, ve0.address, ve0.master, ve0.ifalias],
    [1600, '02:00:00:00:01:00', created.br0!.ifindex, 'bridge port'],
  );
  assert.ok(created.vp0!.link_netnsid !== undefined, "vp0's peer was created in the other namespace");
  assert.equal((created.mv0!.linkinfo!.info_data as MacvlanInfoData).mode, 4);
  assert.equal((created.mt0!.linkinfo!.info_data as MacvlanInfoData).mode, 2);
  assert.equal(r.inOtherNamespace, { ifname: 'br9' }, 'a device made elsewhere is not read back');
  // The recording holds the descriptors the relay opened for the other namespace (vp0's peer, br9).
  const fixture = loadFixture(fixturePath('rtnetlink/links-create'));
  assert.is(fixture.entries.filter((e) => e.kind === 'openfd').length, 2);
});

test('rtnetlink/links-change: port options, rename and friends, release, a move and a delete, each seen by the kernel', async () => {
  const r = await replayFixture(fixturePath('rtnetlink/links-change'), linksChange);
  const port = r.port.linkinfo!.info_slave_data as BridgePortData;
  assert.equal(
    [
      port.learning,
      port.flood,
      port.mcast_flood,
      port.neigh_suppress,
      port.isolated,
      port.hairpin,
      port.cost,
      port.priority,
      port.state,
    ],
    [0, 0, 0, 1, 1, 1, 55, 7, 2],
  );
  assert.ok(r.port.flags & IFF_UP);
  assert.equal(
    [r.renamed.ifname, r.renamed.mtu, r.renamed.address, r.renamed.ifalias, Boolean(r.renamed.flags & IFF_UP)],
    ['vx1', 1400, '02:00:00:00:00:42', 'overlay one', true],
  );
  assert.ok(r.renamed.master !== undefined, 'enslaved');
  assert.is(r.released.master, undefined);
  assert.not.ok(r.released.flags & IFF_UP);
  assert.is(r.movedAway, true);
  assert.is(r.deleted, true);
});

test('rtnetlink/addresses: labels, broadcast, peer, lifetimes, flags, metric and scope as the kernel keeps them', async () => {
  const r = await replayFixture(fixturePath('rtnetlink/addresses'), addresses);
  const find = (local: string) => r.all.find((a) => (a.local ?? a.address) === local)!;
  const web = find('198.51.100.5');
  assert.equal(
    [
      web.family,
      web.prefixlen,
      web.label,
      web.broadcast,
      web.cacheinfo!.valid_life_time,
      web.cacheinfo!.preferred_life_time,
    ],
    [AF_INET, 24, 'ul0:web', '198.51.100.255', 1000, 500],
  );
  const ptp = find('203.0.113.1');
  assert.equal([ptp.local, ptp.address, ptp.prefixlen], ['203.0.113.1', '203.0.113.2', 32]);
  const v6 = find('fd00::5');
  assert.equal(
    [v6.family, v6.prefixlen, v6.flags! & 0x202, v6.cacheinfo!.valid_life_time],
    [AF_INET6, 64, 0x202, 2000],
  );
  const replaced = find('10.9.9.9');
  assert.equal([replaced.metric, replaced.scope, replaced.cacheinfo!.valid_life_time], [77, 253, 3000]);
  assert.is(
    r.all.find((a) => a.local === '10.8.8.8'),
    undefined,
    'deleted',
  );
  assert.ok(r.ul1v6.length >= 1 && r.ul1v6.every((a) => a.family === AF_INET6 && a.ifindex === v6.ifindex));
});

test('rtnetlink/routes: tables, types, multipath, replace, delete, a batch with one failure at its index, a stream', async () => {
  const r = await replayFixture(fixturePath('rtnetlink/routes'), routes);
  const find = (dst: string | undefined, len: number) => r.ipv4.find((x) => x.dst === dst && x.dst_len === len)!;
  assert.equal(
    [find('10.20.0.0', 16).table, find('10.20.0.0', 16).gateway, find('10.20.0.0', 16).metric],
    [100, '192.0.2.2', 50],
  );
  assert.equal(
    [find('10.21.0.0', 16).prefsrc, find('10.21.0.0', 16).protocol, find('10.21.0.0', 16).scope],
    ['192.0.2.1', 4, 253],
  );
  const blackhole = find('10.22.0.0', 16);
  assert.equal(
    [blackhole.type, blackhole.table, blackhole.rtm_table],
    [6, 1000, 252],
    'a table above 255: RT_TABLE_COMPAT in the header, the real id in RTA_TABLE',
  );
  assert.is(find('10.23.0.0', 16).type, 7);
  assert.equal([find('10.24.0.0', 16).type, find('10.24.0.0', 16).metric], [8, 9]);
  assert.equal(
    decodeNexthops(find('10.25.0.0', 16).nexthops!).map((h) => [h.gateway, h.hops + 1]),
    [
      ['192.0.2.2', 2],
      ['192.0.2.3', 5],
    ],
  );
  assert.is(find(undefined, 0).gateway, '192.0.2.254', 'the default route');
  assert.equal([find('10.30.0.0', 16).gateway, find('10.30.0.0', 16).protocol], ['192.0.2.3', 188], 'replaced');
  assert.is(
    r.ipv4.find((x) => x.dst === '10.31.0.0'),
    undefined,
    'deleted',
  );
  assert.equal(r.batch, { succeeded: 2, failed: [{ index: 1, code: 'EEXIST' }] });
  assert.ok(find('10.40.0.0', 16) && find('10.41.0.0', 16), 'the others of the batch were applied');
  assert.equal(
    r.table100.map((x) => x.dst),
    ['10.20.0.0'],
  );
  assert.ok(r.streamed >= 4, `IPv6 routes streamed (${r.streamed})`);
});

test('rtnetlink/neighbours: states and flags as added, replaced, deleted', async () => {
  const r = await replayFixture(fixturePath('rtnetlink/neighbours'), neighbours);
  const find = (dst: string) => r.all.find((n) => n.dst === dst)!;
  assert.equal([find('192.0.2.7').state, find('192.0.2.7').lladdr], [NUD_PERMANENT, '02:00:00:00:00:77'], 'replaced');
  assert.equal([find('192.0.2.8').state, find('192.0.2.8').flags & NTF_ROUTER], [NUD_REACHABLE, NTF_ROUTER]);
  assert.is(find('192.0.2.10').state, NUD_NOARP);
  assert.equal(
    [find('2001:db8::9').family, find('2001:db8::9').state, find('2001:db8::9').flags & NTF_ROUTER],
    [AF_INET6, NUD_STALE, NTF_ROUTER],
  );
  assert.is(
    r.all.find((n) => n.dst === '192.0.2.9'),
    undefined,
    'deleted',
  );
  assert.is(
    r.all.find((n) => n.dst === '192.0.2.11'),
    undefined,
    'a proxy entry is not in a neighbour dump',
  );
  assert.ok(r.ipv6.every((n) => n.family === AF_INET6) && r.ipv6.some((n) => n.dst === '2001:db8::9'));
  assert.ok(
    r.all.every((n) => n.family !== AF_BRIDGE),
    'no FDB entries among neighbours',
  );
});

test("rtnetlink/fdb: the flood list, remotes with port and VNI, bridge entries, batches with failures at their index; a device's table from the kernel", async () => {
  const r = await replayFixture(fixturePath('rtnetlink/fdb'), fdb);
  const vx0 = r.vx0[0]!.ifindex;
  assert.ok(
    r.vx0.every((e) => e.ifindex === vx0),
    "list({ dev }) holds that device's entries only",
  );
  assert.ok(r.all.length > r.vx0.length);
  const flood = r.vx0.filter((e) => e.lladdr === '00:00:00:00:00:00');
  assert.equal(flood.map((e) => [e.dst, e.port, e.vni, e.state, e.flags]).sort(), [
    ['192.0.2.2', undefined, undefined, NUD_NOARP | NUD_PERMANENT, NTF_SELF],
    ['192.0.2.20', undefined, undefined, NUD_NOARP | NUD_PERMANENT, NTF_SELF],
    ['192.0.2.3', 4790, 200, NUD_NOARP | NUD_PERMANENT, NTF_SELF],
  ]);
  const entry = (mac: string) => r.all.find((e) => e.lladdr === mac)!;
  assert.equal(
    [entry('02:11:22:33:44:55').dst, entry('02:11:22:33:44:55').state],
    ['192.0.2.40', NUD_NOARP | NUD_REACHABLE],
    'replaced, static',
  );
  const dynamic = entry('02:11:22:33:44:56');
  assert.equal([dynamic.dst, dynamic.state, dynamic.viaIfIndex !== undefined], ['192.0.2.5', NUD_REACHABLE, true]);
  assert.equal(
    [entry('02:aa:00:00:00:01').master !== undefined, entry('02:aa:00:00:00:01').flags & NTF_SELF],
    [true, 0],
    'a bridge (master) entry',
  );
  assert.ok(entry('02:aa:00:00:00:02').flags & NTF_STICKY);
  assert.ok(entry('02:aa:00:00:00:03').flags & NTF_EXT_LEARNED);
  assert.is(entry('02:bb:00:00:00:01').src_vni, 5000);
  assert.ok(
    r.all.some((e) => e.dst === '2001:db8::3' && e.lladdr === '00:00:00:00:00:00'),
    'an IPv6 flood entry',
  );
  assert.equal(r.many, { succeeded: 3, failed: [{ index: 1, code: 'EAFNOSUPPORT' }] });
  assert.equal(r.removed, { succeeded: 2, failed: [{ index: 1, code: 'ENOENT' }] });
  assert.ok(r.all.every((e) => e.family === AF_BRIDGE));
});

test('rtnetlink/errors: each refusal names its cause, after the lookups vxnet made', async () => {
  const r = await replayFixture(fixturePath('rtnetlink/errors'), errors);
  const expect: Record<string, [code: string, message: RegExp]> = {
    nameTaken: [
      'EEXIST',
      /^create link vx4 \(vxlan id 7\) failed: EEXIST .*likely cause: a device named vx4 already exists in this network namespace \(index \d+, kind vxlan\)$/,
    ],
    vniTaken6: ['EEXIST', /likely cause: vx6 already holds VNI 42 on UDP port 4789 \(IPv6\)/],
    vniTaken4: [
      'EEXIST',
      /likely cause: vx4 already holds VNI 42 on UDP port 4789 \(IPv4\).*whatever their local addresses or underlay devices$/,
    ],
    gpeLearning: ['EINVAL', /likely cause: vxlan\.learning: a GPE device cannot learn/],
    missingMaster: [
      'ENODEV',
      /^create link ve0 \(veth, peer ve1\) failed: ENODEV .*likely cause: master: no device named nobridge/,
    ],
    missingUnderlay: [
      'ENODEV',
      /^create link vx9 \(vxlan id 9\) failed: ENODEV .*likely cause: vxlan\.link: no device named noeth0/,
    ],
    missingLink: ['ENODEV', /^get link nosuch0 failed: ENODEV .*likely cause: no device named nosuch0/],
    renameTaken: ['EEXIST', /likely cause: ifname: a device named ul1 already exists .*kind veth/],
    notABridge: ['EOPNOTSUPP', /likely cause: master: vx4 is a vxlan device, which cannot take ports/],
    nested: ['ELOOP', /likely cause: master: br1 \(a bridge device\) cannot be a port of br0/],
    portDown: ['ENETDOWN', /likely cause: the bridge br0 is down: bring it up before setting a port's state$/],
    notAPort: ['EOPNOTSUPP', /likely cause: ul0 has no master/],
    mtuOverLower: ['EINVAL', /likely cause: mtu: 9000 exceeds the MTU of mv0's lower device ul1 \(1500\)/],
    vniChange: ['EOPNOTSUPP', /likely cause: linkinfo\.info_data\.id: the VNI of a VXLAN device cannot change/],
    immutable: ['EINVAL', /likely cause: namespace: br0 \(a bridge device\) cannot leave its network namespace/],
    routeExists: ['EEXIST', /likely cause: a route to 10\.20\.0\.0\/16 already exists in table 254/],
    prefsrc: ['EINVAL', /likely cause: prefsrc: 10\.1\.1\.1 must be an address configured on this host/],
    unreachableGateway: ['ENETUNREACH', /likely cause: gateway: 10\.1\.1\.1 is not reachable/],
    addressMissing: [
      'EADDRNOTAVAIL',
      /likely cause: 192\.0\.2\.77 is not configured on ul0 as a \/32 or \/128: give the prefix length/,
    ],
    lladdrLength: ['EINVAL', /likely cause: lladdr: 02:00:00:00 has 4 bytes, but ul0 takes 6-byte/],
    fdbWithoutDst: ['EINVAL', /likely cause: dst: an entry in the table of VXLAN device vx4 says where to send/],
    fdbFamily: ['EAFNOSUPPORT', /likely cause: the destination 2001:db8::5 is not of the device's address family/],
  };
  for (const [name, [code, message]] of Object.entries(expect)) {
    const got = r[name] as Refusal | 'accepted';
    assert.is.not(got, 'accepted', name);
    assert.is((got as Refusal).code, code, `${name}: ${(got as Refusal).message}`);
    assert.match((got as Refusal).message, message, name);
  }
  assert.equal(r.validation, {
    name: 'ValidationError',
    field: 'vxlan.local6',
    message:
      'invalid vxlan.local6: is IPv6 but vxlan.group is IPv4: the local and remote addresses of a device are one family (got "2001:db8::1")',
  });
});

test('decodeEvent: recorded link messages become typed link events', () => {
  const fixture = loadFixture(fixturePath('rtnetlink/links-list'));
  const messages: RawMessage[] = [];
  for (const entry of fixture.entries)
    if (entry.kind === 'recv') forEachMessage(entry.datagram, (m) => m.type === RTM_NEWLINK && messages.push(m));
  const events = messages.map(decodeEvent);
  assert.ok(events.length >= 12);
  assert.ok(events.every((e) => e?.kind === 'link' && e.action === 'new'));
  assert.ok(
    events.some(
      (e) =>
        e?.kind === 'link' &&
        e.link.ifname === 'vx4' &&
        (e.link.linkinfo?.info_data as VxlanInfoData | undefined)?.id === 42,
    ),
  );
});

test.run();
