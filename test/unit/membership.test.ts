/**
 * The membership rule the agent converges by: a fresh view is the flood
 * list exactly (vxnet's entries of non-members are collected), a stale one
 * removes nothing (the kernel's peers are kept beside the members it still
 * lists); addresses compared in canonical form; the diff the log prints;
 * and the static source (the spec's peers, always fresh).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  desiredPeers,
  describeHealth,
  describePeerDiff,
  diffPeers,
  type MembershipView,
  sameMembers,
} from '../../src/membership/membership.js';
import { StaticMembership } from '../../src/membership/static.js';

const fresh = (peers: string[]): MembershipView => ({
  peers,
  health: { state: 'fresh', since: '2026-01-01T00:00:00.000Z' },
});
const stale = (peers: string[]): MembershipView => ({
  peers,
  health: { state: 'stale', since: '2026-01-01T00:00:05.000Z', cause: 'etcd unreachable' },
});

test('fresh: exactly the members, whatever the kernel has (non-members are collected)', () => {
  assert.equal(desiredPeers(fresh(['192.0.2.2', '192.0.2.3']), ['192.0.2.3', '192.0.2.9']), {
    peers: ['192.0.2.2', '192.0.2.3'],
    kept: [],
  });
  assert.equal(
    desiredPeers(fresh([]), ['192.0.2.9']),
    { peers: [], kept: [] },
    'an empty fresh list empties the flood list',
  );
});

test("stale: the members plus the kernel's peers; nothing removed", () => {
  assert.equal(desiredPeers(stale(['192.0.2.2']), ['192.0.2.9', '192.0.2.2', '192.0.2.8']), {
    peers: ['192.0.2.2', '192.0.2.9', '192.0.2.8'],
    kept: ['192.0.2.9', '192.0.2.8'],
  });
  assert.equal(
    desiredPeers(stale([]), ['192.0.2.9']),
    { peers: ['192.0.2.9'], kept: ['192.0.2.9'] },
    'a stale empty list keeps everything',
  );
  assert.equal(
    desiredPeers(stale(['192.0.2.4']), []),
    { peers: ['192.0.2.4'], kept: [] },
    'members it still lists are added',
  );
});

test('addresses in canonical form: IPv6 spellings are one peer', () => {
  assert.equal(desiredPeers(stale(['fd00:100:0::2']), ['fd00:100::2', 'FD00:100::3']), {
    peers: ['fd00:100::2', 'fd00:100::3'],
    kept: ['fd00:100::3'],
  });
  assert.equal(
    desiredPeers(fresh(['fd00:100::2', 'fd00:100:0:0::2']), []).peers,
    ['fd00:100::2'],
    'duplicates collapse',
  );
});

test('diffPeers and describeHealth: what the log says', () => {
  assert.equal(diffPeers(['192.0.2.2', '192.0.2.3'], ['192.0.2.3', '192.0.2.4']), {
    added: ['192.0.2.4'],
    removed: ['192.0.2.2'],
  });
  assert.equal(diffPeers([], []), { added: [], removed: [] });
  assert.is(describeHealth(fresh([]).health), 'fresh since 2026-01-01T00:00:00.000Z');
  assert.is(describeHealth(stale([]).health), 'stale since 2026-01-01T00:00:05.000Z: etcd unreachable');
});

test('describePeerDiff: every peer named up to eight, a larger change named by its first three and counted', () => {
  assert.is(describePeerDiff({ added: ['192.0.2.4'], removed: ['192.0.2.9'] }), '+192.0.2.4 -192.0.2.9');
  const eight = Array.from({ length: 8 }, (_, i) => `192.0.2.${i + 1}`);
  assert.is(describePeerDiff({ added: eight, removed: [] }), eight.map((p) => `+${p}`).join(' '));
  const thousand = Array.from({ length: 1000 }, (_, i) => `10.1.${i >> 8}.${i & 0xff}`);
  assert.is(
    describePeerDiff({ added: thousand, removed: ['192.0.2.9'] }),
    '+10.1.0.0 +10.1.0.1 +10.1.0.2 … (1000 added, 1 removed)',
  );
  // The agent's re-apply tells a membership change by its first sign: a summary keeps it.
  assert.ok(describePeerDiff({ added: [], removed: thousand }).startsWith('-10.1.0.0 '));
  assert.is(describePeerDiff({ added: [], removed: [] }), '');
});

test('sameMembers: same addresses and subnets in the same order', () => {
  const a = [{ address: '192.0.2.1', subnet: '10.1.1.0/24' }, { address: '192.0.2.2' }];
  assert.ok(sameMembers(a, [{ address: '192.0.2.1', subnet: '10.1.1.0/24' }, { address: '192.0.2.2' }]));
  assert.not.ok(sameMembers(a, [{ address: '192.0.2.1', subnet: '10.1.9.0/24' }, { address: '192.0.2.2' }]));
  assert.not.ok(sameMembers(a, [{ address: '192.0.2.1' }, { address: '192.0.2.2' }]));
  assert.not.ok(sameMembers(a, a.slice(0, 1)));
  assert.not.ok(sameMembers(a, [...a].reverse()));
  assert.ok(sameMembers([], []));
});

test("static membership: the spec's peers, fresh, never changing", async () => {
  const since = new Date('2026-02-03T04:05:06.000Z');
  const source = new StaticMembership(['192.0.2.2', '192.0.2.3'], since);
  await source.start();
  assert.is(source.source, 'static');
  assert.equal(source.view(), {
    peers: ['192.0.2.2', '192.0.2.3'],
    health: { state: 'fresh', since: since.toISOString() },
  });
  let calls = 0;
  const off = source.onChange(() => calls++);
  await source.resync();
  off();
  await source.close();
  assert.is(calls, 0);
});

test.run();
