/**
 * Our protobuf codec for etcd's messages (src/membership/etcd/protobuf.ts and proto.ts) against protobufjs,
 * which the client used before: the same descriptors as the proto text, the same bytes for the same request,
 * the same objects from the same bytes (int64 as decimal strings up to 2^63-1 and below zero), unknown fields
 * of every wire type skipped, and truncated or malformed bytes refused with a ProtobufDecodeError naming the
 * message type and the byte offset, never garbage.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProtobufDecodeError, ProtobufEncodeError } from '../../src/membership/etcd/errors.js';
import { codec, ETCD_MESSAGES, type EtcdMessageName } from '../../src/membership/etcd/proto.js';
import type { FieldDescriptor } from '../../src/membership/etcd/protobuf.js';
import { oracleDecode, oracleEncode, oracleType } from '../helpers/etcd-proto-oracle.js';

const kv = (key: string, value: string, lease = '11') => ({
  key: Buffer.from(key),
  create_revision: '7',
  mod_revision: '9',
  version: '2',
  value: Buffer.from(value),
  lease,
});
const header = {
  cluster_id: '14841639068965178418',
  member_id: '10276657743932975437',
  revision: '42',
  raft_term: '3',
};

/** One message of each type, every field set to something other than its default (so protobufjs writes the same). */
const SAMPLES: Record<EtcdMessageName, object> = {
  ResponseHeader: header,
  KeyValue: kv('/vxnet/seed/hosts/192.168.100.2', '{"address":"192.168.100.2"}', '7587885011757049616'),
  RangeRequest: {
    key: Buffer.from('a'),
    range_end: Buffer.from('b'),
    limit: '10',
    revision: '5',
    serializable: true,
    keys_only: true,
    count_only: true,
  },
  RangeResponse: { header, kvs: [kv('a', '1'), kv('b', '2')], more: true, count: '2' },
  PutRequest: { key: Buffer.from('k'), value: Buffer.from('v'), lease: '16', prev_kv: true },
  PutResponse: { header, prev_kv: kv('k', 'old') },
  DeleteRangeRequest: { key: Buffer.from('k'), range_end: Buffer.from('l'), prev_kv: true },
  DeleteRangeResponse: { header, deleted: '3' },
  Compare: { result: 'NOT_EQUAL', target: 'MOD', key: Buffer.from('k'), mod_revision: '12' },
  RequestOp: { request_put: { key: Buffer.from('k'), value: Buffer.from('v'), lease: '99' } },
  ResponseOp: { response_range: { header, kvs: [kv('k', 'v')], more: true, count: '1' } },
  TxnRequest: {
    compare: [
      { result: 'GREATER', target: 'CREATE', key: Buffer.from('k'), create_revision: '4' },
      { result: 'LESS', target: 'LEASE', key: Buffer.from('l'), lease: '5' },
    ],
    success: [{ request_put: { key: Buffer.from('k'), value: Buffer.from('v') } }],
    failure: [{ request_range: { key: Buffer.from('k') } }, { request_delete_range: { key: Buffer.from('x') } }],
  },
  TxnResponse: {
    header,
    succeeded: true,
    responses: [{ response_put: { header } }, { response_delete_range: { header, deleted: '1' } }],
  },
  WatchRequest: {
    create_request: {
      key: Buffer.from('/vxnet/'),
      range_end: Buffer.from('/vxnet0'),
      start_revision: '43',
      progress_notify: true,
      prev_kv: true,
      watch_id: '2',
    },
  },
  WatchCreateRequest: { key: Buffer.from('k'), start_revision: '1' },
  WatchCancelRequest: { watch_id: '3' },
  WatchProgressRequest: {},
  WatchResponse: {
    header,
    watch_id: '1',
    created: true,
    canceled: true,
    compact_revision: '40',
    cancel_reason: 'mvcc: required revision has been compacted',
    fragment: true,
    events: [{ type: 'DELETE', kv: kv('a', 'x'), prev_kv: kv('a', 'was') }, { kv: kv('b', 'new') }],
  },
  Event: { type: 'DELETE', kv: kv('a', '1') },
  LeaseGrantRequest: { TTL: '10', ID: '7587885011757049616' },
  LeaseGrantResponse: { header, ID: '7587885011757049616', TTL: '10', error: 'too many leases' },
  LeaseRevokeRequest: { ID: '7587885011757049616' },
  LeaseRevokeResponse: { header },
  LeaseKeepAliveRequest: { ID: '1' },
  LeaseKeepAliveResponse: { header, ID: '7587885011757049616', TTL: '9' },
};

function typeName(f: FieldDescriptor): string {
  return typeof f.type === 'string' ? f.type : f.type.name.replace(/^(etcdserverpb|mvccpb)\./, '');
}

