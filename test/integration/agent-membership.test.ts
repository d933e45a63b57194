/**
 * The agent's peers from a membership source (the interface the etcd source
 * will implement), on the 3-host lab with pings as the proof: the flood
 * entries and the firewall's peer set follow the members as they come and
 * go; a flood entry of the network's device that no member accounts for is
 * collected; while the source is stale nothing is removed (members it still
 * lists are added) and status says so; entries of a device vxnet does not own
 * are never touched. `ip`, `bridge` and `nft` are the oracles.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayAgent } from '../../src/agent/agent.js';
import type { Membership, MembershipHealth, MembershipView } from '../../src/membership/membership.js';
import { OverlayHost } from '../../src/overlay/host.js';
import { vxnet } from '../helpers/agent.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, sh } from '../helpers/netns.js';

const it = integrationReady(['ip', 'nsenter', 'nft', 'bridge', 'ping']) ? test : test.skip;

/** A source whose members the test sets, as a store-backed one would report them. */
class ScriptedMembership implements Membership {
  readonly source = 'scripted';
  resyncs = 0;
  private current: MembershipView;
  private readonly listeners = new Set<() => void>();

  constructor(peers: string[]) {
    this.current = { peers, health: { state: 'fresh', since: new Date().toISOString() } };
  }

  set(peers: string[], health: MembershipHealth = { state: 'fresh', since: new Date().toISOString() }): void {
    this.current = { peers, health };
    for (const listener of this.listeners) listener();
  }

  async start(): Promise<void> {}

  view(): MembershipView {
    return this.current;
  }

