/**
 * MessageBatch: many messages encoded back to back in one buffer must be,
 * byte for byte, what encodeMessage makes of each; a message that fails
 * validation leaves nothing of itself behind.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NLM_F_APPEND, NLM_F_CREATE } from '../../src/netlink/constants.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { encodeMessage, MessageBatch } from '../../src/netlink/message.js';
import { AF_BRIDGE, RTM_NEWNEIGH } from '../../src/rtnetlink/constants.js';
import { neighbourSchema } from '../../src/rtnetlink/schema/neighbour.js';

const FLAGS = NLM_F_CREATE | NLM_F_APPEND;
// Every shape of flood entry: an IPv4 or IPv6 remote, with and without a port (padding differs).
const entry = (i: number) => ({
  family: AF_BRIDGE,
  ifindex: 7,
  state: 0x80,
  flags: 0x02,
  lladdr: '00:00:00:00:00:00',
  dst: i % 3 === 0 ? `2001:db8::${i.toString(16)}` : `10.1.${i >> 8}.${i & 255}`,
  ...(i % 2 ? { port: 4789 } : {}),
});

test('each message is byte for byte what encodeMessage makes of it, and the buffer grows past its first size', () => {
  const batch = new MessageBatch(2); // 256 bytes at first: 1,000 messages make it grow many times
  const values = Array.from({ length: 1000 }, (_, i) => entry(i));
  for (const value of values) batch.add(RTM_NEWNEIGH, FLAGS, neighbourSchema, value);
  const messages = batch.messages();
  assert.is(messages.length, 1000);
  assert.is(batch.length, 1000);
  messages.forEach((message, i) => {
    assert.equal(message, encodeMessage(RTM_NEWNEIGH, FLAGS, neighbourSchema, values[i]!), `message ${i}`);
  });
  assert.ok(
    messages.every((m) => m.buffer === messages[0]!.buffer),
    'views of one buffer',
  );
});

test('a message that fails to encode is not kept, and those after it follow the last good one', () => {
  const batch = new MessageBatch(4);
  batch.add(RTM_NEWNEIGH, FLAGS, neighbourSchema, entry(1));
  const bad = { ...entry(2), lladdr: 'not a mac' };
  assert.throws(
    () => batch.add(RTM_NEWNEIGH, FLAGS, neighbourSchema, bad),
    (error: unknown) => error instanceof ValidationError,
  );
  batch.add(RTM_NEWNEIGH, FLAGS, neighbourSchema, entry(4));
  const messages = batch.messages();
  assert.is(messages.length, 2);
  assert.equal(messages[0], encodeMessage(RTM_NEWNEIGH, FLAGS, neighbourSchema, entry(1)));
  assert.equal(messages[1], encodeMessage(RTM_NEWNEIGH, FLAGS, neighbourSchema, entry(4)));
});

test.run();
