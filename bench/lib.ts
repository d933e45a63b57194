/**
 * Benchmark helpers: throwaway namespaces (always deleted), whole-process
 * timing of commands run inside a namespace (wall clock and peak RSS,
 * interleaved so that drift on a noisy machine hits every tool alike),
 * in-process figures reported by child processes, medians, ratios, targets
 * and the Markdown tables that go into docs/benchmarks.md.
 *
 * Benchmarks run here, never inside timed tests.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { fileURLToPath } from 'node:url';

export const CACHE_DIR = fileURLToPath(new URL('./.cache/', import.meta.url));
export const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
export const ROOT_DIR = fileURLToPath(new URL('../', import.meta.url));

/** The interpreters every measured child runs with (Debian's python3 has python3-pyroute2; pyenv's may not). */
export const NODE = process.execPath;
export const PYTHON = '/usr/bin/python3';

export function cachePath(name: string): string {
  if (!existsSync(CACHE_DIR)) mkdirSync(CACHE_DIR, { recursive: true });
  return `${CACHE_DIR}${name}`;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median milliseconds of `runs` runs of `fn` (after `warmup` runs). */
export async function timeIt(runs: number, fn: () => unknown | Promise<unknown>, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}

/**
 * The environment of measured children. NODE_EXTRA_CA_CERTS is set on this
 * machine and makes every Node process parse a CA bundle at start-up (about
 * 50 ms of a 75 ms `node -e 0`); it has nothing to do with netlink, so the
 * children run without it. NODE_OPTIONS could carry tsx's loader: removed too.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}

export function sh(command: string, args: string[], input?: string): string {
  const run = spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (run.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed: ${(run.stderr ?? '').trim() || run.error?.message}`);
  return run.stdout;
}

// ------------------------------------------------------------ namespaces

const liveNamespaces = new Set<string>();

function deleteNamespace(ns: string): void {
  spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  liveNamespaces.delete(ns);
}

let cleanupInstalled = false;
/** Namespaces are deleted on any exit: normal, an exception, or Ctrl-C. */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const ns of [...liveNamespaces]) deleteNamespace(ns);
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      for (const ns of [...liveNamespaces]) deleteNamespace(ns);
      process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const)[signal]);
    });
  }
}

/** Runs `body` with a fresh namespace `vxb-<pid>-<tag>` (lo up), deleted afterwards whatever happens. */
export async function withNamespace<T>(tag: string, body: (ns: string) => Promise<T>): Promise<T> {
  installCleanup();
  const ns = `vxb-${process.pid}-${tag}`;
  sh('ip', ['netns', 'add', ns]);
  liveNamespaces.add(ns);
  try {
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return await body(ns);
  } finally {
    deleteNamespace(ns);
  }
}

