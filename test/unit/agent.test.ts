/**
 * The agent's pure parts: which nf_tables event names which table, which
 * rtnetlink events touch a network (and which do not), the log line formats,
 * and the agent record status reads.
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { OverlayAgent } from '../../src/agent/agent.js';
import { tableOfEvent } from '../../src/agent/nft-events.js';
import { formatLog, LOGGED_ADDRESSES, logAgent } from '../../src/agent/log.js';
import { agentStatus, describeAgent, removeAgentRecord, writeAgentRecord } from '../../src/agent/record.js';
import { OwnedView } from '../../src/agent/relevance.js';
import { parseMessages } from '../../src/netlink/message.js';
import {
  NFNL_SUBSYS_NFTABLES,
  NFT_MSG_DELTABLE,
  NFT_MSG_NEWGEN,
  NFT_MSG_NEWRULE,
} from '../../src/nftables/constants.js';
import { resolveSpec } from '../../src/overlay/spec.js';
import { NetworkState } from '../../src/network/state.js';
import type { Link } from '../../src/rtnetlink/links.js';

/** One nfnetlink message: nlmsghdr, nfgenmsg, then the attributes given (type, bytes). */
function nftMessage(type: number, attrs: [number, Buffer][]): Buffer {
  const body = Buffer.concat(
    attrs.map(([t, data]) => {
      const length = 4 + data.length;
      const padded = Buffer.alloc((length + 3) & ~3);
      padded.writeUInt16LE(length, 0);
      padded.writeUInt16LE(t, 2);
      data.copy(padded, 4);
      return padded;
    }),
  );
  const header = Buffer.alloc(16 + 4);
  header.writeUInt32LE(header.length + body.length, 0);
  header.writeUInt16LE((NFNL_SUBSYS_NFTABLES << 8) | type, 4);
  header[16] = 2; // NFPROTO_IPV4
  return Buffer.concat([header, body]);
}
const cstring = (text: string): Buffer => Buffer.from(`${text}\0`);

test('nf_tables events: the table is attribute 1 of every object message; the generation message names none', () => {
  const [del] = parseMessages(
    nftMessage(NFT_MSG_DELTABLE, [
      [1, cstring('vxnet-a')],
      [2, Buffer.from([0, 0, 0, 0])],
    ]),
  );
  assert.equal(tableOfEvent(del!), { table: 'vxnet-a', message: NFT_MSG_DELTABLE });
  const [rule] = parseMessages(
    nftMessage(NFT_MSG_NEWRULE, [
      [1 | 0x8000, cstring('filter')],
      [2, cstring('input')],
    ]),
  );
  assert.equal(tableOfEvent(rule!), { table: 'filter', message: NFT_MSG_NEWRULE }, 'the NLA_F_NESTED bit is masked');
  const [gen] = parseMessages(nftMessage(NFT_MSG_NEWGEN, [[1, Buffer.from([0, 0, 0, 7])]]));
  assert.is(tableOfEvent(gen!), undefined);
  const [truncated] = parseMessages(nftMessage(NFT_MSG_NEWRULE, [[2, cstring('x')]]));
  assert.is(tableOfEvent(truncated!), undefined, 'no table attribute: not ours');
});

const SPEC = resolveSpec({
  name: 'blue',
  vni: 5,
  underlay: { device: 'eth0', address: '192.168.1.1' },
  peers: ['192.168.1.2'],
  subnet: '10.1.0.0/24',
  gateway: '10.1.0.1',
  vxlan: 'vxb',
  bridge: 'brb',
});
const link = (fields: Partial<Link>): Link => ({ family: 0, ifindex: 0, flags: 0, ...fields }) as Link;