test('every descriptor matches the proto text: field numbers, names, types, repeated, oneofs', () => {
  for (const [name, descriptor] of Object.entries(ETCD_MESSAGES)) {
    const type = oracleType(name);
    const theirs = type.fieldsArray.map((f) => {
      f.resolve();
      const resolved = f.resolvedType ? f.resolvedType.fullName.replace(/^\.etcdserverpb\./, '') : f.type;
      const oneof = f.partOf ? ` oneof ${f.partOf.name}` : '';
      return `${f.id} ${f.name} ${resolved}${f.repeated ? ' repeated' : ''}${oneof}`;
    });
    const ours = descriptor.fields.map(
      (f) =>
        `${f.number} ${f.name} ${typeName(f)}${f.repeated ? ' repeated' : ''}${f.oneof ? ` oneof ${f.oneof}` : ''}`,
    );
    assert.equal(ours, theirs, name);
  }
});

test('every message: the same bytes as protobufjs, and the same object back', () => {
  for (const [name, sample] of Object.entries(SAMPLES) as [EtcdMessageName, object][]) {
    const ours = codec<object>(name).serialize(sample);
    assert.equal([...ours], [...oracleEncode(name, sample)], `${name} bytes`);
    assert.equal(codec<object>(name).deserialize(ours), oracleDecode(name, ours), `${name} decoded`);
  }
});

test('decoded defaults: scalars present ("0", "", false, empty bytes), repeated as [], messages left out', () => {
  const watch = codec<Record<string, unknown>>('WatchResponse').deserialize(Buffer.alloc(0));
  assert.equal(watch, {
    watch_id: '0',
    created: false,
    canceled: false,
    compact_revision: '0',
    cancel_reason: '',
    fragment: false,
    events: [],
  });
  assert.not.ok('header' in watch);
  const value = codec<{ key: Buffer; lease: string }>('KeyValue').deserialize(Buffer.alloc(0));
  assert.ok(Buffer.isBuffer(value.key) && value.key.length === 0, 'empty bytes decode as an empty Buffer');
  assert.is(value.lease, '0');
  assert.equal(codec<object>('ResponseOp').deserialize(Buffer.alloc(0)), {}, 'no oneof member, no property');
  assert.equal(codec<object>('Event').deserialize(Buffer.alloc(0)), { type: 'PUT' });
});

test('defaults are not written; a oneof member is, even at its default (CREATE revision 0)', () => {
  const empty = {
    key: Buffer.alloc(0),
    create_revision: '0',
    mod_revision: 0,
    version: 0n,
    value: Buffer.alloc(0),
    lease: '0',
  };
  assert.is(codec<object>('KeyValue').serialize(empty).length, 0);
  assert.is(codec<object>('RangeRequest').serialize({ serializable: false, limit: '0' }).length, 0);
  assert.is(codec<object>('Compare').serialize({ result: 'EQUAL', target: 'VERSION' }).length, 0);
  assert.is(codec<object>('TxnRequest').serialize({ compare: [], success: [], failure: [] }).length, 0);
  // etcd's "the key does not exist yet": target CREATE (2 = 1), create_revision (5) = 0 written.
  const created = codec<object>('Compare').serialize({ key: Buffer.from('k'), target: 'CREATE', create_revision: '0' });
  assert.equal([...created], [0x10, 0x01, 0x1a, 0x01, 0x6b, 0x28, 0x00]);
  assert.equal(
    codec<object>('Compare').deserialize(created),
    oracleDecode('Compare', created),
    'protobufjs reads it the same',
  );
  // An empty sub-message is still there: WatchRequest { progress_request {} }.
  assert.equal([...codec<object>('WatchRequest').serialize({ progress_request: {} })], [0x1a, 0x00]);
});

