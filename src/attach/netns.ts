/**
 * The container's network namespace: given by name (/run/netns/NAME), by
 * path (/proc/PID/ns/net, /var/run/netns/NAME, a bind mount a runtime made)
 * or by pid; known by its identity (nsfs device and inode), which is the
 * same however it is reached.
 */
import { readdirSync, statSync } from 'node:fs';
import { type NamespaceIdentity, namespaceRef, type NamespaceRef, NETNS_RUN_DIR } from '../netlink/namespace.js';
import { NetnsNotFoundError } from './errors.js';

export interface ContainerNamespace extends NamespaceRef {
  /** As the caller gave it. */
  given: string | number;
  identity: NamespaceIdentity;
  /** How messages name it: "ctr1", "pid 4242", or the path. */
  label: string;
  /**
   * What the container is called when nothing better is given (the default
   * MAC derives from it): "netns:NAME", "pid:PID" or "path:PATH". A name
   * survives a restart of the container, a pid does not.
   */
  key: string;
}

let nsfsDevice: number | undefined;
/** The device of the nsfs filesystem: every namespace file is on it. */
function nsfs(): number {
  nsfsDevice ??= statSync('/proc/self/ns/net').dev;
  return nsfsDevice;
}

/** Resolves and checks the container's namespace; NetnsNotFoundError when there is none. */
export function containerNamespace(given: string | number, field = 'netns'): ContainerNamespace {
  const ref = namespaceRef(given, field);
  const label = ref.name ?? (ref.pid !== undefined ? `pid ${ref.pid}` : ref.path);
  let stat: { dev: number; ino: number };
  try {
    stat = statSync(ref.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code !== 'ENOENT'
        ? `cannot read ${ref.path}: ${code ?? (error as Error).message}`
        : ref.pid !== undefined
          ? `no process ${ref.pid} (${ref.path} does not exist)`
          : ref.name !== undefined
            ? `no network namespace ${ref.name} (${ref.path} does not exist; ip netns list shows the names)`
            : `no network namespace at ${ref.path} (it does not exist)`;
    throw new NetnsNotFoundError(given, ref.path, why);
  }
  if (stat.dev !== nsfs()) {
    throw new NetnsNotFoundError(
      given,
      ref.path,
      `${ref.path} is not a namespace file (a network namespace is a file of nsfs: /proc/PID/ns/net, or its bind ` +
        'mount under /run/netns)',
    );
  }
  const identity = { dev: stat.dev, ino: stat.ino, id: `ns-${stat.dev}-${stat.ino}` };
  const key =
    ref.name !== undefined ? `netns:${ref.name}` : ref.pid !== undefined ? `pid:${ref.pid}` : `path:${ref.path}`;
  return { ...ref, given, identity, label, key };
}

/**
 * Paths that reach namespaces now, by identity: the names under /run/netns
 * first, then /proc/PID/ns/net of the lowest pid in each other namespace.
 * Built only for `wanted` identities (a listing of attachments).
 */
export function namespacePaths(wanted: ReadonlySet<string>): Map<string, string> {
  const found = new Map<string, string>();
  const consider = (path: string): void => {
    try {
      const stat = statSync(path);
      const id = `ns-${stat.dev}-${stat.ino}`;
      if (wanted.has(id) && !found.has(id)) found.set(id, path);
    } catch {
      // Gone meanwhile, or not readable: not a way in.
    }
  };
  if (wanted.size === 0) return found;
  for (const name of safeList(NETNS_RUN_DIR).sort()) consider(`${NETNS_RUN_DIR}/${name}`);
  if (found.size < wanted.size) {
    const pids = safeList('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number)
      .sort((a, b) => a - b);
    for (const pid of pids) {
      consider(`/proc/${pid}/ns/net`);
      if (found.size === wanted.size) break;
    }
  }
  return found;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
