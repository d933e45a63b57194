/**
 * The nftables schemas and codecs without a kernel: numbers checked against
 * the installed uapi headers, expressions against what `nft --debug=netlink`
 * prints, the raw fallback byte for byte, userdata as nft writes it, and
 * the validation that runs before anything is sent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeAttrs, type Decoded, encodeAttrs } from '../../src/netlink/codec.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { decodeMessage, parseMessages } from '../../src/netlink/message.js';
import { type AttrSet, resolveSet } from '../../src/netlink/schema.js';
import { Writer } from '../../src/netlink/writer.js';
import { batchControlMessage, batchSchema, NftBatch } from '../../src/nftables/batch.js';
import { chainSchema } from '../../src/nftables/chain.js';
import * as constants from '../../src/nftables/constants.js';
import { NFNL_MSG_BATCH_BEGIN } from '../../src/nftables/constants.js';
import {
  type Expression,
  equivalentExpressions,
  expressionAttrs,
  expressionFromWire,
  expressionToWire,
  formatExpression,
  sameWire,
} from '../../src/nftables/expr/index.js';
import { counter, masquerade, match, verdict } from '../../src/nftables/match.js';
import { generationSchema } from '../../src/nftables/generation.js';
import { ruleSchema } from '../../src/nftables/rule.js';
import { setElementsSchema, setSchema } from '../../src/nftables/set.js';
import { tableSchema, tableToWire } from '../../src/nftables/table.js';
import { commentOf, encodeComment, userdataFromWire } from '../../src/nftables/userdata.js';
import { readHeaders, uapiMismatches } from '../helpers/uapi-headers.js';

// ---------------------------------------------------------------- the uapi headers

const UAPI = '/usr/include/linux';
if (!existsSync(`${UAPI}/netfilter/nf_tables.h`))
  throw new Error(`${UAPI}/netfilter/nf_tables.h is missing: install linux-libc-dev (scripts/setup.sh does)`);
const headers = readHeaders(
  [
    'netfilter/nfnetlink.h',
    'netfilter/nf_tables.h',
    'netfilter.h',
    'netfilter_arp.h',
    'netfilter/nf_nat.h',
    'in.h',
  ].map((h) => `${UAPI}/${h}`),
);

/** Newer than the installed headers (linux-libc-dev 6.1); the kernel here is newer and takes them. */
const NEWER_THAN_HEADERS: Record<string, string> = { NFT_TABLE_F_PERSIST: 'kernel 6.9' };

test('every exported UPPER_CASE number equals the uapi value of the same name', () => {
  const problems: string[] = [];
  let checked = 0;
  for (const [name, value] of Object.entries(constants)) {
    if (!/^[A-Z][A-Z0-9_]+$/.test(name) || typeof value !== 'number') continue;
    if (NEWER_THAN_HEADERS[name]) continue;
    const expected = headers.get(name);
    if (expected === undefined) problems.push(`${name}: not in the headers`);
    else if (expected >>> 0 !== value >>> 0) problems.push(`${name}: ${value}, header says ${expected}`);
    checked++;
  }
  assert.equal(problems, []);
  assert.ok(checked >= 180, `only ${checked} constants checked`);
});

function reachableSets(): AttrSet[] {
  const seen = new Set<AttrSet>();
  const visit = (set: AttrSet): void => {
    if (seen.has(set)) return;
    seen.add(set);
    for (const attr of set.byName.values()) {
      if (attr.set) visit(resolveSet(attr.set));
      if (attr.select) for (const choice of Object.values(attr.select.sets)) visit(resolveSet(choice));
    }
  };
  for (const schema of [
    tableSchema,
    chainSchema,
    ruleSchema,
    setSchema,
    setElementsSchema,
    generationSchema,
    batchSchema,
  ])
    visit(schema.attrs);
  return [...seen];
}

test('every attribute number equals the uapi value of the constant it models', () => {
  const { problems, checked } = uapiMismatches(reachableSets(), headers);
  assert.equal(problems, []);
  assert.ok(checked >= 120, `only ${checked} attributes checked`);
});

// ---------------------------------------------------------------- expressions, as nft prints them

/**
 * `nft --debug=netlink add rule ip t c <words>` on this machine (nftables
 * 1.0.6, little-endian), the words on the left: the oracle for the builders.
 */
