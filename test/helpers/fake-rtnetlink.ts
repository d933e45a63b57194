/**
 * Rtnetlink over a scripted kernel, for unit tests of what each API call
 * sends: the FakeKernel (fake-kernel.ts) answers link lookups and dumps from a
 * small list of links, acknowledges every write, and keeps every datagram it
 * was sent. And a transport that must never be used, to prove that a request
 * refused by validation sent nothing at all.
 */
import * as assert from 'uvu/assert';
import { NLM_F_DUMP, NLM_F_MULTI } from '../../src/netlink/constants.js';
import { Connection } from '../../src/netlink/connection.js';
import { decodeMessage, encodeMessage, parseMessages, type RawMessage, stamp } from '../../src/netlink/message.js';
import type { Transport, TransportHandlers } from '../../src/netlink/transport.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import { RTM_GETADDR, RTM_GETLINK, RTM_GETNEIGH, RTM_GETROUTE, RTM_NEWLINK } from '../../src/rtnetlink/constants.js';
import { type LinkMessage, linkSchema } from '../../src/rtnetlink/schema/link.js';
import { doneReply, errorReply, FakeKernel } from './fake-kernel.js';

/** The links the fake kernel knows: lo, eth0 (2), eth1 (3), br0 (4). */
export const FAKE_LINKS: Partial<LinkMessage>[] = [
  { family: 0, link_type: 772, ifindex: 1, flags: 0x49, change: 0, ifname: 'lo', mtu: 65536 },
  {
    family: 0,
    link_type: 1,
    ifindex: 2,
    flags: 0x1043,
    change: 0,
    ifname: 'eth0',
    mtu: 1500,
    address: '02:00:00:00:00:02',
  },
  {
    family: 0,
    link_type: 1,
    ifindex: 3,
    flags: 0x1043,
    change: 0,
    ifname: 'eth1',
    mtu: 1500,
    address: '02:00:00:00:00:03',
  },
  {
    family: 0,
    link_type: 1,
    ifindex: 4,
    flags: 0x1003,
    change: 0,
    ifname: 'br0',
    mtu: 1500,
    address: '02:00:00:00:00:04',
    linkinfo: { info_kind: 'bridge' },
  },
];

function linkReply(link: Partial<LinkMessage>, request: RawMessage, flags: number): Buffer {
  const reply = encodeMessage(RTM_NEWLINK, flags, linkSchema, link);
  stamp(reply, request.seq, request.pid);
  return reply;
}

/** Answers like the kernel would for the FAKE_LINKS: lookups, dumps (links only; other dumps are empty), acks. */
export function fakeKernel(links = FAKE_LINKS): FakeKernel {
  return new FakeKernel((request, bytes) => {
    if (request.type === RTM_GETLINK && request.flags & NLM_F_DUMP) {
      return [Buffer.concat([...links.map((l) => linkReply(l, request, NLM_F_MULTI)), doneReply(request)])];
    }
    if (request.type === RTM_GETLINK) {
      const wanted = decodeMessage(linkSchema, request);
      const link = links.find((l) => (wanted.ifindex ? l.ifindex === wanted.ifindex : l.ifname === wanted.ifname));
      return link
        ? [Buffer.concat([linkReply(link, request, 0), errorReply(request, bytes, 0)])]
        : [errorReply(request, bytes, 19)];
    }
    if ([RTM_GETADDR, RTM_GETROUTE, RTM_GETNEIGH].includes(request.type) && request.flags & NLM_F_DUMP)
      return [doneReply(request)];
    return [errorReply(request, bytes, 0)];
  });
}

export interface Fake {
  rt: Rtnetlink;
  kernel: FakeKernel;
  /** Every message sent so far, in order. */
  sent(): RawMessage[];
  /** The messages sent that are not lookups or dumps of links (the writes, and other dumps). */
  requests(): RawMessage[];
}

export function fakeRtnetlink(links = FAKE_LINKS): Fake {
  const kernel = fakeKernel(links);
  const rt = Rtnetlink.over(Connection.over(kernel), 'fake');
  const sent = () => kernel.sent.flatMap((datagram) => parseMessages(Buffer.concat(datagram)));
  return { rt, kernel, sent, requests: () => sent().filter((m) => m.type !== RTM_GETLINK) };
}

/** The bytes of one sent message, header included. */
export function bytesOf(message: RawMessage): Buffer {
  return Buffer.from(message.buffer.subarray(message.start - 16, message.end));
}

/** A transport for requests that validation must refuse: send() fails the test; a descriptor cannot be opened. */
export class MustNotSend implements Transport {
  readonly protocol = 0;
  readonly port = 4242;
  sends = 0;
  attach(_handlers: TransportHandlers): void {}
  async send(): Promise<void> {
    this.sends++;
    assert.unreachable('send() was called: this request should have been refused before anything was sent');
  }
  addMembership(): void {}
  dropMembership(): void {}
  ref(): void {}
  unref(): void {}
  async openFd(path: string): Promise<number> {
    throw new Error(`cannot open ${path}: ENOENT`);
  }
  async closeFd(): Promise<void> {}
  close(): void {}
}
