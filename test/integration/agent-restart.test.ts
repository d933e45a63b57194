/**
 * What an agent's crash and a lost subscription leave, judged by tools
 * nobody here wrote:
 *
 *   - an agent killed with SIGKILL and started again writes nothing when
 *     nothing changed: `ip monitor`, `bridge monitor fdb` and `nft monitor`
 *     see no change while it restarts (and see the next repair, so they were
 *     listening), and a container pinging across the overlay every 50 ms
 *     loses no packet through the kill and the restart;
 *   - the relay holding the agent's rtnetlink subscription killed while a
 *     flood entry is deleted (the event dies with it): the overrun brings a
 *     full resync that repairs it, and the new subscription delivers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess, vxnet } from '../helpers/agent.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, ipv6Settled, sh } from '../helpers/netns.js';

const it = integrationReady(['ip', 'nsenter', 'ping', 'nft', 'bridge']) ? test : test.skip;

function writeSpec(dir: string, lab: Lab, host: LabHost): string {
  const file = join(dir, `h${host.index}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      name: 'seed',
      vni: 42,
      underlay: { device: 'eth0', address: host.address },
      peers: lab.hosts.map((h) => h.address),
      subnet: '10.10.0.0/24',
      gateway: `10.10.0.${host.index}`,
      vxlan: 'vx0',
      bridge: 'br0',
      firewall: true,
      masquerade: true,
    }),
  );
  return file;
}

async function eventually(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** IPv6 duplicate address detection done: the kernel stops changing addresses by itself. */
const settled = (ns: string) => ipv6Settled(ns);

