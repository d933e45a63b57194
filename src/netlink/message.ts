/**
 * Netlink messages: the nlmsghdr around a family payload, walking a datagram
 * into messages, and reading NLMSG_ERROR / NLMSG_DONE.
 */
import { align, NLA_HDRLEN, NLMSG_HDRLEN } from './align.js';
import { type Decoded, decodeMarkedAttrs, encodeAttrs } from './codec.js';
import {
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSGERR_ATTR_MISS_NEST,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  NLA_TYPE_MASK,
} from './constants.js';
import { DecodeError } from './errors.js';
import { readS32, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { type Layout, nlmsgerr, nlmsghdr } from './layout.js';
import type { AnySet, DecodedOf, RequestOf, Simplify } from './schema.js';
import { Writer } from './writer.js';

/**
 * A family message: a fixed header (ifinfomsg, rtmsg, nfgenmsg, ...) whose
 * fields and the attributes after it decode into one flat object.
 */
export interface MessageSchema<H extends object = any, A extends AnySet = AnySet> {
  /** Used in errors: "link", "route". */
  readonly name: string;
  readonly header: Layout<H>;
  readonly attrs: A;
}

/** Declares a message: its header's fields and its attributes decode into one object (MessageOf). */
export function messageSchema<H extends object, A extends AnySet>(
  name: string,
  header: Layout<H>,
  attrs: A,
): MessageSchema<H, A> {
  return { name, header, attrs };
}

/** A decoded message of a schema: the header's fields and the attributes, flat. */
export type MessageOf<S> =
  S extends MessageSchema<infer H, infer A> ? (object extends H ? Decoded : Simplify<H & DecodedOf<A>>) : never;
/** A request of a schema: any of the header's fields (missing ones are zero) and the attributes. */
export type RequestMessageOf<S> =
  S extends MessageSchema<infer H, infer A> ? (object extends H ? object : Simplify<Partial<H> & RequestOf<A>>) : never;

/** One message as it arrived, its payload still bytes. */
export interface RawMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The datagram it arrived in, and where its payload (after nlmsghdr) lies. */
  buffer: Buffer;
  start: number;
  end: number;
}

/**
 * Calls `visit` for each message in a datagram. Lengths are checked; a final
 * message whose length is not a multiple of 4 is accepted.
 */
export function forEachMessage(datagram: Buffer, visit: (message: RawMessage) => void): void {
  let offset = 0;
  const total = datagram.length;
  while (offset < total) {
    if (total - offset < NLMSG_HDRLEN)
      throw new DecodeError('nlmsghdr', `${total - offset} trailing bytes, too short for a message header`, offset);
    const length = readU32(datagram, offset);
    if (length < NLMSG_HDRLEN)
      throw new DecodeError('nlmsghdr', `message length ${length} is shorter than its header`, offset);
    if (offset + length > total)
      throw new DecodeError('nlmsghdr', `message claims ${length} bytes, only ${total - offset} remain`, offset);
    visit({
      type: readU16(datagram, offset + 4),
      flags: readU16(datagram, offset + 6),
      seq: readU32(datagram, offset + 8),
      pid: readU32(datagram, offset + 12),
      buffer: datagram,
      start: offset + NLMSG_HDRLEN,
      end: offset + length,
    });
    offset += align(length);
  }
}

/** Splits a datagram into messages. */
export function parseMessages(datagram: Buffer): RawMessage[] {
  const messages: RawMessage[] = [];
  forEachMessage(datagram, (m) => messages.push(m));
  return messages;
}

/** Decodes a family payload (header fields + attributes) into one object. */
export function decodePayload<S extends MessageSchema>(
  schema: S,
  buf: Buffer,
  start: number,
  end: number,
): MessageOf<S> {
  if (end - start < schema.header.size) {
    throw new DecodeError(
      schema.name,
      `payload of ${end - start} bytes is shorter than ${schema.header.name} (${schema.header.size})`,
      start,
    );
  }
  const out = schema.header.read(buf, start) as Decoded;
  try {
    decodeMarkedAttrs(schema.attrs, buf, start + align(schema.header.size), end, out);
  } catch (error) {
    throw error instanceof DecodeError ? error.decoding(schema.name) : error;
  }
  return out as MessageOf<S>;
}

/** Decodes a message into the schema's object (MessageOf: the header's fields and the attributes). */
export function decodeMessage<S extends MessageSchema>(schema: S, message: RawMessage): MessageOf<S>;
/**
 * @deprecated The result's type comes from the schema: drop the type argument
 * (kept so that code written before the types were derived still compiles).
 */
export function decodeMessage<T extends object>(schema: MessageSchema, message: RawMessage): T;
export function decodeMessage(schema: MessageSchema, message: RawMessage): unknown {
  return decodePayload(schema, message.buffer, message.start, message.end);
}

/** Encodes a whole message; seq and pid are left 0 for the connection to fill. */
export function encodeMessage<S extends MessageSchema>(
  type: number,
  flags: number,
  schema: S,
  value: RequestMessageOf<S>,
): Buffer {
  const w = new Writer(256);
  w.reserve(NLMSG_HDRLEN);
  encodePayloadInto(w, schema, value);
  return finishMessage(w, type, flags);
}

export function encodePayloadInto<S extends MessageSchema>(w: Writer, schema: S, value: RequestMessageOf<S>): void {
  const at = w.reserve(schema.header.size);
  schema.header.write(w.buf, at, value as any);
  w.pad();
  encodeAttrs(schema.attrs, value as Decoded, w, '');
}

