/**
 * What the nf_tables conversions do with what their typed form cannot say:
 * typed fields plus `raw` (the decoded message, re-encoding to its bytes),
 * refused on write; a missing name is a DecodeError; catch-all elements and
 * verdict-map values are modeled.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Decoded } from '../../src/netlink/codec.js';
import { DecodeError, ValidationError } from '../../src/netlink/errors.js';
import {
  decodePayload,
  encodeMessage,
  encodePayloadInto,
  parseMessages,
  type MessageOf,
} from '../../src/netlink/message.js';
import { Writer } from '../../src/netlink/writer.js';
import { elementsFromWire, newSetElementsMessage, setElementsSchema } from '../../src/nftables/set.js';
import { tableFromWire, tableSchema, tableToWire } from '../../src/nftables/table.js';
import { chainFromWire } from '../../src/nftables/chain.js';
import { encodeUserdata } from '../../src/nftables/userdata.js';

/** A table message's payload with one attribute this code does not know (type 42) after the name. */
function tableWithUnknown(): Buffer {
  const w = new Writer(64);
  encodePayloadInto(w, tableSchema, {
    family: 2,
    version: 0,
    res_id: 0,
    name: 't',
    flags: 0,
    unknown: [{ type: 42, flags: 0, data: Buffer.from([1, 2, 3, 4]), at: 1 }],
  });
  return w.finish();
}

test('a table with an unknown attribute: typed fields, and raw that encodes to the bytes it came from', () => {
  const bytes = tableWithUnknown();
  const table = tableFromWire(decodePayload(tableSchema, bytes, 0, bytes.length));
  assert.is(table.name, 't');
  assert.is(table.family, 'ip');
  assert.ok(table.raw, 'raw kept');
  const w = new Writer(64);
  encodePayloadInto(w, tableSchema, table.raw!);
  assert.ok(w.finish().equals(bytes));
  assert.throws(
    () => tableToWire(table),
    (e: unknown) => e instanceof ValidationError && e.field === 'table.raw',
  );
  const { raw: _, ...typed } = table;
  assert.ok(tableToWire(typed), 'without raw, the typed fields are written');
});

test('a table of a family this code has no name for keeps it as a number, with raw', () => {
  const t = tableFromWire({ family: 99, version: 0, res_id: 0, name: 'x' });
  assert.is(t.family as unknown, 99);
  assert.ok(t.raw);
});

test('a message without the name of its object is a DecodeError, not a typed object with a hole', () => {
  for (const [convert, w, attribute] of [
    [tableFromWire, { family: 2 }, 'NFTA_TABLE_NAME'],
    [chainFromWire, { family: 2, name: 'c' }, 'NFTA_CHAIN_TABLE'],
  ] as [(w: never) => unknown, object, string][]) {
    try {
      convert(w as never);
      assert.unreachable();
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      assert.match(error.message, attribute);
      assert.not.match(error.message, /byte -1/);
    }
  }
});

test('a chain whose hook lacks its priority, or whose counters lack a value, keeps raw', () => {
  assert.ok(chainFromWire({ family: 2, version: 0, res_id: 0, table: 't', name: 'c', hook: { hooknum: 1 } }).raw);
  assert.ok(chainFromWire({ family: 2, version: 0, res_id: 0, table: 't', name: 'c', counters: { bytes: 1n } }).raw);
  assert.is(
    chainFromWire({
      family: 2,
      version: 0,
      res_id: 0,
      table: 't',
      name: 'c',
      hook: { hooknum: 1, priority: 0 },
      type: 'filter',
    }).raw,
    undefined,
  );
});

test('userdata that looks like a comment longer than nft allows is userdata, not an error', () => {
  const long = encodeUserdata([{ type: 0, value: Buffer.from(`${'x'.repeat(200)}\0`) }]);
  const t = tableFromWire({ family: 2, version: 0, res_id: 0, name: 't', userdata: long });
  assert.is(t.comment, undefined);
  assert.ok(Buffer.from(t.userdata!).equals(long));
});

const ref = { family: 'ip' as const, table: 't', set: 'm' };

function elementsOf(message: Buffer) {
  const [m] = parseMessages(message);
  return elementsFromWire(decodePayload(setElementsSchema, m!.buffer, m!.start, m!.end));
}

test('catch-all and verdict-map elements: written without a key, with NFT_SET_ELEM_CATCHALL, and read back', () => {
  const message = newSetElementsMessage(
    ref,
    [
      { key: Uint8Array.of(10, 0, 0, 1), verdict: { verdict: 'accept' } },
      { catchAll: true, verdict: { verdict: 'jump', chain: 'other' } },
    ],
    0,
  );
  const [keyed, catchAll] = elementsOf(message);
  assert.equal([...keyed!.key], [10, 0, 0, 1]);
  assert.equal(keyed!.verdict, { verdict: 'accept' });
  assert.is(catchAll!.catchAll, true);
  assert.is(catchAll!.key.length, 0);
  assert.is(catchAll!.flags, undefined);
  assert.equal(catchAll!.verdict, { verdict: 'jump', chain: 'other' });
  assert.ok(!keyed!.raw && !catchAll!.raw);
  // As listed, written again: the same message.
  assert.ok(newSetElementsMessage(ref, [keyed!, catchAll!], 0).equals(message));
});

test('element writing: a catch-all with a key, data and verdict together, a keyed element without a key: ValidationError', () => {
  const bad = [
    { catchAll: true, key: Uint8Array.of(1) },
    { key: Uint8Array.of(1), data: Uint8Array.of(1), verdict: { verdict: 'drop' as const } },
    {},
  ];
  for (const element of bad)
    assert.throws(
      () => newSetElementsMessage(ref, [element], 0),
      (e: unknown) => e instanceof ValidationError,
    );
});

test('an element without a key that is not the catch-all keeps raw (an empty key), instead of throwing', () => {
  const w: MessageOf<typeof setElementsSchema> = {
    family: 2,
    version: 0,
    res_id: 0,
    table: 't',
    set: 'm',
    elements: { elem: [{ data: { value: Buffer.from([1]) } }] },
  };
  const [element] = elementsFromWire(w);
  assert.is(element!.key.length, 0);
  assert.is(element!.catchAll, undefined);
  assert.ok(element!.raw);
  assert.throws(
    () => newSetElementsMessage(ref, [element!], 0),
    (e: unknown) => e instanceof ValidationError && /raw/.test(e.message),
  );
  assert.is(element!.raw, ((w.elements as Decoded).elem as Decoded[])[0], 'raw is the decoded NFTA_LIST_ELEM itself');
});

test('encodeMessage of a listed raw table gives a message the kernel would read as sent', () => {
  const bytes = tableWithUnknown();
  const table = tableFromWire(decodePayload(tableSchema, bytes, 0, bytes.length));
  const message = encodeMessage(0xa00, 0, tableSchema, table.raw!);
  assert.ok(message.subarray(16).equals(bytes));
});

test.run();