test('int64 and uint64 extremes: 0, 2^53+1, 2^63-1, -1, -2^63, 2^64-1', () => {
  const int64s = ['0', '9007199254740993', '9223372036854775807', '-1', '-9223372036854775808', '-123456789'];
  for (const ID of int64s) {
    const ours = codec<object>('LeaseGrantResponse').serialize({ ID });
    // protobufjs writes a default it is given explicitly (ID: 0); proto3 leaves it out, as we do.
    if (ID !== '0') assert.equal([...ours], [...oracleEncode('LeaseGrantResponse', { ID })], `${ID} bytes`);
    assert.is(codec<{ ID: string }>('LeaseGrantResponse').deserialize(ours).ID, ID);
    assert.is(oracleDecode('LeaseGrantResponse', ours).ID, ID);
  }
  // A negative int64 is ten bytes of two's complement.
  assert.is(codec<object>('LeaseRevokeRequest').serialize({ ID: '-1' }).length, 1 + 10);
  for (const cluster_id of ['4294967295', '4294967296', '9007199254740991', '18446744073709551615']) {
    const ours = codec<object>('ResponseHeader').serialize({ cluster_id });
    assert.equal([...ours], [...oracleEncode('ResponseHeader', { cluster_id })], `${cluster_id} bytes`);
    assert.is(codec<{ cluster_id: string }>('ResponseHeader').deserialize(ours).cluster_id, cluster_id);
  }
  // Numbers and bigints are taken too.
  assert.equal(
    [...codec<object>('LeaseGrantRequest').serialize({ TTL: 10, ID: 7587885011757049616n })],
    [...oracleEncode('LeaseGrantRequest', { TTL: '10', ID: '7587885011757049616' })],
  );
});

