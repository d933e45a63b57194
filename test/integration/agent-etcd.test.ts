/**
 * The agent's peers from a real etcd cluster (3 members, one per lab host
 * namespace on the underlay): hosts join one by one with only
 * `membership.etcd` in their specs, a late host joins, a host that stops
 * cleanly or is killed leaves every flood list, a restarted agent changes
 * nothing. Pings across the overlay are the proof; `bridge` and `etcdctl`
 * are the oracles.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ETCD_TOOLS } from '../helpers/etcd.js';
import { EtcdScene, eventually, monitorKernel, sleep } from '../helpers/etcd-scene.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { stableVxlanMac } from '../../src/vxlan/spec.js';

const it = integrationReady(['ip', 'nsenter', 'bridge', 'nft', 'ping', ...ETCD_TOOLS]) ? test : test.skip;

it('hosts join one by one from etcd alone: all pairs ping; a late host joins and everyone reaches it', async () => {
  const scene = await EtcdScene.create({ hosts: 4 });
  try {
    const joined: number[] = [];
    for (const index of [1, 2, 3]) {
      await scene.startAgent(index);
      joined.push(index);
      for (const i of joined)
        await eventually(`h${i}'s flood list is ${scene.othersOf(i, joined)}`, () =>
          equal(scene.flood(i), scene.othersOf(i, joined)),
        );
    }
    assert.equal(await scene.pingAll(joined), [], 'every pair of the first three pings');
    for (const i of joined)
      assert.equal(
        scene.firewallPeers(i),
        scene.othersOf(i, joined),
        `h${i}'s firewall accepts VXLAN from the members`,
      );
    // The registrations, as etcd has them: the key is the address, the value says what the others need.
    const listed = scene.etcd.etcdctl(['get', '--prefix', '/vxnet/seed/hosts/']);
    assert.is(listed.code, 0, listed.out);
    for (const i of joined) {
      const line = listed.out
        .split('\n')
        .find((l) => l.startsWith('{') && l.includes(`"${scene.lab.host(i).address}"`));
      assert.ok(line, `h${i} is registered:\n${listed.out}`);
      const value = JSON.parse(line!);
      assert.is(value.port, 4789);
      assert.is(value.vni, 42);
      // The VXLAN device's MAC, derived from the network and the address: the same when the device is made again.
      assert.is(value.mac, stableVxlanMac('seed', scene.lab.host(i).address));
      const link = JSON.parse(sh('ip', ['-n', scene.lab.host(i).ns, '-j', 'link', 'show', 'vx0']))[0];
      assert.is(link.address, value.mac, `h${i}'s vx0 has the registered MAC`);
      assert.is(value.version.length > 0, true);
    }
    const record = scene.etcd.etcdctl(['get', '--print-value-only', '/vxnet/seed/network']);
    assert.equal(JSON.parse(record.out), {
      vni: 42,
      port: 4789,
      subnet: '10.10.0.0/24',
      mtu: 'default',
      mode: 'unicast',
    });

    // The late host: nobody's spec changes, everyone reaches it.
    await scene.startAgent(4);
    joined.push(4);
    for (const i of joined)
      await eventually(`h${i}'s flood list with h4`, () => equal(scene.flood(i), scene.othersOf(i, joined)));
    assert.equal(await scene.pingAll(joined), [], 'every pair pings once h4 has joined');
    for (const i of joined) assert.equal(scene.firewallPeers(i), scene.othersOf(i, joined));
  } finally {
    await scene.destroy();
  }
});

it('a clean stop leaves every flood list within 1 s; a SIGKILL within ttl + 2 s', async () => {
  const scene = await EtcdScene.create({ hosts: 4, ttl: 3 });
  try {
    const all = [1, 2, 3, 4];
    for (const i of all) await scene.startAgent(i);
    for (const i of all)
      await eventually(`h${i} has every other host`, () => equal(scene.flood(i), scene.othersOf(i, all)), 10_000);

    // Clean stop: the lease is revoked, the watchers see the key go.
    const h4 = scene.agents.get(4)!;
    const stopAt = Date.now();
    const exit = await h4.stop();
    assert.is(exit.code, 0, h4.transcript());
    const rest = [1, 2, 3];
    const took = await eventually(
      'h4 gone from every flood list',
      () => rest.every((i) => equal(scene.flood(i), scene.othersOf(i, rest))),
      1000,
      10,
    );
    console.log(`  clean stop → gone from every FDB in ${Date.now() - stopAt} ms (after exit: ${took} ms)`);
    assert.equal(scene.flood(4), scene.othersOf(4, all), "h4's own kernel state stays (no --destroy-on-exit)");

    // SIGKILL: no revoke; the lease expires after ttl.
    const h3 = scene.agents.get(3)!;
    h3.signal('SIGKILL');
    await h3.exited;
    const killedAt = Date.now();
    const left = [1, 2];
    await eventually(
      'h3 gone from h1 and h2',
      () => left.every((i) => equal(scene.flood(i), scene.othersOf(i, left))),
      (scene.ttl + 2) * 1000,
      20,
    );
    console.log(`  SIGKILL → gone from every FDB in ${Date.now() - killedAt} ms (ttl ${scene.ttl} s)`);
    assert.equal(await scene.pingAll(left), []);
  } finally {
    await scene.destroy();
  }
});

it('a host whose spec has port 8472 among hosts on 4789 is refused naming port, and creates nothing', async () => {
  const scene = await EtcdScene.create({ hosts: 3 });
  try {
    await scene.startAgent(1);
    const h2 = scene.lab.host(2);
    const { AgentProcess } = await import('../helpers/agent.js');
    const agent = AgentProcess.start(scene.writeSpec(h2, { port: 8472 }), { ns: h2.ns, via: 'exec' });
    scene.agents.set(2, agent);
    const exit = await agent.exited;
    assert.is(exit.code, 1, agent.transcript());
    const text = agent.transcript();
    assert.match(text, /port is 8472 here, 4789 in the network/);
    assert.match(text, /\/vxnet\/seed\/network/);
    const links = sh('ip', ['-n', h2.ns, '-j', 'link', 'show']);
    assert.not.match(links, /"vx0"|"br0"/, `nothing created on h2: ${links}`);
    const hosts = scene.etcd.etcdctl(['get', '--prefix', '--keys-only', '/vxnet/seed/hosts/']);
    assert.not.match(hosts.out, new RegExp(h2.address.replace(/\./g, '\\.')), 'h2 never registered');
  } finally {
    await scene.destroy();
  }
});

it('SIGHUP: the new source takes the registration over first, so the other hosts never see this one leave', async () => {
  const scene = await EtcdScene.create({ hosts: 3, ttl: 10 });
  let monitor: ReturnType<typeof monitorKernel> | undefined;
  try {
    for (const i of [1, 2]) await scene.startAgent(i);
    await eventually('h1 has h2', () => equal(scene.flood(1), [scene.lab.host(2).address]), 10_000);
    monitor = monitorKernel(scene.lab.host(1).ns);
    await sleep(300);
    const h2 = scene.agents.get(2)!;
    const mark = h2.entries.length;
    h2.signal('SIGHUP');
    await h2.waitFor((e) => e.event === 'reload', { from: mark, what: 'the reload' });
    await sleep(1500);
    assert.equal(monitor.changes, [], "h1's flood list never changed");
    assert.equal(scene.flood(1), [scene.lab.host(2).address]);
    assert.not.ok(
      h2.entries.slice(mark).some((e) => e.event === 'notice' && e.message.startsWith('registration refused')),
      h2.transcript(),
    );
  } finally {
    monitor?.stop();
    await scene.destroy();
  }
});

function equal(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

test.run();
