/**
 * Membership from etcd at scale: 1,000 registrations written straight into
 * etcd (one transaction) converging on one agent (`vxnet agent`, the built
 * bin, inside its namespace), against `bridge -batch` adding the same 1,000
 * flood entries; then the same 1,000 deleted (one ranged delete) against
 * `bridge -batch` deleting them. And the agent's RSS with 1,000 peers, and
 * its CPU while idle (after the rounds, no peers left).
 *
 * A one-member etcd (Debian's etcd-server, `--max-txn-ops` above 1,000 so the
 * 1,000 puts are one revision) runs in the host's namespace on its underlay
 * address, as in the integration tests' lab. The writes come from
 * bench/procs/etcd-writer.cjs, started in the namespace before any round
 * (etcd's JSON gateway, no vxnet code): a client process's start (etcdctl:
 * 60–150 ms) is not part of a membership change.
 *
 * Figures: "etcd → converged" runs from just before the write is sent until
 * the agent's `repair` log line is read here (etcd's commit and watch
 * delivery included; the write's own round trip is reported beside it); the
 * agent's own figure (membership event received → last flood entry written)
 * is its `repair` entry's `ms`.
 *
 * Target (issue 14): etcd → converged ≤ 1.5 × `bridge -batch` (1,000 adds).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { EtcdCluster } from '../../test/helpers/etcd.js';
import { Lab } from '../../test/helpers/lab.js';
import { addRow, addTarget, cachePath, ipBatch, median, mib, NODE, requireDist, sh, workload } from '../lib.js';
import { AgentProcess } from '../agent-process.js';
import { EtcdWriter } from '../etcd-writer.js';

const PEERS = 1000;
const ROUNDS = Number(process.env.VXNET_BENCH_ETCD_ROUNDS ?? 9);
/** Rounds run first and not counted (the agent's code still cold). */
const WARMUP = Number(process.env.VXNET_BENCH_ETCD_WARMUP ?? 2);

/** The fake hosts: 10.1.0.1 … (1,000 addresses), as registrations and as flood entries. */
function fakeAddresses(): string[] {
  return Array.from({ length: PEERS }, (_, i) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`);
}

/** The registrations as [key, value] (values as vxnet writes them). */
function registrations(addresses: string[]): [string, string][] {
  return addresses.map((address, i) => {
    const mac = `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    const value = JSON.stringify({ address, port: 4789, vni: 42, mac, hostname: `fake${i}`, version: 'bench' });
    return [`/vxnet/bench/hosts/${address}`, value];
  });
}

function usageKiB(pid: number): { rssKiB: number; anonKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    anonKiB: Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1] ?? 0),
  };
}

/** The agent's child processes (its subscriptions' relays): how many, and their RSS in all. */
function childrenUsage(pid: number): { count: number; rssKiB: number } {
  let count = 0;
  let rssKiB = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      count++;
      rssKiB += usageKiB(Number(entry)).rssKiB;
    } catch {
      // Gone meanwhile.
    }
  }
  return { count, rssKiB };
}

