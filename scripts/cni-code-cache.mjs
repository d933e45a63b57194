#!/usr/bin/env node
/**
 * Writes dist/cni-plugin.cjs.cache, V8's code cache of the CNI plugin's
 * bundle (see src/cni/bin.ts): runs the built plugin once as a runtime
 * would run VERSION, with --write-code-cache. Part of `npm run build`; the
 * test helper (test/helpers/cni.ts) runs it on its own bundle too.
 *
 *   node scripts/cni-code-cache.mjs [DIR]     (default dist)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const dir = resolve(process.argv[2] ?? 'dist');
const cache = join(dir, 'cni-plugin.cjs.cache');
rmSync(cache, { force: true });
const run = spawnSync(process.execPath, [join(dir, 'cni.cjs'), '--write-code-cache'], {
  input: '{"cniVersion":"1.1.0"}',
  env: { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' },
  encoding: 'utf8',
});
if (run.status !== 0 || !existsSync(cache)) {
  console.error(
    `cni-code-cache: ${join(dir, 'cni.cjs')} --write-code-cache failed (${run.status}): ${run.stdout}${run.stderr}`,
  );
  process.exit(1);
}
