/**
 * The CNI plugin as a runtime meets it: src/cni/main.ts and its executable
 * src/cni/bin.ts bundled the way tsup builds dist/cni-plugin.cjs and
 * dist/cni.cjs, with the code cache the build writes, in a plugin
 * directory under the name "vxnet" (a one-line wrapper, as docs/containers.md
 * installs it), and run with CNI_* in the environment and the config on stdin.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

export interface PluginDir {
  /** The directory holding `vxnet` (put it first in CNI_PATH / cni_plugin_dirs). */
  dir: string;
  /** The bundled plugin (node runs it). */
  script: string;
  remove(): void;
}

/**
 * Bundles the plugin into a directory inside the repository (so node_modules resolves) as the build lays
 * it out in dist/ (cni.cjs, the executable, runs cni-plugin.cjs from its V8 code cache, written by
 * scripts/cni-code-cache.mjs), and writes the `vxnet` wrapper.
 */
export function buildPluginDir(): PluginDir {
  const dir = join(process.cwd(), 'scratch', `cni-plugin-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const script = join(dir, 'cni.cjs');
  // As tsup.config.ts builds dist/: CommonJS, the pure-JS dependencies inside, import.meta.url shimmed.
  for (const [entry, outfile] of [
    ['src/cni/main.ts', 'cni-plugin.cjs'],
    ['src/cni/bin.ts', 'cni.cjs'],
  ] as const) {
    buildSync({
      entryPoints: [join(process.cwd(), entry)],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['netlink'],
      outfile: join(dir, outfile),
      logLevel: 'error',
      define: { 'import.meta.url': 'importMetaUrl' },
      banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    });
  }
  const cache = spawnSync(process.execPath, [join(process.cwd(), 'scripts/cni-code-cache.mjs'), dir], {
    encoding: 'utf8',
  });
  if (cache.status !== 0) throw new Error(`scripts/cni-code-cache.mjs failed: ${cache.stderr}`);
  writeFileSync(join(dir, 'vxnet'), `#!/bin/sh\nexec ${process.execPath} ${script} "$@"\n`, { mode: 0o755 });
  return { dir, script, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface PluginRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed (undefined when empty). */
  json?: any;
  ms: number;
}

/**
 * Runs the plugin in the host namespace `hostNs` (ip netns exec, as a runtime
 * there would), with exactly `env` (plus PATH) and `stdin`.
 */
export function runPlugin(
  plugin: PluginDir,
  hostNs: string | undefined,
  env: Record<string, string | undefined>,
  stdin: string,
): PluginRun {
  const clean: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) clean[key] = value;
  const [command, args] = hostNs
    ? ['ip', ['netns', 'exec', hostNs, join(plugin.dir, 'vxnet')]]
    : [join(plugin.dir, 'vxnet'), []];
  const started = Date.now();
  const run = spawnSync(command as string, args as string[], { input: stdin, env: clean, encoding: 'utf8' });
  const ms = Date.now() - started;
  let json: unknown;
  try {
    json = run.stdout.trim() ? JSON.parse(run.stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { code: run.status, stdout: run.stdout, stderr: run.stderr, json, ms };
}
