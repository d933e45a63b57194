/**
 * What the stateful fake kernel (fake-host.ts) shares between its families:
 * reply framing the way the kernel frames it, errno names, and the error a
 * handler throws to make the kernel answer a request with an errno.
 *
 * Acks are what netlink_ack() sends: on success only the request's header is
 * echoed (NLM_F_CAPPED), on error the whole request.
 */
import { constants } from 'node:os';
import { NLMSG_HDRLEN } from '../../src/netlink/align.js';
import { NLM_F_CAPPED, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { encodeMessage, type MessageSchema, type RawMessage, stamp } from '../../src/netlink/message.js';
import { header } from './fake-kernel.js';

/** Thrown by a handler: the request is answered with this errno and changes nothing. */
export class KernelError extends Error {
  constructor(
    readonly errno: number,
    why: string,
  ) {
    super(`${errnoName(errno)}: ${why}`);
  }
}

const NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n as number, name]));
NAMES.set(95, 'EOPNOTSUPP');

export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `E${errno}`;
}

/** An errno given as a number or by name ('EEXIST'). */
export function errnoNumber(errno: number | string): number {
  if (typeof errno === 'number') return errno;
  if (errno === 'ERESTART') return 85;
  const n = (constants.errno as Record<string, number>)[errno];
  if (n === undefined) throw new Error(`unknown errno ${errno}`);
  return n;
}

export const ENOENT = 2;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ERANGE = 34;
export const ELOOP = 40;
export const EOPNOTSUPP = 95;
export const EAFNOSUPPORT = 97;
export const EADDRNOTAVAIL = 99;
export const ERESTART = 85;

export function fail(errno: number, why: string): never {
  throw new KernelError(errno, why);
}

/** The bytes of a received message, header included. */
export function messageBytes(m: RawMessage): Buffer {
  return m.buffer.subarray(m.start - NLMSG_HDRLEN, m.end);
}

/** NLMSG_ERROR for `request`: errno 0 is an ack (capped), anything else echoes the request. */
export function ack(request: RawMessage, port: number, errno = 0): Buffer {
  const code = Buffer.alloc(4);
  code.writeInt32LE(-errno, 0);
  const bytes = messageBytes(request);
  const echoed = errno === 0 ? Buffer.from(bytes.subarray(0, NLMSG_HDRLEN)) : Buffer.from(bytes);
  if (errno === 0) echoed.writeUInt32LE(bytes.length, 0);
  return header(NLMSG_ERROR, errno === 0 ? NLM_F_CAPPED : 0, request.seq, port, Buffer.concat([code, echoed]));
}

export function done(request: RawMessage, port: number): Buffer {
  return header(NLMSG_DONE, NLM_F_MULTI, request.seq, port, Buffer.alloc(4));
}

/** A family message answering `request` (a get's reply, a dump's part, an echo). */
export function reply(
  type: number,
  flags: number,
  schema: MessageSchema,
  value: object,
  request: RawMessage,
  port: number,
): Buffer {
  const out = encodeMessage(type, flags, schema, value);
  stamp(out, request.seq, port);
  return out;
}
