import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Connection } from '../../src/netlink/connection.js';
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_NOOP,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
} from '../../src/netlink/constants.js';
import { DumpInterruptedError, NetlinkError, OverrunError, DecodeError } from '../../src/netlink/errors.js';
import { decodeMessage, encodeMessage, parseAck, parseMessages, type RawMessage } from '../../src/netlink/message.js';
import { doneReply, errorReply, FakeKernel, header, tlv } from '../helpers/fake-kernel.js';
import { getLink, type MiniLink, miniLinkSchema, RTM_GETLINK, RTM_NEWLINK } from '../helpers/link-schema.js';

const link = (seq: number, pid: number, value: MiniLink, flags = NLM_F_MULTI): Buffer => {
  const bytes = encodeMessage(RTM_NEWLINK, flags, miniLinkSchema, value);
  return header(RTM_NEWLINK, flags, seq, pid, bytes.subarray(16));
};

test('a request resolves with its replies once acknowledged; seq and port are stamped', async () => {
  const kernel = new FakeKernel((req, bytes) => [
    link(req.seq, req.pid, { ifindex: 1, ifname: 'lo' }, 0),
    errorReply(req, bytes, 0),
  ]);
  const conn = Connection.over(kernel);
  const replies = await conn.request(getLink({ ifindex: 1 }), { operation: 'get link' });
  assert.is(replies.length, 1);
  assert.is(decodeMessage(miniLinkSchema, replies[0]!).ifname, 'lo');
  const sent = kernel.sent[0]![0]!;
  assert.is(sent.readUInt32LE(12), 4242, 'pid is our port');
  assert.ok(sent.readUInt16LE(6) & NLM_F_ACK, 'acks are always requested');
});

test('sequence numbers start at random and replies with other seq or port are ignored', async () => {
  const seqs = new Set<number>();
  for (let i = 0; i < 5; i++) {
    const kernel = new FakeKernel((req, bytes) => {
      seqs.add(req.seq);
      return [
        errorReply({ ...req, seq: req.seq + 1000 }, bytes, 1), // stray: wrong seq
        errorReply({ ...req, pid: 777 }, bytes, 1), // stray: another port's reply
        errorReply(req, bytes, 0),
      ];
    });
    const conn = Connection.over(kernel);
    await conn.request(getLink({ ifindex: 1 }), { operation: 'get link' });
    assert.is(conn.unmatched, 2);
  }
  assert.is(seqs.size, 5);
});

test('an extended ack, should a reply carry one: its TLVs parsed, the kernel text in the error', async () => {
  // No kernel reply carries one today (the socket cannot set NETLINK_EXT_ACK): this is the parser on synthetic bytes.
  const offset = Buffer.alloc(4);
  offset.writeUInt32LE(16 + 16 + 8 + 4, 0); // nlmsghdr, ifinfomsg, ifname "vx0" (8 bytes), then inside mtu
  const refuse = (req: RawMessage, bytes: Buffer): Buffer =>
    errorReply(req, bytes, 22, [
      tlv(NLMSGERR_ATTR_MSG, Buffer.from('MTU too small\0')),
      tlv(NLMSGERR_ATTR_OFFS, offset),
    ]);
  const request = encodeMessage(RTM_NEWLINK, 0, miniLinkSchema, { ifname: 'vx0', mtu: 10 });
  const ack = parseAck(parseMessages(refuse(parseMessages(request)[0]!, request))[0]!);
  assert.equal(
    { errno: ack.errno, message: ack.message, offset: ack.offset },
    { errno: 22, message: 'MTU too small', offset: 44 },
  );
  const conn = Connection.over(new FakeKernel((req, bytes) => [refuse(req, bytes)]));
  try {
    await conn.request(request, { operation: 'set link', object: 'vx0' });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, NetlinkError);
    const e = error as NetlinkError;
    assert.is(e.code, 'EINVAL');
    assert.is(e.kernelMessage, 'MTU too small');
    assert.match(e.message, /set link vx0 failed: EINVAL .*kernel says: MTU too small; likely cause: /);
  }
});

test('a family explains an errno in its own words', async () => {
  const kernel = new FakeKernel((req, bytes) => [errorReply(req, bytes, 17)]);
  const conn = Connection.over(kernel);
  const error = await conn
    .request(getLink({ ifname: 'vx0' }), {
      operation: 'create link',
      object: 'vx0',
      explain: (errno) => (errno === 17 ? 'vx1 already uses VNI 42 on port 4789' : undefined),
    })
    .catch((e) => e);
  assert.match(error.message, /likely cause: vx1 already uses VNI 42 on port 4789/);
});

test('a dump streams every message up to DONE, across datagrams', async () => {
  const kernel = new FakeKernel((req) => {
    const out: Buffer[] = [];
    for (let d = 0; d < 3; d++)
      out.push(
        Buffer.concat([0, 1].map((k) => link(req.seq, req.pid, { ifindex: d * 2 + k + 1, ifname: `l${d * 2 + k}` }))),
      );
    out.push(doneReply(req));
    return out;
  });
  const conn = Connection.over(kernel);
  const links = await conn.dumpAll(
    () => getLink({}),
    { operation: 'dump links' },
    { decode: (m) => decodeMessage(miniLinkSchema, m).ifname },
  );
  assert.equal(links, ['l0', 'l1', 'l2', 'l3', 'l4', 'l5']);
  const sent = kernel.sent[0]![0]!;
  assert.is(sent.readUInt16LE(6) & NLM_F_DUMP, NLM_F_DUMP);
});

