/**
 * The nftables fixtures, replayed: every client operation against recorded
 * kernel bytes, with the decoded results checked.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_ECHO } from '../../src/netlink/constants.js';
import { parseMessages } from '../../src/netlink/message.js';
import {
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  NFT_MSG_NEWRULE,
  NFT_MSG_NEWTABLE,
} from '../../src/nftables/constants.js';
import { formatExpression } from '../../src/nftables/expr/index.js';
import { nftType } from '../../src/nftables/nfgenmsg.js';
import { formatRule } from '../../src/nftables/rule.js';
import { fixturePath, loadFixture, replayFixture } from '../helpers/fixtures.js';
import {
  atomicBatch,
  CHAINS,
  chainOperations,
  foreignRules,
  generationCheck,
  refusedChanges,
  ruleOperations,
  sampleRules,
  setOperations,
  tableOperations,
} from '../fixtures/recipes/nftables.js';

const replay = <T>(name: string, recipe: Parameters<typeof replayFixture<T>>[1]) =>
  replayFixture<T>(fixturePath(name), recipe);

test('nftables/tables: created with its comment, listed, a missing one is undefined, deleted', async () => {
  const r = await replay('nftables/tables', tableOperations);
  assert.equal(r.created && { family: r.created.family, name: r.created.name, comment: r.created.comment }, {
    family: 'ip',
    name: 'vxfix',
    comment: 'recorded by vxnet',
  });
  assert.is(typeof r.created!.handle, 'bigint');
  assert.equal(
    r.listed.map((t) => [t.family, t.name, t.flags]),
    [
      ['ip', 'vxfix', undefined],
      ['inet', 'vxfix-inet', ['dormant']],
    ],
  );
  assert.is(r.missing, undefined);
  assert.is(r.afterDelete, undefined);
});

test('nftables/tables: a batch is BEGIN, the change, END in one datagram, res_id big-endian 10, acks asked on each', () => {
  const fixture = loadFixture(fixturePath('nftables/tables'));
  const first = fixture.entries.find((e) => e.kind === 'send')!;
  const messages = parseMessages(first.datagram);
  assert.equal(
    messages.map((m) => m.type),
    [NFNL_MSG_BATCH_BEGIN, nftType(NFT_MSG_NEWTABLE), NFNL_MSG_BATCH_END],
  );
  for (const control of [messages[0]!, messages[2]!]) {
    assert.is(control.buffer.readUInt16BE(control.start + 2), NFNL_SUBSYS_NFTABLES, 'res_id in network order');
  }
  assert.ok(messages.every((m) => m.flags & NLM_F_ACK));
  assert.is(messages[1]!.flags & NLM_F_CREATE, NLM_F_CREATE);
  // The barrier follows in its own sendmsg.
  const second = fixture.entries.filter((e) => e.kind === 'send')[1]!;
  assert.equal(
    parseMessages(second.datagram).map((m) => m.type),
    [1],
  );
});

test('nftables/chains: signed priorities, policies, comments and regular chains read back as created', async () => {
  const r = await replay('nftables/chains', chainOperations);
  const pick = ({ family, table, name, type, hook, priority, policy, comment }: (typeof r.listed)[number]) => ({
    family,
    table,
    name,
    type,
    hook,
    priority,
    policy,
    comment,
  });
  const strip = (c: object) => JSON.parse(JSON.stringify(c));
  assert.equal(
    r.listed.map((c) => strip(pick(c))),
    CHAINS.map((c) => strip(pick(c))),
  );
  assert.is(r.got?.policy, 'drop');
  assert.is(r.got?.priority, 0);
  assert.is(r.listed[1]!.priority, -100);
  assert.equal(r.afterDelete, ['post', 'pre', 'in']);
});

test('nftables/rules: every created rule is echoed with a handle and lists back with the same expressions', async () => {
  const r = await replay('nftables/rules', ruleOperations);
  const wanted = sampleRules(1);
  assert.is(r.created.length, wanted.length);
  const handles = r.created.map((rule) => rule.handle!);
  assert.ok(
    handles.every((h, i) => typeof h === 'bigint' && (i === 0 || h > handles[i - 1]!)),
    'increasing handles',
  );
  // Listed in chain order (post, in, sub), each equal to what was sent but for the batch-local set id and the kernel's explicit defaults.
  const byComment = new Map(r.listed.map((rule) => [rule.comment, rule]));
  for (const want of wanted) {
    const got = byComment.get(want.comment)!;
    assert.ok(got, `rule "${want.comment}" listed`);
    assert.is(got.expressions.filter((e) => e.type === 'raw').length, 0, `${want.comment}: every expression decoded`);
    assert.equal(
      got.expressions.map(formatExpression).map((line) => line.replace(/counter pkts \d+ bytes \d+/, 'counter')),
      want.expressions.map(formatExpression).map((line) => line.replace(/counter pkts \d+ bytes \d+/, 'counter')),
      want.comment,
    );
  }
  assert.equal(r.got?.comment, 'peers');
  assert.equal(
    r.afterChanges.map((rule) => rule.comment),
    ['first', 'peers', 'after peers', 'replies'],
  );
});

test('nftables/rules: rules are created with NLM_F_APPEND and NLM_F_ECHO (the echo carries the handle)', () => {
  const fixture = loadFixture(fixturePath('nftables/rules'));
  const sent = parseMessages(fixture.entries.find((e) => e.kind === 'send')!.datagram).filter(
    (m) => m.type === nftType(NFT_MSG_NEWRULE),
  );
  assert.is(sent.length, 8);
  assert.ok(
    sent.every(
      (m) => (m.flags & (NLM_F_APPEND | NLM_F_ECHO | NLM_F_CREATE)) === (NLM_F_APPEND | NLM_F_ECHO | NLM_F_CREATE),
    ),
  );
});

test('nftables/rules: the masquerade rule reads as nft --debug=netlink prints it (a /24 is a 3-byte load and a cmp)', async () => {
  const r = await replay('nftables/rules', ruleOperations);
  const masq = r.listed.find((rule) => rule.comment === 'masquerade /24')!;
  assert.is(
    formatRule(masq),
    [
      'ip vxfix post',
      '  [ payload load 3b @ network header + 12 => reg 1 ]',
      '  [ cmp eq reg 1 0x0000f40a ]',
      '  [ payload load 3b @ network header + 16 => reg 1 ]',
      '  [ cmp neq reg 1 0x0000f40a ]',
      '  [ counter pkts 0 bytes 0 ]',
      '  [ masq ]',
    ].join('\n'),
  );
});

test('nftables/sets: elements added, listed, one deleted; the set deleted', async () => {
  const r = await replay('nftables/sets', setOperations);
  assert.equal(r.sets, ['peers type 7 len 4']);
  assert.equal(r.elements, ['192.0.2.1', '192.0.2.2', '192.0.2.3']);
  assert.equal(r.afterDelete, ['192.0.2.1', '192.0.2.3']);
  assert.equal(r.setsAfter, []);
});

test('nftables/foreign-rules: what nft wrote is listed (unmodeled expressions raw) and written back identically', async () => {
  const r = await replay('nftables/foreign-rules', foreignRules);
  assert.is(r.before.length, 9);
  const rawNames = new Set(
    r.before.flatMap((rule) => rule.expressions.flatMap((e) => (e.type === 'raw' ? [e.name] : []))),
  );
  for (const name of ['fib', 'limit', 'log', 'quota', 'reject', 'nat', 'notrack'])
    assert.ok(rawNames.has(name), `${name} kept raw`);
  // Modeled expressions next to them decode.
  assert.ok(r.before.some((rule) => rule.expressions.some((e) => e.type === 'lookup' && e.set === 'admins')));
  assert.ok(
    r.before.some((rule) => rule.expressions.some((e) => e.type === 'meta' && e.key === 'mark' && e.sreg === 1)),
  );
  // After deleting every rule and creating each again from the listing: the same rules, in the same order.
  const strip = (list: typeof r.before) =>
    list.map((rule) => ({
      chain: rule.chain,
      comment: rule.comment,
      expressions: rule.expressions.map(formatExpression),
    }));
  assert.equal(strip(r.after), strip(r.before));
  const rawBytes = (list: typeof r.before) =>
    list.flatMap((rule) =>
      rule.expressions.flatMap((e) => (e.type === 'raw' ? [Buffer.from(e.data).toString('hex')] : [])),
    );
  assert.equal(rawBytes(r.after), rawBytes(r.before), 'raw expressions byte for byte');
  assert.ok(
    r.after.every((rule, i) => rule.handle! > r.before[i]!.handle!),
    'new handles: they really were written again',
  );
});

test('nftables/atomic: a batch whose last message fails leaves the ruleset exactly as before', async () => {
  const r = await replay('nftables/atomic', atomicBatch);
  assert.ok(r.error, 'the batch was refused');
  assert.is(r.error!.name, 'NftBatchError');
  assert.is(r.error!.code, 'ENOENT');
  assert.is(r.error!.index, 4, 'the failure is mapped to the fourth change (index 4 after BEGIN)');
  assert.is(r.error!.failures, 1);
  assert.match(r.error!.message, /^delete rule ip hostfw-ip input handle 999999 failed: ENOENT/);
  assert.match(r.error!.message, /rolled back: nothing was changed/);
  const { generation: g1, ...before } = r.before;
  const { generation: g2, ...after } = r.after;
  assert.equal(after, before);
  assert.is(g2, g1, 'not even the generation moved');
});

test('nftables/generation: a batch prepared against an old generation is refused and changes nothing', async () => {
  const r = await replay('nftables/generation', generationCheck);
  assert.is(r.applied, r.generation + 1);
  assert.match(r.stale!, /ruleset changed since generation \d+ was read/);
  assert.equal(r.tables, ['vxfix-a', 'vxfix-b']);
});

test('nftables/errors: refusals name the object and a likely cause in nf_tables terms', async () => {
  const r = await replay('nftables/errors', refusedChanges);
  const get = (key: string) => r[key] as { code: string; message: string };
  assert.is(get('missingChain').code, 'ENOENT');
  assert.match(
    get('missingChain').message,
    /^create rule ip vxfix nope failed: ENOENT .*table or chain of the rule does not exist/,
  );
  assert.is(get('chainInUse').code, 'EBUSY');
  assert.match(get('chainInUse').message, /delete chain ip vxfix c failed: EBUSY .*target of a jump/);
  assert.is(get('tableExists').code, 'EEXIST');
  assert.is(get('masqInFilter').code, 'EOPNOTSUPP');
  assert.match(get('masqInFilter').message, /masquerade needs a nat chain at postrouting/);
});

test.run();
