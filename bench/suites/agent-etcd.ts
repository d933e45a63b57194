/**
 * Membership from etcd at scale: 1,000 registrations written straight into
 * etcd (one transaction, by `etcdctl txn`) converging on one agent (`vxnet
 * agent`, built CLI, inside its namespace), against `bridge -batch` adding
 * the same 1,000 flood entries; then the same 1,000 deleted (one `etcdctl
 * del --prefix`) against `bridge -batch` deleting them. And the agent's RSS
 * with 1,000 peers, and its CPU while idle (60 s after the rounds, no peers left).
 *
 * A one-member etcd (Debian's etcd-server, `--max-txn-ops 1000` so the
 * 1,000 puts are one revision) runs in the host's namespace on its underlay
 * address, as in the integration tests' lab.
 *
 * Figures: "etcd → converged" runs from just before `etcdctl` starts until
 * the agent's `repair` log line is read here (so it includes etcdctl's own
 * process start, ~20–40 ms, which the bench also reports on its own); the
 * agent's own figure (membership event received → last flood entry written)
 * is its `repair` entry's `ms`.
 *
 * Target (issue 14): etcd → converged ≤ 1.5 × `bridge -batch` (1,000 adds).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { EtcdCluster } from '../../test/helpers/etcd.js';
import { Lab } from '../../test/helpers/lab.js';
import { addRow, addTarget, cachePath, ipBatch, median, mib, NODE, requireDist, sh, workload } from '../lib.js';
import { AgentProcess } from '../agent-process.js';

const PEERS = 1000;
const ROUNDS = Number(process.env.VXNET_BENCH_ETCD_ROUNDS ?? 5);

/** The fake hosts: 10.1.0.1 … (1,000 addresses), as registrations and as flood entries. */
function fakeAddresses(): string[] {
  return Array.from({ length: PEERS }, (_, i) => `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`);
}

