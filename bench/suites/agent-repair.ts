/**
 * The agent (`vxnet agent`, built CLI) keeping a unicast overlay with a
 * firewall and masquerade: how long from a breakage to the repair, how much
 * memory, how much CPU while nothing happens.
 *
 *   - Repair latency. Five breakages in turn (`ip link del vx0`, `ip link
 *     set vx0 nomaster`, `bridge fdb del` of a flood entry, `nft delete
 *     table`, `nft flush ruleset`), ROUNDS rounds, for the agent started
 *     inside the namespace (`ip netns exec`: sockets in its own process, as
 *     on a real host) and with `--namespace` (its requests and locks go
 *     through relay processes). Two figures per repair: the agent's own
 *     (event received → last change done, the `ms` of its `repair` log
 *     entry) and the outside view (the breaking command has returned → the
 *     agent's `repair` line has been read here).
 *   - The same breakages repaired without an agent, by a one-shot `vxnet
 *     apply` run after each (what a cron job would pay): the floor of "no
 *     daemon", whole process.
 *   - RSS of the agent and of its relay children; CPU time used by all of
 *     them over IDLE_S seconds of nothing happening (the 30 s resync timer
 *     runs twice in 60 s).
 *
 * Target (issue 14): repair p99 <= 200 ms.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { addRow, addTarget, cachePath, mib, requireDist, sh, withNamespace, workload } from '../lib.js';
import { AgentProcess } from '../agent-process.js';

const ROUNDS = Number(process.env.VXNET_BENCH_AGENT_ROUNDS ?? 20);
const IDLE_S = Number(process.env.VXNET_BENCH_AGENT_IDLE ?? 60);
const ONESHOT_RUNS = 3;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function breakages(ns: string): { name: string; run: () => void }[] {
  return [
    { name: 'link del', run: () => sh('ip', ['-n', ns, 'link', 'del', 'vx0']) },
    { name: 'nomaster', run: () => sh('ip', ['-n', ns, 'link', 'set', 'vx0', 'nomaster']) },
    {
      name: 'fdb del',
      run: () => sh('bridge', ['-n', ns, 'fdb', 'del', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '192.168.100.2']),
    },
    {
      name: 'nft delete table',
      run: () => sh('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'ip', 'vxnet-bench']),
    },
    { name: 'nft flush ruleset', run: () => sh('ip', ['netns', 'exec', ns, 'nft', 'flush', 'ruleset']) },
  ];
}

/**
 * Kilobytes of resident memory (all, and anonymous: the part that is the
 * process's own; the rest is mostly the node binary's pages, shared by every
 * node process), and CPU clock ticks (user + system), of a process.
 */
function usage(pid: number): { rssKiB: number; anonKiB: number; ticks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  const anonKiB = Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssKiB, anonKiB, ticks: Number(fields[11]) + Number(fields[12]) };
}

function children(pid: number): number[] {
  return spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((p) => Number(p.trim()))
    .filter(Boolean);
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

async function measureRepairs(
  agent: AgentProcess,
  ns: string,
): Promise<{ agentMs: number[]; outsideMs: number[]; perKind: Map<string, number[]> }> {
  const agentMs: number[] = [];
  const outsideMs: number[] = [];
  const perKind = new Map<string, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const breakage of breakages(ns)) {
      // Quiet first: the pass that follows the previous repair (its own events) is over.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const from = agent.entries.length;
      breakage.run();
      const broken = performance.now();
      const repair = await agent.next((e) => e.event === 'repair' || e.level === 'error', from);
      if (repair.event !== 'repair') throw new Error(`${breakage.name}: ${repair.message}`);
      outsideMs.push(performance.now() - broken);
      agentMs.push(repair.ms!);
      perKind.set(breakage.name, [...(perKind.get(breakage.name) ?? []), repair.ms!]);
    }
  }
  return { agentMs, outsideMs, perKind };
}

