/**
 * Typed events and namespaces on the real kernel: listFirst gives what exists,
 * then `synced`, then live changes; FDB entries and neighbours arrive apart;
 * a veth can be born with its peer in another namespace, and each
 * namespace's connection sees only its own side.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import type { EventOptions, RtEvent } from '../../src/rtnetlink/events.js';
import { integrationReady, ipIn, sh, withNamespaces } from '../helpers/netns.js';

const it = integrationReady(['ip', 'bridge', 'nsenter']) ? test : test.skip;

/** A one-line description of an event, for assertions a person can read. */
function describe(event: RtEvent): string {
  switch (event.kind) {
    case 'link':
      return `link ${event.action} ${event.link.ifname}`;
    case 'address':
      return `address ${event.action} ${event.address.local ?? event.address.address}/${event.address.prefixlen}`;
    case 'route':
      return `route ${event.action} ${event.route.dst ?? 'default'}/${event.route.dst_len} table ${event.route.table ?? event.route.rtm_table}`;
    case 'neighbour':
      return `neighbour ${event.action} ${event.neighbour.dst}`;
    case 'fdb':
      return `fdb ${event.action} ${event.entry.lladdr} dst ${event.entry.dst ?? '-'}`;
    case 'synced':
      return 'synced';
    case 'overrun':
      return 'overrun';
  }
}

/**
 * Lists first, then runs `act` once the stream is live (after `synced`) and
 * collects events until `done(seen)` says so. A deadline ends the stream
 * through its AbortSignal, also when no event comes at all.
 */
