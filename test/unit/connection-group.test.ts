/**
 * Connection.sendGroup: prepared messages in one sendmsg (what nfnetlink
 * batches need), each answer mapped back to its own message, and a NOOP
 * barrier in a second sendmsg that says when the kernel has answered all.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Connection } from '../../src/netlink/connection.js';
import { NLM_F_ACK, NLM_F_ECHO, NLM_F_REQUEST, NLMSG_NOOP } from '../../src/netlink/constants.js';
import { ClosedError, NetlinkError, TimeoutError } from '../../src/netlink/errors.js';
import { decodeMessage, encodeMessage, encodeRaw } from '../../src/netlink/message.js';
import { errorReply, FakeKernel, header } from '../helpers/fake-kernel.js';
import { miniLinkSchema, RTM_NEWLINK } from '../helpers/link-schema.js';

const BEGIN = 0x10;
const END = 0x11;

/** A group shaped like an nfnetlink batch: BEGIN, the work, END; acks asked on the work only. */
function group(names: string[], flags = NLM_F_ACK): Buffer[] {
  return [
    encodeRaw(BEGIN, 0, new Uint8Array(4)),
    ...names.map((ifname) => encodeMessage(RTM_NEWLINK, flags, miniLinkSchema, { ifname })),
    encodeRaw(END, 0, new Uint8Array(4)),
  ];
}

/** BEGIN shares its number with RTM_NEWLINK: tell them apart by the 4-byte nfgenmsg payload. */
const isBegin = (req: { type: number; start: number; end: number }): boolean =>
  req.type === BEGIN && req.end - req.start === 4;

const nameOf = (bytes: Buffer, start: number, end: number): string | undefined =>
  decodeMessage(miniLinkSchema, { type: RTM_NEWLINK, flags: 0, seq: 0, pid: 0, buffer: bytes, start, end }).ifname;

test('one sendmsg for the group, then a barrier in its own; consecutive seqs; flags kept', async () => {
  const kernel = new FakeKernel((req, bytes) => (req.flags & NLM_F_ACK ? [errorReply(req, bytes, 0)] : undefined));
  const conn = Connection.over(kernel);
  const replies = await conn.sendGroup(group(['a', 'b', 'c']), { operation: 'apply' });
  assert.is(kernel.sent.length, 2, 'the group, then the barrier');
  const [batch, barrier] = kernel.sent;
  assert.is(batch!.length, 5);
  const seqs = batch!.map((m) => m.readUInt32LE(8));
  assert.equal(
    seqs,
    seqs.map((_, i) => seqs[0]! + i),
    'consecutive',
  );
  assert.ok(batch!.every((m) => m.readUInt32LE(12) === kernel.port));
  assert.equal(
    batch!.map((m) => m.readUInt16LE(6)),
    [NLM_F_REQUEST, 5, 5, 5, NLM_F_REQUEST],
    'only NLM_F_REQUEST added',
  );
  assert.is(barrier!.length, 1);
  assert.is(barrier![0]!.readUInt16LE(4), NLMSG_NOOP);
  assert.is(barrier![0]!.readUInt16LE(6), NLM_F_REQUEST | NLM_F_ACK);
  assert.equal(
    replies.map((r) => r.errno),
    [undefined, 0, 0, 0, undefined],
  );
  assert.is(conn.unmatched, 0);
});

test('each failure is mapped to its own message, with its index and context', async () => {
  const kernel = new FakeKernel((req, bytes) => {
    if (!(req.flags & NLM_F_ACK)) return undefined;
    if (req.type === NLMSG_NOOP) return [errorReply(req, bytes, 0)];
    return [errorReply(req, bytes, nameOf(bytes, req.start, req.end) === 'bad' ? 2 : 0)];
  });
  const conn = Connection.over(kernel);
  const names = ['ok1', 'bad', 'ok2'];
  const replies = await conn.sendGroup(group(names), (index) => ({
    operation: 'create thing',
    object: index >= 1 && index <= 3 ? names[index - 1] : 'batch',
  }));
  assert.equal(
    replies.map((r) => r.errno),
    [undefined, 0, 2, 0, undefined],
  );
  const error = replies[2]!.error!;
  assert.instance(error, NetlinkError);
  assert.is(error.code, 'ENOENT');
  assert.is(error.index, 2);
  assert.match(error.message, /^create thing bad failed: ENOENT/);
  assert.is(replies[1]!.error, undefined);
});