/** A veth pair, both ends up: routes need a device that is up. */
export function addVeth(ns: string, name: string, peer: string): void {
  sh('ip', ['-n', ns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', peer]);
  sh('ip', ['-n', ns, 'link', 'set', name, 'up']);
  sh('ip', ['-n', ns, 'link', 'set', peer, 'up']);
}

/** `ip -batch` from text (stdin), in the namespace. */
export function ipBatch(ns: string, script: string, tool: 'ip' | 'bridge' = 'ip'): void {
  sh(tool, ['-n', ns, '-batch', '-'], script);
}

// ------------------------------------------------------------ whole-process runs

export interface Contestant {
  /** Row name in the table. */
  name: string;
  /** The command, run inside the namespace with `ip netns exec`. */
  argv: string[];
  /** Where its stdout goes: /dev/null (the tool alone) or a pipe read by this process. */
  stdout?: 'null' | 'pipe';
  /** Fed on stdin. */
  input?: string;
  /** Untimed work before each run (undoing the previous run's creations). */
  before?: () => void;
  /** Exit codes accepted (ip -force -batch exits 1 when some commands failed). Default [0]. */
  okStatus?: number[];
  /** Environment (default: childEnv()). */
  env?: NodeJS.ProcessEnv;
  /** Measured runs (default: the suite's). */
  runs?: number;
  /** Untimed warm-up runs (default 1). */
  warmup?: number;
}

export interface ProcessFigures {
  /** Median wall-clock ms. */
  wall: number;
  /** Median peak RSS (KiB), from GNU time (see rusage.py). */
  rssKiB: number;
  /** Median CPU time spent in the kernel on the process's behalf (ms), from wait4: for iproute2, mostly the netlink work itself. */
  systemMs: number;
  runs: number;
  /** stdout and stderr of the last run (pipe mode), for checks. */
  stdout: string;
  stderr: string;
}

/** Runs a command and writes its wall time, CPU times and peak RSS, from fork to wait4 (see the script). */
const RUSAGE = `${BENCH_DIR}procs/rusage.py`;

/**
 * Times whole processes started inside `ns`, round-robin (one run of each
 * contestant per round), so that slow drift of a shared machine does not
 * favour whoever ran first. Each run is `rusage.py FILE ip netns exec NS
 * argv...`, which times from fork to wait4 (its own start-up is not counted)
 * and reports peak RSS and system time. (GNU time prints system time in
 * 10 ms steps, as long as a whole `bridge -batch` run; wait4 gives
 * microseconds, though the kernel splits CPU time between user and system
 * by sampling at its tick, so one run's split is approximate: medians.)
 */
export function timeProcesses(ns: string, contestants: Contestant[], runs: number): Map<string, ProcessFigures> {
  const usageFile = cachePath(`usage-${process.pid}.json`);
  const walls = new Map<string, number[]>();
  const rss = new Map<string, number[]>();
  const system = new Map<string, number[]>();
  const last = new Map<string, SpawnSyncReturns<string>>();
  const rounds = Math.max(...contestants.map((c) => (c.runs ?? runs) + (c.warmup ?? 1)));
  for (let round = 0; round < rounds; round++) {
    for (const c of contestants) {
      const warmup = c.warmup ?? 1;
      if (round >= (c.runs ?? runs) + warmup) continue;
      c.before?.();
      const run = spawnSync(PYTHON, [RUSAGE, usageFile, 'ip', 'netns', 'exec', ns, ...c.argv], {
        input: c.input,
        encoding: 'utf8',
        env: c.env ?? childEnv(),
        stdio: [c.input === undefined ? 'ignore' : 'pipe', c.stdout === 'pipe' ? 'pipe' : 'ignore', 'pipe'],
        maxBuffer: 1 << 30,
      });
      if (!(c.okStatus ?? [0]).includes(run.status ?? -1)) {
        throw new Error(
          `${c.name}: ${c.argv.join(' ')} exited with ${run.status ?? run.signal}: ${run.stderr.trim().slice(-2000)}`,
        );
      }
      last.set(c.name, run);
      if (round < warmup) continue;
      const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as {
        wallMs: number;
        systemMs: number;
        maxRssKiB: number;
      };
      (walls.get(c.name) ?? walls.set(c.name, []).get(c.name)!).push(usage.wallMs);
      (rss.get(c.name) ?? rss.set(c.name, []).get(c.name)!).push(usage.maxRssKiB);
      (system.get(c.name) ?? system.set(c.name, []).get(c.name)!).push(usage.systemMs);
    }
  }
  rmSync(usageFile, { force: true });
  const out = new Map<string, ProcessFigures>();
  for (const c of contestants) {
    const run = last.get(c.name)!;
    out.set(c.name, {
      wall: median(walls.get(c.name) ?? []),
      rssKiB: median(rss.get(c.name) ?? []),
      systemMs: median(system.get(c.name) ?? []),
      runs: walls.get(c.name)?.length ?? 0,
      stdout: run.stdout ?? '',
      stderr: run.stderr ?? '',
    });
  }
  return out;
}

/** What a measured child prints on its last stdout line (see bench/procs/). */
export interface ChildReport {
  /** In-process mode: ms per measured iteration (socket opened → objects ready). */
  times?: number[];
  /** Single mode: ms of the work in this process. */
  ms?: number;
  /** Objects produced (routes, entries) or messages walked. */
  count?: number;
  /** Peak RSS of the child, KiB (process.resourceUsage / getrusage). */
  maxRssKiB?: number;
  /** Batches: how many succeeded, and the failures by index. */
  succeeded?: number;
  failed?: { index: number; code?: string; errno?: number; message?: string }[];
  [key: string]: unknown;
}

/** Runs a child inside the namespace and parses its report (the last stdout line, JSON). */
export function runChild(ns: string, argv: string[]): ChildReport {
  const run = spawnSync('ip', ['netns', 'exec', ns, ...argv], {
    encoding: 'utf8',
    env: childEnv(),
    maxBuffer: 1 << 30,
  });
  if (run.status !== 0)
    throw new Error(
      `${argv.join(' ')} exited with ${run.status ?? run.signal}: ${(run.stderr ?? '').trim().slice(-2000)}`,
    );
  return parseReport(run.stdout, argv);
}

export function parseReport(stdout: string, argv: string[]): ChildReport {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ChildReport;
  } catch {
    throw new Error(`${argv.join(' ')}: no report on stdout (got ${JSON.stringify(line.slice(0, 200))})`);
  }
}

export interface InProcessSpec {
  name: string;
  /** The child's argv for `repeat` measured iterations after `warmup`. */
  argv: (repeat: number, warmup: number) => string[];
  repeat: number;
  warmup: number;
  /** Child processes (default: the call's `rounds`). */
  rounds?: number;
}

export interface InProcessFigures {
  /** Median ms over every measured iteration of every round. */
  median: number;
  times: number[];
  /** The last child's report. */
  report: ChildReport;
}

/**
 * In-process figures: each child opens its own socket per iteration and
 * reports ms from "socket opened" to "objects ready", after warm-up
 * iterations. Children run round-robin (`rounds` processes each), so a noisy
 * neighbour slows everyone alike; the median is over all measured iterations.
 */
export function inProcess(ns: string, specs: InProcessSpec[], rounds: number): Map<string, InProcessFigures> {
  const times = new Map<string, number[]>();
  const reports = new Map<string, ChildReport>();
  const most = Math.max(...specs.map((s) => s.rounds ?? rounds));
  for (let round = 0; round < most; round++) {
    for (const spec of specs) {
      if (round >= (spec.rounds ?? rounds)) continue;
      const report = runChild(ns, spec.argv(spec.repeat, spec.warmup));
      if (!report.times) throw new Error(`${spec.name}: the child reported no times`);
      (times.get(spec.name) ?? times.set(spec.name, []).get(spec.name)!).push(...report.times);
      reports.set(spec.name, report);
    }
  }
  const out = new Map<string, InProcessFigures>();
  for (const spec of specs)
    out.set(spec.name, {
      median: median(times.get(spec.name)!),
      times: times.get(spec.name)!,
      report: reports.get(spec.name)!,
    });
  return out;
}

let distSnapshot: string | undefined;

/**
 * The measured vxnet children run the built package (`npm run build`), not
 * tsx. dist/ is copied once per run to bench/.cache/dist, so that a rebuild
 * in the tree during a run (tsup empties dist/ first) cannot break or change
 * the code being measured. The children find it through VXNET_DIST.
 */
export function requireDist(): string {
  if (distSnapshot) return distSnapshot;
  // VXNET_BENCH_DIST: measure another build (e.g. an older commit's dist/) with the same harness.
  const source = process.env.VXNET_BENCH_DIST ?? `${ROOT_DIR}dist`;
  if (!existsSync(`${source}/rtnetlink/index.cjs`) || !existsSync(`${source}/rtnetlink/index.js`)) {
    throw new Error(
      `${source} is missing: run \`npm run build\` first (the benchmarks run the built package, not tsx)`,
    );
  }
  const snapshot = cachePath('dist');
  rmSync(snapshot, { recursive: true, force: true });
  cpSync(source, snapshot, { recursive: true });
  distSnapshot = snapshot;
  process.env.VXNET_DIST = snapshot;
  return snapshot;
}

export const procs = {
  vxnetCjs: (workload: string, options: object = {}) => [
    NODE,
    `${BENCH_DIR}procs/vxnet.cjs`,
    workload,
    JSON.stringify(options),
  ],
  vxnetEsm: (workload: string, options: object = {}) => [
    NODE,
    `${BENCH_DIR}procs/vxnet.mjs`,
    workload,
    JSON.stringify(options),
  ],
  nodeNetlink: (workload: string, options: object = {}) => [
    NODE,
    `${BENCH_DIR}procs/node-netlink.cjs`,
    workload,
    JSON.stringify(options),
  ],
  walk: (workload: string, options: object = {}) => [
    NODE,
    `${BENCH_DIR}procs/header-walk.cjs`,
    workload,
    JSON.stringify(options),
  ],
  pyroute2: (workload: string, options: object = {}) => [
    PYTHON,
    `${BENCH_DIR}procs/pyroute2-workloads.py`,
    workload,
    JSON.stringify(options),
  ],
};

// ------------------------------------------------------------ results

export interface ToolRow {
  tool: string;
  /** Whole process, median ms. */
  whole?: number;
  /** In-process, median ms. */
  inProcess?: number;
  /** Peak RSS, KiB. */
  rssKiB?: number;
  note?: string;
}

export interface Target {
  /** "vxnet in-process / bare header walk". */
  what: string;
  ratio: number;
  /** The bound: ratio <= limit ('at most') or ratio >= limit ('at least'). */
  limit: number;
  sense: 'at most' | 'at least';
  note?: string;
  /**
   * The best this ratio can be for any Node.js program, measured in the same
   * run by a program that does strictly less than the job (see each suite):
   * when the floor itself is past the bound, no library can meet it here.
   */
  floor?: { ratio: number; how: string };
}

export interface Workload {
  title: string;
  setup: string;
  rows: ToolRow[];
  targets: Target[];
  notes: string[];
  commands: string[];
}

export const workloads: Workload[] = [];

export function workload(title: string, setup: string): Workload {
  const w: Workload = { title, setup, rows: [], targets: [], notes: [], commands: [] };
  workloads.push(w);
  console.log(`\n## ${title}\n${setup}`);
  return w;
}

export function addRow(w: Workload, row: ToolRow): void {
  w.rows.push(row);
  const f = (v?: number) => (v === undefined || Number.isNaN(v) ? '—' : `${v.toFixed(1)} ms`);
  console.log(
    `  ${row.tool.padEnd(44)} whole ${f(row.whole).padStart(11)}   in-process ${f(row.inProcess).padStart(11)}${row.rssKiB ? `   peak RSS ${mib(row.rssKiB)}` : ''}${row.note ? `   ${row.note}` : ''}`,
  );
}

export function addTarget(w: Workload, target: Target): Target {
  w.targets.push(target);
  const floor = target.floor
    ? `; floor ${target.floor.ratio.toFixed(2)}× (${target.floor.how})${reachable(target) ? '' : ', out of reach'}`
    : '';
  console.log(
    `  target: ${target.what} = ${target.ratio.toFixed(2)}× (${target.sense} ${target.limit}×) ${met(target) ? 'met' : 'MISSED'}${floor}${target.note ? ` — ${target.note}` : ''}`,
  );
  return target;
}

function within(t: Target, ratio: number): boolean {
  return t.sense === 'at most' ? ratio <= t.limit : ratio >= t.limit;
}

/**
 * The floor of a whole-process target against an iproute2 run: any Node.js
 * program starts (`node -e 0`) and then needs at least the kernel time that
 * iproute2 needed for the same entries: its system time (wait4), less the
 * system time of the same tool given an empty batch (its own exec and
 * start-up, which `node -e 0` already stands for on Node's side).
 */
export function startupFloor(
  node: ProcessFigures,
  tool: ProcessFigures,
  empty: ProcessFigures,
  command: string,
): { ratio: number; how: string } {
  const kernel = Math.max(0, tool.systemMs - empty.systemMs);
  return {
    ratio: (node.wall + kernel) / tool.wall,
    how: `\`node -e 0\` (${ms(node.wall)}) + the kernel's share of \`${command}\` (${ms(kernel)} of system time)`,
  };
}

export function met(t: Target): boolean {
  return within(t, t.ratio);
}

/** False when the target's floor, measured in this run, is already past its bound. */
export function reachable(t: Target): boolean {
  return t.floor === undefined || within(t, t.floor.ratio);
}

function verdict(t: Target): string {
  if (met(t)) return 'met';
  return reachable(t) ? '**missed**' : '**missed**: out of reach, the floor is past the bound';
}

export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(0)} MiB`;
}

export function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

function cell(v?: number): string {
  if (v === undefined || Number.isNaN(v)) return '—';
  return v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 2 : 1)} ms`;
}