const NFT_SAYS: [string, Expression[], string[]][] = [
  [
    'ip saddr 10.244.0.0/24',
    match.ipSaddr('10.244.0.0/24'),
    ['[ payload load 3b @ network header + 12 => reg 1 ]', '[ cmp eq reg 1 0x0000f40a ]'],
  ],
  [
    'ip daddr != 10.244.0.0/16',
    match.ipDaddr('10.244.0.0/16', { negate: true }),
    ['[ payload load 2b @ network header + 16 => reg 1 ]', '[ cmp neq reg 1 0x0000f40a ]'],
  ],
  [
    'ip saddr 10.244.0.0/22',
    match.ipSaddr('10.244.0.0/22'),
    [
      '[ payload load 4b @ network header + 12 => reg 1 ]',
      '[ bitwise reg 1 = ( reg 1 & 0x00fcffff ) ^ 0x00000000 ]',
      '[ cmp eq reg 1 0x0000f40a ]',
    ],
  ],
  [
    'ip saddr 192.168.1.2',
    match.ipSaddr('192.168.1.2'),
    ['[ payload load 4b @ network header + 12 => reg 1 ]', '[ cmp eq reg 1 0x0201a8c0 ]'],
  ],
  [
    'oifname "eth0"',
    match.oifname('eth0'),
    ['[ meta load oifname => reg 1 ]', '[ cmp eq reg 1 0x30687465 0x00000000 0x00000000 0x00000000 ]'],
  ],
  [
    'iifname "br0"',
    match.iifname('br0'),
    ['[ meta load iifname => reg 1 ]', '[ cmp eq reg 1 0x00307262 0x00000000 0x00000000 0x00000000 ]'],
  ],
  [
    'udp dport 4789',
    match.udpDport(4789),
    [
      '[ meta load l4proto => reg 1 ]',
      '[ cmp eq reg 1 0x00000011 ]',
      '[ payload load 2b @ transport header + 2 => reg 1 ]',
      '[ cmp eq reg 1 0x0000b512 ]',
    ],
  ],
  [
    'ct state established,related',
    match.ctState(['established', 'related']),
    [
      '[ ct load state => reg 1 ]',
      '[ bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 ]',
      '[ cmp neq reg 1 0x00000000 ]',
    ],
  ],
  [
    'ip saddr @peers',
    match.ipSaddrInSet('peers'),
    ['[ payload load 4b @ network header + 12 => reg 1 ]', '[ lookup reg 1 set peers ]'],
  ],
  ['masquerade', masquerade(), ['[ masq ]']],
  ['masquerade random,persistent', masquerade({ flags: ['random', 'persistent'] }), ['[ masq flags 0xc ]']],
  [
    'masquerade to :1024-2048 fully-random',
    masquerade({ flags: ['fully-random'], ports: [1024, 2048] }),
    [
      '[ immediate reg 1 0x00000004 ]',
      '[ immediate reg 2 0x00000008 ]',
      '[ masq proto_min reg 1 proto_max reg 2 flags 0x12 ]',
    ],
  ],
  ['counter', [counter()], ['[ counter pkts 0 bytes 0 ]']],
  ['accept', [verdict.accept()], ['[ immediate reg 0 accept ]']],
  ['drop', [verdict.drop()], ['[ immediate reg 0 drop ]']],
  ['jump other', [verdict.jump('other')], ['[ immediate reg 0 jump -> other ]']],
];

for (const [words, expressions, lines] of NFT_SAYS) {
  test(`"${words}" builds the expressions nft sends`, () => {
    assert.equal(expressions.map(formatExpression), lines);
  });
}

/** Encodes a list element and decodes it back, as a listing would. */
function throughWire(e: Expression): Expression {
  const w = new Writer();
  encodeAttrs(expressionAttrs, expressionToWire(e, 'e'), w, '');
  const bytes = w.finish();
  return expressionFromWire(decodeAttrs(expressionAttrs, bytes, 0, bytes.length, {}));
}

test('every built expression survives the wire as the same typed expression', () => {
  for (const [words, expressions] of NFT_SAYS) {
    for (const e of expressions) {
      const back = throughWire(e);
      assert.ok(sameWire(back, e), `${words}: ${formatExpression(back)}`);
      assert.is(formatExpression(back), formatExpression(e));
    }
  }
});