/** Writes the nlmsghdr at the writer's start, once the payload is complete. */
export function finishMessage(w: Writer, type: number, flags: number): Buffer {
  w.pad();
  nlmsghdr.write(w.buf, 0, { len: w.pos, type, flags, seq: 0, pid: 0 });
  return w.finish();
}

/**
 * Many messages of one batch encoded back to back into one buffer: a
 * thousand FDB entries or routes cost one growing allocation, where
 * encodeMessage costs two each (its writer and the exact-size copy), and the
 * young generation's collector with them. `messages()` gives each message
 * as a view of that buffer, once every message is in.
 */
export class MessageBatch {
  private readonly w: Writer;
  private readonly starts: number[] = [];

  /** `expected`: how many messages (the buffer starts at a size that usually holds them). */
  constructor(expected: number) {
    this.w = new Writer(Math.max(256, expected * 128));
  }

  get length(): number {
    return this.starts.length;
  }

  /** Appends a message; one that fails to encode leaves nothing behind (the error is thrown as is). */
  add<S extends MessageSchema>(type: number, flags: number, schema: S, value: RequestMessageOf<S>): void {
    const start = this.w.pos;
    try {
      this.w.reserve(NLMSG_HDRLEN);
      encodePayloadInto(this.w, schema, value);
      this.w.pad();
    } catch (error) {
      this.w.pos = start;
      throw error;
    }
    nlmsghdr.write(this.w.buf, start, { len: this.w.pos - start, type, flags, seq: 0, pid: 0 });
    this.starts.push(start);
  }

  /** Each message, as a view of the one buffer (stamped in place when sent, like encodeMessage's copies). */
  messages(): Buffer[] {
    const { buf, pos } = this.w;
    const out = new Array<Buffer>(this.starts.length);
    for (let i = 0; i < this.starts.length; i++) out[i] = buf.subarray(this.starts[i], this.starts[i + 1] ?? pos);
    return out;
  }
}

/** A message made of a bare header and raw payload (control messages, family headers we do not model). */
export function encodeRaw(type: number, flags: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  const buf = Buffer.alloc(align(NLMSG_HDRLEN + payload.length));
  buf.set(payload, NLMSG_HDRLEN);
  nlmsghdr.write(buf, 0, { len: buf.length, type, flags, seq: 0, pid: 0 });
  return buf;
}

/** Sets seq and pid of an encoded message in place. */
export function stamp(message: Buffer, seq: number, pid: number): void {
  writeU32(message, 8, seq >>> 0);
  writeU32(message, 12, pid >>> 0);
}

/** nlmsghdr.nlmsg_flags of an encoded message. */
export function messageFlags(message: Uint8Array): number {
  return readU16(message, 6);
}

export function setMessageFlags(message: Uint8Array, flags: number): void {
  writeU16(message, 6, flags);
}

/** What an NLMSG_ERROR says. errno 0 is an acknowledgement, never an error. */
export interface Ack {
  /** Positive errno; 0 for a plain acknowledgement. */
  errno: number;
  /** The header of the request it answers. */
  request: { type: number; flags: number; seq: number; pid: number };
  /** Extended-ack text, if the kernel sent one. */
  message?: string;
  /** Extended-ack offset: a byte offset into the request message. */
  offset?: number;
  /** Extended-ack: the attribute that was missing, and the nest it was missing from (as an offset). */
  missingType?: number;
  missingNestOffset?: number;
}

/** Reads NLMSG_ERROR's payload, including extended-ack TLVs when present. */
export function parseAck(m: RawMessage): Ack {
  const { buffer: b, start, end } = m;
  // struct nlmsgerr: the error, then the nlmsghdr of the request it answers.
  const echo = start + nlmsgerr.size;
  if (end - start < nlmsgerr.size + NLMSG_HDRLEN)
    throw new DecodeError('nlmsgerr', `payload of ${end - start} bytes is too short`, start);
  const error = readS32(b, start);
  const requestLength = readU32(b, echo);
  const request = {
    type: readU16(b, echo + 4),
    flags: readU16(b, echo + 6),
    seq: readU32(b, echo + 8),
    pid: readU32(b, echo + 12),
  };
  const ack: Ack = { errno: -error, request };
  if (m.flags & NLM_F_ACK_TLVS) {
    // The original request follows in full unless the kernel capped it to its header.
    const echoed = m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align(requestLength);
    let offset = echo + echoed;
    while (offset + NLA_HDRLEN <= end) {
      const length = readU16(b, offset);
      const type = readU16(b, offset + 2) & NLA_TYPE_MASK;
      if (length < NLA_HDRLEN || offset + length > end) break;
      const value = offset + NLA_HDRLEN;
      const size = length - NLA_HDRLEN;
      if (type === NLMSGERR_ATTR_MSG) {
        let stop = value;
        while (stop < offset + length && b[stop] !== 0) stop++;
        ack.message = b.toString('utf8', value, stop);
      } else if (type === NLMSGERR_ATTR_OFFS && size === 4) ack.offset = readU32(b, value);
      else if (type === NLMSGERR_ATTR_MISS_TYPE && size === 4) ack.missingType = readU32(b, value);
      else if (type === NLMSGERR_ATTR_MISS_NEST && size === 4) ack.missingNestOffset = readU32(b, value);
      offset += align(length);
    }
  }
  return ack;
}

/** NLMSG_DONE may carry an error code for the whole dump (an int after the header). */
export function doneErrno(m: RawMessage): number {
  if (m.end - m.start < 4) return 0;
  const code = readS32(m.buffer, m.start);
  return code < 0 ? -code : 0;
}