test("relevance: the network's links, its bridge's ports, its global addresses, its flood entries; nothing else", () => {
  const view = new OwnedView(SPEC);
  view.seed([
    link({ ifindex: 2, ifname: 'eth0' }),
    link({ ifindex: 7, ifname: 'vxb', ifalias: 'vxnet:blue', linkinfo: { info_kind: 'vxlan' } } as Partial<Link>),
    link({ ifindex: 8, ifname: 'brb', ifalias: 'vxnet:blue', linkinfo: { info_kind: 'bridge' } } as Partial<Link>),
  ]);
  assert.is(
    view.relevant({ kind: 'link', action: 'del', link: link({ ifindex: 7, ifname: 'vxb' }) }),
    'link vxb deleted',
  );
  assert.is(
    view.relevant({ kind: 'link', action: 'new', link: link({ ifindex: 9, ifname: 'veth1', master: 8 }) }),
    'link veth1 changed (a port of the bridge)',
  );
  assert.is(view.relevant({ kind: 'link', action: 'new', link: link({ ifindex: 12, ifname: 'other' }) }), undefined);
  assert.is(
    view.relevant({ kind: 'link', action: 'new', link: link({ ifindex: 13, ifname: 'brx', ifalias: 'vxnet:red' }) }),
    undefined,
    "another network's device",
  );
  // A recreated VXLAN device has a new ifindex: the view follows it.
  assert.is(
    view.relevant({
      kind: 'link',
      action: 'new',
      link: link({ ifindex: 20, ifname: 'vxb', linkinfo: { info_kind: 'vxlan' } } as Partial<Link>),
    }),
    'link vxb changed',
  );
  const fdb = (ifindex: number, lladdr: string) => ({
    kind: 'fdb' as const,
    action: 'del' as const,
    entry: { family: 7, ifindex, lladdr, dst: '192.168.1.2' } as any,
  });
  assert.is(view.relevant(fdb(20, '00:00:00:00:00:00')), 'flood entry 192.168.1.2 on vxb deleted');
  assert.is(view.relevant(fdb(20, '02:aa:bb:cc:dd:ee')), undefined, "a learned MAC is not the spec's");
  assert.is(view.relevant(fdb(7, '00:00:00:00:00:00')), undefined, "the old device's");
  const address = (scope: number) => ({
    kind: 'address' as const,
    action: 'del' as const,
    address: { family: 2, ifindex: 8, prefixlen: 24, scope, local: '10.1.0.1' } as any,
  });
  assert.is(view.relevant(address(0)), 'address 10.1.0.1/24 on brb deleted');
  assert.is(view.relevant(address(253)), undefined, 'link-local addresses come and go with the link');
});

test('log lines: text for a terminal, one JSON object per line', () => {
  const at = new Date('2026-01-02T03:04:05.000Z');
  const entry = {
    level: 'info' as const,
    network: 'blue',
    event: 'repair',
    message: 'repaired in 12 ms after link vxb deleted: create link vxb',
    ms: 12,
  };
  assert.is(
    formatLog(entry, 'text', at),
    '2026-01-02T03:04:05.000Z info blue: repaired in 12 ms after link vxb deleted: create link vxb',
  );
  assert.equal(JSON.parse(formatLog(entry, 'json', at)), { time: '2026-01-02T03:04:05.000Z', ...entry });
  assert.not.match(formatLog(entry, 'json', at), /\n/);
});

test('a membership line of a large network stays short: at most 32 addresses per list, with the counts', () => {
  const agent = new EventEmitter();
  const lines: string[] = [];
  logAgent(agent as unknown as OverlayAgent, 'json', (line) => lines.push(line));
  const peers = Array.from({ length: 3000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  const health = { state: 'fresh', since: '2026-01-02T03:04:05.000Z' };
  agent.emit('membership', { network: 'blue', source: 'etcd', health, peers, added: peers, removed: ['10.9.9.9'] });
  assert.is(lines.length, 1);
  assert.ok(lines[0]!.length < 4096, `${lines[0]!.length} characters`);
  const entry = JSON.parse(lines[0]!);
  assert.equal(entry.peers, peers.slice(0, LOGGED_ADDRESSES));
  assert.equal(entry.added, peers.slice(0, LOGGED_ADDRESSES));
  assert.equal(entry.removed, ['10.9.9.9']);
  assert.equal([entry.peerCount, entry.addedCount, entry.removedCount], [3000, 3000, 1]);
  assert.match(entry.message, /\(3000 added, 1 removed\)/);
});

test('the agent record: written, read with whether its process runs, described, removed', () => {
  const root = mkdtempSync(join(tmpdir(), 'vxnet-agent-record-'));
  try {
    const state = new NetworkState(root, { id: 'ns-1-2', dev: 1, ino: 2 } as any, 'blue');
    assert.is(agentStatus(state), undefined);
    writeAgentRecord(state, {
      pid: process.pid,
      since: '2026-01-02T03:04:05.000Z',
      resyncMs: 30000,
      repairs: [{ at: '2026-01-02T03:05:00.000Z', trigger: 'link vxb deleted', ms: 40, changes: ['create link vxb'] }],
    });
    const running = agentStatus(state)!;
    assert.is(running.running, true);
    assert.is(
      describeAgent(running),
      `running (pid ${process.pid}, since 2026-01-02T03:04:05.000Z), last repair at 2026-01-02T03:05:00.000Z after link vxb deleted (40 ms): create link vxb`,
    );
    writeAgentRecord(state, { pid: 2 ** 22 + 12345, since: 'T', resyncMs: 30000, repairs: [] });
    assert.match(describeAgent(agentStatus(state)!), /^not running \(pid \d+ is gone; it started T\), no repair yet$/);
    removeAgentRecord(state);
    assert.is(agentStatus(state), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
