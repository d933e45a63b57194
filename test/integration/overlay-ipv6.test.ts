import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeChange } from '../../src/common/plan.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { NotOwnedError } from '../../src/masquerade/errors.js';
import { OverlayHost } from '../../src/overlay/host.js';
import type { OverlaySpec } from '../../src/overlay/spec.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { vxnet } from '../helpers/cli.js';

const it = integrationReady(['ip', 'nsenter', 'ping', 'nft', 'bridge']) ? test : test.skip;
const STATE = `/tmp/vxnet-overlay6-test-${process.pid}`;
const TABLE = 'vxnet-six';

function specFor(lab: Lab, host: LabHost): OverlaySpec {
  return {
    name: 'six',
    vni: 4242,
    port: 4789,
    underlay: { device: 'eth0', address: host.address },
    peers: lab.hosts.filter((h) => h !== host).map((h) => h.address),
    subnet: '10.20.0.0/24',
    gateway: `10.20.0.${host.index}`,
    vxlan: 'vx0',
    bridge: 'br0',
    masquerade: true,
    firewall: { peersOnly: true },
  };
}

function ruleset(ns: string): any[] {
  return JSON.parse(sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset'])).nftables;
}

/** The FDB flood entries (peers) of vx0 and the elements of the ip6 peer set, for before/after comparisons. */
function peerState(ns: string): { fdb: string[]; set: string[] } {
  const fdb = JSON.parse(sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vx0']) || '[]')
    .filter((e: any) => e.dst && e.mac === '00:00:00:00:00:00')
    .map((e: any) => `${e.mac}>${e.dst}`)
    .sort();
  const set = ruleset(ns).find(
    (o: any) => o.set?.family === 'ip6' && o.set.table === TABLE && o.set.name === 'vxlan-peers',
  )?.set;
  return { fdb, set: set ? [...(set.elem ?? [])].sort() : ['(no set)'] };
}

function counterOf(ns: string, comment: string): number {
  const rule = ruleset(ns).find(
    (o: any) => o.rule?.family === 'ip6' && o.rule.table === TABLE && o.rule.comment === comment,
  )?.rule;
  return rule.expr.find((e: any) => e.counter).counter.packets;
}

function residue(ns: string): string {
  const links = JSON.parse(sh('ip', ['-n', ns, '-j', '-d', 'link', 'show']))
    .filter((l: any) => !/^v-c\d$/.test(l.ifname))
    .map((l: any) => `${l.ifname}:${l.linkinfo?.info_kind ?? ''}`);
  const nft = ruleset(ns)
    .filter((o: any) => o.table)
    .map((o: any) => `${o.table.family} ${o.table.name}`);
  return JSON.stringify({ links: links.sort(), nft: nft.sort() });
}

it('unicast over an IPv6 underlay: pings across, an ip6 table with the peer set, peers edited (API, CLI) in step, bad addresses change nothing, no residue', async () => {
  const lab = Lab.create({ hosts: 3, family: 6 });
  const hosts: OverlayHost[] = [];
  try {
    const before = lab.hosts.map((h) => residue(h.ns));
    for (const h of lab.hosts) hosts.push(await OverlayHost.open({ namespace: h.ns, stateRoot: STATE }));
    for (const [i, h] of lab.hosts.entries()) {
      const changes = await hosts[i]!.apply(specFor(lab, h));
      assert.ok(
        changes.some((c) => c.target === `nftables table ${TABLE}`),
        changes.map(describeChange).join('; '),
      );
      assert.equal(await hosts[i]!.plan(specFor(lab, h)), [], `host ${h.index} matches its spec after apply`);
    }
    const h1 = lab.host(1).ns;
    // The overhead of VXLAN over IPv6 is 70: the bridge and the device get 1430.
    const mtus = JSON.parse(sh('ip', ['-n', h1, '-j', 'link', 'show']))
      .filter((l: any) => l.ifname === 'vx0' || l.ifname === 'br0')
      .map((l: any) => l.mtu);
    assert.equal(mtus, [1430, 1430]);

    // The tables: ip keeps NAT and forwarding (no input chain, no set); ip6 holds the VXLAN input chain and the ipv6_addr peer set.
    const rs = ruleset(h1);
    assert.equal(
      rs.filter((o: any) => o.table?.name === TABLE).map((o: any) => o.table.family),
      ['ip', 'ip6'],
    );
    for (const family of ['ip', 'ip6']) {
      assert.match(
        sh('ip', ['netns', 'exec', h1, 'nft', 'list', 'table', family, TABLE]),
        /comment "vxnet:managed \(changes here are overwritten by vxnet\)"/,
        `table ${family} carries the mark`,
      );
    }
    assert.equal(
      rs.filter((o: any) => o.chain?.table === TABLE).map((o: any) => `${o.chain.family} ${o.chain.name}`),
      ['ip postrouting', 'ip forward', 'ip6 input'],
    );
    const set = rs.find((o: any) => o.set?.table === TABLE)!.set;
    assert.equal([set.family, set.type, set.elem], ['ip6', 'ipv6_addr', ['fd00:100::2', 'fd00:100::3']]);
    assert.match(
      sh('ip', ['netns', 'exec', h1, 'nft', 'list', 'table', 'ip6', TABLE]),
      /ip6 saddr @vxlan-peers udp dport 4789 counter packets \d+ bytes \d+ accept comment "vxnet: vxlan from peers"/,
    );

    // Containers on each host's bridge, IPv4 addresses of the overlay: they ping each other over the IPv6 underlay.
    for (const h of lab.hosts) {
      const c = lab.addContainer(h, `c${h.index}`, {
        address: `10.20.0.${10 + h.index}/24`,
        gateway: `10.20.0.${h.index}`,
      });
      sh('ip', ['-n', h.ns, 'link', 'set', c.hostDev, 'master', 'br0', 'up']);
    }
    for (const from of lab.containers) {
      for (const to of lab.containers) {
        if (from !== to)
          assert.ok(await lab.pingEventually(from.ns, to.address!.split('/')[0]!, 8), `${from.name} → ${to.name}`);
      }
    }
    assert.ok(
      counterOf(h1, 'vxnet: vxlan from peers') > 0,
      "the VXLAN packets were accepted by the ip6 table's peer rule",
    );
    const [c1, , c3] = lab.containers;

    // status lists the IPv6 peers (FDB and set), canonical.
    const status = await hosts[0]!.status('six', specFor(lab, lab.host(1)));
    assert.equal(status.problems, []);
    assert.equal(status.drift, []);
    assert.equal(status.firewall?.peers, ['fd00:100::2', 'fd00:100::3']);
    assert.equal(status.firewall?.rules, [
      'vxnet: masquerade 10.20.0.0/24',
      'vxnet: forward from br0',
      'vxnet: replies to br0',
      'vxnet: vxlan from peers',
      'vxnet: vxlan from others',
    ]);
    assert.equal([...status.vxlan!.peers].sort(), ['fd00:100::2', 'fd00:100::3']);

    // removePeer on host 1: FDB and set both lose host 3; host 3's VXLAN (it still sends) is dropped by the set's rule.
    const full = peerState(h1);
    assert.is(await hosts[0]!.removePeer('six', 'FD00:100:0:0:0:0:0:3'), true);
    assert.equal(peerState(h1), { fdb: ['00:00:00:00:00:00>fd00:100::2'], set: ['fd00:100::2'] });
    const dropped = counterOf(h1, 'vxnet: vxlan from others');
    assert.not.ok(lab.ping(c3!.ns, '10.20.0.11', { count: 2, timeoutSeconds: 1 }), 'c3 → c1 no longer gets through');
    assert.ok(counterOf(h1, 'vxnet: vxlan from others') > dropped, "host 3's VXLAN was dropped by the ip6 table");
    assert.is(await hosts[0]!.removePeer('six', 'fd00:100::3'), false, 'removing it again changes nothing');
    // addPeer: both back, pings again.
    assert.is(await hosts[0]!.addPeer('six', 'fd00:100::3'), true);
    assert.equal(peerState(h1), full);
    assert.ok(await lab.pingEventually(c3!.ns, '10.20.0.11', 8), 'c3 → c1 again');
    assert.ok(await lab.pingEventually(c1!.ns, '10.20.0.13', 8), 'c1 → c3 again');

    // A bad address (IPv4 on an IPv6 overlay, garbage, a prefix) is refused before anything changes.
    for (const bad of ['192.168.100.9', 'garbage', 'fd00:100::9/64', 'fd00:100:::9']) {
      for (const verb of ['addPeer', 'removePeer'] as const) {
        const error = await hosts[0]![verb]('six', bad).catch((e) => e);
        assert.instance(error, ValidationError, `${verb} ${bad}`);
        assert.equal(peerState(h1), full, `${verb} ${bad} changed nothing`);
      }
    }
    assert.match(
      (await hosts[0]!.addPeer('six', '192.168.100.9').catch((e) => e)).message,
      /family mismatch: an IPv4 address where IPv6 is needed/,
    );

    // The CLI: vxnet peers add/rm with IPv6 addresses; a bad one exits non-zero and changes nothing.
    const add = vxnet(['peers', 'add', 'six', 'fd00:100::9', '--namespace', h1]);
    assert.is(add.code, 0, add.stderr);
    assert.match(add.stdout, /six: added peer fd00:100::9/);
    assert.equal(peerState(h1), {
      fdb: [...full.fdb, '00:00:00:00:00:00>fd00:100::9'].sort(),
      set: [...full.set, 'fd00:100::9'].sort(),
    });
    assert.ok((await hosts[0]!.status('six')).firewall?.peers?.includes('fd00:100::9'));
    const withExtra = peerState(h1);
    for (const bad of ['192.168.100.9', 'fd00::zz']) {
      const run = vxnet(['peers', 'add', 'six', bad, '--namespace', h1]);
      assert.is(run.code, 1, `peers add ${bad}`);
      assert.match(run.stderr, /invalid address/);
      assert.equal(peerState(h1), withExtra, `peers add ${bad} changed nothing`);
    }
    const rm = vxnet(['peers', 'rm', 'six', 'fd00:100::9', '--namespace', h1]);
    assert.is(rm.code, 0, rm.stderr);
    assert.equal(peerState(h1), full);

    for (const host of hosts) await host.destroy('six');
    for (const h of lab.hosts)
      assert.not.ok(
        ruleset(h.ns).some((o: any) => o.table?.name === TABLE),
        `no table ${TABLE} of either family on host ${h.index}`,
      );
    assert.equal(
      lab.hosts.map((h) => residue(h.ns)),
      before,
      'links and nftables exactly as before',
    );
  } finally {
    for (const host of hosts) await host.close();
    lab.destroy();
  }
});

it("IPv6 underlay: a foreign ip6 table of the network's name is refused (NotOwnedError) and nothing is created", async () => {
  const lab = Lab.create({ hosts: 2, family: 6 });
  const host = await OverlayHost.open({ namespace: lab.host(1).ns, stateRoot: STATE });
  try {
    const ns = lab.host(1).ns;
    sh('ip', ['netns', 'exec', ns, 'nft', 'add', 'table', 'ip6', TABLE]);
    const error = await host.apply(specFor(lab, lab.host(1))).catch((e) => e);
    assert.instance(error.cause ?? error, NotOwnedError);
    assert.match(error.message, /table ip6 vxnet-six exists and was not created by vxnet/);
    assert.equal(
      ruleset(ns)
        .filter((o: any) => o.table)
        .map((o: any) => `${o.table.family} ${o.table.name}`),
      [`ip6 ${TABLE}`],
      'no ip table was created either',
    );
    await host.destroy('six').catch(() => undefined);
    assert.equal(
      ruleset(ns)
        .filter((o: any) => o.table)
        .map((o: any) => `${o.table.family} ${o.table.name}`),
      [`ip6 ${TABLE}`],
      'the foreign table stays',
    );
  } finally {
    await host.close();
    lab.destroy();
  }
});

test.run();