  async resync(): Promise<void> {
    this.resyncs++;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}

function specFor(lab: Lab, host: LabHost) {
  return {
    name: 'seed',
    vni: 42,
    port: 4789,
    underlay: { device: 'eth0', address: host.address },
    peers: lab.hosts.map((h) => h.address),
    subnet: '10.10.0.0/24',
    gateway: `10.10.0.${host.index}`,
    vxlan: 'vx0',
    bridge: 'br0',
    firewall: true,
  };
}

const floodEntries = (ns: string, dev = 'vx0'): string[] =>
  (JSON.parse(sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', dev]) || '[]') as any[])
    .filter((e) => e.mac === '00:00:00:00:00:00' && e.dst)
    .map((e) => e.dst)
    .sort();
const peerSet = (ns: string): string[] => {
  const set = (
    JSON.parse(sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'set', 'ip', 'vxnet-seed', 'vxlan-peers']))
      .nftables as any[]
  ).find((o) => o.set)?.set;
  return [...(set?.elem ?? [])].map(String).sort();
};

async function eventually(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('flood entries and the firewall peer set follow the members; non-members are collected; a stale source removes nothing', async () => {
  const lab = Lab.create({ hosts: 3 });
  const others: OverlayHost[] = [];
  let agent: OverlayAgent | undefined;
  try {
    const [h1, h2, h3] = [lab.host(1), lab.host(2), lab.host(3)];
    // Hosts 2 and 3 know everyone (a static spec); host 1 learns its peers from the source.
    for (const h of [h2, h3]) {
      const host = await OverlayHost.open({ namespace: h.ns });
      others.push(host);
      await host.apply(specFor(lab, h));
    }
    // A VXLAN device vxnet does not own, with a flood entry of its own: never touched.
    sh('ip', [
      '-n',
      h1.ns,
      'link',
      'add',
      'vx9',
      'type',
      'vxlan',
      'id',
      '99',
      'dstport',
      '4789',
      'local',
      h1.address,
      'dev',
      'eth0',
    ]);
    sh('bridge', ['-n', h1.ns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx9', 'dst', '192.168.100.99']);

    const source = new ScriptedMembership([h2.address]);
    agent = new OverlayAgent({ namespace: h1.ns, membership: () => source, resyncMs: 1000 });
    const repairs: { trigger: string; events?: string[]; changes: string[] }[] = [];
    const seen: { added: string[]; removed: string[]; health: MembershipHealth }[] = [];
    agent.on('repair', (r) => repairs.push(r));
    agent.on('membership', (m) => seen.push(m));
    await agent.start(specFor(lab, h1));
    assert.equal(floodEntries(h1.ns), [h2.address], "the members, not the spec's list");
    assert.equal(peerSet(h1.ns), [h2.address]);

    const c1 = lab.addContainer(h1, 'c1', { address: '10.10.0.11/24' });
    const c2 = lab.addContainer(h2, 'c2', { address: '10.10.0.12/24' });
    const c3 = lab.addContainer(h3, 'c3', { address: '10.10.0.13/24' });
    for (const c of [c1, c2, c3]) sh('ip', ['-n', c.host.ns, 'link', 'set', c.hostDev, 'master', 'br0', 'up']);
    assert.ok(await lab.pingEventually(c1.ns, '10.10.0.12', 8), 'c1 → c2: host 2 is a member');
    assert.not.ok(lab.ping(c1.ns, '10.10.0.13', { count: 2 }), "c1 → c3: host 3 is not (c1's ARP never reaches it)");

    // Host 3 joins.
    source.set([h2.address, h3.address]);
    await eventually(
      'host 3 in the flood list and the peer set',
      () => floodEntries(h1.ns).includes(h3.address) && peerSet(h1.ns).includes(h3.address),
    );
    assert.equal(seen.at(-1)!.added, [h3.address]);
    await eventually(`the repair is reported: ${JSON.stringify(repairs)}`, () =>
      repairs.some((r) => r.changes.includes(`add peers of vx0 (${h3.address})`)),
    );
    assert.ok(await lab.pingEventually(c1.ns, '10.10.0.13', 8), 'c1 → c3 once host 3 is a member');

    // An entry of the network's device that no member accounts for is collected (the source is fresh).
    sh('bridge', ['-n', h1.ns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '192.168.100.9']);
    await eventually('the stray flood entry collected', () => !floodEntries(h1.ns).includes('192.168.100.9'));
    assert.equal(floodEntries(h1.ns), [h2.address, h3.address].sort());

    // Stale: the source lost track and lists host 2 only, plus a newcomer. Nothing is removed; the newcomer is added.
    const since = new Date().toISOString();
    const resyncsBefore = source.resyncs;
    source.set([h2.address, '192.168.100.7'], { state: 'stale', since, cause: 'etcd unreachable' });
    await eventually('the newcomer added while stale', () => floodEntries(h1.ns).includes('192.168.100.7'));
    await new Promise((resolve) => setTimeout(resolve, 2500)); // two resyncs (1 s) pass: still nothing removed
    assert.ok(source.resyncs > resyncsBefore, 'the resync timer re-lists the source');
    assert.equal(
      floodEntries(h1.ns),
      [h2.address, h3.address, '192.168.100.7'].sort(),
      'host 3 kept while the source is stale',
    );
    assert.equal(peerSet(h1.ns), [h2.address, h3.address, '192.168.100.7'].sort());
    assert.ok(lab.ping(c1.ns, '10.10.0.13'), 'and the data plane to it works');
    const status = vxnet(['status', 'seed', '--namespace', h1.ns]);
    assert.match(
      status.stdout,
      new RegExp(
        `membership scripted: stale since ${since.replace(/[.]/g, '\\.')} \\(etcd unreachable\\), 2 peer\\(s\\)`,
      ),
      status.stdout,
    );

    // Fresh again, host 3 gone: now it is removed, and c1 no longer reaches c3.
    source.set([h2.address]);
    await eventually(
      'host 3 and the newcomer removed',
      () => floodEntries(h1.ns).join() === h2.address && peerSet(h1.ns).join() === h2.address,
    );
    assert.ok(lab.ping(c1.ns, '10.10.0.12'), 'c1 → c2 still');
    sh('ip', ['-n', h1.ns, 'neigh', 'flush', 'dev', 'br0']);
    sh('ip', ['-n', c1.ns, 'neigh', 'flush', 'dev', 'eth0']);
    assert.not.ok(lab.ping(c1.ns, '10.10.0.13', { count: 2 }), 'c1 → c3 no more');

    assert.equal(floodEntries(h1.ns, 'vx9'), ['192.168.100.99'], "the foreign device's entry untouched throughout");
    await agent.stop();
    agent = undefined;
    assert.equal(floodEntries(h1.ns), [h2.address], 'stop leaves the network as it is');
  } finally {
    await agent?.stop().catch(() => undefined);
    for (const host of others) await host.close();
    lab.destroy();
  }
});

test.run();
