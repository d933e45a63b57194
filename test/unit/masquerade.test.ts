/**
 * The masquerade block: its recorded conversations replayed (idempotent
 * ensure, remove, a table it does not own, the report of foreign drops),
 * and its validation, which fails before anything is sent.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/netlink/errors.js';
import { normalizeConfig } from '../../src/masquerade/config.js';
import { desiredState, OWNER_MARK } from '../../src/masquerade/desired.js';
import { NotOwnedError } from '../../src/masquerade/errors.js';
import { Masquerade } from '../../src/masquerade/masquerade.js';
import { Nftables } from '../../src/nftables/client.js';
import { formatRule } from '../../src/nftables/rule.js';
import { Connection } from '../../src/netlink/connection.js';
import { parseMessages } from '../../src/netlink/message.js';
import { NFNL_MSG_BATCH_BEGIN } from '../../src/nftables/constants.js';
import { FakeKernel } from '../helpers/fake-kernel.js';
import { fixturePath, loadFixture, replayFixture } from '../helpers/fixtures.js';
import { ensureAndRemove, ensureTwiceAndChange, notOwned, reportBlocking } from '../fixtures/recipes/masquerade.js';

test('masquerade/ensure: created in one batch, a second ensure writes nothing, a change writes only the difference', async () => {
  const r = await replayFixture(fixturePath('masquerade/ensure'), ensureTwiceAndChange);
  assert.ok(r.first.changed);
  assert.equal(r.first.changes, [
    'create table ip vxnet',
    'create set ip vxnet @vxlan-peers',
    'add set elements ip vxnet @vxlan-peers (2)',
    'create chain ip vxnet postrouting',
    'create rule ip vxnet postrouting "vxnet: masquerade 10.244.0.0/24"',
    'create chain ip vxnet input',
    'create rule ip vxnet input "vxnet: vxlan from peers"',
    'create rule ip vxnet input "vxnet: vxlan from others"',
    'create chain ip vxnet forward',
    'create rule ip vxnet forward "vxnet: forward from br0"',
    'create rule ip vxnet forward "vxnet: replies to br0"',
  ]);
  assert.is(r.again.changed, false);
  assert.equal(r.again.changes, []);
  // egress added: the masquerade rule is rewritten; one peer swapped: one element out, one in. Input and forward untouched.
  assert.equal(r.changed.changes, [
    'delete rule ip vxnet postrouting handle 3',
    'delete set elements ip vxnet @vxlan-peers (1)',
    'add set elements ip vxnet @vxlan-peers (1)',
    'create rule ip vxnet postrouting "vxnet: masquerade 10.244.0.0/24"',
  ]);
  assert.equal(r.status.peers, ['192.0.2.2', '192.0.2.9']);
  assert.is(r.status.table?.comment, OWNER_MARK);
  const masq = r.status.rules.find((rule) => rule.chain === 'postrouting')!;
  assert.match(
    formatRule(masq),
    /\[ meta load oifname => reg 1 \]\n {2}\[ cmp eq reg 1 0x30687465 0x00000000 0x00000000 0x00000000 \]/,
  );
});

test('masquerade/ensure: the second ensure only read (no batch)', () => {
  const fixture = loadFixture(fixturePath('masquerade/ensure'));
  const sends = fixture.entries.filter((e) => e.kind === 'send');
  const batches = sends.filter((e) => parseMessages(e.datagram)[0]!.type === NFNL_MSG_BATCH_BEGIN);
  // Two batches were committed (the first ensure and the change); the ensure in between sent none.
  assert.is(batches.length, 2);
});

test("masquerade/remove: deletes vxnet's table and nothing else; a second remove finds nothing", async () => {
  const r = await replayFixture(fixturePath('masquerade/remove'), ensureAndRemove);
  assert.is(r.removed, true);
  assert.is(r.again, false);
  assert.equal(r.tables, ['inet filter']);
});

test("masquerade/not-owned: a same-named table without vxnet's mark is refused, only read", async () => {
  const r = await replayFixture(fixturePath('masquerade/not-owned'), notOwned);
  assert.match(
    r.ensure,
    /^invalid table: table ip vxnet exists and was not created by vxnet \(it carries no vxnet mark\)/,
  );
  assert.match(r.remove, /was not created by vxnet/);
  assert.is(r.rules, 1);
  const fixture = loadFixture(fixturePath('masquerade/not-owned'));
  for (const entry of fixture.entries) {
    if (entry.kind === 'send') assert.is.not(entry.datagram.readUInt16LE(4), 0x10, 'no batch was sent');
  }
});

test('masquerade/blocking: foreign chains with a drop policy at input and forward are reported, with a way out', async () => {
  const r = await replayFixture(fixturePath('masquerade/blocking'), reportBlocking);
  assert.equal(
    r.blocking.map((b) => [b.family, b.table, b.chain, b.hook]),
    [
      ['inet', 'filter', 'input', 'input'],
      ['inet', 'filter', 'forward', 'forward'],
    ],
  );
  assert.match(
    r.blocking[0]!.suggestion,
    /^nft insert rule inet filter input ip saddr \{ 192\.0\.2\.2, 192\.0\.2\.3 \} udp dport 4789 accept$/,
  );
  assert.match(r.blocking[1]!.reason, /through br0 is dropped there/);
});

// ---------------------------------------------------------------- validation, before anything is sent

/** A Masquerade over a kernel that fails the test if anything reaches it. */
function silent(): { masq: Masquerade; sent: () => number } {
  const kernel = new FakeKernel(() => {
    throw new Error('nothing should be sent');
  });
  return { masq: Masquerade.over(Nftables.over(Connection.over(kernel))), sent: () => kernel.sent.length };
}

