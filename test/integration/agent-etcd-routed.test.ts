/**
 * Routed mode with its static table from etcd membership: three lab hosts,
 * a real etcd cluster on them, and on each host `vxnet agent` with a routed
 * spec that names only its own subnet (10.20.N.0/24 on br0) and
 * `membership.etcd`, no route anywhere. The routes to the other hosts'
 * subnets appear (read back with `ip -j route`: protocol 118, via the other
 * hosts' underlay addresses), containers with static addresses ping each
 * other across hosts, a host whose agent stops cleanly leaves the others'
 * tables within 2 s, and bad registrations put with etcdctl (no subnet, a
 * subnet overlapping a member's, a next hop off the underlay, a foreign
 * route in the way) are left out
 * with a notice naming them while the good members stay routed. `vxnet
 * destroy` then leaves each host as it was.
 */
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RTPROT_VXNET } from '../../src/routed/protocol.js';
import { vxnet } from '../helpers/agent.js';
import { ETCD_TOOLS } from '../helpers/etcd.js';
import { EtcdScene, eventually, sleep } from '../helpers/etcd-scene.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { hostResidue } from '../helpers/residue.js';

const it = integrationReady(['ip', 'nsenter', 'nft', 'ping', ...ETCD_TOOLS]) ? test : test.skip;

/** The scene's VXLAN spec turned routed: this host's subnet on br0, membership.etcd, nothing about the others. */
function routed(index: number): Record<string, unknown> {
  return {
    mode: 'routed',
    vni: undefined,
    port: undefined,
    vxlan: undefined,
    firewall: undefined,
    subnet: `10.20.${index}.0/24`,
    gateway: `10.20.${index}.1`,
    containerRange: '10.20.0.0/16',
    bridge: 'br0',
  };
}

/** vxnet's routes on host `ns` (protocol 118), as ip prints them. */
function vxnetRoutes(ns: string): string[] {
  // Not `ip route show proto N`: with that filter ip leaves the protocol out of what it prints.
  return (JSON.parse(sh('ip', ['-n', ns, '-j', 'route', 'show'])) as any[])
    .filter((r) => r.protocol === String(RTPROT_VXNET))
    .map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`)
    .sort();
}

/** The whole IPv4 routing table (the containers' veths are left out: they carry no route). */
function routeTable(ns: string): string[] {
  return (JSON.parse(sh('ip', ['-4', '-n', ns, '-j', 'route', 'show', 'table', 'all'])) as any[])
    .filter((r) => !String(r.dev ?? '').startsWith('v-c'))
    .map((r) => `${r.table ?? 'main'} ${r.type ?? ''} ${r.dst} ${r.gateway ?? ''} ${r.dev ?? ''} ${r.protocol ?? ''}`)
    .sort();
}

const residue = (ns: string) => ({ ...hostResidue(ns, { skipLinks: /^v-c\d$/ }), routes: routeTable(ns) });

function expectedRoutes(scene: EtcdScene, index: number, among: number[]): string[] {
  return among
    .filter((i) => i !== index)
    .map((i) => `10.20.${i}.0/24 via ${scene.lab.host(i).address} dev eth0`)
    .sort();
}

function equal(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function destroyAll(scene: EtcdScene, hosts: number[]): Promise<void> {
  for (const agent of scene.agents.values()) await agent.stop();
  for (const i of hosts) {
    const run = vxnet(['destroy', 'seed'], { inside: scene.lab.host(i).ns });
    assert.is(run.code, 0, run.stderr);
  }
}

it('routes from etcd alone: every host routes the others’ subnets, containers ping across, a clean stop leaves within 2 s, no residue', async () => {
  const scene = await EtcdScene.create({ hosts: 3, ttl: 3 });
  try {
    const all = [1, 2, 3];
    const before = all.map((i) => residue(scene.lab.host(i).ns));
    for (const i of all) await scene.startAgent(i, { overrides: routed(i) });
    for (const i of all)
      await eventually(
        `h${i} routes the other hosts' subnets`,
        () => equal(vxnetRoutes(scene.lab.host(i).ns), expectedRoutes(scene, i, all)),
        10_000,
      );

    // What etcd holds: each host's subnet under its address, the network's mode and range.
    const record = scene.etcd.etcdctl(['get', '--print-value-only', '/vxnet/seed/network']);
    assert.equal(JSON.parse(record.out), { mode: 'routed', containerRange: '10.20.0.0/16' });
    for (const i of all) {
      const got = scene.etcd.etcdctl(['get', '--print-value-only', `/vxnet/seed/hosts/${scene.lab.host(i).address}`]);
      const value = JSON.parse(got.out);
      assert.is(value.subnet, `10.20.${i}.0/24`);
      assert.is(value.address, scene.lab.host(i).address);
      assert.is(value.mac, undefined, 'a routed registration has no VXLAN device');
    }

    // Containers with static addresses on each host's bridge: every pair pings (routed, not NATed).
    for (const i of all) {
      const host = scene.lab.host(i);
      const container = scene.lab.addContainer(host, `c${i}`, {
        address: `10.20.${i}.10/24`,
        gateway: `10.20.${i}.1`,
      });
      sh('ip', ['-n', host.ns, 'link', 'set', container.hostDev, 'master', 'br0', 'up']);
    }
    for (const from of scene.lab.containers)
      for (const to of scene.lab.containers) {
        if (from === to) continue;
        const target = to.address!.split('/')[0]!;
        assert.ok(await scene.lab.pingEventually(from.ns, target, 8), `${from.name} pings ${to.name} (${target})`);
      }

    // h3's agent stops cleanly: its lease is revoked, its route leaves h1's and h2's tables.
    const h3 = scene.agents.get(3)!;
    const stopAt = Date.now();
    const exit = await h3.stop();
    assert.is(exit.code, 0, h3.transcript());
    const rest = [1, 2];
    await eventually(
      "h3's route gone from h1 and h2",
      () => rest.every((i) => equal(vxnetRoutes(scene.lab.host(i).ns), expectedRoutes(scene, i, rest))),
      2000,
      10,
    );
    console.log(`  clean stop → route gone from the others in ${Date.now() - stopAt} ms`);
    assert.equal(
      vxnetRoutes(scene.lab.host(3).ns),
      expectedRoutes(scene, 3, all),
      "h3's own routes stay (no --destroy-on-exit)",
    );
    const [c1, c2] = scene.lab.containers;
    assert.ok(await scene.lab.pingEventually(c1!.ns, '10.20.2.10', 5), 'h1 and h2 still reach each other');
    assert.ok(await scene.lab.pingEventually(c2!.ns, '10.20.1.10', 5));

    await destroyAll(scene, all);
    assert.equal(
      all.map((i) => residue(scene.lab.host(i).ns)),
      before,
      'links, nftables, ip_forward, state and routes as before',
    );
  } finally {
    await scene.destroy();
  }
});