export async function run(): Promise<void> {
  const dist = requireDist();
  await withNamespace('agent', async (ns) => {
    // The host: eth0 (a veth whose peer stays in the namespace) as the underlay, two peers that need not exist.
    sh('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    sh('ip', ['-n', ns, 'addr', 'add', '192.168.100.1/24', 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0p', 'up']);
    const spec = cachePath('agent-spec.json');
    writeFileSync(
      spec,
      JSON.stringify({
        name: 'bench',
        vni: 42,
        underlay: { device: 'eth0', address: '192.168.100.1' },
        peers: ['192.168.100.2', '192.168.100.3'],
        subnet: '10.10.0.0/24',
        gateway: '10.10.0.1',
        vxlan: 'vx0',
        bridge: 'br0',
        firewall: true,
        masquerade: true,
      }),
    );
    // The bin itself, as a user runs it: its shebang's node settings apply (src/cli/main.ts).
    const cli = `${dist}/cli.js`;
    const w = workload(
      'Agent: drift repair, memory, idle CPU',
      `\`vxnet agent\` (built CLI) keeping a unicast overlay (VXLAN device with 2 peers, bridge with the gateway, nf_tables table with masquerade and the VXLAN port open to the peers). ${ROUNDS} rounds of 5 breakages: \`ip link del vx0\`, \`ip link set vx0 nomaster\`, \`bridge fdb del\` of a flood entry, \`nft delete table ip vxnet-bench\`, \`nft flush ruleset\`, 300 ms apart.`,
    );
    const results: {
      mode: string;
      agentMs: number[];
      outsideMs: number[];
      perKind: Map<string, number[]>;
      rssKiB: number;
      anonKiB: number;
      relays: { rssKiB: number; anonKiB: number }[];
    }[] = [];
    for (const mode of ['inside', 'option'] as const) {
      const argv =
        mode === 'inside'
          ? ['ip', 'netns', 'exec', ns, cli, 'agent', spec, '--log-format', 'json']
          : [cli, 'agent', spec, '--namespace', ns, '--log-format', 'json'];
      const agent = new AgentProcess(argv);
      try {
        await agent.next((e) => e.event === 'started', 0, 30_000);
        const measured = await measureRepairs(agent, ns);
        // The relays that live as long as the agent (subscriptions; with --namespace its connections too), not a lock's passing one.
        const relays = children(agent.pid).filter(
          (pid) => commandOf(pid).includes('relayMain') && !/raw\.js\s2\s/.test(commandOf(pid)),
        );
        const own = usage(agent.pid);
        results.push({
          mode,
          ...measured,
          rssKiB: own.rssKiB,
          anonKiB: own.anonKiB,
          relays: relays.map((pid) => usage(pid)),
        });
        if (mode === 'inside') {
          // Idle: nothing happens but the resync timer.
          const all = [agent.pid, ...relays];
          const before = all.map((pid) => usage(pid).ticks);
          const from = agent.entries.length;
          await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
          const used = all.map((pid, i) => (usage(pid).ticks - before[i]!) * TICK_MS);
          const logged = agent.entries.length - from;
          const agentOnly = used[0]!;
          const total = used.reduce((a, b) => a + b, 0);
          addRow(w, {
            tool: `idle ${IDLE_S} s (agent inside the namespace)`,
            note: `CPU ${agentOnly.toFixed(0)} ms in the agent, ${total.toFixed(0)} ms with its ${relays.length} relays (${((total / (IDLE_S * 1000)) * 100).toFixed(2)} % of one core); ${logged} log line(s); no timer faster than the 30 s resync (two resyncs in the window)`,
          });
        }
      } finally {
        await agent.stop();
      }
    }
    // Without an agent: `vxnet apply` after each breakage, whole process.
    const oneshot: number[] = [];
    for (let i = 0; i < ONESHOT_RUNS; i++) {
      for (const breakage of breakages(ns)) {
        breakage.run();
        const started = performance.now();
        const run = spawnSync('ip', ['netns', 'exec', ns, cli, 'apply', spec], { encoding: 'utf8' });
        if (run.status !== 0) throw new Error(`vxnet apply: ${run.stderr}`);
        oneshot.push(performance.now() - started);
      }
    }
    sh('ip', ['netns', 'exec', ns, cli, 'destroy', 'bench']);
    const median = (values: number[]) => percentile(values, 50);
    for (const r of results) {
      const kinds = [...r.perKind].map(([kind, values]) => `${kind} ${median(values).toFixed(0)}`).join(', ');
      addRow(w, {
        tool:
          r.mode === 'inside'
            ? 'vxnet agent inside the namespace (`ip netns exec`): event → repaired'
            : 'vxnet agent `--namespace` (relays): event → repaired',
        whole: median(r.outsideMs),
        inProcess: median(r.agentMs),
        rssKiB: r.rssKiB,
        note: `p99 ${percentile(r.agentMs, 99).toFixed(0)} ms (agent's own), ${percentile(r.outsideMs, 99).toFixed(0)} ms (outside); n=${r.agentMs.length}; p50 by breakage (ms): ${kinds}. RSS: agent ${mib(r.rssKiB)} (${mib(r.anonKiB)} of it its own, anonymous; the rest the node binary's shared pages) + ${r.relays.length} relay process(es) ${r.relays.map((x) => mib(x.rssKiB)).join(' + ')} (anonymous ${r.relays.map((x) => mib(x.anonKiB)).join(' + ')})`,
      });
    }
    addRow(w, {
      tool: 'no agent: one-shot `vxnet apply` after the breakage',
      whole: median(oneshot),
      note: `n=${oneshot.length}; the whole process (start-up, plan, repair); p99 ${percentile(oneshot, 99).toFixed(0)} ms`,
    });
    for (const r of results) {
      addTarget(w, {
        what: `repair p99 ${r.mode === 'inside' ? 'inside the namespace' : 'with --namespace'} (agent's own) / 200 ms`,
        ratio: percentile(r.agentMs, 99) / 200,
        limit: 1,
        sense: 'at most',
      });
    }
    const inside = results.find((r) => r.mode === 'inside')!;
    w.notes.push(
      "whole process = the outside view (the breaking command returned → the agent's `repair` line read by the bench), in-process = the agent's own figure (event received → last change done); both medians. " +
        `Against the one-shot apply: the agent inside the namespace repairs ${(median(oneshot) / median(inside.outsideMs)).toFixed(0)}× sooner (outside view, medians), and without anyone running anything.`,
    );
  });
}
