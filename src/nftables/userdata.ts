/**
 * Userdata: opaque bytes the kernel stores with a table, chain, rule or set
 * and gives back. nft keeps type-length-value items there (one byte of type,
 * one of length); a comment is item 0 for tables, chains and rules, and
 * `nft list ruleset` prints it as `comment "..."`. vxnet writes comments in
 * that form so that its marks are readable with nft.
 */
import { ValidationError } from '../netlink/errors.js';
import { NFT_USERDATA_MAXLEN } from './constants.js';

export interface UserdataItem {
  type: number;
  value: Uint8Array;
}

/** nft's limit for a comment (NUL included). */
export const COMMENT_MAXLEN = 128;
/** The comment item of tables, chains and rules. */
export const UDATA_COMMENT = 0;

export function encodeUserdata(items: UserdataItem[]): Uint8Array {
  const out: number[] = [];
  for (const item of items) {
    if (item.value.length > 255)
      throw new ValidationError('userdata', 'an item holds at most 255 bytes', item.value.length);
    out.push(item.type, item.value.length, ...item.value);
  }
  if (out.length > NFT_USERDATA_MAXLEN)
    throw new ValidationError('userdata', `at most ${NFT_USERDATA_MAXLEN} bytes`, out.length);
  return Uint8Array.from(out);
}

/** The items, or undefined when the bytes are not nft's TLV form. */
export function parseUserdata(bytes: Uint8Array): UserdataItem[] | undefined {
  const items: UserdataItem[] = [];
  let at = 0;
  while (at < bytes.length) {
    const type = bytes[at];
    const length = bytes[at + 1];
    if (type === undefined || length === undefined || at + 2 + length > bytes.length) return undefined;
    items.push({ type, value: bytes.slice(at + 2, at + 2 + length) });
    at += 2 + length;
  }
  return items;
}

export function encodeComment(text: string, field = 'comment', type = UDATA_COMMENT): Uint8Array {
  if (typeof text !== 'string' || text.includes('\0'))
    throw new ValidationError(field, 'a comment is a string without NUL', text);
  const value = Buffer.from(`${text}\0`);
  if (value.length > COMMENT_MAXLEN)
    throw new ValidationError(field, `at most ${COMMENT_MAXLEN - 1} bytes (nft's limit)`, text);
  return encodeUserdata([{ type, value }]);
}

/** The comment when the userdata is exactly one comment item (as nft writes it), else undefined. */
export function commentOf(bytes: Uint8Array, type = UDATA_COMMENT): string | undefined {
  const items = parseUserdata(bytes);
  const item = items?.[0];
  if (!item || items?.length !== 1 || item.type !== type) return undefined;
  const value = item.value;
  if (value.length === 0 || value[value.length - 1] !== 0 || value.indexOf(0) !== value.length - 1) return undefined;
  return Buffer.from(value.subarray(0, value.length - 1)).toString('utf8');
}

/**
 * Typed objects carry either `comment` (userdata that is exactly nft's
 * comment item) or `userdata` (anything else, as bytes): this picks one
 * when decoding, so that writing back gives the same bytes.
 */
export function userdataFromWire(bytes: unknown, type = UDATA_COMMENT): { comment?: string; userdata?: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) return {};
  const comment = commentOf(bytes, type);
  // Only a comment that writes back as these bytes: not one longer than nft allows (encodeComment would refuse it),
  // nor text that is not UTF-8.
  if (
    comment !== undefined &&
    Buffer.byteLength(comment) < COMMENT_MAXLEN &&
    Buffer.from(encodeComment(comment, 'comment', type)).equals(bytes)
  )
    return { comment };
  return { userdata: bytes };
}

export function userdataToWire(
  value: { comment?: string; userdata?: Uint8Array },
  field: string,
  type = UDATA_COMMENT,
): Uint8Array | undefined {
  if (value.comment !== undefined && value.userdata !== undefined)
    throw new ValidationError(field, 'give comment or userdata, not both');
  if (value.comment !== undefined) return encodeComment(value.comment, `${field}.comment`, type);
  if (value.userdata !== undefined) {
    if (!(value.userdata instanceof Uint8Array))
      throw new ValidationError(`${field}.userdata`, 'expected bytes', value.userdata);
    if (value.userdata.length > NFT_USERDATA_MAXLEN)
      throw new ValidationError(`${field}.userdata`, `at most ${NFT_USERDATA_MAXLEN} bytes`, value.userdata.length);
    return value.userdata;
  }
  return undefined;
}