it('bad registrations are left out with a notice naming them; the good members stay routed', async () => {
  const scene = await EtcdScene.create({ hosts: 3, ttl: 3 });
  try {
    const hosts = [1, 2];
    const before = hosts.map((i) => residue(scene.lab.host(i).ns));
    for (const i of hosts) await scene.startAgent(i, { overrides: routed(i) });
    await eventually('h2 routes h1', () => equal(vxnetRoutes(scene.lab.host(2).ns), expectedRoutes(scene, 2, hosts)));
    const h2 = scene.agents.get(2)!;
    const mark = h2.entries.length;
    const put = (address: string, value: unknown) => {
      const run = scene.etcd.etcdctl(['put', `/vxnet/seed/hosts/${address}`, JSON.stringify(value)]);
      assert.is(run.code, 0, run.out);
    };
    // No subnet: not a member at all.
    put('192.168.100.7', { address: '192.168.100.7' });
    // A subnet inside h1's: h1 (the lower address) keeps its route, this one is dropped.
    put('192.168.100.8', { address: '192.168.100.8', subnet: '10.20.1.0/25' });
    // A next hop off the underlay: the host refuses the route; only that member is left out.
    put('10.99.0.9', { address: '10.99.0.9', subnet: '10.20.9.0/24' });
    // A foreign route in the way of a member's (another protocol, metric 0): vxnet never replaces it.
    const h2ns = scene.lab.host(2).ns;
    sh('ip', ['-n', h2ns, 'route', 'add', '10.20.5.0/24', 'via', '192.168.100.1', 'proto', 'static']);
    put('192.168.100.5', { address: '192.168.100.5', subnet: '10.20.5.0/24' });
    // And a good one among them.
    put('192.168.100.6', { address: '192.168.100.6', subnet: '10.20.6.0/24' });

    const notice = (pattern: RegExp, what: string) =>
      h2.waitFor((e) => e.event === 'notice' && pattern.test(e.message), { from: mark, what, timeoutMs: 10_000 });
    await notice(/ignoring etcd key \/vxnet\/seed\/hosts\/192\.168\.100\.7: it has no subnet/, 'the no-subnet notice');
    await notice(/192\.168\.100\.8 \(10\.20\.1\.0\/25\): its subnet overlaps 10\.20\.1\.0\/24/, 'the overlap notice');
    await notice(/not routing member 10\.99\.0\.9 \(10\.20\.9\.0\/24\): .*outside eth0/, 'the off-underlay notice');
    await notice(
      /not routing member 192\.168\.100\.5 \(10\.20\.5\.0\/24\): .*protocol is static/,
      'the conflict notice',
    );
    await eventually('h2 routes h1 and the good member, nothing else', () =>
      equal(vxnetRoutes(scene.lab.host(2).ns), [
        `10.20.1.0/24 via ${scene.lab.host(1).address} dev eth0`,
        '10.20.6.0/24 via 192.168.100.6 dev eth0',
      ]),
    );
    assert.not.ok(
      h2.entries.slice(mark).some((e) => e.event === 'failed'),
      `no apply failed on a bad member:\n${h2.transcript()}`,
    );

    assert.ok(
      JSON.parse(sh('ip', ['-n', h2ns, '-j', 'route', 'show', '10.20.5.0/24'])).some(
        (r: any) => r.protocol === 'static' && r.gateway === '192.168.100.1',
      ),
      'the foreign route is untouched',
    );

    // The good one leaves: its route goes, the bad ones still change nothing.
    assert.is(scene.etcd.etcdctl(['del', '/vxnet/seed/hosts/192.168.100.6']).code, 0);
    await eventually('the good member’s route gone from h2', () =>
      equal(vxnetRoutes(scene.lab.host(2).ns), [`10.20.1.0/24 via ${scene.lab.host(1).address} dev eth0`]),
    );

    await destroyAll(scene, hosts);
    sh('ip', ['-n', h2ns, 'route', 'del', '10.20.5.0/24', 'via', '192.168.100.1', 'proto', 'static']);
    assert.equal(
      hosts.map((i) => residue(scene.lab.host(i).ns)),
      before,
    );
  } finally {
    await scene.destroy();
  }
});