const cases: [string, object, RegExp][] = [
  ['an invalid CIDR', { subnet: '10.244.0.0/33' }, /^invalid subnet: expected a network in CIDR form/],
  ['host bits set', { subnet: '10.244.0.5/24' }, /host bits are set: the network of this prefix is 10\.244\.0\.0\/24/],
  ['an IPv6 subnet', { subnet: 'fd00::/64' }, /family mismatch/],
  [
    'an IPv6 peer on an IPv4 underlay',
    { subnet: '10.244.0.0/24', vxlan: { family: 4, peers: ['fd00::1'] } },
    /invalid vxlan\.peers\[0\]: family mismatch: an IPv6 address where IPv4 is needed/,
  ],
  [
    'an IPv4 peer on an IPv6 underlay',
    { subnet: '10.244.0.0/24', vxlan: { family: 6, peers: ['192.0.2.1'] } },
    /invalid vxlan\.peers\[0\]: family mismatch: an IPv4 address where IPv6 is needed/,
  ],
  [
    'peers of both families',
    { subnet: '10.244.0.0/24', vxlan: { peers: ['fd00::1', '192.0.2.1'] } },
    /invalid vxlan\.peers\[1\]: family mismatch/,
  ],
  [
    'a bad IPv6 peer',
    { subnet: '10.244.0.0/24', vxlan: { peers: ['fd00::1', 'fd00::1::2'] } },
    /invalid vxlan\.peers\[1\]: expected an IPv6 address/,
  ],
  [
    'an IPv6 peer with a zone',
    { subnet: '10.244.0.0/24', vxlan: { family: 6, peers: ['fe80::1%eth0'] } },
    /invalid vxlan\.peers\[0\]: expected an IPv6 address/,
  ],
  [
    'a family that is not 4 or 6',
    { subnet: '10.244.0.0/24', vxlan: { family: 5 } },
    /invalid vxlan\.family: the underlay's address family: 4 or 6/,
  ],
  [
    'an input policy of drop over an IPv6 underlay',
    { subnet: '10.244.0.0/24', vxlan: { family: 6 }, inputPolicy: 'drop' },
    /invalid inputPolicy: drop is for IPv4 underlays/,
  ],
  [
    'an input policy of drop without vxlan (was a TypeError)',
    { subnet: '10.244.0.0/24', inputPolicy: 'drop' },
    /invalid inputPolicy: drop needs vxlan/,
  ],
  ['a bad peer', { subnet: '10.244.0.0/24', vxlan: { peers: ['192.0.2.300'] } }, /invalid vxlan\.peers\[0\]/],
  ['an empty peer list', { subnet: '10.244.0.0/24', vxlan: { peers: [] } }, /non-empty list/],
  [
    'a bridge name too long',
    { subnet: '10.244.0.0/24', bridge: 'a-bridge-name-too-long' },
    /invalid bridge: interface names have at most 15 bytes/,
  ],
  ['a port out of range', { subnet: '10.244.0.0/24', vxlan: { port: 70000 } }, /invalid vxlan\.port/],
  ['an unknown flag', { subnet: '10.244.0.0/24', flags: ['sticky'] }, /invalid flags\[0\]/],
  ['a typo in an option', { subnet: '10.244.0.0/24', birdge: 'br0' }, /invalid birdge: not a masquerade option/],
];

