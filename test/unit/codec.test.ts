import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeAttrs, encodeAttrs, UNFLAGGED_NEST, STRUCT_TAIL, type Decoded } from '../../src/netlink/codec.js';
import { NLA_F_NESTED } from '../../src/netlink/constants.js';
import { DecodeError, ValidationError } from '../../src/netlink/errors.js';
import { be16, layout } from '../../src/netlink/layout.js';
import { attr, attrSet } from '../../src/netlink/schema.js';
import { Writer } from '../../src/netlink/writer.js';

const range = layout('port_range', [be16('low'), be16('high')]);
const inner = attrSet('inner', { depth3: attr.u32(1), tag: attr.string(2) });
const middle = attrSet('middle', { deeper: attr.nest(1, inner), flag: attr.flag(2) });
const kinds = {
  alpha: attrSet('alpha', { a: attr.u8(1), b: attr.be16(2) }),
};
const outer = attrSet('outer', {
  u8: attr.u8(1),
  u16: attr.u16(2),
  u32: attr.u32(3),
  u64: attr.u64(4),
  s32: attr.s32(5),
  be16: attr.be16(6),
  be32: attr.be32(7),
  name: attr.string(8),
  blob: attr.binary(9),
  on: attr.flag(10),
  v4: attr.ipv4(11),
  v6: attr.ipv6(12),
  any: attr.ip(13),
  mac: attr.mac(14),
  nested: attr.nest(15, middle),
  kind: attr.string(16),
  data: attr.select(17, 'kind', kinds),
  ports: attr.struct(18, range),
  item: attr.multi(attr.u16(19)),
});

function encode(value: Decoded): Buffer {
  const w = new Writer(8);
  encodeAttrs(outer, value, w, '');
  return w.finish();
}
function decode(bytes: Buffer): Decoded {
  return decodeAttrs(outer, bytes, 0, bytes.length, {});
}
/** nlattr bytes by hand, host order (the test machine is little-endian, as the prebuilt socket is). */
function nla(type: number, payload: number[]): number[] {
  const length = 4 + payload.length;
  const padded = [...payload];
  while ((4 + padded.length) % 4) padded.push(0);
  return [length & 0xff, length >> 8, type & 0xff, type >> 8, ...padded];
}

test('every kind round-trips', () => {
  const value = {
    u8: 7,
    u16: 0xbeef,
    u32: 0xdeadbeef,
    u64: 0xfedcba9876543210n,
    s32: -5,
    be16: 4789,
    be32: 0x01020304,
    name: 'vx0',
    blob: Buffer.from([1, 2, 3]),
    on: true,
    v4: '239.1.1.1',
    v6: '2001:db8::1',
    any: 'fe80::1',
    mac: '02:00:00:aa:bb:cc',
    nested: { deeper: { depth3: 3, tag: 'deep' }, flag: true },
    kind: 'alpha',
    data: { a: 1, b: 8472 },
    ports: { low: 1000, high: 2000 },
    item: [1, 2, 3],
  };
  const decoded = decode(encode(value));
  assert.equal({ ...decoded, blob: [...(decoded.blob as Buffer)] }, { ...value, blob: [1, 2, 3] });
});

test('big-endian kinds put the high byte first; host-order kinds do not', () => {
  const bytes = encode({ be16: 4789, u16: 4789 });
  assert.equal([...bytes], [...nla(2, [0xb5, 0x12]), ...nla(6, [0x12, 0xb5])]);
});

test('a request is written in the order its set declares, whatever the order of its keys', () => {
  const inOrder = encode({
    u8: 1,
    u32: 3,
    name: 'vx0',
    on: true,
    nested: { deeper: { depth3: 3, tag: 't' }, flag: true },
  });
  const scrambled = encode({
    nested: { flag: true, deeper: { tag: 't', depth3: 3 } },
    on: true,
    name: 'vx0',
    u32: 3,
    u8: 1,
  });
  assert.equal([...scrambled], [...inOrder]);
  assert.equal([...encode({ u32: 3, u8: 1 })], [...nla(1, [1]), ...nla(3, [3, 0, 0, 0])]);
  // A repeated attribute keeps its values' order; a raw attribute keeps its position.
  const raw = { type: 99, flags: 0, data: new Uint8Array([7, 7, 7, 7]), at: 1 };
  assert.equal(
    [...encode({ item: [2, 1], u8: 5, unknown: [raw] })],
    [...nla(1, [5]), ...nla(99, [7, 7, 7, 7]), ...nla(19, [2, 0]), ...nla(19, [1, 0])],
  );
});

