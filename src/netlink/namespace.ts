/**
 * Named network namespaces, as iproute2 lays them out: a bind mount at
 * /run/netns/NAME. vxnet never creates them (that is the operator's or the
 * test lab's job); it runs connections inside them and moves links into them.
 */
import { statSync } from 'node:fs';
import { ValidationError } from './errors.js';

export const NETNS_RUN_DIR = '/run/netns';

/** Checks a namespace name as `ip netns` would accept it. */
export function validateNamespaceName(name: string, field = 'namespace'): void {
  if (typeof name !== 'string' || name.length === 0)
    throw new ValidationError(field, 'a namespace name is a non-empty string', name);
  if (name.length > 255 || name === '.' || name === '..' || /[/\0\s]/.test(name)) {
    throw new ValidationError(field, 'a namespace name has no "/", whitespace or NUL and is not "." or ".."', name);
  }
}

/** The file of a namespace: a name under /run/netns, or an absolute path (/proc/PID/ns/net). */
export function namespacePath(nameOrPath: string): string {
  if (typeof nameOrPath === 'string' && nameOrPath.startsWith('/')) return nameOrPath;
  validateNamespaceName(nameOrPath);
  return `${NETNS_RUN_DIR}/${nameOrPath}`;
}

/**
 * A network namespace's identity: the device and inode of its nsfs file, as
 * `ip netns identify` compares them. The same namespace has the same
 * identity however a process reaches it (started inside with `ip netns
 * exec`, or working in it by name), so per-namespace state is keyed by it.
 */
export interface NamespaceIdentity {
  dev: number;
  ino: number;
  /** "ns-<dev>-<ino>": a file name. */
  id: string;
}

/** The identity of a named namespace, of a namespace file, or (no argument) of this process's. */
export function namespaceIdentity(nameOrPath?: string): NamespaceIdentity {
  const path = nameOrPath === undefined ? '/proc/self/ns/net' : namespacePath(nameOrPath);
  let stat: { dev: number; ino: number };
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ValidationError(
      'namespace',
      code === 'ENOENT'
        ? `no network namespace ${nameOrPath} (${path} does not exist)`
        : `cannot read ${path}: ${code ?? (error as Error).message}`,
      nameOrPath,
    );
  }
  return { dev: stat.dev, ino: stat.ino, id: `ns-${stat.dev}-${stat.ino}` };
}

/**
 * A network namespace given by name, path or process: what `namespaceRef`
 * makes of it. `path` is what the rest of vxnet takes (a connection's
 * `namespace`, a veth peer's `namespace`), `name` and `pid` say how it was
 * reached when that is known.
 */
export interface NamespaceRef {
  path: string;
  /** Its name under /run/netns, when given as a name or as /run/netns/NAME (or /var/run/netns/NAME). */
  name?: string;
  /** The process whose namespace it is, when given as a pid or as /proc/PID/ns/net. */
  pid?: number;
}

/**
 * Reads a namespace reference as container tools give one: a pid (a number,
 * or a string of digits: the namespace of that process, /proc/PID/ns/net),
 * an absolute path (/proc/PID/ns/net, /var/run/netns/NAME, a bind mount
 * elsewhere), or a name under /run/netns. A namespace named with digits only
 * is reached by its path. Nothing is opened here.
 */
export function namespaceRef(ref: string | number, field = 'netns'): NamespaceRef {
  if (typeof ref === 'number' || (typeof ref === 'string' && /^\d+$/.test(ref))) {
    const pid = Number(ref);
    if (!Number.isSafeInteger(pid) || pid <= 0)
      throw new ValidationError(field, 'a process id is a positive integer', ref);
    return { path: `/proc/${pid}/ns/net`, pid };
  }
  if (typeof ref !== 'string' || ref.length === 0)
    throw new ValidationError(field, 'a namespace name, a path to a namespace file, or a process id', ref);
  if (ref.startsWith('/')) {
    if (ref.includes('\0')) throw new ValidationError(field, 'a path has no NUL', ref);
    const named = /^\/(?:var\/)?run\/netns\/([^/]+)$/.exec(ref);
    if (named) return { path: `${NETNS_RUN_DIR}/${named[1]}`, name: named[1] };
    const proc = /^\/proc\/(\d+)\/ns\/net$/.exec(ref);
    if (proc && Number(proc[1]) > 0) return { path: ref, pid: Number(proc[1]) };
    return { path: ref };
  }
  validateNamespaceName(ref, field);
  return { path: `${NETNS_RUN_DIR}/${ref}`, name: ref };
}