it('etcd down: an agent restarted meanwhile keeps its routes (stale removes nothing); etcd back: fresh, the same routes', async () => {
  const scene = await EtcdScene.create({ hosts: 3, ttl: 3 });
  let monitor: ReturnType<typeof spawn> | undefined;
  try {
    const all = [1, 2, 3];
    for (const i of all) await scene.startAgent(i, { overrides: routed(i) });
    const h1 = scene.lab.host(1);
    const wanted = expectedRoutes(scene, 1, all);
    await eventually('h1 routes h2 and h3', () => equal(vxnetRoutes(h1.ns), wanted), 10_000);
    // Every route change on h1 from here on, as the kernel reports it.
    const seen: string[] = [];
    monitor = spawn('ip', ['-n', h1.ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    monitor.stdout!.setEncoding('utf8');
    monitor.stdout!.on('data', (chunk: string) => seen.push(...chunk.split('\n').filter((l) => /10\.20\./.test(l))));
    await sleep(200);

    for (const member of scene.etcd.members) await scene.etcd.stop(member);
    const old = scene.agents.get(1)!;
    await old.waitFor((e) => e.event === 'membership' && e.health?.state === 'stale', { what: 'stale membership' });
    assert.is((await old.stop()).code, 0, old.transcript());
    // The new agent starts with no etcd at all: an empty, stale view.
    const agent = await scene.startAgent(1, { overrides: routed(1) });
    await agent.waitFor((e) => e.event === 'notice' && /keeping 2 route\(s\) it no longer lists/.test(e.message), {
      what: 'the keeping notice',
    });
    await sleep(1000);
    assert.equal(vxnetRoutes(h1.ns), wanted, 'the routes stay while the view is stale');

    for (const member of scene.etcd.members) scene.etcd.restart(member);
    await scene.etcd.waitHealthy();
    await agent.waitFor((e) => e.event === 'membership' && e.health?.state === 'fresh', {
      what: 'fresh membership',
      timeoutMs: 30_000,
    });
    await eventually('h1 routes h2 and h3 from a fresh view', () => equal(vxnetRoutes(h1.ns), wanted), 10_000);
    await sleep(500);
    assert.equal(seen, [], `no route of h1 was deleted or changed:\n${seen.join('\n')}`);
    assert.not.ok(
      agent.entries.some((e) => e.event === 'failed'),
      `no apply failed:\n${agent.transcript()}`,
    );
  } finally {
    monitor?.kill();
    await scene.destroy();
  }
});

test.run();
