/**
 * Batches: each failure reported by its message's index in both ack modes,
 * across chunks and across the sequence-number wrap; nothing left behind
 * (no timer, no pending entry) once a batch has settled.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Connection } from '../../src/netlink/connection.js';
import { NLM_F_ACK, NLMSG_NOOP } from '../../src/netlink/constants.js';
import { NetlinkError, TimeoutError } from '../../src/netlink/errors.js';
import { errorReply, FakeKernel } from '../helpers/fake-kernel.js';
import { getLink } from '../helpers/link-schema.js';

/** Refuses (EEXIST) the messages whose ifindex is a multiple of 7; acks what asked for an ack. */
const kernel = (): FakeKernel =>
  new FakeKernel((req, bytes) => {
    if (req.type !== NLMSG_NOOP && bytes.readInt32LE(req.start + 4) % 7 === 0) return [errorReply(req, bytes, 17)];
    return req.flags & NLM_F_ACK ? [errorReply(req, bytes, 0)] : undefined;
  });

const messages = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => getLink({ ifindex: i + 1 }));
const refused = (n: number): number[] => Array.from({ length: n }, (_, i) => i).filter((i) => (i + 1) % 7 === 0);

for (const acks of ['errors', 'each'] as const) {
  test(`acks '${acks}': every refusal by index, the rest succeeded, across chunks`, async () => {
    const conn = Connection.over(kernel(), { window: 64 });
    const result = await conn.batch(messages(1000), (index) => ({ operation: 'set link', object: `#${index}` }), {
      acks,
      timeoutMs: 5000,
    });
    assert.equal(
      result.failed.map((f) => f.index),
      refused(1000),
    );
    assert.is(result.succeeded, 1000 - refused(1000).length);
    for (const f of result.failed) {
      assert.instance(f.error, NetlinkError);
      assert.is(f.error.code, 'EEXIST');
      assert.is(f.error.index, f.index);
      assert.match(f.error.message, new RegExp(`set link #${f.index} failed`));
    }
    assert.is(conn.unmatched, 0);
    assert.not.ok(process.getActiveResourcesInfo().includes('Timeout'), 'no timer outlives the batch');
    assert.is((conn as unknown as { pending: Map<number, unknown> }).pending.size, 0, 'no pending entry left');
    assert.is((conn as unknown as { ranges: Set<unknown> }).ranges.size, 0, 'no pending range left');
  });
}

test("acks 'errors': a message's context is made only if it fails (a batch of 1,000 builds no 1,000 texts)", async () => {
  const conn = Connection.over(kernel(), { window: 256 });
  const asked: number[] = [];
  const result = await conn.batch(messages(1000), (index) => {
    asked.push(index);
    return { operation: 'set link', object: `#${index}` };
  });
  const chunks = Math.ceil(1000 / 64);
  const failures = refused(1000);
  assert.equal(
    result.failed.map((f) => f.error.message.match(/#\d+/)?.[0]),
    failures.map((i) => `#${i}`),
  );
  // The batch's name (the first message's), then per chunk its first message's (the window's wait and the
  // chunk's own name), then each failure's.
  assert.ok(asked.length <= 1 + 2 * chunks + failures.length, `${asked.length} contexts made`);
  assert.equal(
    [...new Set(asked)].filter((i) => i % 64 !== 0),
    failures.filter((i) => i % 64 !== 0),
  );
});

test('a batch across the sequence-number wrap keeps each answer with its message', async () => {
  const k = kernel();
  const conn = Connection.over(k, { window: 64 });
  (conn as unknown as { seq: number }).seq = 0xffffffff - 100;
  const result = await conn.batch(messages(500), { operation: 'set link' });
  assert.equal(
    result.failed.map((f) => f.index),
    refused(500),
  );
  const seqs = k.sent.flat().map((m) => m.readUInt32LE(8));
  assert.ok(seqs.some((seq) => seq > 0xffffff00) && seqs.some((seq) => seq < 1000), 'the numbers wrapped');
  assert.not.ok(seqs.includes(0), 'never 0 (the number of kernel events)');
  assert.is(new Set(seqs).size, seqs.length, 'no number used twice');
});

test('a chunk that is never answered times out as a whole, and the batch says so', async () => {
  const silent = new FakeKernel(() => undefined);
  const conn = Connection.over(silent, { window: 64 });
  const error = await conn.batch(messages(100), { operation: 'set link' }, { timeoutMs: 50 }).catch((e) => e);
  assert.instance(error, TimeoutError);
  assert.is((conn as unknown as { pending: Map<number, unknown> }).pending.size, 0);
  assert.is((conn as unknown as { ranges: Set<unknown> }).ranges.size, 0);
});

test.run();