/** Seconds the agent is left with 1,000 peers before its settled RSS is read. */
const SETTLE_S = Number(process.env.VXNET_BENCH_ETCD_SETTLE ?? 20);
const IDLE_S = Number(process.env.VXNET_BENCH_ETCD_IDLE ?? 60);
const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** CPU clock ticks (user + system) of a process. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function floodCount(ns: string): number {
  const out = spawnSync('bridge', ['-n', ns, 'fdb', 'show', 'dev', 'vx0'], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return out.stdout.split('\n').filter((l) => l.startsWith('00:00:00:00:00:00')).length;
}

export async function run(): Promise<void> {
  await thousandRegistrations();
  await joinTenAgents();
}

async function thousandRegistrations(): Promise<void> {
  const dist = requireDist();
  const lab = Lab.create({ hosts: 1, prefix: `vxb-etcd-${process.pid}` });
  let etcd: EtcdCluster | undefined;
  let agent: AgentProcess | undefined;
  let writer: EtcdWriter | undefined;
  try {
    etcd = await EtcdCluster.start(lab, 1, ['--max-txn-ops', String(PEERS + 10)]);
    const host = lab.host(1);
    const ns = host.ns;
    const spec = cachePath('agent-etcd-spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'bench',
        vni: 42,
        underlay: { device: 'eth0', address: host.address },
        membership: { etcd: { endpoints: [`http://${host.address}:2379`] } },
        subnet: '10.10.0.0/24',
        gateway: '10.10.0.1',
        vxlan: 'vx0',
        bridge: 'br0',
      }),
    );
    const w = workload(
      'Membership from etcd: 1,000 registrations → one agent',
      `\`vxnet agent\` (built CLI, inside the host's namespace) with \`membership.etcd\` on a one-member etcd 3.4 in that namespace. ${ROUNDS} rounds (after ${WARMUP} not counted): 1,000 registrations put in one etcd transaction → the agent's 1,000 flood entries written; then a ranged delete of them → the entries removed. Against \`bridge -batch\` appending / deleting the same 1,000 flood entries on a VXLAN device of its own.`,
    );
    const cli = `${dist}/cli.js`;
    // As a user runs it: the bin itself, so its shebang's node options apply (src/cli/main.ts).
    // VXNET_BENCH_PROFILE=DIR: the agent writes a V8 CPU profile there (where its time goes).
    const launch = process.env.VXNET_BENCH_PROFILE
      ? [
          NODE,
          '--max-semi-space-size=1',
          '--cpu-prof',
          '--cpu-prof-interval=100',
          `--cpu-prof-dir=${process.env.VXNET_BENCH_PROFILE}`,
          cli,
        ]
      : [cli];
    agent = new AgentProcess(['ip', 'netns', 'exec', ns, ...launch, 'agent', spec, '--log-format', 'json']);
    await agent.next((e) => e.event === 'started', 0, 60_000);
    const addresses = fakeAddresses();
    writer = new EtcdWriter(ns, `http://${host.address}:2379`);
    await writer.send(`load ${JSON.stringify(registrations(addresses))}`);
    const add: number[] = [];
    const addOwn: number[] = [];
    const del: number[] = [];
    const delOwn: number[] = [];
    const etcdMs: number[] = [];
    const heard: number[] = [];
    const addEtcd: number[] = [];
    const addLine: number[] = [];
    let rss = { rssKiB: 0, anonKiB: 0 };
    let relays = { count: 0, rssKiB: 0 };
    const idle = usageKiB(agent.pid);
    /** Sends `command` to etcd; resolves when the agent's flood list is `converged`, with both times. */
    const round = async (command: string, converged: () => boolean) => {
      const first = agent!.entries.length;
      let from = first;
      const started = performance.now();
      const sentAt = Date.now(); // the wall clock the agent's `at` is on (ms: a ±1 ms figure)
      let answered = Number.NaN;
      const written = writer!.send(command).then(() => {
        answered = performance.now() - started;
      });
      let repair = await agent!.next((e) => e.event === 'repair' || e.level === 'error', from);
      if (repair.event !== 'repair') throw new Error(repair.message);
      // A burst can be repaired in more than one pass: the last repair before the kernel holds all of it counts
      // (checked after the line was read: the check's own time is not the agent's).
      while (!converged()) {
        from = agent!.entries.length;
        repair = await agent!.next((e) => e.event === 'repair', from);
      }
      const membership = agent!.entries.find((e, i) => i >= first && e.event === 'membership');
      await written;
      const own = repair.ms ?? Number.NaN;
      // Write sent → the kernel converged, by the agent's clock (its line comes later: the record is written
      // first, and the relays are busy with the burst's echo then); less the agent's own part: etcd's share.
      const convergedAfter = repair.at ? Date.parse(repair.at) - sentAt : Number.NaN;
      return {
        whole: convergedAfter,
        own,
        etcd: convergedAfter - own,
        lineRead: repair.readAt - started,
        answered,
        heard: membership ? membership.readAt - started : Number.NaN,
      };
    };
    // The first rounds after the agent starts run its code cold (V8 has not optimised it yet): reported on their
    // own, not counted in the medians, which are what an agent that has been running does.
    const coldOwn: number[] = [];
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const counted = i >= WARMUP;
      await new Promise((resolve) => setTimeout(resolve, 500));
      const added = await round('txn', () => floodCount(ns) === PEERS);
      if (counted) {
        add.push(added.whole);
        addOwn.push(added.own);
        addEtcd.push(added.etcd);
        addLine.push(added.lineRead);
        etcdMs.push(added.answered);
        heard.push(added.heard);
      } else coldOwn.push(added.own);
      rss = usageKiB(agent.pid);
      relays = childrenUsage(agent.pid);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const deleted = await round('del-prefix /vxnet/bench/hosts/10.', () => floodCount(ns) === 0);
      if (counted) {
        del.push(deleted.whole);
        delOwn.push(deleted.own);
      }
    }
    // The footprint with 1,000 peers once the burst's garbage is collected: V8's memory reducer runs a few
    // seconds after activity stops (seen by hand: ~10 s); until then a round's garbage stays in the old space.
    await round('txn', () => floodCount(ns) === PEERS);
    const settledSamples: number[] = [];
    for (let s = 0; s < SETTLE_S; s++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      settledSamples.push(usageKiB(agent.pid).rssKiB);
    }
    const settledWithPeers = settledSamples.at(-1) ?? 0;
    await round('del-prefix /vxnet/bench/hosts/10.', () => floodCount(ns) === 0);
    // Idle with etcd: nothing changes; the lease keep-alive and the leader probe run every ttl/3 (10 s / 3).
    const ticksBefore = cpuTicks(agent.pid);
    await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
    const idleMs = (cpuTicks(agent.pid) - ticksBefore) * TICK_MS;
    const settled = usageKiB(agent.pid);
    await agent.stop();
    agent = undefined;

    // bridge -batch: the same 1,000 entries on a VXLAN device of its own.
    sh('ip', ['-n', ns, 'link', 'add', 'vxb', 'type', 'vxlan', 'id', '43', 'dstport', '4789', 'local', host.address]);
    const append = addresses.map((a) => `fdb append 00:00:00:00:00:00 dev vxb dst ${a}`).join('\n');
    const remove = addresses.map((a) => `fdb del 00:00:00:00:00:00 dev vxb dst ${a}`).join('\n');
    const batchAdd: number[] = [];
    const batchDel: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let started = performance.now();
      ipBatch(ns, `${append}\n`, 'bridge');
      batchAdd.push(performance.now() - started);
      started = performance.now();
      ipBatch(ns, `${remove}\n`, 'bridge');
      batchDel.push(performance.now() - started);
    }
    sh('ip', ['-n', ns, 'link', 'del', 'vxb']);

    addRow(w, {
      tool: 'etcd (1,000 puts, one txn) → agent converged',
      whole: median(add),
      inProcess: median(addOwn),
      rssKiB: rss.rssKiB,
      note: `n=${ROUNDS} after ${WARMUP} not counted (the agent's own part in those, its code cold: ${coldOwn.join(', ')} ms); whole = write sent → the last entry written, by the agent's clock (±1 ms), of which etcd's share (write sent → its watch response at the agent) ${median(addEtcd).toFixed(0)} ms; the writer had etcd's answer after ${median(etcdMs).toFixed(0)} ms; the agent's membership line was read after ${median(heard).toFixed(0)} ms, its repair line after ${median(addLine).toFixed(0)} ms; in-process = the agent's own (its watch response's arrival → last entry written). Agent RSS with 1,000 peers: ${mib(settledWithPeers)} settled (${SETTLE_S} s after converging; each second: ${settledSamples.map((k) => Math.round(k / 1024)).join(', ')} MiB), ${mib(rss.rssKiB)} (${mib(rss.anonKiB)} anonymous) just after converging in the last round; with none ${mib(idle.rssKiB)}; its ${relays.count} relay processes (subscriptions) ${mib(relays.rssKiB)} in all`,
    });
    addRow(w, {
      tool: 'etcd (del --prefix of 1,000) → agent converged',
      whole: median(del),
      inProcess: median(delOwn),
      note: `n=${ROUNDS}`,
    });
    addRow(w, {
      tool: `idle ${IDLE_S} s with etcd membership (agent inside the namespace)`,
      note: `CPU ${idleMs.toFixed(0)} ms (${((idleMs / (IDLE_S * 1000)) * 100).toFixed(2)} % of one core): the lease keep-alive and a linearizable read every ttl/3, the 30 s resync (which re-lists etcd); RSS at the end ${mib(settled.rssKiB)}`,
    });
    addRow(w, { tool: '`bridge -batch`: 1,000 `fdb append`', whole: median(batchAdd), note: `n=${ROUNDS}` });
    addRow(w, { tool: '`bridge -batch`: 1,000 `fdb del`', whole: median(batchDel), note: `n=${ROUNDS}` });
    addTarget(w, {
      what: "the agent's convergence (its watch response's arrival → converged) / `bridge -batch` (1,000 appends)",
      ratio: median(addOwn) / median(batchAdd),
      limit: 1.5,
      sense: 'at most',
    });
    addTarget(w, {
      what: 'write sent to etcd → converged (1,000 adds) / `bridge -batch` (1,000 appends)',
      ratio: median(add) / median(batchAdd),
      limit: 1.5,
      sense: 'at most',
      floor: {
        ratio: median(addEtcd) / median(batchAdd),
        how: `etcd's share alone (write sent → its watch response at the agent, ${median(addEtcd).toFixed(0)} ms)`,
      },
    });
    // The bound is the agent's RSS with 1,000 peers: a state, read once the burst that made it is
    // collected. The figure just after the burst (V8's uncollected garbage, until its memory reducer runs) is in
    // the row's note and the peak RSS column: what a memory limit must leave room for.
    addTarget(w, {
      what: `agent RSS with 1,000 peers, settled (${SETTLE_S} s after converging) / 80 MiB`,
      ratio: settledWithPeers / (80 * 1024),
      limit: 1,
      sense: 'at most',
    });
  } finally {
    writer?.close();
    await agent?.stop().catch(() => undefined);
    etcd?.destroy();
    lab.destroy();
  }
}