test('a decoded object is written back in the order it came in, also after a change or a spread', () => {
  const wire = Buffer.from([...nla(8, [0x76, 0x78, 0x30, 0]), ...nla(3, [3, 0, 0, 0]), ...nla(1, [1])]);
  const decoded = decode(wire);
  assert.equal(Object.keys(decoded), ['name', 'u32', 'u8']);
  assert.equal([...encode(decoded)], [...wire]);
  decoded.u32 = 4;
  assert.equal(
    [...encode({ ...decoded })],
    [...nla(8, [0x76, 0x78, 0x30, 0]), ...nla(3, [4, 0, 0, 0]), ...nla(1, [1])],
  );
  // The same values built by hand go out in the set's order.
  assert.equal(
    [...encode({ name: 'vx0', u32: 4, u8: 1 })],
    [...nla(1, [1]), ...nla(3, [4, 0, 0, 0]), ...nla(8, [0x76, 0x78, 0x30, 0])],
  );
});

test('a set declares a selector before the nest it selects (requests follow declaration order)', () => {
  assert.throws(
    () => attrSet('bad', { data: attr.select(2, 'kind', kinds), kind: attr.string(1) }),
    /data is selected by kind, which must be declared before it/,
  );
  assert.ok(attrSet('good', { kind: attr.string(1), data: attr.select(2, 'kind', kinds) }));
  assert.ok(attrSet('by header', { data: attr.select(2, 'family', kinds) }, ['family']));
});

test('padding is zeroed and excluded from nla_len', () => {
  const bytes = encode({ name: 'ab' });
  assert.equal([...bytes], [7, 0, 8, 0, 0x61, 0x62, 0, 0]);
});

test('zero-length attributes: a flag, an empty string, empty bytes', () => {
  const bytes = encode({ on: true, name: '', blob: new Uint8Array(0) });
  assert.equal([...bytes], [5, 0, 8, 0, 0, 0, 0, 0, 4, 0, 9, 0, 4, 0, 10, 0]);
  const back = decode(bytes);
  assert.is(back.on, true);
  assert.is(back.name, '');
  assert.is((back.blob as Buffer).length, 0);
});

test('three-deep nests set NLA_F_NESTED and decode back', () => {
  const bytes = encode({ nested: { deeper: { depth3: 0x11223344 } } });
  assert.is(bytes.readUInt16LE(2), 15 | NLA_F_NESTED);
  assert.is(bytes.readUInt16LE(6), 1 | NLA_F_NESTED);
  assert.is(bytes.readUInt16LE(10), 1);
  assert.equal(decode(bytes), { nested: { deeper: { depth3: 0x11223344 } } });
});

test('a nest the kernel sent without NLA_F_NESTED is re-encoded without it', () => {
  const bytes = Buffer.from(nla(15, nla(2, [])));
  const decoded = decode(bytes);
  assert.is((decoded.nested as any)[UNFLAGGED_NEST], true);
  assert.equal([...encode(decoded)], [...bytes]);
});

test('unknown attributes are kept raw, in place, and written back byte for byte', () => {
  const bytes = Buffer.from([
    ...nla(1, [9]),
    ...nla(99 | NLA_F_NESTED, nla(1, [1, 2, 3, 4])),
    ...nla(3, [1, 0, 0, 0]),
    ...nla(200, [0xaa]),
  ]);
  const decoded = decode(bytes);
  assert.is(decoded.u8, 9);
  assert.is(decoded.u32, 1);
  assert.equal(
    decoded.unknown!.map((r) => [r.type, r.flags, r.at, [...r.data]]),
    [
      [99, NLA_F_NESTED, 1, [8, 0, 1, 0, 1, 2, 3, 4]],
      [200, 0, 3, [0xaa]],
    ],
  );
  assert.equal([...encode(decoded)], [...bytes]);
});

test('a sub-message with an unknown selector is kept raw', () => {
  const bytes = Buffer.from([...nla(16, [0x7a, 0]), ...nla(17 | NLA_F_NESTED, nla(1, [5]))]);
  const decoded = decode(bytes);
  assert.is(decoded.kind, 'z');
  assert.is(decoded.data, undefined);
  assert.equal([...encode(decoded)], [...bytes]);
});

