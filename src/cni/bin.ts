#!/usr/bin/env node
/**
 * vxnet-cni's executable (package.json "bin"): runs the plugin's bundle
 * beside it (cni-plugin.cjs, src/cni/main.ts) from V8's code cache for it
 * (cni-plugin.cjs.cache). A runtime starts the plugin once per container
 * command, and compiling the bundle was a fair part of each start; with the
 * cache V8 deserialises what an earlier run compiled instead. A cache that
 * does not fit this Node.js (another V8 version or flags) is rejected by V8
 * and the bundle compiled as without one: same behaviour, only slower.
 *
 * The build writes the cache (scripts/cni-code-cache.mjs): it runs
 * `cni.cjs --write-code-cache` as a VERSION command, so that the cache also
 * holds the functions the plugin's modules compile while they load.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const plugin = join(__dirname, 'cni-plugin.cjs');
const cachePath = `${plugin}.cache`;
const writeCache = process.argv[2] === '--write-code-cache';

let cachedData: Buffer | undefined;
if (!writeCache) {
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    // No cache (a build that did not write one): compiled as usual.
  }
}
const script = new Script(wrap(readFileSync(plugin, 'utf8')), {
  filename: plugin,
  ...(cachedData ? { cachedData } : {}),
});
if (writeCache) process.once('exit', () => writeFileSync(cachePath, script.createCachedData()));
const module = { exports: {}, id: plugin, filename: plugin, loaded: false };
(script.runInThisContext() as (...args: unknown[]) => void).call(
  module.exports,
  module.exports,
  createRequire(plugin),
  module,
  plugin,
  dirname(plugin),
);
