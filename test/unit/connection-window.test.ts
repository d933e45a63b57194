/**
 * The in-flight window follows the socket's receive buffer, and batches never
 * put more messages in one sendmsg than the window or UIO_MAXIOV allow.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Connection, defaultWindow, WINDOW_BYTES_PER_MESSAGE } from '../../src/netlink/connection.js';
import { NLM_F_ACK, NLMSG_NOOP } from '../../src/netlink/constants.js';
import { errorReply, FakeKernel, type Responder } from '../helpers/fake-kernel.js';
import { getLink } from '../helpers/link-schema.js';

/** A scripted kernel whose socket reports a receive buffer size. */
class BufferedKernel extends FakeKernel {
  constructor(
    respond: Responder,
    readonly receiveBufferSize: number,
  ) {
    super(respond);
  }
}

const ackBarriers: Responder = (req, bytes) =>
  req.type === NLMSG_NOOP || req.flags & NLM_F_ACK ? [errorReply(req, bytes, 0)] : undefined;

test('the default window: 128 when the buffer is unknown or small, the buffer / 8 KiB up to 1024', () => {
  assert.is(defaultWindow(undefined), 128);
  assert.is(defaultWindow(425_984), 128, 'the kernel default buffer (rmem_default 212992, doubled)');
  assert.is(defaultWindow(2 * 1024 * 1024), 256);
  assert.is(defaultWindow(8 * 1024 * 1024), 1024, 'a 4 MiB request, doubled by the kernel');
  assert.is(defaultWindow(64 * 1024 * 1024), 1024);
  assert.is(
    Connection.over(new BufferedKernel(ackBarriers, 4 * 1024 * 1024)).window,
    (4 * 1024 * 1024) / WINDOW_BYTES_PER_MESSAGE,
  );
  assert.is(Connection.over(new FakeKernel(ackBarriers)).window, 128);
  assert.is(
    Connection.over(new BufferedKernel(ackBarriers, 8 << 20), { window: 16 }).window,
    16,
    'an explicit window wins',
  );
});

test('batch chunks: a quarter of the window (at least 64), below the window, at most 1023 plus the barrier', async () => {
  const sizes = async (kernel: FakeKernel, window?: number, chunk?: number): Promise<number[]> => {
    const conn = Connection.over(kernel, window === undefined ? {} : { window });
    const result = await conn.batch(
      Array.from({ length: 3000 }, () => getLink({ ifindex: 1 })),
      { operation: 'get link' },
      chunk ? { chunk } : {},
    );
    assert.is(result.succeeded, 3000);
    return [...new Set(kernel.sent.map((s) => s.length))];
  };
  assert.equal(await sizes(new FakeKernel(ackBarriers)), [65, 57], '64 and a barrier (3000 = 46 × 64 + 56)');
  assert.equal(await sizes(new BufferedKernel(ackBarriers, 8 << 20)), [257, 185], 'window 1024: 256 and a barrier');
  const huge = await sizes(new FakeKernel(ackBarriers), 5000, 5000);
  assert.ok(Math.max(...huge) <= 1024, `at most UIO_MAXIOV iovecs per sendmsg (got ${huge})`);
});

test('requests issued in one tick leave in sendmsgs of at most 1024 messages', async () => {
  const kernel = new FakeKernel((req, bytes) => [errorReply(req, bytes, 0)]);
  const conn = Connection.over(kernel, { window: 3000 });
  await Promise.all(
    Array.from({ length: 2500 }, () => conn.request(getLink({ ifindex: 1 }), { operation: 'get link' })),
  );
  assert.ok(
    Math.max(...kernel.sent.map((s) => s.length)) <= 1024,
    `largest sendmsg: ${Math.max(...kernel.sent.map((s) => s.length))}`,
  );
});

test.run();
