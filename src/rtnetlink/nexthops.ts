/**
 * RTA_MULTIPATH: a list of struct rtnexthop, each followed by its own
 * attributes (RTA_GATEWAY, ...) and sized by its rtnh_len. The attribute
 * engine has no "struct, then attributes, repeated" kind, so the route
 * schema keeps the payload as bytes and these two functions read and build it
 * with the route attribute set.
 */
import { align } from '../netlink/align.js';
import { readU16, writeU16 } from '../netlink/bytes.js';
import { decodeAttrs, type Decoded, encodeAttrs } from '../netlink/codec.js';
import { DecodeError } from '../netlink/errors.js';
import { layout, s32, type StructType, u16, u8 } from '../netlink/layout.js';
import type { DecodedOf, Simplify } from '../netlink/schema.js';
import { Writer } from '../netlink/writer.js';
import { routeAttrs } from './schema/route.js';

/** struct rtnexthop; rtnh_len covers it and the attributes after it. */
const rtnexthop = layout('rtnexthop', [u16('len'), u8('flags'), u8('hops'), s32('ifindex')]);
const RTNH_LENGTH = rtnexthop.size;

/**
 * One hop: struct rtnexthop's fields and the route attributes that follow it
 * (gateway, encap, flow, ...). `flags` are RTNH_F_* bits; `hops` is the
 * weight - 1, as the kernel stores it (ip prints weight = hops + 1).
 */
export type Nexthop = Simplify<Omit<StructType<typeof rtnexthop>, 'len'> & DecodedOf<typeof routeAttrs>>;

export function decodeNexthops(payload: Uint8Array): Nexthop[] {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const hops: Nexthop[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (buf.length - offset < RTNH_LENGTH)
      throw new DecodeError('rtnexthop', `${buf.length - offset} trailing bytes`, offset);
    const length = readU16(buf, offset);
    if (length < RTNH_LENGTH || offset + length > buf.length)
      throw new DecodeError('rtnexthop', `length ${length} does not fit`, offset);
    const header = rtnexthop.read(buf, offset);
    const hop: Nexthop = { flags: header.flags, hops: header.hops, ifindex: header.ifindex };
    decodeAttrs(routeAttrs, buf, offset + RTNH_LENGTH, offset + length, hop as Decoded);
    hops.push(hop);
    offset += align(length);
  }
  return hops;
}

export function encodeNexthops(hops: Nexthop[]): Uint8Array {
  const w = new Writer(64);
  for (const hop of hops) {
    const start = w.reserve(RTNH_LENGTH);
    rtnexthop.write(w.buf, start, { len: 0, flags: hop.flags & 0xff, hops: hop.hops & 0xff, ifindex: hop.ifindex | 0 });
    const { flags: _f, hops: _h, ifindex: _i, ...attrs } = hop;
    encodeAttrs(routeAttrs, attrs as Decoded, w, 'nexthops');
    // rtnh_len, now that the attributes are written.
    writeU16(w.buf, start, w.pos - start);
  }
  return w.finish();
}
