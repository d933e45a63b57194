/**
 * The production attribute decoder (one generated function per attribute
 * set) against the test oracle (test/helpers/decode-oracle.ts, a plain
 * interpreter of the schema), on every recorded kernel message and on 10,000
 * mutations of them: the same objects, keys in the same order, the same
 * markers, and the same DecodeError (message, path, offset). The message
 * headers are read by the generated layout readers on one side and field by
 * field on the other. Also the one-allocation text formatters against the
 * oracle's plain string building.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { align } from '../../src/netlink/align.js';
import {
  decodeAttrs,
  type Decoded,
  formatIPv4,
  formatIPv6,
  formatMac,
  STRUCT_TAIL,
  UNFLAGGED_NEST,
} from '../../src/netlink/codec.js';
import { DecodeError } from '../../src/netlink/errors.js';
import { forEachMessage, type MessageSchema } from '../../src/netlink/message.js';
import { loadFixture } from '../helpers/fixtures.js';
import { allFixtureFiles, schemaFor } from '../helpers/schemas.js';
import { prng } from '../helpers/prng.js';
import { oracleDecodeAttrs, oracleIPv4, oracleIPv6, oracleMac, oracleReadStruct } from '../helpers/decode-oracle.js';

interface Decoder {
  header(schema: MessageSchema, bytes: Buffer, at: number): Decoded;
  attrs: typeof decodeAttrs;
}
const PRODUCTION: Decoder = { header: (schema, bytes, at) => schema.header.read(bytes, at), attrs: decodeAttrs };
const ORACLE: Decoder = {
  header: (schema, bytes, at) => oracleReadStruct(schema.header, bytes, at),
  attrs: oracleDecodeAttrs,
};

/** A JSON text of a decoded value that also shows key order, byte contents and the codec's symbol markers. */
function canonical(value: unknown): string {
  return JSON.stringify(value, function replacer(this: unknown, _key, v) {
    if (
      v instanceof Uint8Array ||
      (v &&
        typeof v === 'object' &&
        (v as { type?: string }).type === 'Buffer' &&
        Array.isArray((v as { data?: unknown }).data))
    ) {
      return { bytes: Buffer.from(v instanceof Uint8Array ? v : (v as { data: number[] }).data).toString('hex') };
    }
    if (typeof v === 'bigint') return { bigint: v.toString() };
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const marked: Record<string, unknown> = { ...v };
      if ((v as Record<symbol, unknown>)[UNFLAGGED_NEST]) marked['<unflagged>'] = true;
      const tail = (v as Record<symbol, unknown>)[STRUCT_TAIL];
      if (tail) marked['<tail>'] = Buffer.from(tail as Uint8Array).toString('hex');
      return marked;
    }
    return v;
  });
}