for (const [what, config, message] of cases) {
  test(`bad input: ${what} is a ValidationError, nothing sent`, async () => {
    const { masq, sent } = silent();
    const error = await masq.ensure(config as never).catch((e) => e);
    assert.instance(error, ValidationError);
    assert.match(error.message, message);
    assert.is(sent(), 0);
  });
}

test('bad input: a table name too long is a ValidationError at open, nothing sent', () => {
  const kernel = new FakeKernel(() => undefined);
  assert.throws(
    () => Masquerade.over(Nftables.over(Connection.over(kernel)), { table: 'x'.repeat(256) }),
    (e: Error) => e instanceof ValidationError && /at most 255 bytes/.test(e.message),
  );
  assert.is(kernel.sent.length, 0);
});

test('NotOwnedError is a ValidationError', () => {
  const error = new NotOwnedError('ip', 'vxnet', 'it carries no vxnet mark');
  assert.instance(error, ValidationError);
  assert.is(error.field, 'table');
});

test('the desired table: peers sorted and deduplicated, drop policy brings established and loopback first', () => {
  const desired = desiredState(
    'vxnet',
    normalizeConfig({
      subnet: '10.244.0.0/24',
      vxlan: { peers: ['192.0.2.10', '192.0.2.9', '192.0.2.10'] },
      inputPolicy: 'drop',
    }),
  );
  assert.equal(desired.peers?.addresses, ['192.0.2.9', '192.0.2.10']);
  const input = desired.chains.find((c) => c.chain.name === 'input')!;
  assert.is(input.chain.policy, 'drop');
  assert.equal(
    input.rules.map((r) => r.comment),
    ['vxnet: established', 'vxnet: loopback', 'vxnet: vxlan from peers', 'vxnet: vxlan from others'],
  );
  assert.equal(
    desired.chains.map((c) => c.chain.name),
    ['postrouting', 'input'],
  );
});

// ---------------------------------------------------------------- IPv6 underlay

const V4 = { subnet: '10.244.0.0/24', egress: 'eth0', bridge: 'br0', vxlan: { peers: ['192.0.2.3', '192.0.2.2'] } };
const V6 = {
  subnet: '10.244.0.0/24',
  egress: 'eth0',
  bridge: 'br0',
  vxlan: { peers: ['fd00:100::3', 'FD00:100:0::2', 'fd00:100::3'] },
};

test('IPv4 underlay: the desired ip table is the same with the family given as 4 or left out, and has no ip6 table', () => {
  const implicit = desiredState('vxnet-seed', normalizeConfig(V4));
  const explicit = desiredState('vxnet-seed', normalizeConfig({ ...V4, vxlan: { ...V4.vxlan, family: 4 } }));
  assert.equal(explicit, implicit);
  assert.is(implicit.ip6, undefined);
  assert.equal(
    implicit.chains.map((c) => c.chain.name),
    ['postrouting', 'input', 'forward'],
  );
});

test('IPv6 underlay: the family is inferred from the peers, which are canonical, sorted and deduplicated', () => {
  const normalized = normalizeConfig(V6);
  assert.equal(normalized.vxlan, { port: 4789, family: 6, peers: ['fd00:100::2', 'fd00:100::3'] });
  assert.is(normalizeConfig({ subnet: '10.244.0.0/24', vxlan: { family: 6 } }).vxlan?.family, 6);
  assert.is(normalizeConfig({ subnet: '10.244.0.0/24', vxlan: {} }).vxlan?.family, 4);
});

