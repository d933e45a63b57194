/**
 * 100,000 random mutations of recorded kernel messages: each either decodes
 * or throws DecodeError — never a RangeError, TypeError, or a hang. Then the
 * nf_tables messages alone, 100,000 more, through the conversions to typed
 * objects as well (tableFromWire, ...): typed, typed with `raw`, or
 * DecodeError — never a ValidationError.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DecodeError } from '../../src/netlink/errors.js';
import { decodeMessage, forEachMessage } from '../../src/netlink/message.js';
import { loadFixture } from '../helpers/fixtures.js';
import { allFixtureFiles, schemaFor } from '../helpers/schemas.js';
import { prng } from '../helpers/prng.js';
import type { MessageSchema } from '../../src/netlink/message.js';
import { chainFromWire, chainSchema } from '../../src/nftables/chain.js';
import { ruleFromWire, ruleSchema } from '../../src/nftables/rule.js';
import { elementsFromWire, setElementsSchema, setFromWire, setSchema } from '../../src/nftables/set.js';
import { tableFromWire, tableSchema } from '../../src/nftables/table.js';
import { generationFromWire, generationSchema } from '../../src/nftables/generation.js';

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
        if (schemaFor(fixture.protocol, m.type))
          out.push({ protocol: fixture.protocol, bytes: Buffer.from(m.buffer.subarray(m.start - 16, m.end)) });
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
    case 1: {
      // a random 16-bit length at a 4-byte boundary (attribute headers live there)
      const at = pick(out.length >> 2) << 2;
      if (at + 1 < out.length) out.writeUInt16LE(pick(3) === 0 ? pick(8) : pick(0x10000), at);
      return out;
    }
    case 2: // truncate (also inside the nlmsghdr the message length then lies)
      return out.subarray(0, pick(out.length));
    case 3: // append junk
      return Buffer.concat([out, Buffer.from(Array.from({ length: 1 + pick(12) }, () => pick(256)))]);
    default:
      {
        // set a type field's nested/byte-order bits at random
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
        throw new Error(
          `mutation ${i} threw ${(error as Error).name}: ${(error as Error).message}\nbytes: ${bytes.toString('hex')}`,
        );
      }
      rejected++;
    }
  }
  // Both outcomes happen: the mutations are neither all harmless nor all fatal.
  assert.ok(decoded > 1000 && rejected > 1000, `decoded ${decoded}, rejected ${rejected}`);
  assert.ok(Date.now() - started < 60_000, 'no mutation made the decoder crawl');
});

/** The conversion each nf_tables schema's messages go through in the client. */
const CONVERSIONS = new Map<MessageSchema, (w: any) => object | object[]>([
  [tableSchema, tableFromWire],
  [chainSchema, chainFromWire],
  [ruleSchema, ruleFromWire],
  [setSchema, setFromWire],
  [setElementsSchema, elementsFromWire],
  [generationSchema, generationFromWire],
]);

interface Converted {
  objects: number;
  /** Objects returned with `raw` (the typed fields could not say everything). */
  raw: number;
  /** Expressions kept raw inside rules. */
  rawExpressions: number;
}

function convert(schema: MessageSchema, w: object, into: Converted): void {
  const conversion = CONVERSIONS.get(schema)!;
  for (const o of [conversion(w)].flat() as { raw?: unknown; expressions?: { type: string }[] }[]) {
    into.objects++;
    if (o.raw !== undefined) into.raw++;
    into.rawExpressions += o.expressions?.filter((e) => e.type === 'raw').length ?? 0;
  }
}

function netfilterSamples(): Sample[] {
  return samples().filter((s) => s.protocol === 12 && CONVERSIONS.has(schemaFor(12, s.bytes.readUInt16LE(4))!));
}

test('recorded nf_tables messages convert to typed objects; only a 6.18 set is raw (attributes newer than the uapi headers)', () => {
  const counts: Converted = { objects: 0, raw: 0, rawExpressions: 0 };
  const rawKinds = new Set<string>();
  for (const sample of netfilterSamples()) {
    forEachMessage(sample.bytes, (m) => {
      const schema = schemaFor(12, m.type)!;
      const before = counts.raw;
      convert(schema, decodeMessage(schema, m), counts);
      if (counts.raw > before) rawKinds.add(schema.name);
    });
  }
  assert.ok(counts.objects > 100, `objects: ${counts.objects}`);
  // Kernel 6.18 lists NFTA_SET_TYPE (19) and NFTA_SET_COUNT (20), which the installed headers do not have yet.
  assert.equal([...rawKinds], counts.raw ? ['set'] : []);
});

test('100,000 mutations of nf_tables messages, converted: typed, typed with raw, or DecodeError', () => {
  const pool = netfilterSamples();
  assert.ok(pool.length >= 50, `recorded nf_tables messages: ${pool.length}`);
  const random = prng(0xf7ab1e5);
  const counts: Converted = { objects: 0, raw: 0, rawExpressions: 0 };
  let rejected = 0;
  let unnamed = 0;
  // FUZZ_NFT_MUTATIONS=1000000 for a longer campaign by hand.
  const MUTATIONS = Number(process.env.FUZZ_NFT_MUTATIONS ?? 100_000);
  for (let i = 0; i < MUTATIONS; i++) {
    const bytes = mutate(pool[i % pool.length]!.bytes, random);
    try {
      forEachMessage(bytes, (m) => {
        const schema = schemaFor(12, m.type);
        if (schema && CONVERSIONS.has(schema)) convert(schema, decodeMessage(schema, m), counts);
        else if (schema) decodeMessage(schema, m);
      });
    } catch (error) {
      if (!(error instanceof DecodeError)) {
        throw new Error(
          `mutation ${i} threw ${(error as Error).name}: ${(error as Error).message}\nbytes: ${bytes.toString('hex')}`,
        );
      }
      rejected++;
      if (error.offset < 0) unnamed++;
    }
  }
  console.log(
    `  nf_tables: ${MUTATIONS} mutated messages, ${rejected} DecodeErrors (${unnamed} of them a missing name), ${counts.objects} objects converted, ${counts.raw} with raw, ${counts.rawExpressions} raw expressions`,
  );
  assert.ok(counts.raw > 1000, `the mutations reach the raw fallback (${counts.raw})`);
  assert.ok(rejected > 1000, `and the decoder's errors (${rejected})`);
});

test.run();