const AGENTS = 10;
const JOIN_ROUNDS = Number(process.env.VXNET_BENCH_ETCD_JOIN_ROUNDS ?? 10);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * A host joining (then leaving) a network of 10 agents, as the 10 see it:
 * an 11th host's registration put (deleted) by the etcd writer, and the time
 * until each agent's repair line is read here, and each agent's own figure
 * (membership event → flood entry written). 3-member etcd on hosts 1–3.
 */
async function joinTenAgents(): Promise<void> {
  const dist = requireDist();
  const lab = Lab.create({ hosts: AGENTS + 1, prefix: `vxb-etcdj-${process.pid}` });
  let etcd: EtcdCluster | undefined;
  const agents: AgentProcess[] = [];
  let writer: EtcdWriter | undefined;
  try {
    etcd = await EtcdCluster.start(lab, 3);
    const w = workload(
      'Membership from etcd: a host joining a network of 10 agents',
      `10 \`vxnet agent\`s (built CLI, each inside its lab host's namespace) on a 3-member etcd 3.4 (hosts 1–3). ${JOIN_ROUNDS} rounds: an 11th host's registration put into etcd (a join, as the others see it), then deleted (a leave); each agent's time to its flood entry written.`,
    );
    for (let i = 1; i <= AGENTS; i++) {
      const host = lab.host(i);
      const spec = cachePath(`agent-etcd-join-h${i}.json`);
      writeFileSync(
        spec,
        JSON.stringify({
          name: 'bench',
          vni: 42,
          underlay: { device: 'eth0', address: host.address },
          membership: { etcd: { endpoints: etcd.endpointsFor(host) } },
          subnet: '10.10.0.0/24',
          gateway: `10.10.0.${i}`,
          vxlan: 'vx0',
          bridge: 'br0',
        }),
      );
      const agent = new AgentProcess([
        'ip',
        'netns',
        'exec',
        host.ns,
        `${dist}/cli.js`,
        'agent',
        spec,
        '--log-format',
        'json',
      ]);
      agents.push(agent);
      await agent.next((e) => e.event === 'started', 0, 60_000);
    }
    const newcomer = lab.host(AGENTS + 1).address;
    const key = `/vxnet/bench/hosts/${newcomer}`;
    const value = JSON.stringify({
      address: newcomer,
      port: 4789,
      vni: 42,
      mac: '02:00:00:00:00:0b',
      hostname: 'h11',
      version: 'bench',
    });
    const joinWhole: number[] = [];
    const joinOwn: number[] = [];
    const leaveWhole: number[] = [];
    const leaveOwn: number[] = [];
    writer = new EtcdWriter(lab.host(1).ns, etcd.members[0]!.clientUrl);
    const measure = async (command: string, whole: number[], own: number[]) => {
      const marks = agents.map((a) => a.entries.length);
      const sentAt = Date.now(); // the wall clock the agents' `at` is on (±1 ms)
      // Not awaited first: the agents' log lines may come before etcd's answer to the writer.
      const written = writer!.send(command);
      await Promise.all(
        agents.map(async (agent, i) => {
          const repair = await agent.next(
            (e) => e.event === 'repair' && (e.trigger ?? '').startsWith('membership'),
            marks[i]!,
          );
          whole.push(repair.at ? Date.parse(repair.at) - sentAt : Number.NaN);
          own.push(repair.ms ?? Number.NaN);
        }),
      );
      await written;
    };
    for (let round = 0; round < JOIN_ROUNDS; round++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await measure(`put ${JSON.stringify([key, value])}`, joinWhole, joinOwn);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await measure(`del ${key}`, leaveWhole, leaveOwn);
    }
    const row = (tool: string, whole: number[], own: number[]) =>
      addRow(w, {
        tool,
        whole: median(whole),
        inProcess: median(own),
        note: `p99 ${percentile(whole, 99).toFixed(0)} ms (from the write sent), ${percentile(own, 99).toFixed(0)} ms (each agent's own); n=${whole.length} (${AGENTS} agents × ${JOIN_ROUNDS})`,
      });
    row('a host joins → each of 10 agents converged', joinWhole, joinOwn);
    row('a host leaves → each of 10 agents converged', leaveWhole, leaveOwn);
    w.notes.push(
      "whole process = from the write sent to etcd (bench/procs/etcd-writer.cjs, running before the round) to each agent's flood entry written, by that agent's clock (its repair's `at`, ±1 ms); in-process = each agent's own figure (its watch response's arrival → flood entry written).",
    );
  } finally {
    writer?.close();
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    etcd?.destroy();
    lab.destroy();
  }
}
