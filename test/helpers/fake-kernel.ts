/**
 * A scripted kernel for unit tests of the connection: each request is
 * answered by a function of the test, with real netlink bytes built here.
 * (Recorded fixtures cover what the real kernel sends; this covers what it
 * rarely does on demand: interrupted dumps, errors on DONE, extended acks.)
 */
import { align, NLMSG_HDRLEN } from '../../src/netlink/align.js';
import { NLM_F_ACK_TLVS, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { forEachMessage, type RawMessage } from '../../src/netlink/message.js';
import type { Transport, TransportHandlers } from '../../src/netlink/transport.js';

export type Responder = (request: RawMessage, bytes: Buffer) => Buffer[] | undefined;

export function header(type: number, flags: number, seq: number, pid: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(align(NLMSG_HDRLEN + payload.length));
  out.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(flags, 6);
  out.writeUInt32LE(seq, 8);
  out.writeUInt32LE(pid, 12);
  payload.copy(out, NLMSG_HDRLEN);
  return out;
}

export function tlv(type: number, value: Buffer): Buffer {
  const out = Buffer.alloc(align(4 + value.length));
  out.writeUInt16LE(4 + value.length, 0);
  out.writeUInt16LE(type, 2);
  value.copy(out, 4);
  return out;
}

/** NLMSG_ERROR answering `request` (errno 0 = ack), optionally with extended-ack TLVs. */
export function errorReply(request: RawMessage, bytes: Buffer, errno: number, tlvs: Buffer[] = []): Buffer {
  const code = Buffer.alloc(4);
  code.writeInt32LE(-errno, 0);
  const echoed = bytes.subarray(request.start - NLMSG_HDRLEN, request.end);
  const flags = tlvs.length ? NLM_F_ACK_TLVS : 0;
  return header(NLMSG_ERROR, flags, request.seq, request.pid, Buffer.concat([code, echoed, ...tlvs]));
}

export function doneReply(request: RawMessage, errno = 0, flags = NLM_F_MULTI): Buffer {
  const code = Buffer.alloc(4);
  code.writeInt32LE(-errno, 0);
  return header(NLMSG_DONE, flags, request.seq, request.pid, code);
}

export class FakeKernel implements Transport {
  readonly protocol = 0;
  readonly port = 4242;
  private handlers?: TransportHandlers;
  readonly sent: Buffer[][] = [];

  constructor(private readonly respond: Responder) {}

  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  async send(messages: Buffer[]): Promise<void> {
    this.sent.push(messages.map((m) => Buffer.from(m)));
    const datagram = Buffer.concat(messages);
    const replies: Buffer[] = [];
    forEachMessage(datagram, (request) => {
      const answer = this.respond(request, datagram);
      if (answer) replies.push(...answer);
    });
    setImmediate(() => {
      for (const reply of replies) this.handlers!.datagram(reply);
    });
  }

  /** Delivers a datagram as if the kernel had sent it unprompted. */
  inject(datagram: Buffer): void {
    this.handlers!.datagram(datagram);
  }

  fail(error: Error, fatal: boolean): void {
    this.handlers!.error(error, fatal);
  }

  addMembership(): void {}
  dropMembership(): void {}
  ref(): void {}
  unref(): void {}
  async openFd(): Promise<number> {
    return 99;
  }
  async closeFd(): Promise<void> {}
  close(): void {}
}
