/**
 * Runs the benchmarks side by side and prints a Markdown table per workload
 * (also written to bench/.cache/last-run.md, for docs/benchmarks.md).
 *
 *   npm run build && npm run bench                  every suite (root; ~10 minutes)
 *   npm run bench -- dump-routes create-fdb          some suites, by name
 *   npm run bench -- --list                          the suite names
 *
 * See docs/benchmarks.md for what each figure means.
 */
import { machine, writeResults } from './lib.js';

const suites: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  'decode-routes': () => import('./suites/decode-routes.js'),
  'dump-routes': () => import('./suites/dump-routes.js'),
  'dump-routes-1m': () => import('./suites/dump-routes-1m.js'),
  'dump-fdb': () => import('./suites/dump-fdb.js'),
  'create-routes': () => import('./suites/create-routes.js'),
  'create-fdb': () => import('./suites/create-fdb.js'),
  'converge-peers': () => import('./suites/converge-peers.js'),
  'converge-routes': () => import('./suites/converge-routes.js'),
  cni: () => import('./suites/cni.js'),
  'agent-repair': () => import('./suites/agent-repair.js'),
  'join-latency': () => import('./suites/join-latency.js'),
  'agent-etcd': () => import('./suites/agent-etcd.js'),
};

const wanted = process.argv.slice(2);
if (wanted.includes('--list')) {
  console.log(Object.keys(suites).join('\n'));
  process.exit(0);
}
const unknown = wanted.filter((name) => !(name in suites));
if (unknown.length) {
  console.error(`unknown suite(s): ${unknown.join(', ')}; known: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('the benchmarks need root (network namespaces)');
  process.exit(2);
}

console.log(`Machine: ${machine()}`);
const started = performance.now();
for (const [name, load] of Object.entries(suites)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const suiteStart = performance.now();
  console.log(`\n# ${name}`);
  await (await load()).run();
  console.log(`  (${name}: ${((performance.now() - suiteStart) / 1000).toFixed(1)} s)`);
}
const text = writeResults();
console.log(
  `\n${text}\n(total ${((performance.now() - started) / 1000).toFixed(0)} s; written to bench/.cache/last-run.md)`,
);
