#!/usr/bin/env node
// Runs the uvu suites of the given tiers (unit, integration) and ends with the
// plain closing line CI reads: "N passed, N failed" (", N skipped" when any).
// Each tier runs in its own process so an integration failure cannot hide unit results.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tiers = process.argv.slice(2);
if (tiers.length === 0) tiers.push('unit', 'integration');
const uvu = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));

let passed = 0;
let failed = 0;
let skipped = 0;
let broken = false;
for (const tier of tiers) {
  const dir = `test/${tier}`;
  if (!existsSync(`${root}/${dir}`)) {
    console.error(`no such test tier: ${dir}`);
    broken = true;
    continue;
  }
  console.log(`\n=== ${tier} tests ===`);
  const run = spawnSync(process.execPath, [uvu, '-r', 'tsx', dir, '.test.ts$'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 256 * 1024 * 1024,
  });
  process.stdout.write(run.stdout ?? '');
  const text = (run.stdout ?? '').replace(/\x1b\[[0-9;]*m/g, '');
  const count = (label) => Number(text.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
  const total = count('Total');
  passed += count('Passed');
  skipped += count('Skipped');
  failed += total - count('Passed') - count('Skipped');
  if (run.status !== 0 && total === count('Passed') + count('Skipped')) {
    // The suite died outside a test (import error, crash): count it as a failure.
    console.error(`${tier} suite exited with ${run.status ?? run.signal}`);
    failed += 1;
  }
  if (run.status !== 0) broken = true;
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(broken || failed > 0 ? 1 : 0);