test('a struct that grew keeps its tail', () => {
  const bytes = Buffer.from(nla(18, [0, 1, 0, 2, 9, 9, 9, 9]));
  const decoded = decode(bytes);
  assert.equal({ ...(decoded.ports as object) }, { low: 1, high: 2 });
  assert.equal([...(decoded.ports as any)[STRUCT_TAIL]], [9, 9, 9, 9]);
  assert.equal([...encode(decoded)], [...bytes]);
});

test('IPv6 text: compressed, mapped with a dotted tail, and no deprecated compatible form', () => {
  const cases: [string, string][] = [
    ['2001:0db8:0:0:0:0:0:1', '2001:db8::1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['::', '::'],
    ['::1', '::1'],
    ['::1:2', '::1:2'],
  ];
  for (const [input, text] of cases) assert.is(decode(encode({ v6: input })).v6, text);
});

test('truncated and overlong lengths throw DecodeError with offset and path', () => {
  const cases: [number[], RegExp][] = [
    [[8, 0, 3, 0, 1, 0], /claims 8 bytes, only 6 remain/],
    [[2, 0, 3, 0], /shorter than its header/],
    [[1, 0], /too short for an attribute header/],
    [nla(3, [1, 2]), /u32 needs 4 bytes, got 2/],
  ];
  for (const [bytes, message] of cases) {
    try {
      decode(Buffer.from(bytes));
      assert.unreachable('should throw');
    } catch (error) {
      assert.instance(error, DecodeError);
      assert.match((error as Error).message, message);
    }
  }
  try {
    decode(Buffer.from(nla(15 | NLA_F_NESTED, nla(1 | NLA_F_NESTED, nla(1, [1, 2])))));
    assert.unreachable('should throw');
  } catch (error) {
    assert.instance(error, DecodeError);
    assert.equal((error as DecodeError).path, ['nested', 'deeper', 'depth3']);
    assert.is((error as DecodeError).offset, 12);
  }
});

test('encoding validates values and names the field', () => {
  const cases: [Decoded, string][] = [
    [{ u8: 256 }, 'u8'],
    [{ u32: -1 }, 'u32'],
    [{ be16: 1.5 }, 'be16'],
    [{ v4: '300.1.1.1' }, 'v4'],
    [{ v6: 'fe80::1%eth0' }, 'v6'],
    [{ mac: 'zz:00' }, 'mac'],
    [{ name: 'a\0b' }, 'name'],
    [{ nested: { deeper: { depth3: 'x' } } }, 'nested.deeper.depth3'],
    [{ typo: 1 }, 'typo'],
    [{ item: 5 }, 'item'],
    [{ kind: 'beta', data: {} }, 'data'],
  ];
  for (const [value, field] of cases) {
    try {
      encode(value);
      assert.unreachable(`should reject ${JSON.stringify(value)}`);
    } catch (error) {
      assert.instance(error, ValidationError);
      assert.is((error as ValidationError).field, field);
    }
  }
});

test('u8flag: a flag in requests, a u8 in dumps, each written back as it came', () => {
  const set = attrSet('s', { inherit: attr.u8flag(1), expires: attr.uint(2) });
  const enc = (value: Decoded) => {
    const w = new Writer(8);
    encodeAttrs(set, value, w, '');
    return w.finish();
  };
  assert.equal([...enc({ inherit: true })], [4, 0, 1, 0]);
  assert.equal([...enc({ inherit: 1 })], [5, 0, 1, 0, 1, 0, 0, 0]);
  assert.is(enc({ inherit: false }).length, 0);
  const fromDump = Buffer.from([5, 0, 1, 0, 1, 0, 0, 0]);
  assert.equal(decodeAttrs(set, fromDump, 0, fromDump.length, {}), { inherit: 1 });
  const fromRequest = Buffer.from([4, 0, 1, 0]);
  assert.equal(decodeAttrs(set, fromRequest, 0, fromRequest.length, {}), { inherit: true });
});

test('uint: 4 bytes as a number, 8 bytes as a bigint, by length', () => {
  const set = attrSet('s', { expires: attr.uint(2) });
  const four = Buffer.from([8, 0, 2, 0, 1, 0, 0, 0]);
  const eight = Buffer.from([12, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(decodeAttrs(set, four, 0, four.length, {}), { expires: 1 });
  assert.equal(decodeAttrs(set, eight, 0, eight.length, {}), { expires: 0x0100000000000001n });
  const w = new Writer(8);
  encodeAttrs(set, { expires: 0x0100000000000001n }, w, '');
  assert.equal([...w.finish()], [...eight]);
});

test('a false flag and undefined values write nothing', () => {
  assert.is(encode({ on: false, u8: undefined }).length, 0);
});

test.run();
