/**
 * Throwaway network namespaces for integration tests. Names carry a per-run
 * prefix (vxt-<pid>-<n>) so parallel runs never collide, and every namespace
 * is deleted when the test ends, passed or failed. `ip` is a setup tool and
 * an oracle here; the library itself never runs it.
 */
import { execFileSync, spawnSync } from 'node:child_process';

let counter = 0;

/** Runs a command, returning stdout; throws with stderr on failure. */
export function sh(command: string, args: string[], options: { input?: string } = {}): string {
  const run = spawnSync(command, args, { encoding: 'utf8', input: options.input, maxBuffer: 512 * 1024 * 1024 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${run.status}): ${run.stderr.trim()}`);
  return run.stdout;
}

/** `ip -n NS ...` */
export function ipIn(ns: string, ...args: string[]): string {
  return sh('ip', ['-n', ns, ...args]);
}

/** `ip -j ...` parsed. */
export function ipJson<T = any>(ns: string, ...args: string[]): T {
  return JSON.parse(sh('ip', ['-n', ns, '-j', ...args]) || '[]');
}

/** Runs a command inside a namespace. */
export function inNs(ns: string, command: string, args: string[], options: { input?: string } = {}): string {
  return sh('ip', ['netns', 'exec', ns, command, ...args], options);
}

export function uniqueName(tag: string): string {
  return `vxt-${process.pid}-${tag}-${counter++}`;
}

export function createNamespace(tag: string): string {
  const name = uniqueName(tag);
  sh('ip', ['netns', 'add', name]);
  sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function deleteNamespace(name: string): void {
  spawnSync('ip', ['netns', 'del', name]);
}

/** Runs `body` with fresh namespaces, deleting them afterwards whatever happens. */
export async function withNamespaces<T>(tags: string[], body: (...names: string[]) => Promise<T>): Promise<T> {
  const names: string[] = [];
  try {
    for (const tag of tags) names.push(createNamespace(tag));
    return await body(...names);
  } finally {
    for (const name of names) deleteNamespace(name);
  }
}

export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/**
 * Whether integration tests can run here: root and the tools they use.
 * Under CI=true a missing piece is a failure (thrown), never a silent skip.
 */
export function integrationReady(tools: string[] = ['ip', 'nsenter']): boolean {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (CAP_NET_ADMIN)');
  for (const tool of tools) if (!commandExists(tool)) missing.push(tool);
  if (missing.length === 0) {
    try {
      execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    } catch {
      missing.push('ip netns');
    }
  }
  if (missing.length === 0) return true;
  const message = `integration tests need ${missing.join(', ')}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: this is a failure, not a skip)`);
  console.warn(`SKIPPING: ${message}`);
  return false;
}

/**
 * Resolves once no IPv6 address in `ns` is tentative: until duplicate address detection ends, the kernel itself
 * announces link changes (the interface's IPv6 state), which a test watching for vxnet's changes would take for one.
 */
export async function ipv6Settled(ns: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (sh('ip', ['-n', ns, '-6', 'addr', 'show', 'tentative']).trim() !== '') {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: no tentative address in ${ns}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
