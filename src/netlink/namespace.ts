/**
 * Named network namespaces, as iproute2 lays them out: a bind mount at
 * /run/netns/NAME. vxnet never creates them (that is the operator's or the
 * test lab's job); it runs connections inside them and moves links into them.
 */
import { ValidationError } from './errors.js';

export const NETNS_RUN_DIR = '/run/netns';

/** Checks a namespace name as `ip netns` would accept it. */
export function validateNamespaceName(name: string, field = 'namespace'): void {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(field, 'a namespace name is a non-empty string', name);
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