function outcome(schema: MessageSchema, bytes: Buffer, start: number, end: number, decode: Decoder): string {
  try {
    if (end - start < schema.header.size) return 'short';
    const out = decode.header(schema, bytes, start);
    return canonical(decode.attrs(schema.attrs, bytes, start + align(schema.header.size), end, out));
  } catch (error) {
    if (error instanceof DecodeError) return `DecodeError ${error.message} | ${error.path.join('.')} | ${error.offset}`;
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

interface Sample {
  schema: MessageSchema;
  bytes: Buffer;
}

let pool: Sample[] | undefined;
function samples(): Sample[] {
  if (pool) return pool;
  const out: Sample[] = (pool = []);
  for (const file of allFixtureFiles()) {
    const fixture = loadFixture(file);
    for (const entry of fixture.entries) {
      if (entry.kind !== 'recv') continue;
      forEachMessage(entry.datagram, (m) => {
        const schema = schemaFor(fixture.protocol, m.type);
        if (schema) out.push({ schema, bytes: Buffer.from(m.buffer.subarray(m.start, m.end)) });
      });
    }
  }
  return out;
}

test('the decoder and the oracle agree on every recorded message', () => {
  const pool = samples();
  assert.ok(pool.length >= 10, `recorded messages: ${pool.length}`);
  for (const { schema, bytes } of pool) {
    const decoded = outcome(schema, bytes, 0, bytes.length, PRODUCTION);
    assert.not.match(decoded, /^(DecodeError|short)/, `a recorded ${schema.name} message decodes`);
    assert.is(decoded, outcome(schema, bytes, 0, bytes.length, ORACLE));
  }
});

test('the decoder and the oracle agree on 10,000 mutations, errors included', () => {
  const pool = samples();
  const random = prng(0xc0de);
  const pick = (n: number) => Math.floor(random() * n);
  let errors = 0;
  for (let i = 0; i < 10_000; i++) {
    const { schema, bytes: original } = pool[i % pool.length]!;
    const bytes = Buffer.from(original);
    switch (pick(4)) {
      case 0:
        for (let k = 0, n = 1 + pick(4); k < n; k++) bytes[pick(bytes.length)] = pick(256);
        break;
      case 1: {
        // an attribute length or type at a 4-byte boundary
        const at = pick(bytes.length >> 2) << 2;
        if (at + 3 < bytes.length)
          bytes.writeUInt16LE(pick(3) === 0 ? pick(24) : pick(0x10000), at + (pick(2) ? 2 : 0));
        break;
      }
      case 2: {
        // the nested / byte-order bits of a type
        const at = (pick(bytes.length >> 2) << 2) + 3;
        if (at < bytes.length) bytes[at] = (bytes[at]! ^ (pick(4) << 6)) & 0xff;
        break;
      }
      default:
        break;
    }
    const end = pick(8) === 0 ? pick(bytes.length + 1) : bytes.length;
    const decoded = outcome(schema, bytes, 0, end, PRODUCTION);
    if (decoded.startsWith('DecodeError')) errors++;
    const expected = outcome(schema, bytes, 0, end, ORACLE);
    if (decoded !== expected)
      assert.fixture(
        decoded,
        expected,
        `mutation ${i} of a ${schema.name} message: ${bytes.subarray(0, end).toString('hex')}`,
      );
  }
  assert.ok(errors > 500, `the mutations exercise the error paths (${errors} errors)`);
});

test('formatIPv4 writes what a template literal writes, for every octet in every position', () => {
  const b = Buffer.alloc(4);
  for (let v = 0; v < 256; v++) {
    for (let position = 0; position < 4; position++) {
      b.fill(position === 0 ? 7 : 255);
      b[position] = v;
      assert.is(formatIPv4(b, 0), oracleIPv4(b));
    }
  }
  assert.is(formatIPv4(Buffer.from([9, 10, 0, 0, 0, 0]), 2), '0.0.0.0');
});

test('formatMac: colon-separated lowercase hex, any length', () => {
  const random = prng(7);
  for (let length = 0; length <= 32; length++) {
    const bytes = Buffer.from(Array.from({ length: length + 3 }, () => Math.floor(random() * 256)));
    assert.is(formatMac(bytes, 2, 2 + length), oracleMac(bytes.subarray(2, 2 + length)));
  }
});

test('formatIPv6 writes what ipaddr.js writes (RFC 5952), and mapped IPv4 with a dotted tail', () => {
  const random = prng(6);
  const pick = (n: number) => Math.floor(random() * n);
  const cases: Buffer[] = [
    Buffer.alloc(16),
    Buffer.from([...Buffer.alloc(10), 0xff, 0xff, 10, 0, 0, 1]),
    Buffer.from([...Buffer.alloc(10), 0xff, 0xfe, 10, 0, 0, 1]),
  ];
  // Every pattern of zero and non-zero groups, with values of every width (1 to 4 hex digits).
  for (let mask = 0; mask < 256; mask++) {
    for (let r = 0; r < 8; r++) {
      const b = Buffer.alloc(16);
      for (let g = 0; g < 8; g++)
        if (mask & (1 << g))
          b.writeUInt16BE([1 + pick(15), 16 + pick(240), 256 + pick(3840), 4096 + pick(61440)][pick(4)]!, g * 2);
      cases.push(b);
    }
  }
  for (const bytes of cases) {
    const at = pick(4);
    const framed = Buffer.concat([Buffer.alloc(at, 0xee), bytes]);
    assert.is(formatIPv6(framed, at), oracleIPv6(bytes), bytes.toString('hex'));
  }
});

test.run();
