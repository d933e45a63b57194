/**
 * 100,000 random mutations of recorded kernel messages: each either decodes
 * or throws DecodeError — never a RangeError, TypeError, or a hang.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DecodeError } from '../../src/netlink/errors.js';
import { decodeMessage, forEachMessage } from '../../src/netlink/message.js';
import { loadFixture } from '../helpers/fixtures.js';
import { allFixtureFiles, schemaFor } from '../helpers/schemas.js';
import { prng } from '../helpers/prng.js';


interface Sample {
  protocol: number;
  bytes: Buffer;
}

function samples(): Sample[] {
  const out: Sample[] = [];
  for (const file of allFixtureFiles()) {
    const fixture = loadFixture(file);
    for (const entry of fixture.entries) {
      if (entry.kind !== 'recv') continue;
      forEachMessage(entry.datagram, (m) => {
        if (schemaFor(fixture.protocol, m.type)) out.push({ protocol: fixture.protocol, bytes: Buffer.from(m.buffer.subarray(m.start - 16, m.end)) });
      });
    }
  }
  return out;
}

function mutate(bytes: Buffer, random: () => number): Buffer {
  const out = Buffer.from(bytes);
  const pick = (n: number) => Math.floor(random() * n);
  switch (pick(5)) {
    case 0: // flip a few random bytes
      for (let i = 0, n = 1 + pick(4); i < n; i++) out[pick(out.length)] = pick(256);
      return out;
    case 1: { // a random 16-bit length at a 4-byte boundary (attribute headers live there)
      const at = pick(out.length >> 2) << 2;
      if (at + 1 < out.length) out.writeUInt16LE(pick(3) === 0 ? pick(8) : pick(0x10000), at);
      return out;
    }
    case 2: // truncate (also inside the nlmsghdr the message length then lies)
      return out.subarray(0, pick(out.length));
    case 3: // append junk
      return Buffer.concat([out, Buffer.from(Array.from({ length: 1 + pick(12) }, () => pick(256)))]);
    default: // set a type field's nested/byte-order bits at random
      {
        const at = (pick(out.length >> 2) << 2) + 2;
        if (at + 1 < out.length) out[at + 1] = (out[at + 1]! ^ (pick(4) << 6)) & 0xff;
      }
      return out;
  }
}

test('100,000 mutations of recorded messages: decode or DecodeError, nothing else', () => {
  const pool = samples();
  assert.ok(pool.length >= 10, `enough recorded messages to mutate (${pool.length})`);
  const random = prng(0x5eed);
  let decoded = 0;
  let rejected = 0;
  const started = Date.now();
  for (let i = 0; i < 100_000; i++) {
    const sample = pool[i % pool.length]!;
    const bytes = mutate(sample.bytes, random);
    try {
      forEachMessage(bytes, (m) => {
        const schema = schemaFor(sample.protocol, m.type);
        if (schema) decodeMessage(schema, m);
      });
      decoded++;
    } catch (error) {
      if (!(error instanceof DecodeError)) {
        throw new Error(`mutation ${i} threw ${(error as Error).name}: ${(error as Error).message}\nbytes: ${bytes.toString('hex')}`);
      }
      rejected++;
    }
  }
  // Both outcomes happen: the mutations are neither all harmless nor all fatal.
  assert.ok(decoded > 1000 && rejected > 1000, `decoded ${decoded}, rejected ${rejected}`);
  assert.ok(Date.now() - started < 60_000, 'no mutation made the decoder crawl');
});

test.run();