export function markdown(): string {
  const out: string[] = [];
  for (const w of workloads) {
    out.push(`### ${w.title}`, '', w.setup, '');
    out.push('| tool | whole process | in-process | peak RSS (whole process) | note |', '|---|---:|---:|---:|---|');
    for (const r of w.rows)
      out.push(
        `| ${r.tool} | ${cell(r.whole)} | ${cell(r.inProcess)} | ${r.rssKiB ? mib(r.rssKiB) : '—'} | ${r.note ?? ''} |`,
      );
    if (w.targets.length) {
      out.push('', '| target | measured | bound | floor (this run) | |', '|---|---:|---:|---|---|');
      for (const t of w.targets) {
        const floor = t.floor ? `${t.floor.ratio.toFixed(2)}×: ${t.floor.how}` : '—';
        out.push(
          `| ${t.what}${t.note ? ` (${t.note})` : ''} | ${t.ratio.toFixed(2)}× | ${t.sense === 'at most' ? '≤' : '≥'} ${t.limit}× | ${floor} | ${verdict(t)} |`,
        );
      }
    }
    for (const n of w.notes) out.push('', n);
    out.push('');
  }
  return out.join('\n');
}

export function machine(): string {
  const pyroute2 =
    spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'python3-pyroute2'], { encoding: 'utf8' }).stdout ||
    'not installed';
  const ip = spawnSync('ip', ['-V'], { encoding: 'utf8' }).stdout.trim();
  const rmem = (() => {
    try {
      return readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim();
    } catch {
      return '?';
    }
  })();
  return [
    `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node.js ${process.version}, ${ip},`,
    `python3-pyroute2 ${pyroute2} (${PYTHON}), netlink (node-netlink) ${nodeNetlinkVersion()}, net.core.rmem_max=${rmem}`,
  ].join(' ');
}

function nodeNetlinkVersion(): string {
  try {
    return JSON.parse(readFileSync(`${ROOT_DIR}node_modules/netlink/package.json`, 'utf8')).version;
  } catch {
    return '?';
  }
}

export function writeResults(): string {
  const text = `Machine: ${machine()}\n\n${markdown()}`;
  writeFileSync(cachePath('last-run.md'), text);
  return text;
}