test('random KeyValues and headers agree with protobufjs both ways', () => {
  let seed = 12345;
  const random = (below: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
  const randomInt64 = () => {
    const kind = random(4);
    if (kind === 0) return String(random(1000));
    const digits = Array.from({ length: 1 + random(18) }, () => random(10)).join('');
    const value = BigInt(digits) * (kind === 3 ? -1n : 1n);
    return BigInt.asIntN(64, value).toString();
  };
  for (let i = 0; i < 300; i++) {
    const value = {
      key: Buffer.from(Array.from({ length: random(40) }, () => random(256))),
      create_revision: randomInt64(),
      mod_revision: randomInt64(),
      version: randomInt64(),
      value: Buffer.from('x'.repeat(random(300))),
      lease: randomInt64(),
    };
    const ours = codec<object>('KeyValue').serialize(value);
    const theirs = oracleEncode('KeyValue', value);
    assert.equal(codec<object>('KeyValue').deserialize(theirs), oracleDecode('KeyValue', theirs), `kv ${i}`);
    assert.equal(codec<object>('KeyValue').deserialize(ours), oracleDecode('KeyValue', ours), `kv ${i} (ours)`);
  }
});

test('unknown fields of wire types 0, 1, 2 and 5 are skipped, at any depth', () => {
  // Field numbers 90–93 take a two-byte tag: (number << 3 | wire type) as a varint.
  const tag = (number: number, wireType: number) => [(((number << 3) | wireType) & 0x7f) | 0x80, (number << 3) >> 7];
  const unknown = Buffer.from([
    ...tag(90, 0),
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0x01, // varint, 10 bytes
    ...tag(91, 1),
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8, // fixed64
    ...tag(92, 2),
    3,
    0x61,
    0x62,
    0x63, // length-delimited
    ...tag(93, 5),
    1,
    2,
    3,
    4, // fixed32
  ]);
  const plain = codec<object>('KeyValue').serialize({ key: Buffer.from('k'), lease: '5' });
  const withUnknown = Buffer.concat([unknown, plain, unknown]);
  assert.equal(codec<object>('KeyValue').deserialize(withUnknown), codec<object>('KeyValue').deserialize(plain));
  assert.equal(codec<object>('KeyValue').deserialize(withUnknown), oracleDecode('KeyValue', withUnknown));
  // Inside an event inside a watch response.
  const event = Buffer.concat([Buffer.from([0x12, withUnknown.length]), withUnknown, unknown]);
  const watch = Buffer.concat([Buffer.from([0x5a, event.length]), event]);
  const decoded = codec<{ events: { kv: { lease: string } }[] }>('WatchResponse').deserialize(watch);
  assert.is(decoded.events[0]?.kv.lease, '5');
  assert.equal(decoded, oracleDecode('WatchResponse', watch));
});

test('a later oneof member replaces an earlier one; an unknown enum value stays a number', () => {
  const both = Buffer.from([0x28, 0x01, 0x30, 0x02]); // create_revision 1, then mod_revision 2
  assert.equal(codec<object>('Compare').deserialize(both), {
    result: 'EQUAL',
    target: 'VERSION',
    key: Buffer.alloc(0),
    mod_revision: '2',
  });
  assert.equal(codec<object>('Event').deserialize(Buffer.from([0x08, 0x07])), { type: 7 });
});

function decodeError(name: EtcdMessageName, bytes: number[]): ProtobufDecodeError {
  try {
    codec<object>(name).deserialize(Buffer.from(bytes));
  } catch (error) {
    if (error instanceof ProtobufDecodeError) return error;
    throw error;
  }
  throw new Error(`${name} ${bytes} decoded`);
}

test('malformed bytes: a ProtobufDecodeError naming the message type and the byte offset', () => {
  let e = decodeError('WatchResponse', [0x10, 0x80]);
  assert.is(e.messageType, 'etcdserverpb.WatchResponse');
  assert.is(e.offset, 1);
  assert.is(e.message, 'cannot decode etcdserverpb.WatchResponse: truncated varint at byte 1');
  e = decodeError('WatchResponse', [0x5a, 0x05, 0x12, 0x03, 0x0a, 0x05, 0x61]);
  assert.is(e.messageType, 'mvccpb.KeyValue', 'the innermost message');
  assert.is(e.offset, 5);
  assert.match(e.message, /length 5 runs past the end \(1 bytes left\)/);
  // A sub-message cannot read past its own end into its parent's bytes.
  e = decodeError('Event', [0x12, 0x01, 0x0a, 0x01, 0x61]);
  assert.is(e.messageType, 'mvccpb.KeyValue');
  e = decodeError('KeyValue', [0x10, ...Array(10).fill(0x80), 0x01]);
  assert.match(e.message, /varint longer than 10 bytes at byte 1/);
  assert.match(decodeError('KeyValue', [0x00, 0x01]).message, /field number 0 at byte 0/);
  assert.match(decodeError('KeyValue', [0x7b]).message, /unsupported wire type 3 at byte 0/);
  assert.match(decodeError('KeyValue', [0x08, 0x01]).message, /field key \(1\) has wire type 0, not 2/);
  assert.match(decodeError('KeyValue', [0x79, 1, 2, 3]).message, /truncated 64-bit fixed value/);
  assert.match(decodeError('KeyValue', [0x7d, 1, 2, 3]).message, /truncated 32-bit fixed value/);
  assert.ok(e instanceof Error && e.name === 'ProtobufDecodeError');
});

test('every truncation of a watch response is refused with ProtobufDecodeError or ends at a field boundary', () => {
  const bytes = codec<object>('WatchResponse').serialize(SAMPLES.WatchResponse);
  for (let length = 0; length < bytes.length; length++) {
    const cut = bytes.subarray(0, length);
    let ours: unknown;
    try {
      ours = codec<object>('WatchResponse').deserialize(cut);
    } catch (error) {
      // protobufjs is not the oracle here: it reads a string cut short as the bytes that are left (a truncated
      // cancel_reason came back as '' from it), where we refuse the message.
      assert.ok(error instanceof ProtobufDecodeError, `cut at ${length}: ${error}`);
      continue;
    }
    assert.equal(ours, oracleDecode('WatchResponse', cut), `cut at ${length} between fields`);
  }
});

test('encode errors name message and field: not an integer, out of range, unknown enum name, two oneofs', () => {
  const refuses = (name: EtcdMessageName, value: object, pattern: RegExp) =>
    assert.throws(
      () => codec<object>(name).serialize(value),
      (e: Error) => e instanceof ProtobufEncodeError && pattern.test(e.message),
    );
  refuses('LeaseGrantRequest', { ID: '12x' }, /LeaseGrantRequest\.ID: "12x" is not an integer/);
  refuses('LeaseGrantRequest', { ID: 1.5 }, /is not an integer/);
  refuses('LeaseGrantRequest', { ID: '9223372036854775808' }, /outside int64's range/);
  refuses('ResponseHeader', { cluster_id: '-1' }, /outside uint64's range/);
  refuses('Compare', { result: 'SAME' }, /Compare\.result: "SAME" is not a etcdserverpb\.Compare\.CompareResult/);
  refuses('Compare', { create_revision: '0', mod_revision: '1' }, /oneof target_union already has create_revision/);
  refuses('KeyValue', { key: 'text' }, /KeyValue\.key: is not a Buffer/);
  refuses('RangeResponse', { kvs: {} }, /kvs: is not an array/);
});

test('a 1,000-event watch response decodes as protobufjs decodes it', () => {
  const events = Array.from({ length: 1000 }, (_, i) => ({
    type: i % 3 === 0 ? 'DELETE' : 'PUT',
    kv: kv(
      `/vxnet/seed/hosts/10.0.${i >> 8}.${i & 255}`,
      JSON.stringify({ i, mac: '02:00:00:00:00:01' }),
      '7587885011757049616',
    ),
  }));
  const bytes = oracleEncode('WatchResponse', { header, watch_id: '1', events });
  const decoded = codec<{ events: unknown[] }>('WatchResponse').deserialize(bytes);
  assert.is(decoded.events.length, 1000);
  assert.equal(decoded, oracleDecode('WatchResponse', bytes));
  // A Uint8Array that is not a Buffer is read the same.
  assert.equal(codec<object>('WatchResponse').deserialize(new Uint8Array(bytes) as Buffer), decoded);
});

test.run();
