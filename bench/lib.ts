/**
 * Benchmark helpers: medians over repeated runs, whole-process timing of
 * commands, throwaway namespaces, and a result table. Benchmarks run here,
 * never inside timed tests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CACHE_DIR = fileURLToPath(new URL('./.cache/', import.meta.url));

export function cachePath(name: string): string {
  if (!existsSync(CACHE_DIR)) mkdirSync(CACHE_DIR, { recursive: true });
  return `${CACHE_DIR}${name}`;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median milliseconds of `runs` runs of `fn` (after one warm-up run). */
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

/** Median wall-clock milliseconds of a whole command, output discarded. */
export function timeCommand(runs: number, command: string, args: string[], input?: string): number {
  const times: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const start = performance.now();
    const run = spawnSync(command, args, { input, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'], maxBuffer: 1 << 30 });
    const elapsed = performance.now() - start;
    if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${run.stderr?.toString().trim()}`);
    if (i > 0) times.push(elapsed); // the first run warms caches
  }
  return median(times);
}

export function sh(command: string, args: string[], input?: string): string {
  const run = spawnSync(command, args, { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${run.stderr.trim()}`);
  return run.stdout;
}

export async function withNamespace<T>(tag: string, body: (ns: string) => Promise<T>): Promise<T> {
  const ns = `vxb-${process.pid}-${tag}`;
  sh('ip', ['netns', 'add', ns]);
  try {
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return await body(ns);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

export interface Row {
  suite: string;
  measure: string;
  value: string;
  note?: string;
}

export const rows: Row[] = [];

export function report(suite: string, measure: string, value: string, note?: string): void {
  rows.push({ suite, measure, value, note });
  console.log(`  ${measure.padEnd(56)} ${value.padStart(14)}${note ? `   ${note}` : ''}`);
}

export function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

export function ratio(ours: number, theirs: number): string {
  return `${(ours / theirs).toFixed(2)}×`;
}

export function markdownTable(): string {
  const lines = ['| suite | measure | value | note |', '|---|---|---:|---|'];
  for (const row of rows) lines.push(`| ${row.suite} | ${row.measure} | ${row.value} | ${row.note ?? ''} |`);
  return lines.join('\n');
}
