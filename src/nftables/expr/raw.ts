/**
 * The fallback: an expression vxnet does not model (fib, log, limit, nat,
 * ...) or one whose attributes say more than its typed form can, kept as
 * the exact bytes of its list element so that listing a rule and writing it
 * back never drops or alters anything.
 */
import { type Decoded, decodeAttrs, encodeAttrs } from '../../netlink/codec.js';
import { DecodeError, ValidationError } from '../../netlink/errors.js';
import { attrSet } from '../../netlink/schema.js';
import { Writer } from '../../netlink/writer.js';
import type { AttrSet } from '../../netlink/schema.js';

export interface RawExpression {
  type: 'raw';
  /** NFTA_EXPR_NAME, for reading; the bytes are what is written. */
  name: string;
  /** The attributes inside the NFTA_LIST_ELEM (NFTA_EXPR_NAME and NFTA_EXPR_DATA), as the kernel sent them. */
  data: Uint8Array;
}

/** A set that knows no attribute: decoding keeps every one raw, in place. */
const OPAQUE = attrSet('opaque expression', {});

/** The element's attributes as bytes, exactly as decoded (the wire codec is lossless). */
export function rawFromWire(elementSet: AttrSet, element: Decoded): RawExpression {
  const w = new Writer(128);
  try {
    encodeAttrs(elementSet, element, w, '');
  } catch (error) {
    // A decoded element always encodes, unless a second NFTA_EXPR_NAME came after
    // the data it named (the later one is what the object holds): no kernel sends that.
    if (error instanceof ValidationError)
      throw new DecodeError('expression', `its attributes do not agree (${error.message})`, -1);
    throw error;
  }
  return { type: 'raw', name: typeof element.name === 'string' ? element.name : '?', data: w.finish() };
}

/** The list element that writes the bytes back unchanged. */
export function rawToWire(e: RawExpression, field: string): Decoded {
  if (!(e.data instanceof Uint8Array))
    throw new ValidationError(`${field}.data`, 'expected bytes (Uint8Array)', e.data);
  const buf = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
  try {
    return decodeAttrs(OPAQUE, buf, 0, buf.length, {});
  } catch (error) {
    if (error instanceof DecodeError)
      throw new ValidationError(`${field}.data`, `not a sequence of netlink attributes: ${error.reason}`);
    throw error;
  }
}
