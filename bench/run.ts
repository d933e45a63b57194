/**
 * Runs the benchmarks side by side and prints a table (also written to
 * bench/.cache/last-run.md for docs/benchmarks.md).
 * Usage: npm run bench [-- suite ...]   (root; see docs/benchmarks.md)
 */
import { writeFileSync } from 'node:fs';
import { cachePath, markdownTable } from './lib.js';

const suites: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  'decode-routes': () => import('./suites/decode-routes.js'),
};

const wanted = process.argv.slice(2);
for (const [name, load] of Object.entries(suites)) {
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`\n# ${name}`);
  await (await load()).run();
}
const table = markdownTable();
writeFileSync(cachePath('last-run.md'), `${table}\n`);
console.log(`\n${table}`);