test('IPv6 underlay: the ip table keeps the overlay part byte for byte, the VXLAN part moves to an ip6 table of the same name and mark', () => {
  const v4 = desiredState('vxnet-seed', normalizeConfig(V4));
  const v6 = desiredState('vxnet-seed', normalizeConfig(V6));
  // The ip table: the same table, the same postrouting and forward chains and rules; no input chain, no set.
  assert.equal(v6.table, v4.table);
  assert.equal(
    v6.chains,
    v4.chains.filter((c) => c.chain.name !== 'input'),
  );
  assert.is(v6.peers, undefined);
  // The ip6 table.
  const ip6 = v6.ip6!;
  assert.equal(ip6.table, { family: 'ip6', name: 'vxnet-seed', comment: OWNER_MARK });
  assert.equal(
    ip6.chains.map((c) => c.chain),
    [
      {
        family: 'ip6',
        table: 'vxnet-seed',
        name: 'input',
        type: 'filter',
        hook: 'input',
        priority: 0,
        policy: 'accept',
      },
    ],
  );
  // nft --debug=mnl add set ip6 t s '{ type ipv6_addr; }': key type 8, length 16, userdata 00 04 02 00 00 00 (as for ipv4_addr).
  assert.equal(ip6.peers?.set, {
    family: 'ip6',
    table: 'vxnet-seed',
    name: 'vxlan-peers',
    keyType: 8,
    keyLen: 16,
    userdata: Uint8Array.of(0, 4, 2, 0, 0, 0),
  });
  assert.equal(ip6.peers?.set.userdata, v4.peers?.set.userdata);
  assert.equal(ip6.peers?.addresses, ['fd00:100::2', 'fd00:100::3']);
  const input = ip6.chains[0]!.rules;
  assert.equal(
    input.map((r) => r.comment),
    ['vxnet: vxlan from peers', 'vxnet: vxlan from others'],
  );
  // What `nft --debug=netlink add rule ip6 vxnet-seed input ip6 saddr @vxlan-peers udp dport 4789 counter accept` prints (and `... udp dport 4789 counter drop`).
  assert.is(
    formatRule(input[0]!),
    [
      'ip6 vxnet-seed input',
      '  [ payload load 16b @ network header + 8 => reg 1 ]',
      '  [ lookup reg 1 set vxlan-peers ]',
      '  [ meta load l4proto => reg 1 ]',
      '  [ cmp eq reg 1 0x00000011 ]',
      '  [ payload load 2b @ transport header + 2 => reg 1 ]',
      '  [ cmp eq reg 1 0x0000b512 ]',
      '  [ counter pkts 0 bytes 0 ]',
      '  [ immediate reg 0 accept ]',
    ].join('\n'),
  );
  assert.is(
    formatRule(input[1]!),
    [
      'ip6 vxnet-seed input',
      '  [ meta load l4proto => reg 1 ]',
      '  [ cmp eq reg 1 0x00000011 ]',
      '  [ payload load 2b @ transport header + 2 => reg 1 ]',
      '  [ cmp eq reg 1 0x0000b512 ]',
      '  [ counter pkts 0 bytes 0 ]',
      '  [ immediate reg 0 drop ]',
    ].join('\n'),
  );
});

test('IPv6 underlay without peers: the ip6 input chain accepts VXLAN from anyone; the ip table has no input chain', () => {
  const v6 = desiredState('vxnet', normalizeConfig({ subnet: '10.244.0.0/24', vxlan: { family: 6, port: 8472 } }));
  assert.equal(
    v6.chains.map((c) => c.chain.name),
    ['postrouting'],
  );
  assert.is(v6.ip6?.peers, undefined);
  assert.equal(
    v6.ip6!.chains[0]!.rules.map((r) => r.comment),
    ['vxnet: vxlan'],
  );
  // nft --debug=netlink add rule ip6 vxnet input udp dport 8472 counter accept
  assert.match(
    formatRule(v6.ip6!.chains[0]!.rules[0]!),
    /\[ cmp eq reg 1 0x00001821 \]\n {2}\[ counter pkts 0 bytes 0 \]\n {2}\[ immediate reg 0 accept \]$/,
  );
});

for (const [what, addresses, message] of [
  ['garbage among IPv6 addresses', ['fd00::2', 'not-an-address'], /invalid peers\[1\]: expected an IPv4 address/],
  ['a bad IPv6 address', ['fd00::2', 'fd00:::3'], /invalid peers\[1\]/],
  ['an address with a prefix', ['fd00::2/64'], /invalid peers\[0\]/],
] as [string, string[], RegExp][]) {
  for (const verb of ['addPeers', 'removePeers'] as const) {
    test(`${verb}: ${what} is a ValidationError before anything is sent`, async () => {
      const { masq, sent } = silent();
      const error = await masq[verb](addresses).catch((e) => e);
      assert.instance(error, ValidationError);
      assert.match(error.message, message);
      assert.is(sent(), 0);
    });
  }
}

test('NotOwnedError names the ip6 family', () => {
  assert.match(
    new NotOwnedError('ip6', 'vxnet-seed', 'it carries no vxnet mark').message,
    /^invalid table: table ip6 vxnet-seed exists and was not created by vxnet/,
  );
});

test.run();