test('an error on DONE fails the dump with a NetlinkError', async () => {
  const conn = Connection.over(new FakeKernel((req) => [link(req.seq, req.pid, { ifindex: 1 }), doneReply(req, 95)]));
  const error = await conn.dumpAll(() => getLink({}), { operation: 'dump links' }).catch((e) => e);
  assert.instance(error, NetlinkError);
  assert.is(error.code, 'EOPNOTSUPP');
});

test('NLM_F_DUMP_INTR fails the dump, or retries when asked, never returning mixed data', async () => {
  let calls = 0;
  const kernel = new FakeKernel((req) => {
    calls++;
    const flags = calls <= 2 ? NLM_F_MULTI | NLM_F_DUMP_INTR : NLM_F_MULTI;
    return [link(req.seq, req.pid, { ifindex: calls, ifname: `try${calls}` }, flags), doneReply(req, 0, flags)];
  });
  const conn = Connection.over(kernel);
  const error = await conn.dumpAll(() => getLink({}), { operation: 'dump links' }).catch((e) => e);
  assert.instance(error, DumpInterruptedError);
  const links = await conn.dumpAll(
    () => getLink({}),
    { operation: 'dump links' },
    { retries: 3, decode: (m) => decodeMessage(miniLinkSchema, m).ifname },
  );
  assert.equal(links, ['try3']);
});

test('dumps on one socket run one at a time, each to its DONE', async () => {
  let active = 0;
  let maxActive = 0;
  const kernel = new FakeKernel((req) => {
    active++;
    maxActive = Math.max(maxActive, active);
    setImmediate(() => active--);
    return [link(req.seq, req.pid, { ifindex: 1 }), doneReply(req)];
  });
  const conn = Connection.over(kernel);
  const results = await Promise.all([1, 2, 3].map(() => conn.dumpAll(() => getLink({}), { operation: 'dump links' })));
  assert.equal(
    results.map((r) => r.length),
    [1, 1, 1],
  );
  assert.is(maxActive, 1);
});

test('a consumer that stops early still drains the dump, and the next dump works', async () => {
  const kernel = new FakeKernel((req) => [
    ...Array.from({ length: 600 }, (_, i) => link(req.seq, req.pid, { ifindex: i + 1 })),
    doneReply(req),
  ]);
  const conn = Connection.over(kernel);
  for await (const batch of conn.dump(getLink({}), { operation: 'dump links' })) {
    assert.ok(batch.length > 0);
    break;
  }
  const all = await conn.dumpAll(() => getLink({}), { operation: 'dump links' });
  assert.is(all.length, 600);
  assert.is(conn.unmatched, 0);
});

test('the in-flight window bounds unanswered messages', async () => {
  let outstanding = 0;
  let peak = 0;
  const kernel = new FakeKernel((req, bytes) => {
    outstanding++;
    peak = Math.max(peak, outstanding);
    setImmediate(() => outstanding--);
    return req.type === NLMSG_NOOP || req.flags & NLM_F_ACK ? [errorReply(req, bytes, 0)] : undefined;
  });
  const conn = Connection.over(kernel, { window: 16 });
  await Promise.all(
    Array.from({ length: 200 }, () => conn.request(getLink({ ifindex: 1 }), { operation: 'get link' })),
  );
  assert.ok(peak <= 16, `peak ${peak}`);
  const result = await conn.batch(
    Array.from({ length: 300 }, () => getLink({ ifindex: 1 })),
    { operation: 'get link' },
  );
  assert.is(result.succeeded, 300);
  assert.ok(Math.max(...kernel.sent.map((s) => s.length)) <= 16, 'chunks fit the window');
});

test('an overrun fails pending requests with OverrunError instead of leaving them hanging', async () => {
  const kernel = new FakeKernel(() => undefined);
  const conn = Connection.over(kernel);
  const pending = conn.request(getLink({ ifindex: 1 }), { operation: 'get link' });
  await new Promise((r) => setImmediate(r));
  kernel.fail(new OverrunError('netlink socket', 'ENOBUFS'), false);
  assert.instance(await pending.catch((e) => e), OverrunError);
});

test('a malformed reply datagram fails the waiting request with DecodeError', async () => {
  const kernel = new FakeKernel(() => [Buffer.from([40, 0, 0, 0, 2, 0])]);
  const conn = Connection.over(kernel);
  assert.instance(await conn.request(getLink({ ifindex: 1 }), { operation: 'get link' }).catch((e) => e), DecodeError);
});

test('RTM_GETLINK requests are not mistaken for dumps', () => {
  const message = getLink({ ifindex: 1 });
  assert.is(message.readUInt16LE(4), RTM_GETLINK);
  assert.is(message.readUInt16LE(6) & NLM_F_DUMP, 0);
});

test.run();
