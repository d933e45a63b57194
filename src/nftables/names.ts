/** Checks of object names before anything is sent: the kernel's limits, said in words. */
import { ValidationError } from '../netlink/errors.js';
import { NFT_NAME_MAXLEN } from './constants.js';

/** Table, chain and set names: 1 to 255 bytes (NFT_NAME_MAXLEN with the NUL), no NUL. */
export function checkName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new ValidationError(field, 'a name is a non-empty string', value);
  if (value.includes('\0')) throw new ValidationError(field, 'a name cannot contain NUL', value);
  const bytes = Buffer.byteLength(value);
  if (bytes >= NFT_NAME_MAXLEN)
    throw new ValidationError(field, `names have at most ${NFT_NAME_MAXLEN - 1} bytes, this one has ${bytes}`, value);
  return value;
}

/** IFNAMSIZ is 16 with the NUL: interface names have at most 15 bytes. */
export function checkInterfaceName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new ValidationError(field, 'an interface name is a non-empty string', value);
  if (Buffer.byteLength(value) > 15)
    throw new ValidationError(field, 'interface names have at most 15 bytes (IFNAMSIZ)', value);
  if (/[\0/\s]/.test(value))
    throw new ValidationError(field, 'interface names contain no NUL, "/" or whitespace', value);
  return value;
}