async function collect(
  rt: Rtnetlink,
  options: Omit<EventOptions, 'listFirst' | 'signal'>,
  act: () => void | Promise<void>,
  done: (seen: string[]) => boolean,
  timeoutMs = 10_000,
): Promise<string[]> {
  const seen: string[] = [];
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  let acted = false;
  try {
    for await (const event of rt.events({ ...options, listFirst: true, signal: deadline.signal })) {
      seen.push(describe(event));
      if (event.kind === 'synced' && !acted) {
        acted = true;
        await act();
      }
      if (acted && done(seen)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return seen;
}

it('listFirst: existing links, addresses, routes and neighbours, then synced, then live new and del events', async () => {
  await withNamespaces(['events'], async (ns) => {
    ipIn(ns, 'link', 'add', 'ev0', 'type', 'veth', 'peer', 'name', 'ev1');
    ipIn(ns, 'link', 'set', 'ev0', 'up');
    ipIn(ns, 'address', 'add', '10.60.0.1/24', 'dev', 'ev0');
    ipIn(ns, 'route', 'add', '10.61.0.0/16', 'via', '10.60.0.2');
    ipIn(ns, 'neigh', 'add', '10.60.0.7', 'lladdr', '02:00:00:00:00:07', 'dev', 'ev0');
    await using rt = await Rtnetlink.open({ namespace: ns });
    const seen = await collect(
      rt,
      { groups: ['link', 'ipv4-address', 'ipv4-route', 'neighbour'] },
      () => {
        ipIn(ns, 'link', 'add', 'ev2', 'type', 'veth', 'peer', 'name', 'ev3');
        ipIn(ns, 'address', 'add', '10.60.0.9/24', 'dev', 'ev0');
        ipIn(ns, 'route', 'add', '10.62.0.0/16', 'via', '10.60.0.2');
        ipIn(ns, 'neigh', 'add', '10.60.0.8', 'lladdr', '02:00:00:00:00:08', 'dev', 'ev0');
        ipIn(ns, 'neigh', 'del', '10.60.0.8', 'dev', 'ev0');
        ipIn(ns, 'route', 'del', '10.62.0.0/16');
        ipIn(ns, 'address', 'del', '10.60.0.9/24', 'dev', 'ev0');
        ipIn(ns, 'link', 'del', 'ev2');
      },
      (s) => s.includes('link del ev2') && s.includes('link del ev3'),
    );
    const synced = seen.indexOf('synced');
    assert.ok(synced > 0, `a synced marker after the listing:\n${seen.join('\n')}`);
    const before = seen.slice(0, synced);
    const after = seen.slice(synced + 1);
    assert.ok(
      before.every((line) => / existing /.test(line)),
      'only existing objects before synced',
    );
    assert.ok(
      after.every((line) => / (new|del) /.test(line)),
      'only live changes after synced',
    );
    for (const line of [
      'link existing lo',
      'link existing ev0',
      'link existing ev1',
      'address existing 10.60.0.1/24',
      'route existing 10.61.0.0/16 table 254',
      'neighbour existing 10.60.0.7',
    ]) {
      assert.ok(before.includes(line), `listed first: ${line}\n${before.join('\n')}`);
    }
    // The listing is what a list call returns (the live changes have been undone by now).
    assert.is(before.filter((l) => l.startsWith('link ')).length, (await rt.links.list()).length);
    assert.is(before.filter((l) => l.startsWith('neighbour ')).length, (await rt.neighbours.list()).length);
    for (const line of [
      'link new ev2',
      'link new ev3',
      'address new 10.60.0.9/24',
      'route new 10.62.0.0/16 table 254',
      'neighbour new 10.60.0.8',
      'neighbour del 10.60.0.8',
      'route del 10.62.0.0/16 table 254',
      'address del 10.60.0.9/24',
      'link del ev2',
      'link del ev3',
    ]) {
      assert.ok(after.includes(line), `live: ${line}\n${after.join('\n')}`);
    }
    const order = [
      'link new ev2',
      'address new 10.60.0.9/24',
      'route new 10.62.0.0/16 table 254',
      'neighbour new 10.60.0.8',
      'neighbour del 10.60.0.8',
      'route del 10.62.0.0/16 table 254',
      'address del 10.60.0.9/24',
      'link del ev2',
    ].map((line) => after.indexOf(line));
    assert.equal(
      order,
      [...order].sort((a, b) => a - b),
      'in the order they happened',
    );
  });
});

it('IPv6 groups: addresses and routes of IPv6 only when asked for', async () => {
  await withNamespaces(['events6'], async (ns) => {
    ipIn(ns, 'link', 'add', 'ev0', 'type', 'veth', 'peer', 'name', 'ev1');
    ipIn(ns, 'link', 'set', 'ev0', 'up');
    await using rt = await Rtnetlink.open({ namespace: ns });
    const seen = await collect(
      rt,
      { groups: ['ipv6-address', 'ipv6-route'] },
      () => {
        ipIn(ns, 'address', 'add', '10.70.0.1/24', 'dev', 'ev0');
        ipIn(ns, 'address', 'add', '2001:db8:70::1/64', 'dev', 'ev0', 'nodad');
        ipIn(ns, 'route', 'add', '2001:db8:71::/64', 'via', '2001:db8:70::2');
      },
      (s) => s.includes('route new 2001:db8:71::/64 table 254'),
    );
    assert.ok(seen.includes('address new 2001:db8:70::1/64'), seen.join('\n'));
    assert.not.ok(
      seen.some((line) => line.includes('10.70.0.')),
      `no IPv4 events:\n${seen.join('\n')}`,
    );
  });
});

it('an AbortSignal ends a stream that is waiting for an event, and closes its relay', async () => {
  await withNamespaces(['quiet'], async (ns) => {
    await using rt = await Rtnetlink.open({ namespace: ns });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 300);
    const seen: string[] = [];
    for await (const event of rt.events({ groups: ['ipv6-route'], signal: controller.signal }))
      seen.push(describe(event));
    assert.equal(seen, [], 'nothing happened in the namespace');
    assert.ok(Date.now() - started < 5_000, 'the stream ended soon after the abort');
    // Aborted before it starts: no subscription at all.
    const already = new AbortController();
    already.abort();
    for await (const event of rt.events({ groups: ['link'], listFirst: true, signal: already.signal }))
      assert.unreachable(`no event after an abort: ${describe(event)}`);
  });
});

it('FDB entries arrive as fdb events, never as neighbours; listFirst lists them for the fdb group', async () => {
  await withNamespaces(['fdbev'], async (ns) => {
    ipIn(ns, 'link', 'add', 'ev0', 'type', 'veth', 'peer', 'name', 'ev1');
    ipIn(ns, 'link', 'set', 'ev0', 'up');
    ipIn(ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '7', 'dstport', '4789', 'nolearning');
    sh('bridge', ['-n', ns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '192.0.2.1']);
    await using rt = await Rtnetlink.open({ namespace: ns });
    const act = () => {
      sh('bridge', ['-n', ns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '192.0.2.2']);
      ipIn(ns, 'neigh', 'add', '10.80.0.1', 'lladdr', '02:00:00:00:00:01', 'dev', 'ev0');
    };
    const neighbours = await collect(rt, { groups: ['neighbour'] }, act, (s) => s.includes('neighbour new 10.80.0.1'));
    assert.not.ok(
      neighbours.some((line) => line.startsWith('fdb ') || line.includes('192.0.2.')),
      `no FDB entries among neighbours:\n${neighbours.join('\n')}`,
    );
    sh('bridge', ['-n', ns, 'fdb', 'del', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '192.0.2.2']);
    ipIn(ns, 'neigh', 'del', '10.80.0.1', 'dev', 'ev0');
    const fdb = await collect(rt, { groups: ['fdb'] }, act, (s) =>
      s.includes('fdb new 00:00:00:00:00:00 dst 192.0.2.2'),
    );
    assert.ok(fdb.includes('fdb existing 00:00:00:00:00:00 dst 192.0.2.1'), fdb.join('\n'));
    assert.ok(fdb.includes('fdb new 00:00:00:00:00:00 dst 192.0.2.2'), fdb.join('\n'));
    assert.not.ok(
      fdb.some((line) => line.startsWith('neighbour ')),
      `no neighbours among FDB entries:\n${fdb.join('\n')}`,
    );
  });
});

it('a veth created with its peer directly in another namespace; each namespace sees its own side, and its own events', async () => {
  await withNamespaces(['home', 'away'], async (home, away) => {
    await using here = await Rtnetlink.open({ namespace: home });
    await using there = await Rtnetlink.open({ namespace: away });
    const seen = await collect(
      there,
      { groups: ['link'] },
      () =>
        here.links
          .create({ ifname: 'vh0', kind: 'veth', peer: { ifname: 'vh1', namespace: away } })
          .then(() => undefined),
      (s) => s.includes('link new vh1'),
    );
    assert.ok(seen.includes('link new vh1'), `the other namespace saw the peer appear:\n${seen.join('\n')}`);
    assert.not.ok(seen.includes('link new vh0'), 'and not our side');
    const mine = await here.links.get('vh0');
    const peer = await there.links.get('vh1');
    assert.is(mine.linkinfo?.info_kind, 'veth');
    assert.is(peer.linkinfo?.info_kind, 'veth');
    assert.is(mine.link, peer.ifindex, 'vh0 points at the index of vh1 in its namespace');
    assert.is(peer.link, mine.ifindex, 'and back');
    assert.ok(
      mine.link_netnsid !== undefined && peer.link_netnsid !== undefined,
      'each side says the peer is in another namespace',
    );
    assert.is(await here.links.find('vh1'), undefined, 'vh1 is not here');
    assert.is(await there.links.find('vh0'), undefined, 'vh0 is not there');
    // The same operations, each in its own namespace.
    await here.addresses.add({ dev: 'vh0', address: '10.90.0.1/24' });
    await there.addresses.add({ dev: 'vh1', address: '10.90.0.2/24' });
    await here.links.set('vh0', { up: true });
    await there.links.set('vh1', { up: true });
    await here.routes.add({ dst: '10.91.0.0/16', gateway: '10.90.0.2' });
    await there.neighbours.add({ dev: 'vh1', dst: '10.90.0.1', lladdr: mine.address! });
    assert.equal(
      (await here.addresses.list({ family: 4, dev: 'vh0' })).map((a) => a.local),
      ['10.90.0.1'],
    );
    assert.equal(
      (await there.addresses.list({ family: 4, dev: 'vh1' })).map((a) => a.local),
      ['10.90.0.2'],
    );
    assert.ok((await here.routes.list({ family: 4 })).some((r) => r.dst === '10.91.0.0'));
    assert.not.ok((await there.routes.list({ family: 4 })).some((r) => r.dst === '10.91.0.0'));
    assert.ok(
      (await there.neighbours.list({ dev: 'vh1' })).some((n) => n.dst === '10.90.0.1' && n.lladdr === mine.address),
    );
    // The link works: a ping across the two namespaces.
    sh('ip', ['netns', 'exec', home, 'ping', '-c', '1', '-W', '2', '10.90.0.2']);
    // Deleting one side takes the other with it.
    await here.links.delete('vh0');
    assert.is(await there.links.find('vh1'), undefined);
  });
});

it('devices created directly in another namespace, moved to another and back under a new name', async () => {
  await withNamespaces(['one', 'two'], async (one, two) => {
    await using a = await Rtnetlink.open({ namespace: one });
    await using b = await Rtnetlink.open({ namespace: two });
    await a.links.create({ ifname: 'br9', kind: 'bridge', namespace: two });
    await a.links.create({ ifname: 'vx9', kind: 'vxlan', vxlan: { id: 9, port: 4789 }, namespace: two });
    assert.is((await b.links.get('br9')).linkinfo?.info_kind, 'bridge', 'created directly in the other namespace');
    assert.is((await b.links.get('vx9')).linkinfo?.info_kind, 'vxlan');
    assert.is(await a.links.find('br9'), undefined);
    await b.links.set('vx9', { namespace: one, ifname: 'vx8' });
    assert.is(((await a.links.get('vx8')).linkinfo!.info_data as { id?: number }).id, 9, 'moved back under a new name');
    assert.is(await b.links.find('vx9'), undefined);
  });
});

test.run();
