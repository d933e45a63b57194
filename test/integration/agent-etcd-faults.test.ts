/**
 * Control-plane faults never break the data plane, with a real etcd cluster
 * (3 members in the lab's host namespaces): the leader killed, a member
 * partitioned away (its host's underlay cut), the whole cluster stopped and
 * started, an agent killed and restarted. The kernel's flood entries are
 * watched with `ip monitor` / `bridge monitor` (a change vxnet did not make
 * would show too); pings across the overlay are the proof.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vxnet } from '../helpers/agent.js';
import { ETCD_TOOLS } from '../helpers/etcd.js';
import { EtcdScene, eventually, monitorKernel, sleep } from '../helpers/etcd-scene.js';
import { integrationReady, sh } from '../helpers/netns.js';

const it = integrationReady(['ip', 'nsenter', 'bridge', 'nft', 'ping', ...ETCD_TOOLS]) ? test : test.skip;

const ALL = [1, 2, 3];

async function converged(scene: EtcdScene, among = ALL, ms = 15_000): Promise<void> {
  for (const i of among)
    await eventually(`h${i}'s flood list`, () => equal(scene.flood(i), scene.othersOf(i, among)), ms);
}

it('the etcd leader killed: no kernel change on any host, pings pass throughout, registrations kept', async () => {
  const scene = await EtcdScene.create({ hosts: 3, ttl: 10 });
  const monitors: Awaited<ReturnType<typeof monitorKernel>>[] = [];
  try {
    for (const i of ALL) await scene.startAgent(i);
    await converged(scene);
    assert.equal(await scene.pingAll(ALL), []);
    for (const i of ALL) monitors.push(await monitorKernel(scene.lab.host(i).ns));
    await sleep(300); // the monitors are listening
    const leader = scene.etcd.leader();
    assert.ok(leader, 'a leader');
    const marks = ALL.map((i) => scene.agents.get(i)!.entries.length);
    await scene.etcd.kill(leader!);
    // Pings keep passing while a new leader is elected and the agents move to the members left.
    const until = Date.now() + 12_000; // longer than the ttl: the leases must have been kept alive
    while (Date.now() < until) {
      for (const from of ALL)
        for (const to of ALL)
          if (from !== to)
            assert.ok(
              scene.lab.ping(scene.lab.host(from).ns, `10.10.0.${to}`, { count: 1, timeoutSeconds: 1 }),
              `h${from} → h${to} during the election`,
            );
      await sleep(500);
    }
    for (const [k, monitor] of monitors.entries()) assert.equal(monitor.changes, [], `no kernel change on h${k + 1}`);
    for (const i of ALL) {
      const agent = scene.agents.get(i)!;
      const repairs = agent.entries.slice(marks[i - 1]).filter((e) => e.event === 'repair' || e.event === 'change');
      assert.equal(repairs, [], `h${i}'s agent changed nothing`);
    }
    const keys = scene.etcd.etcdctl(['get', '--prefix', '--keys-only', '/vxnet/seed/hosts/']);
    for (const i of ALL)
      assert.ok(keys.out.includes(scene.lab.host(i).address), `h${i} still registered:\n${keys.out}`);
    // The agent whose member was killed noticed, and is fresh again through another member.
    const bound = scene.agents.get(leader!.host.index)!;
    const last = [...bound.entries].reverse().find((e) => e.event === 'membership');
    if (last) assert.is(last.health.state, 'fresh', bound.transcript());
  } finally {
    for (const monitor of monitors) monitor.stop();
    await scene.destroy();
  }
});

it('a member partitioned away (its underlay cut): the agent bound to it says stale, its kernel is untouched; healed, it registers again', async () => {
  const scene = await EtcdScene.create({ hosts: 3, ttl: 10 });
  let monitor: Awaited<ReturnType<typeof monitorKernel>> | undefined;
  try {
    for (const i of ALL) await scene.startAgent(i);
    await converged(scene);
    const h3 = scene.lab.host(3);
    const agent = scene.agents.get(3)!;
    const before = scene.flood(3);
    const leaseBefore = leaseOf(scene, 3);
    assert.ok(leaseBefore, 'h3 registered under a lease');
    monitor = await monitorKernel(h3.ns);
    await sleep(300);
    const mark = agent.entries.length;
    const cutAt = Date.now();
    sh('ip', ['-n', scene.lab.underlay, 'link', 'set', 'h3', 'down']);
    const stale = await agent.waitFor((e) => e.event === 'membership' && e.health?.state === 'stale', {
      from: mark,
      timeoutMs: 15_000,
      what: 'membership stale on h3',
    });
    console.log(`  partition → h3's agent stale in ${Date.now() - cutAt} ms: ${stale.health.cause}`);
    const status = vxnet(['status', 'seed'], { inside: h3.ns });
    assert.match(status.stdout, /stale/, status.stdout + status.stderr);
    // The other two keep their data plane between them.
    assert.equal(await scene.pingAll([1, 2], 3), []);
    await sleep(2000);
    assert.equal(scene.flood(3), before, "h3's flood entries stay while its membership is stale");
    // Longer than the ttl: h3's lease expires on the majority's side, and the others drop it (unreachable anyway).
    await converged(scene, [1, 2], (scene.ttl + 5) * 1000);
    assert.equal(scene.flood(3), before, "h3's flood entries still stay");
    assert.equal(monitor.changes, [], 'no kernel change on h3 while partitioned');
    // Healed: h3's agent is fresh again, registers under a new lease, and everyone reaches everyone.
    sh('ip', ['-n', scene.lab.underlay, 'link', 'set', 'h3', 'up']);
    await agent.waitFor((e) => e.event === 'membership' && e.health?.state === 'fresh', {
      from: mark,
      timeoutMs: 30_000,
      what: 'membership fresh on h3 again',
    });
    await converged(scene, ALL, 20_000);
    assert.equal(await scene.pingAll(ALL), []);
    assert.is.not(leaseOf(scene, 3), leaseBefore, 'registered again under a new lease');
  } finally {
    monitor?.stop();
    await scene.destroy();
  }
});

it('the whole cluster stopped for 30 s, then started: nothing removed meanwhile; the agents converge after', async () => {
  const scene = await EtcdScene.create({ hosts: 4, ttl: 5 });
  const monitors: Awaited<ReturnType<typeof monitorKernel>>[] = [];
  try {
    const hosts = [1, 2, 3, 4];
    for (const i of hosts) await scene.startAgent(i);
    await converged(scene, hosts);
    for (const i of [1, 2]) monitors.push(await monitorKernel(scene.lab.host(i).ns));
    await sleep(300);
    for (const member of scene.etcd.members) await scene.etcd.stop(member);
    const down = Date.now();
    for (const i of hosts)
      await scene.agents
        .get(i)!
        .waitFor((e) => e.event === 'membership' && e.health?.state === 'stale', { timeoutMs: 15_000 });
    // While etcd is down, host 4 crashes: its registration can only go once etcd is back.
    const h4 = scene.agents.get(4)!;
    h4.signal('SIGKILL');
    await h4.exited;
    await sleep(Math.max(0, down + 30_000 - Date.now())); // the whole cluster down for 30 s, as the issue says
    for (const [k, monitor] of monitors.entries()) assert.equal(monitor.changes, [], `no kernel change on h${k + 1}`);
    assert.equal(await scene.pingAll([1, 2, 3], 3), [], 'pings pass with etcd down');
    for (const member of scene.etcd.members) scene.etcd.restart(member);
    await scene.etcd.waitHealthy();
    const back = Date.now();
    for (const i of [1, 2, 3])
      await scene.agents
        .get(i)!
        .waitFor((e) => e.event === 'membership' && e.health?.state === 'fresh', { timeoutMs: 30_000 });
    // h4's lease expires once the cluster runs again (its keep-alives stopped with it): it leaves every list.
    await converged(scene, [1, 2, 3], (scene.ttl + 15) * 1000);
    console.log(`  cluster back → converged without h4 in ${Date.now() - back} ms`);
    assert.equal(await scene.pingAll([1, 2, 3]), []);
  } finally {
    for (const monitor of monitors) monitor.stop();
    await scene.destroy();
  }
});

it('an agent killed and restarted: the data plane is untouched and the restart writes nothing; a reboot keeps the MAC', async () => {
  const scene = await EtcdScene.create({ hosts: 3, ttl: 10 });
  const monitors: Awaited<ReturnType<typeof monitorKernel>>[] = [];
  try {
    for (const i of ALL) await scene.startAgent(i);
    await converged(scene);
    for (const i of ALL) monitors.push(await monitorKernel(scene.lab.host(i).ns));
    await sleep(300);
    const old = scene.agents.get(2)!;
    old.signal('SIGKILL');
    await old.exited;
    const again = await scene.startAgent(2);
    const started = again.entries.find((e) => e.event === 'started')!;
    assert.equal(started.changes, [], 'the restarted agent found nothing to change');
    await sleep(2000);
    for (const [k, monitor] of monitors.entries()) assert.equal(monitor.changes, [], `no kernel change on h${k + 1}`);
    assert.equal(await scene.pingAll(ALL), []);
    assert.not.ok(
      again.entries.some((e) => e.event === 'notice' && e.message.startsWith('registration refused')),
      'the restarted agent took over its own registration',
    );

    // A reboot, as far as the network goes: the agent stopped, its devices gone, then started again. The
    // device is made with the same MAC, so its registration is still recognised as its own.
    const registered = () =>
      JSON.parse(
        scene.etcd.etcdctl(['get', '--print-value-only', `/vxnet/seed/hosts/${scene.lab.host(2).address}`]).out,
      ).mac;
    const before = registered();
    again.signal('SIGKILL');
    await again.exited;
    sh('ip', ['-n', scene.lab.host(2).ns, 'link', 'del', 'vx0']);
    const rebooted = await scene.startAgent(2);
    assert.ok((rebooted.entries.find((e) => e.event === 'started')!.changes as string[]).length > 0, 'vx0 made again');
    await eventually('h2 registered again', () => registered() === before, 5000, 100);
    assert.not.ok(
      rebooted.entries.some((e) => e.event === 'notice' && e.message.startsWith('registration refused')),
      rebooted.transcript(),
    );
    await converged(scene);
    assert.equal(await scene.pingAll(ALL), []);
  } finally {
    for (const monitor of monitors) monitor.stop();
    await scene.destroy();
  }
});

/** The lease of host `index`'s registration (decimal text: etcdctl prints 64-bit IDs as JSON numbers). */
function leaseOf(scene: EtcdScene, index: number): string | undefined {
  const out = scene.etcd.etcdctl(['get', `/vxnet/seed/hosts/${scene.lab.host(index).address}`, '-w', 'json']).out;
  return /"lease":(\d+)/.exec(out)?.[1];
}

function equal(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

test.run();