const floodEntries = (ns: string): string[] =>
  (JSON.parse(sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vx0']) || '[]') as any[])
    .filter((e) => e.mac === '00:00:00:00:00:00' && e.dst)
    .map((e) => e.dst)
    .sort();

/** The kernel's change notifications, as ip, bridge and nft print them, while `during` runs. */
async function monitored(ns: string, during: () => Promise<void>): Promise<string[]> {
  const monitors: ChildProcess[] = [
    spawn('ip', ['-n', ns, 'monitor', 'link', 'address']),
    spawn('bridge', ['-n', ns, 'monitor', 'fdb']),
    spawn('ip', ['netns', 'exec', ns, 'nft', 'monitor']),
  ];
  const seen: string[] = [];
  for (const m of monitors) m.stdout!.on('data', (d) => seen.push(...String(d).split('\n').filter(Boolean)));
  await new Promise((resolve) => setTimeout(resolve, 500));
  try {
    await during();
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    for (const m of monitors) m.kill();
  }
  // MACs the bridge learns from the pings come and go: traffic, not configuration. Flood entries (all zeros) count.
  return seen.filter((line) => !/^(Deleted )?[0-9a-f:]{17} dev /.test(line) || line.startsWith('00:00:00:00:00:00'));
}

it('SIGKILL, then a restart: no kernel change seen by ip/bridge/nft monitor, no ping lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-agent-restart-'));
  const lab = Lab.create({ hosts: 2 });
  const agents: AgentProcess[] = [];
  try {
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const f1 = writeSpec(dir, lab, h1);
    agents.push(
      AgentProcess.start(f1, { ns: h1.ns }),
      AgentProcess.start(writeSpec(dir, lab, h2), { ns: h2.ns, via: 'exec' }),
    );
    await Promise.all(agents.map((a) => a.ready()));
    const c1 = lab.addContainer(h1, 'c1', { address: '10.10.0.11/24' });
    const c2 = lab.addContainer(h2, 'c2', { address: '10.10.0.12/24' });
    for (const c of [c1, c2]) sh('ip', ['-n', c.host.ns, 'link', 'set', c.hostDev, 'master', 'br0', 'up']);
    assert.ok(await lab.pingEventually(c2.ns, '10.10.0.11', 8));
    await settled(h1.ns);

    const first = agents[0]!;
    first.signal('SIGKILL');
    await first.exited;
    const pinging = spawn('ip', ['netns', 'exec', c2.ns, 'ping', '-n', '-q', '-i', '0.05', '-c', '100', '10.10.0.11']);
    let pingOutput = '';
    pinging.stdout!.on('data', (d) => (pingOutput += d));
    const pinged = new Promise<number | null>((resolve) => pinging.on('exit', resolve));
    let restarted!: AgentProcess;
    const changes = await monitored(h1.ns, async () => {
      restarted = AgentProcess.start(f1, { ns: h1.ns, via: 'exec' });
      agents.push(restarted);
      const started = await restarted.ready();
      assert.equal(started.changes, [], `nothing to change at start: ${restarted.transcript()}`);
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the re-apply after the start finds nothing either
    });
    assert.equal(changes, [], 'ip/bridge/nft monitor saw no change through the restart');
    assert.not.ok(
      restarted.entries.some((e) => e.event === 'repair' || e.event === 'change'),
      restarted.transcript(),
    );
    assert.is(await pinged, 0, `no ping lost:\n${pingOutput}`);
    assert.match(pingOutput, / 0% packet loss/);
    // The monitors do see a change when there is one: the agent's repair of a breakage.
    const control = await monitored(h1.ns, async () => {
      sh('ip', ['-n', h1.ns, 'link', 'set', 'vx0', 'nomaster']);
      await restarted.waitFor((e) => e.event === 'repair', { what: 'the repair' });
    });
    assert.ok(
      control.some((line) => /vx0/.test(line)),
      control.join('\n'),
    );
    for (const a of agents) await a.stop();
    for (const h of lab.hosts) assert.is(vxnet(['destroy', 'seed', '--namespace', h.ns]).code, 0);
  } finally {
    for (const a of agents) a.kill();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The agent's relay processes for its rtnetlink subscription (NETLINK_ROUTE, a subscription's bounded backlog). */
function rtSubscriptionRelays(agentPid: number): number[] {
  const children = sh('ps', ['-o', 'pid=', '--ppid', String(agentPid)])
    .split('\n')
    .map((p) => Number(p.trim()))
    .filter(Boolean);
  return children.filter((pid) => {
    try {
      // node -e RELAY -- netlink/dist/raw.js PROTOCOL MAX_BACKLOG READ_SIZE RECEIVE_BUFFER LOCAL_PORT
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const at = argv.findIndex((a) => a.endsWith('netlink/dist/raw.js'));
      return at > 0 && argv[at + 1] === '0' && argv[at + 2] === String(8 * 1024 * 1024);
    } catch {
      return false;
    }
  });
}

it("the event relay killed while a flood entry is deleted: the overrun's resync repairs it, and the new subscription delivers", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-agent-restart-'));
  const lab = Lab.create({ hosts: 2 });
  let agent: AgentProcess | undefined;
  try {
    const [h1, h2] = [lab.host(1), lab.host(2)];
    agent = AgentProcess.start(writeSpec(dir, lab, h1), { ns: h1.ns, via: 'exec' });
    await agent.ready();
    await settled(h1.ns);
    const [relay] = rtSubscriptionRelays(agent.pid);
    assert.type(relay, 'number', "the subscription's relay");
    let from = agent.entries.length;
    // Stopped, the relay cannot pass the event on; killed, it takes it along.
    process.kill(relay!, 'SIGSTOP');
    sh('bridge', ['-n', h1.ns, 'fdb', 'del', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', h2.address]);
    process.kill(relay!, 'SIGKILL');
    const notice = await agent.waitFor((e) => e.event === 'notice' && /relay died and was restarted/.test(e.message), {
      from,
      what: 'the overrun',
    });
    assert.match(notice.message, /resyncing/);
    // The overrun's own repair (a repair of something else may still be finishing under load: it is not this one).
    const repair = await agent.waitFor((e) => e.event === 'repair' && e.trigger === 'resync (overrun)', {
      from,
      what: "the resync's repair",
    });
    assert.ok(
      (repair.changes ?? []).some((c: string) => /peers of vx0/.test(c)),
      JSON.stringify(repair),
    );
    assert.equal(floodEntries(h1.ns), [h2.address]);
    await eventually('a new relay', () => rtSubscriptionRelays(agent!.pid).some((pid) => pid !== relay));
    from = agent.entries.length;
    sh('ip', ['-n', h1.ns, 'link', 'set', 'vx0', 'nomaster']);
    const live = await agent.waitFor((e) => e.event === 'repair', {
      from,
      what: 'the repair from the new subscription',
    });
    // Which of nomaster's events arrives first (the port's link events or vx0's flood entries, which the bridge
    // re-announces) varies with load; any of them proves the new subscription delivers. What matters: an event
    // (not a resync) triggered it, and it put vx0 back on the bridge.
    assert.not.match(live.trigger, /^resync/, `repaired from an event, not by a resync: ${JSON.stringify(live)}`);
    assert.ok(
      [live.trigger, ...(live.events ?? [])].some((e: string) => / vx0( |$)/.test(e)),
      JSON.stringify(live),
    );
    assert.ok(
      (live.changes ?? []).some((c: string) => /add port vx0 on br0/.test(c)),
      JSON.stringify(live),
    );
    await agent.stop();
    assert.is(vxnet(['destroy', 'seed', '--namespace', h1.ns]).code, 0);
  } finally {
    agent?.kill();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