/** `etcdctl txn` input putting every registration (values quoted as Go's strconv.Unquote reads them). */
function txnScript(addresses: string[]): string {
  const puts = addresses.map((address, i) => {
    const mac = `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
    const value = JSON.stringify({ address, port: 4789, vni: 42, mac, hostname: `fake${i}`, version: 'bench' });
    return `put /vxnet/bench/hosts/${address} ${JSON.stringify(value)}`;
  });
  return `\n${puts.join('\n')}\n\n\n`;
}

function usageKiB(pid: number): { rssKiB: number; anonKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0),
    anonKiB: Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1] ?? 0),
  };
}

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
      `\`vxnet agent\` (built CLI, inside the host's namespace) with \`membership.etcd\` on a one-member etcd 3.4 in that namespace. ${ROUNDS} rounds: 1,000 registrations put in one \`etcdctl txn\` → the agent's 1,000 flood entries written; then \`etcdctl del --prefix\` of them → the entries removed. Against \`bridge -batch\` appending / deleting the same 1,000 flood entries on a VXLAN device of its own.`,
    );
    const cli = `${dist}/cli.js`;
    // VXNET_BENCH_PROFILE=DIR: the agent writes a V8 CPU profile there (where its time goes).
    const profile = process.env.VXNET_BENCH_PROFILE
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.VXNET_BENCH_PROFILE}`]
      : [];
    agent = new AgentProcess(['ip', 'netns', 'exec', ns, NODE, ...profile, cli, 'agent', spec, '--log-format', 'json']);
    await agent.next((e) => e.event === 'started', 0, 60_000);
    const addresses = fakeAddresses();
    const script = txnScript(addresses);
    const etcdctl = (args: string[], input?: string) => {
      const started = performance.now();
      const run = spawnSync(
        'ip',
        ['netns', 'exec', ns, 'etcdctl', '--endpoints', `http://${host.address}:2379`, ...args],
        { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, ...(input ? { input } : {}) },
      );
      if (run.status !== 0) throw new Error(`etcdctl ${args[0]}: ${run.stderr}`);
      return performance.now() - started;
    };
    const add: number[] = [];
    const addOwn: number[] = [];
    const del: number[] = [];
    const delOwn: number[] = [];
    const ctl: number[] = [];
    let rss = { rssKiB: 0, anonKiB: 0 };
    const idle = usageKiB(agent.pid);
    for (let round = 0; round < ROUNDS; round++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      let from = agent.entries.length;
      let started = performance.now();
      ctl.push(etcdctl(['txn'], script));
      let repair = await agent.next((e) => e.event === 'repair' || e.level === 'error', from);
      if (repair.event !== 'repair') throw new Error(repair.message);
      // A burst can be repaired in more than one pass: wait for all 1,000.
      while (floodCount(ns) < PEERS) {
        from = agent.entries.length;
        repair = await agent.next((e) => e.event === 'repair', from);
      }
      add.push(performance.now() - started);
      addOwn.push(repair.ms ?? Number.NaN);
      rss = usageKiB(agent.pid);
      await new Promise((resolve) => setTimeout(resolve, 500));
      from = agent.entries.length;
      started = performance.now();
      etcdctl(['del', '--prefix', '/vxnet/bench/hosts/10.']);
      repair = await agent.next((e) => e.event === 'repair' || e.level === 'error', from);
      while (floodCount(ns) > 0) {
        from = agent.entries.length;
        repair = await agent.next((e) => e.event === 'repair', from);
      }
      del.push(performance.now() - started);
      delOwn.push(repair.ms ?? Number.NaN);
    }
    // Idle with etcd: nothing changes; the lease keep-alive and the leader probe run every ttl/3 (10 s / 3).
    const ticksBefore = cpuTicks(agent.pid);
    await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
    const idleMs = (cpuTicks(agent.pid) - ticksBefore) * TICK_MS;
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
      note: `n=${ROUNDS}; whole = etcdctl start → the agent's repair line read (etcdctl alone: ${median(ctl).toFixed(0)} ms); in-process = the agent's own (membership event → last entry written). Agent RSS with 1,000 peers ${mib(rss.rssKiB)} (${mib(rss.anonKiB)} anonymous), with none ${mib(idle.rssKiB)}`,
    });
    addRow(w, {
      tool: 'etcd (del --prefix of 1,000) → agent converged',
      whole: median(del),
      inProcess: median(delOwn),
      note: `n=${ROUNDS}`,
    });
    addRow(w, {
      tool: `idle ${IDLE_S} s with etcd membership (agent inside the namespace)`,
      note: `CPU ${idleMs.toFixed(0)} ms (${((idleMs / (IDLE_S * 1000)) * 100).toFixed(2)} % of one core): the lease keep-alive and a linearizable read every ttl/3, the 30 s resync (which re-lists etcd)`,
    });
    addRow(w, { tool: '`bridge -batch`: 1,000 `fdb append`', whole: median(batchAdd), note: `n=${ROUNDS}` });
    addRow(w, { tool: '`bridge -batch`: 1,000 `fdb del`', whole: median(batchDel), note: `n=${ROUNDS}` });
    addTarget(w, {
      what: 'etcd → converged (1,000 adds) / `bridge -batch` (1,000 appends)',
      ratio: median(add) / median(batchAdd),
      limit: 1.5,
      sense: 'at most',
    });
    addTarget(w, {
      what: "the agent's own part (membership event → converged) / `bridge -batch` (1,000 appends)",
      ratio: median(addOwn) / median(batchAdd),
      limit: 1.5,
      sense: 'at most',
    });
    addTarget(w, {
      what: 'agent RSS with 1,000 peers / 80 MiB',
      ratio: rss.rssKiB / (80 * 1024),
      limit: 1,
      sense: 'at most',
    });
  } finally {
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
 * an 11th host's registration put (deleted) with `etcdctl`, and the time
 * until each agent's repair line is read here, and each agent's own figure
 * (membership event → flood entry written). 3-member etcd on hosts 1–3.
 */
async function joinTenAgents(): Promise<void> {
  const dist = requireDist();
  const lab = Lab.create({ hosts: AGENTS + 1, prefix: `vxb-etcdj-${process.pid}` });
  let etcd: EtcdCluster | undefined;
  const agents: AgentProcess[] = [];
  try {
    etcd = await EtcdCluster.start(lab, 3);
    const w = workload(
      'Membership from etcd: a host joining a network of 10 agents',
      `10 \`vxnet agent\`s (built CLI, each inside its lab host's namespace) on a 3-member etcd 3.4 (hosts 1–3). ${JOIN_ROUNDS} rounds: an 11th host's registration put with \`etcdctl put\` (a join, as the others see it), then deleted (a leave); each agent's time to its flood entry written.`,
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
        NODE,
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
    const measure = async (args: string[], whole: number[], own: number[]) => {
      const marks = agents.map((a) => a.entries.length);
      const started = performance.now();
      // Asynchronously: the agents' log lines are read while etcdctl runs (they may come before it exits).
      const written = new Promise<void>((resolve, reject) => {
        const child = spawn(
          'ip',
          ['netns', 'exec', lab.host(1).ns, 'etcdctl', '--endpoints', etcd!.members[0]!.clientUrl, ...args],
          { env: { ...process.env, ETCDCTL_API: '3' }, stdio: 'ignore' },
        );
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`etcdctl ${args[0]}: exit ${code}`))));
      });
      await Promise.all(
        agents.map(async (agent, i) => {
          const repair = await agent.next(
            (e) => e.event === 'repair' && (e.trigger ?? '').startsWith('membership'),
            marks[i]!,
          );
          whole.push(performance.now() - started);
          own.push(repair.ms ?? Number.NaN);
        }),
      );
      await written;
    };
    for (let round = 0; round < JOIN_ROUNDS; round++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await measure(['put', key, value], joinWhole, joinOwn);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await measure(['del', key], leaveWhole, leaveOwn);
    }
    const row = (tool: string, whole: number[], own: number[]) =>
      addRow(w, {
        tool,
        whole: median(whole),
        inProcess: median(own),
        note: `p99 ${percentile(whole, 99).toFixed(0)} ms (from etcdctl's start), ${percentile(own, 99).toFixed(0)} ms (each agent's own); n=${whole.length} (${AGENTS} agents × ${JOIN_ROUNDS})`,
      });
    row('a host joins → each of 10 agents converged', joinWhole, joinOwn);
    row('a host leaves → each of 10 agents converged', leaveWhole, leaveOwn);
    w.notes.push(
      "whole process = from `etcdctl` starting (its own process start and connection, tens of ms, included) to each agent's repair line read; in-process = each agent's own figure (membership event → flood entry written).",
    );
  } finally {
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    etcd?.destroy();
    lab.destroy();
  }
}
