/**
 * Nesting depth: a set that nests itself (through a thunk) decodes up to
 * MAX_NEST_DEPTH levels; deeper bytes are a DecodeError naming the path, in
 * the decoder and its test oracle alike, never a stack overflow.
 * Encoding a too-deep (or self-containing) object is a ValidationError.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeAttrs, type Decoded, encodeAttrs, MAX_NEST_DEPTH } from '../../src/netlink/codec.js';
import { DecodeError, ValidationError } from '../../src/netlink/errors.js';
import { attr, attrSet, type AttrSet } from '../../src/netlink/schema.js';
import { Writer } from '../../src/netlink/writer.js';
import { oracleDecodeAttrs } from '../helpers/decode-oracle.js';

const tree: AttrSet = attrSet('tree', { child: attr.nest(1, () => tree), leaf: attr.u32(2) });

/** `levels` nested `child` attributes around one `leaf`, built inside out. */
function nestedBytes(levels: number): Buffer {
  let inner = Buffer.alloc(8);
  inner.writeUInt16LE(8, 0);
  inner.writeUInt16LE(2, 2);
  inner.writeUInt32LE(7, 4);
  for (let i = 0; i < levels; i++) {
    const header = Buffer.alloc(4);
    header.writeUInt16LE(4 + inner.length, 0);
    header.writeUInt16LE(1 | 0x8000, 2);
    inner = Buffer.concat([header, inner]);
  }
  return inner;
}

function nestedObject(levels: number): Decoded {
  let o: Decoded = { leaf: 7 };
  for (let i = 0; i < levels; i++) o = { child: o };
  return o;
}

const DECODERS = { decoder: decodeAttrs, oracle: oracleDecodeAttrs };

for (const [name, decode] of Object.entries(DECODERS)) {
  test(`${name}: ${MAX_NEST_DEPTH} levels decode, and encode back to the same bytes`, () => {
    const bytes = nestedBytes(MAX_NEST_DEPTH);
    const decoded = decode(tree, bytes, 0, bytes.length, {});
    let o = decoded;
    for (let i = 0; i < MAX_NEST_DEPTH; i++) o = o.child as Decoded;
    assert.is(o.leaf, 7);
    const w = new Writer(bytes.length);
    encodeAttrs(tree, decoded, w, '');
    assert.ok(w.finish().equals(bytes));
  });

  // 16,000: about the most one attribute (a 16-bit length) can hold.
  for (const levels of [MAX_NEST_DEPTH + 1, 2000, 16_000]) {
    test(`${name}: ${levels} levels are a DecodeError naming the path, not a stack overflow`, () => {
      const bytes = nestedBytes(levels);
      try {
        decode(tree, bytes, 0, bytes.length, {});
        assert.unreachable('decoded');
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        assert.match(error.reason, `nests deeper than ${MAX_NEST_DEPTH} levels`);
        assert.equal(error.path, Array(MAX_NEST_DEPTH + 1).fill('child'));
        assert.is(error.offset, 4 * (MAX_NEST_DEPTH + 1), 'the value of the first nest too deep');
        assert.match(error.message, /at child\.child\.child/);
      }
    });
  }

  test(`${name}: the depth count is back to 0 after an error (the next message decodes)`, () => {
    const deep = nestedBytes(3000);
    assert.throws(
      () => decode(tree, deep, 0, deep.length, {}),
      (e: unknown) => e instanceof DecodeError,
    );
    const ok = nestedBytes(MAX_NEST_DEPTH);
    assert.ok(decode(tree, ok, 0, ok.length, {}).child);
  });
}

test('the decoder and the oracle give the same error for the same too-deep bytes', () => {
  const bytes = nestedBytes(500);
  const message = (decode: typeof decodeAttrs) => {
    try {
      decode(tree, bytes, 0, bytes.length, {});
      return 'decoded';
    } catch (error) {
      return (error as Error).message;
    }
  };
  assert.is(message(decodeAttrs), message(oracleDecodeAttrs));
});

test('encoding: too deep an object, or one that contains itself, is a ValidationError with a short path', () => {
  for (const value of [nestedObject(MAX_NEST_DEPTH + 1), nestedObject(5000)]) {
    try {
      encodeAttrs(tree, value, new Writer(64), '');
      assert.unreachable('encoded');
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      assert.match(error.reason, `nests deeper than ${MAX_NEST_DEPTH} levels`);
      assert.match(error.field, /^child\.child\.child\.child\.\(\d+ more\)\.child\.child\.child\.child$/);
    }
  }
  const loop: Decoded = { leaf: 1 };
  loop.child = loop;
  assert.throws(
    () => encodeAttrs(tree, loop, new Writer(64), ''),
    (e: unknown) => e instanceof ValidationError && /contains itself/.test(e.message),
  );
  // And the count is back to 0: a normal object encodes.
  const w = new Writer(64);
  encodeAttrs(tree, nestedObject(3), w, '');
  assert.is(w.finish().length, 3 * 4 + 8);
});

test.run();