test('an unknown expression is kept raw, byte for byte, and written back the same', () => {
  // "fib daddr type local" as a list element: name "fib", data { dreg 1, result 3, flags 2 }.
  const element = Buffer.from(
    '08000100666962002400028008000100000000010800020000000003080003000000000208000400000000ff',
    'hex',
  );
  const decoded = expressionFromWire(decodeAttrs(expressionAttrs, element, 0, element.length, {}));
  assert.is(decoded.type, 'raw');
  assert.is((decoded as { name: string }).name, 'fib');
  assert.equal(Buffer.from((decoded as { data: Uint8Array }).data).toString('hex'), element.toString('hex'));
  const w = new Writer();
  encodeAttrs(expressionAttrs, expressionToWire(decoded, 'e'), w, '');
  assert.equal(w.finish().toString('hex'), element.toString('hex'));
});

test('a modeled expression with an attribute vxnet does not know stays raw instead of losing it', () => {
  // meta { key 16, dreg 1, and attribute 9 (unknown) }.
  const data = Buffer.concat([
    Buffer.from('0800020000000010', 'hex'),
    Buffer.from('0800010000000001', 'hex'),
    Buffer.from('08000900deadbeef', 'hex'),
  ]);
  const name = Buffer.from('090001006d65746100000000', 'hex');
  const header = Buffer.alloc(4);
  header.writeUInt16LE(4 + data.length, 0);
  header.writeUInt16LE(0x8002, 2);
  const element = Buffer.concat([name, header, data]);
  const decoded = expressionFromWire(decodeAttrs(expressionAttrs, element, 0, element.length, {}));
  assert.is(decoded.type, 'raw');
  assert.equal(Buffer.from((decoded as { data: Uint8Array }).data), element);
});

test('a masq with a flag bit vxnet has no name for stays raw', () => {
  const wire = { name: 'masq', data: { flags: 0x40 } } as Decoded;
  const w = new Writer();
  encodeAttrs(expressionAttrs, wire, w, '');
  const bytes = w.finish();
  assert.is(expressionFromWire(decodeAttrs(expressionAttrs, bytes, 0, bytes.length, {})).type, 'raw');
});

