/**
 * Ownership is recorded on the objects themselves, never in a side file that
 * could drift: a link vxnet creates carries the alias "vxnet:<owner>"
 * (IFLA_IFALIAS, shown by `ip link` as "alias"), so destroy removes exactly
 * what vxnet made, and a device someone else made is never touched.
 *
 * A mark may say more after the owner, separated by a space (owner names
 * have none): a container's veth carries "vxnet:<owner> attach ns=… if=…"
 * (see src/attach/mark.ts). Its owner is still the network.
 */
import { ValidationError } from '../netlink/errors.js';

const PREFIX = 'vxnet:';

/** The alias that marks an object as vxnet's, for `owner` (a network name). */
export function ownerAlias(owner: string): string {
  validateOwner(owner);
  return `${PREFIX}${owner}`;
}

/** The owner recorded in an alias (what follows a space is not part of it), or undefined if it is not vxnet's. */
export function ownerFromAlias(alias: string | undefined): string | undefined {
  if (!alias?.startsWith(PREFIX)) return undefined;
  const space = alias.indexOf(' ', PREFIX.length);
  return alias.slice(PREFIX.length, space === -1 ? undefined : space);
}

/** Owner names: what a network is called; they also appear in table names and file paths. */
export function validateOwner(owner: unknown, field = 'owner'): string {
  if (typeof owner !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(owner)) {
    throw new ValidationError(
      field,
      'a name of 1–64 letters, digits, "_", "." or "-", starting with a letter or digit',
      owner,
    );
  }
  return owner;
}