test('echoed copies are collected with the message whose seq they carry', async () => {
  const kernel = new FakeKernel((req, bytes) => {
    if (!(req.flags & NLM_F_ACK)) return undefined;
    const payload = bytes.subarray(req.start, req.end);
    const echo = req.flags & NLM_F_ECHO ? [header(RTM_NEWLINK, 0, req.seq, req.pid, Buffer.from(payload))] : [];
    return [...echo, errorReply(req, bytes, 0)];
  });
  const conn = Connection.over(kernel);
  const replies = await conn.sendGroup(group(['x', 'y'], NLM_F_ACK | NLM_F_ECHO), { operation: 'apply' });
  assert.equal(
    replies.map((r) => r.replies.length),
    [0, 1, 1, 0],
  );
  const echoed = replies[2]!.replies[0]!;
  assert.is(nameOf(echoed.buffer, echoed.start, echoed.end), 'y');
});

test('an error for a control message (BEGIN) is reported there, and the first answer wins', async () => {
  const kernel = new FakeKernel((req, bytes) =>
    isBegin(req)
      ? [errorReply(req, bytes, 85), errorReply(req, bytes, 0)]
      : req.type === NLMSG_NOOP
        ? [errorReply(req, bytes, 0)]
        : undefined,
  );
  const conn = Connection.over(kernel);
  const replies = await conn.sendGroup(group(['a']), { operation: 'apply' });
  assert.is(replies[0]!.errno, 85);
  assert.instance(replies[0]!.error, NetlinkError);
  assert.equal(
    replies.slice(1).map((r) => r.errno),
    [undefined, undefined],
  );
});

test('no answer at all: the barrier times out the whole group', async () => {
  const conn = Connection.over(new FakeKernel(() => undefined));
  const error = await conn.sendGroup(group(['a']), { operation: 'apply' }, { timeoutMs: 20 }).catch((e) => e);
  assert.instance(error, TimeoutError);
  // Nothing is left registered: a later request still works.
  const kernel = new FakeKernel((req, bytes) => [errorReply(req, bytes, 0)]);
  const again = Connection.over(kernel);
  assert.equal(
    (await again.sendGroup(group([]), { operation: 'apply' })).map((r) => r.errno),
    [0, 0],
  );
});

test('a failed send rejects the group and sends no barrier', async () => {
  const kernel = new FakeKernel(() => undefined);
  kernel.send = async (messages) => {
    kernel.sent.push(messages);
    throw new Error('EMSGSIZE');
  };
  const conn = Connection.over(kernel);
  const error = await conn.sendGroup(group(['a']), { operation: 'apply' }).catch((e) => e);
  assert.match(error.message, /EMSGSIZE/);
  assert.is(kernel.sent.length, 1);
});

test('closing the connection rejects a pending group', async () => {
  const conn = Connection.over(new FakeKernel(() => undefined));
  const pending = conn.sendGroup(group(['a']), { operation: 'apply' });
  await new Promise((r) => setImmediate(r));
  conn.close();
  assert.instance(await pending.catch((e) => e), ClosedError);
});

test('requests queued before the group leave before it', async () => {
  const kernel = new FakeKernel((req, bytes) => [errorReply(req, bytes, 0)]);
  const conn = Connection.over(kernel);
  const earlier = conn.request(encodeMessage(RTM_NEWLINK, 0, miniLinkSchema, { ifname: 'first' }), {
    operation: 'create link',
  });
  const grouped = conn.sendGroup(group(['second']), { operation: 'apply' });
  await Promise.all([earlier, grouped]);
  const order = kernel.sent.map((datagram) => datagram.map((m) => m.readUInt16LE(4)));
  assert.equal(order, [[RTM_NEWLINK], [BEGIN, RTM_NEWLINK, END], [NLMSG_NOOP]]);
});

test.run();