test('equivalentExpressions: counter values, set ids and listed defaults are not differences', () => {
  const listed: Expression[] = [
    { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
    { type: 'lookup', set: 'p', sreg: 1, invert: false },
    { type: 'ct', key: 'state', dreg: 1 },
    {
      type: 'bitwise',
      sreg: 1,
      dreg: 1,
      len: 4,
      mask: Uint8Array.of(6, 0, 0, 0),
      xor: new Uint8Array(4),
      op: 'mask-xor',
    },
    { type: 'counter', bytes: 1500n, packets: 1n },
  ];
  const built: Expression[] = [
    { type: 'payload', base: 'network', offset: 12, len: 4, dreg: 1 },
    { type: 'lookup', set: 'p', sreg: 1, setId: 3 },
    { type: 'ct', key: 'state', dreg: 1 },
    { type: 'bitwise', sreg: 1, dreg: 1, len: 4, mask: Uint8Array.of(6, 0, 0, 0), xor: new Uint8Array(4) },
    { type: 'counter' },
  ];
  assert.ok(equivalentExpressions(listed, built));
  assert.not.ok(equivalentExpressions(listed, [...built.slice(0, 4), verdict.accept()]));
  assert.not.ok(
    equivalentExpressions(
      [{ type: 'lookup', set: 'p', sreg: 1, invert: true }],
      [{ type: 'lookup', set: 'p', sreg: 1 }],
    ),
  );
});

// ---------------------------------------------------------------- messages

test('BATCH_BEGIN: nfgenmsg with res_id NFNL_SUBSYS_NFTABLES in network order, and the generation as a big-endian attribute', () => {
  const begin = batchControlMessage(NFNL_MSG_BATCH_BEGIN, 0x01020304);
  assert.equal([...begin.subarray(16, 20)], [0, 0, 0, 10]);
  assert.equal([...begin.subarray(20, 28)], [8, 0, 1, 0, 1, 2, 3, 4]);
  const [m] = parseMessages(begin);
  assert.equal(decodeMessage(batchSchema, m!), { family: 0, version: 0, res_id: 10, genid: 0x01020304 });
});

test('NFTA_* integers are big-endian: a chain priority of -100 and a rule handle', () => {
  const batch = new NftBatch();
  batch.createChain({
    family: 'ip',
    table: 't',
    name: 'pre',
    type: 'nat',
    hook: 'prerouting',
    priority: -100,
    policy: 'accept',
  });
  batch.deleteRule('ip', 't', 'c', 0x0102030405060708n);
  const [, chain, rule] = batch.frame().messages;
  assert.ok(chain!.includes(Buffer.from([8, 0, 2, 0, 0xff, 0xff, 0xff, 0x9c])), 'priority -100 as be32');
  assert.ok(rule!.includes(Buffer.from([12, 0, 3, 0, 1, 2, 3, 4, 5, 6, 7, 8])), 'handle as be64');
});

test("userdata: comments are nft's TLV item, anything else stays bytes", () => {
  assert.equal([...encodeComment('hi')], [0, 3, 0x68, 0x69, 0]);
  assert.is(commentOf(encodeComment('vxnet')), 'vxnet');
  assert.equal(userdataFromWire(encodeComment('x')), { comment: 'x' });
  const other = Uint8Array.of(0, 4, 2, 0, 0, 0);
  assert.equal(userdataFromWire(other), { userdata: other });
  assert.equal(tableToWire({ family: 'ip', name: 't', comment: 'x' }).userdata, encodeComment('x'));
});

test('bad input is a ValidationError before anything is encoded', () => {
  const invalid = (body: () => unknown, pattern: RegExp): void => {
    assert.throws(body, (e: Error) => e instanceof ValidationError && pattern.test(e.message));
  };
  const batch = new NftBatch();
  invalid(() => batch.createTable({ family: 'ip', name: 'x'.repeat(256) }), /names have at most 255 bytes/);
  invalid(() => batch.createTable({ family: 'ipx' as never, name: 't' }), /not a table family/);
  invalid(
    () => batch.createChain({ family: 'ip', table: 't', name: 'c', type: 'filter', hook: 'egress', priority: 0 }),
    /not a hook of the ip family/,
  );
  invalid(
    () => batch.createChain({ family: 'ip', table: 't', name: 'c', hook: 'input' }),
    /needs type, hook and priority/,
  );
  invalid(
    () => batch.createChain({ family: 'ip', table: 't', name: 'c', policy: 'drop' }),
    /only base chains have a policy/,
  );
  invalid(() => match.ipSaddr('10.0.0.0/33'), /CIDR/);
  invalid(() => match.ipSaddr('fd00::/64'), /family mismatch/);
  invalid(() => match.oifname('this-name-is-too-long'), /at most 15 bytes/);
  invalid(
    () =>
      batch.createRule({
        family: 'ip',
        table: 't',
        chain: 'c',
        expressions: [{ type: 'cmp', sreg: 5, op: 'eq', data: Uint8Array.of(1) }],
      }),
    /registers are 0-4 and 8-23/,
  );
  invalid(
    () => batch.createRule({ family: 'ip', table: 't', chain: 'c', expressions: [{ type: 'nope' } as never] }),
    /not an expression type/,
  );
  invalid(
    () => batch.createRule({ family: 'ip', table: 't', chain: 'c', comment: 'x'.repeat(200), expressions: [] }),
    /at most 127 bytes/,
  );
  invalid(
    () =>
      batch.createRule({
        family: 'ip',
        table: 't',
        chain: 'c',
        expressions: [{ type: 'immediate', dreg: 0, verdict: 'jump' }],
      }),
    /needs a target chain/,
  );
  assert.is(batch.size, 0, 'nothing was added');
});

test('the header reader is the one the headers need', () => {
  assert.is(headers.get('NFTA_RULE_CHAIN_ID'), 11);
  assert.is(headers.get('NFT_MSG_DELFLOWTABLE'), 24);
  assert.is(headers.get('NF_NAT_RANGE_PROTO_RANDOM_FULLY'), 16);
  assert.ok(readFileSync(`${UAPI}/netfilter/nf_tables.h`, 'utf8').includes('NFTA_LOOKUP_FLAGS'));
});

test.run();
