/**
 * The stateful fake kernel (test/helpers/fake-host.ts): the real clients and
 * building blocks run over it and see what they see on the real kernel
 * (compare test/integration/vxlan.test.ts and masquerade-lab.test.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureBridge, attachPort, listPorts } from '../../src/bridge/bridge.js';
import { ConflictError } from '../../src/common/conflict.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { Masquerade } from '../../src/masquerade/masquerade.js';
import { NftBatchError, GenerationChangedError } from '../../src/nftables/errors.js';
import { counter, verdict } from '../../src/nftables/match.js';
import { ensureVxlan, planVxlan } from '../../src/vxlan/device.js';
import { addPeer, listPeers, removePeer, setPeers } from '../../src/vxlan/peers.js';
import type { VxlanSpec } from '../../src/vxlan/spec.js';
import { ethernet, FakeHost, LOOPBACK } from '../helpers/fake-host.js';

const host1 = () =>
  new FakeHost({ links: [LOOPBACK, ethernet('eth0', { mtu: 1500, addresses: ['192.168.100.1/24'] })] });

test('links: lookups, create (EEXIST on a taken name), change by name and index, delete (ENODEV after)', async () => {
  const host = host1();
  const rt = host.rtnetlink();
  assert.equal(
    (await rt.links.list()).map((l) => [l.ifindex, l.ifname, l.mtu]),
    [
      [1, 'lo', 65536],
      [2, 'eth0', 1500],
    ],
  );
  assert.is((await rt.links.get('eth0')).ifindex, 2);
  try {
    await rt.links.get('eth9');
    assert.unreachable();
  } catch (error) {
    assert.instance(error, NetlinkError);
    assert.is((error as NetlinkError).code, 'ENODEV');
  }
  const br = await rt.links.create({ ifname: 'br0', kind: 'bridge', up: true, ifalias: 'hello' });
  assert.is(br.ifindex, 3);
  assert.is(br.linkinfo?.info_kind, 'bridge');
  assert.is(br.ifalias, 'hello');
  assert.is(br.flags & 1, 1);
  try {
    await rt.links.create({ ifname: 'br0', kind: 'bridge' });
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'EEXIST');
  }
  await rt.links.set('br0', { mtu: 1400 });
  await rt.links.set(3, { up: false });
  const changed = await rt.links.get(3);
  assert.is(changed.mtu, 1400);
  assert.is(changed.flags & 1, 0);
  await rt.links.delete('br0');
  assert.is(await rt.links.find('br0'), undefined);
  try {
    await rt.links.delete('br0');
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'ENODEV');
  }
  try {
    await rt.links.create({ ifname: 'd0', kind: 'dummy' });
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'EOPNOTSUPP', 'no dummy driver, as on this machine');
  }
});

test('veth pairs: both ends appear, deleting one deletes its peer; deleting a bridge releases its ports', async () => {
  const host = host1();
  const rt = host.rtnetlink();
  await rt.links.create({ ifname: 'v0', kind: 'veth', peer: { ifname: 'v1' } });
  await rt.links.create({ ifname: 'br0', kind: 'bridge' });
  await rt.links.set('v0', { master: 'br0', up: true });
  assert.equal(
    (await listPorts(rt, 'br0')).map((l) => l.ifname),
    ['v0'],
  );
  assert.is((await rt.links.get('v0')).linkinfo?.info_slave_kind, 'bridge');
  assert.is((await rt.links.get('v0')).link, (await rt.links.get('v1')).ifindex);
  await rt.links.delete('br0');
  assert.is((await rt.links.get('v0')).master, undefined);
  await rt.links.delete('v1');
  assert.equal(
    (await rt.links.list()).map((l) => l.ifname),
    ['lo', 'eth0'],
  );
  assert.equal(host.snapshot().fdb, [], "the port's bridge entries went with the bridge");
});

test('addresses: add, EEXIST for a duplicate, list by device, delete (EADDRNOTAVAIL when absent)', async () => {
  const host = host1();
  const rt = host.rtnetlink();
  assert.equal(
    (await rt.addresses.list({ dev: 'eth0' })).map((a) => `${a.local}/${a.prefixlen}`),
    ['192.168.100.1/24'],
  );
  await rt.addresses.add({ dev: 'eth0', address: '10.0.0.1/24' });
  try {
    await rt.addresses.add({ dev: 'eth0', address: '10.0.0.1/24' });
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'EEXIST');
    assert.match((error as Error).message, /already configured on eth0/);
  }
  await rt.addresses.add({ dev: 'eth0', address: 'fd00::1/64' });
  assert.equal(
    (await rt.addresses.list({ family: 6, dev: 'eth0' })).map((a) => a.address),
    ['fd00::1'],
  );
  await rt.addresses.delete({ dev: 'eth0', address: '10.0.0.1/24' });
  try {
    await rt.addresses.delete({ dev: 'eth0', address: '10.0.0.1/24' });
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'EADDRNOTAVAIL');
  }
  assert.equal(
    host
      .snapshot()
      .addresses.filter((a) => a.dev === 'eth0')
      .map((a) => a.address),
    ['192.168.100.1/24', 'fd00::1/64'],
  );
});

test('fdb: append flood entries per peer, list with the ifindex filter, delete one destination', async () => {
  const host = host1();
  const rt = host.rtnetlink();
  await rt.links.create({
    ifname: 'vx0',
    kind: 'vxlan',
    vxlan: { id: 42, port: 4789, link: 'eth0', local: '192.168.100.1' },
  });
  await rt.links.create({
    ifname: 'vx1',
    kind: 'vxlan',
    vxlan: { id: 43, port: 4789, group: '239.1.1.1', link: 'eth0' },
  });
  await rt.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.168.100.2' });
  await rt.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.168.100.3' });
  assert.equal(
    (await rt.fdb.list({ dev: 'vx0' })).map((e) => e.dst),
    ['192.168.100.2', '192.168.100.3'],
  );
  assert.equal(
    (await rt.fdb.list({ dev: 'vx1' })).map((e) => e.dst),
    ['239.1.1.1'],
    'a group device floods to its group',
  );
  try {
    await rt.fdb.add({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.168.100.4' });
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'EEXIST');
  }
  try {
    await rt.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00' });
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'EINVAL');
    assert.match((error as Error).message, /give the remote VTEP's address/);
  }
  await rt.fdb.delete({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.168.100.2' });
  assert.equal(await listPeers(rt, 'vx0'), ['192.168.100.3']);
  try {
    await rt.fdb.delete({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.168.100.2' });
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'ENOENT');
  }
  assert.is((await rt.fdb.list()).length, 2);
});

test('vxlan + bridge blocks: first apply writes, the second writes nothing; a differing port is refused, or replaced', async () => {
  const host = host1();
  const rt = host.rtnetlink();
  const spec: VxlanSpec = {
    name: 'vx0',
    vni: 42,
    underlay: 'eth0',
    local: '192.168.100.1',
    peers: ['192.168.100.2', '192.168.100.3'],
    port: 4789,
    owner: 'demo',
  };
  await ensureVxlan(rt, spec);
  await setPeers(rt, 'vx0', spec.peers!);
  await ensureBridge(rt, { name: 'br0', mtu: 1450, address: '10.10.0.1/24', owner: 'demo' });
  await attachPort(rt, 'br0', 'vx0');
  const afterFirst = host.writes;
  assert.ok(afterFirst >= 5, `the first apply wrote (${afterFirst} messages)`);
  const vx = await rt.links.get('vx0');
  assert.is(vx.mtu, 1450);
  assert.is((vx.linkinfo!.info_data as any).port, 4789);
  assert.is((vx.linkinfo!.info_data as any).learning, 1);
  assert.is(vx.master, (await rt.links.get('br0')).ifindex);

  assert.equal(await ensureVxlan(rt, spec), []);
  assert.equal(await setPeers(rt, 'vx0', spec.peers!), { added: [], removed: [] });
  assert.equal(await ensureBridge(rt, { name: 'br0', mtu: 1450, address: '10.10.0.1/24', owner: 'demo' }), []);
  assert.is(await attachPort(rt, 'br0', 'vx0'), false);
  assert.is(host.writes, afterFirst, 'the second apply wrote nothing');

  try {
    await ensureVxlan(rt, { ...spec, port: 8472 });
    assert.unreachable('a different port cannot be changed in place');
  } catch (error) {
    assert.instance(error, ConflictError);
    assert.match(
      (error as Error).message,
      /link vx0 exists but differs from the spec: port is 4789, wanted 8472; .*replace: true/,
    );
  }
  assert.is(host.writes, afterFirst, 'a refused change writes nothing');
  const replaced = await ensureVxlan(rt, { ...spec, port: 8472 }, { replace: true });
  assert.equal(
    replaced.map((c) => c.action),
    ['delete', 'replace', 'add'],
  );
  assert.is(((await rt.links.get('vx0')).linkinfo!.info_data as any).port, 8472);
  const mtuOnly = await ensureVxlan(rt, { ...spec, port: 8472, mtu: 1400 });
  assert.equal(
    mtuOnly.map((c) => [c.action, c.detail]),
    [['update', 'mtu 1450 → 1400']],
  );
});

test("vxlan peers: add and remove one, plan reads without writing; MTU above the underlay's is refused", async () => {
  const host = host1();
  const rt = host.rtnetlink();
  await ensureVxlan(rt, { name: 'vx0', vni: 7, underlay: 'eth0', peers: ['192.168.100.2'] });
  assert.ok(await addPeer(rt, 'vx0', '192.168.100.9'));
  assert.not.ok(await addPeer(rt, 'vx0', '192.168.100.9'));
  assert.ok(await removePeer(rt, 'vx0', '192.168.100.2'));
  assert.equal(await listPeers(rt, 'vx0'), ['192.168.100.9']);
  const writes = host.writes;
  assert.equal(await planVxlan(rt, { name: 'vx0', vni: 7, underlay: 'eth0', peers: ['192.168.100.9'] }), []);
  assert.is(host.writes, writes);
  try {
    await rt.links.set('vx0', { mtu: 1480 });
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'EINVAL');
  }
});

test('a bridge whose MTU was given at creation follows its ports; one set afterwards sticks', async () => {
  const host = host1();
  const rt = host.rtnetlink();
  await rt.links.create({ ifname: 'br0', kind: 'bridge', mtu: 1450 });
  await rt.links.create({ ifname: 'v0', kind: 'veth', peer: { ifname: 'v1' } });
  await rt.links.set('v0', { master: 'br0' });
  assert.is((await rt.links.get('br0')).mtu, 1500, "the driver raised it to the port's");
  await rt.links.set('br0', { mtu: 1450 });
  await rt.links.set('v1', { master: 'br0' });
  assert.is((await rt.links.get('br0')).mtu, 1450);
});

test('nftables: tables, chains, rules (handles echoed), sets and elements, ENOENT/EEXIST like the kernel', async () => {
  const host = host1();
  const nft = host.nftables();
  const gen0 = await nft.generation();
  await nft.createTable({ family: 'ip', name: 't', comment: 'mine' });
  assert.is(await nft.generation(), gen0 + 1);
  try {
    await nft.createTable({ family: 'ip', name: 't' }, { exclusive: true });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, NftBatchError);
    assert.is((error as NetlinkError).code, 'EEXIST');
  }
  await nft.createChain({
    family: 'ip',
    table: 't',
    name: 'in',
    type: 'filter',
    hook: 'input',
    priority: 0,
    policy: 'accept',
  });
  const r1 = await nft.createRule({
    family: 'ip',
    table: 't',
    chain: 'in',
    comment: 'first',
    expressions: [counter(), verdict.accept()],
  });
  const r2 = await nft.createRule({
    family: 'ip',
    table: 't',
    chain: 'in',
    comment: 'second',
    expressions: [verdict.drop()],
  });
  assert.ok(r1.handle! > 0n && r2.handle! > r1.handle!);
  const r0 = await nft.createRule(
    { family: 'ip', table: 't', chain: 'in', comment: 'zeroth', expressions: [verdict.accept()] },
    { insert: true },
  );
  assert.equal(
    (await nft.listRules({ family: 'ip', table: 't' })).map((r) => r.comment),
    ['zeroth', 'first', 'second'],
  );
  assert.is((await nft.getRule('ip', 't', 'in', r0.handle!))?.comment, 'zeroth');
  await nft.deleteRule('ip', 't', 'in', r0.handle!);
  try {
    await nft.deleteRule('ip', 't', 'in', r0.handle!);
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'ENOENT');
  }
  await nft.createSet({ family: 'ip', table: 't', name: 'peers', keyType: 7, keyLen: 4 });
  const ref = { family: 'ip' as const, table: 't', set: 'peers' };
  await nft.addElements(ref, [{ key: Uint8Array.of(192, 0, 2, 1) }, { key: Uint8Array.of(192, 0, 2, 2) }]);
  await nft.deleteElements(ref, [{ key: Uint8Array.of(192, 0, 2, 1) }]);
  assert.equal(
    (await nft.listElements(ref)).map((e) => [...e.key].join('.')),
    ['192.0.2.2'],
  );
  assert.is(await nft.getTable('ip', 'nope'), undefined);
  assert.is((await nft.getTable('ip', 't'))?.comment, 'mine');
  const ruleset = await nft.listRuleset();
  assert.equal([ruleset.tables.length, ruleset.chains.length, ruleset.sets.length, ruleset.rules.length], [1, 1, 1, 2]);
  await nft.deleteTable('ip', 't');
  assert.equal(await nft.listTables(), []);
});

test('nftables batches are atomic: one refused message applies none of it, and the generation stays', async () => {
  const host = host1();
  const nft = host.nftables();
  await nft.createTable({ family: 'ip', name: 'keep' });
  const before = host.snapshot();
  const batch = nft.batch();
  batch.createTable({ family: 'ip', name: 'new' });
  batch.createChain({ family: 'ip', table: 'new', name: 'c' });
  batch.deleteRule('ip', 'keep', 'nochain', 999999n);
  try {
    await nft.commit(batch);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, NftBatchError);
    assert.is((error as NetlinkError).code, 'ENOENT');
  }
  assert.equal(host.snapshot(), before);
  // A stale generation: refused with ERESTART, reported as GenerationChangedError.
  const stale = await nft.generation();
  await nft.createTable({ family: 'ip', name: 'other' });
  const late = nft.batch();
  late.createTable({ family: 'ip', name: 'late' });
  try {
    await nft.commit(late, { generation: stale });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, GenerationChangedError);
  }
  assert.equal(
    (await nft.listTables()).map((t) => t.name),
    ['keep', 'other'],
  );
  // transaction() reads again and succeeds.
  await nft.transaction(async (b) => void b.createTable({ family: 'ip', name: 'late' }));
  assert.equal(
    (await nft.listTables()).map((t) => t.name),
    ['keep', 'other', 'late'],
  );
});

test('masquerade: ensure creates the table in one batch, a second ensure changes nothing, remove deletes only it', async () => {
  const host = host1();
  const nft = host.nftables();
  const masq = Masquerade.over(nft, { table: 'vxnet' });
  const config = { subnet: '10.244.0.0/24', bridge: 'br0', vxlan: { peers: ['192.168.100.2', '192.168.100.3'] } };
  const first = await masq.ensure(config);
  assert.ok(first.changed);
  assert.is(host.count('NFNL_MSG_BATCH_BEGIN'), 1, 'one batch');
  assert.ok(first.changes.includes('create set ip vxnet @vxlan-peers'));
  const snapshot = host.snapshot();
  const again = await masq.ensure(config);
  assert.is(again.changed, false);
  assert.equal(again.changes, []);
  assert.is(host.count('NFNL_MSG_BATCH_BEGIN'), 1, 'the second ensure sent no batch');
  assert.equal(host.snapshot(), snapshot);
  const status = await masq.status();
  assert.equal(status.peers, ['192.168.100.2', '192.168.100.3']);
  assert.equal(
    status.rules.map((r) => r.comment),
    [
      'vxnet: masquerade 10.244.0.0/24',
      'vxnet: vxlan from peers',
      'vxnet: vxlan from others',
      'vxnet: forward from br0',
      'vxnet: replies to br0',
    ],
  );
  // One peer swapped: only elements change.
  const swapped = await masq.ensure({ ...config, vxlan: { peers: ['192.168.100.2', '192.168.100.4'] } });
  assert.equal(swapped.changes, [
    'delete set elements ip vxnet @vxlan-peers (1)',
    'add set elements ip vxnet @vxlan-peers (1)',
  ]);
  // Input policy drop: the input chain is rewritten (its rules, the policy), in one more batch.
  const dropping = await masq.ensure({ ...config, inputPolicy: 'drop' });
  assert.ok(dropping.changed);
  assert.is((await masq.ensure({ ...config, inputPolicy: 'drop' })).changed, false);
  await nft.createTable({ family: 'inet', name: 'hostfw' });
  assert.equal(await masq.remove(), { removed: true });
  assert.equal(
    (await nft.listTables()).map((t) => `${t.family} ${t.name}`),
    ['inet hostfw'],
  );
});

test('failure injection: the nth write fails; a batch is rolled back whole; rtnetlink changes stop there', async () => {
  const host = host1();
  const nft = host.nftables();
  const masq = Masquerade.over(nft, { table: 'vxnet' });
  const before = host.snapshot();
  const fault = host.failWrite({ errno: 'ENOMEM', when: (w) => w.type === 'NFT_MSG_NEWRULE', nth: 3 });
  try {
    await masq.ensure({ subnet: '10.244.0.0/24', bridge: 'br0', vxlan: {} });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, NftBatchError);
    assert.is((error as NetlinkError).code, 'ENOMEM');
    assert.match((error as Error).message, /create rule ip vxnet forward/);
  }
  assert.is(fault.hits, 1);
  assert.equal(host.snapshot(), before, 'nothing half-applied');
  assert.ok((await masq.ensure({ subnet: '10.244.0.0/24', bridge: 'br0', vxlan: {} })).changed, 'the fault fired once');

  const rt = host.rtnetlink();
  const spec: VxlanSpec = { name: 'vx0', vni: 42, underlay: 'eth0', peers: ['192.168.100.2'] };
  host.failWrite({ errno: 'EPERM', when: (w) => w.type === 'RTM_NEWNEIGH' });
  try {
    await ensureVxlan(rt, spec);
    assert.unreachable();
  } catch (error) {
    assert.is((error as NetlinkError).code, 'EPERM');
  }
  assert.equal(await listPeers(rt, 'vx0'), [], 'the device was created, its peer was not');
  assert.equal(
    (await ensureVxlan(rt, spec)).map((c) => c.action),
    ['add'],
    'the next ensure resumes',
  );
});

test('counters: requests by type and round trips', async () => {
  const host = host1();
  const rt = host.rtnetlink();
  await rt.links.get('eth0');
  await rt.links.list();
  assert.equal(host.counts(), { RTM_GETLINK: 2 });
  assert.is(host.sends, 2);
  host.resetCounts();
  await rt.fdb.appendMany([]).catch(() => undefined);
  await rt.links.create({ ifname: 'br0', kind: 'bridge' });
  assert.equal(host.counts(), { RTM_GETLINK: 1, RTM_NEWLINK: 1 });
});

test('read faults: an nf_tables read refused with EPERM (a process without CAP_NET_ADMIN), rtnetlink reads untouched; writes not counted', async () => {
  const host = host1();
  const rt = host.rtnetlink();
  const nft = host.nftables();
  await nft.createTable({ family: 'inet', name: 'hostfw' });
  const writes = host.writes;
  const fault = host.failRead({ errno: 'EPERM', when: (r) => r.protocol === 'nftables', times: 2 });
  for (let i = 0; i < 2; i++) {
    try {
      await nft.listTables();
      assert.unreachable('the read should have been refused');
    } catch (error) {
      assert.instance(error, NetlinkError);
      assert.is((error as NetlinkError).code, 'EPERM');
    }
  }
  assert.is((await rt.links.get('eth0')).ifname, 'eth0', 'rtnetlink reads are not matched');
  assert.is(fault.hits, 2);
  assert.equal(
    (await nft.listTables()).map((t) => t.name),
    ['hostfw'],
    'after `times` failures, reads answer again',
  );
  assert.is(host.writes, writes, 'reads are not writes');
});

test.run();
