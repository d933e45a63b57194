import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError } from '../../src/common/conflict.js';
import { describeChange } from '../../src/common/plan.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { OverlayHost } from '../../src/overlay/host.js';
import type { RoutedSpec } from '../../src/routed/spec.js';
import { RTPROT_VXNET } from '../../src/routed/protocol.js';
import { dnsmasqProcessesWith } from '../helpers/dhcp-scene.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { hostResidue } from '../helpers/residue.js';
import { ask, peerEcho } from '../helpers/peer-echo.js';

const it = integrationReady(['ip', 'nsenter', 'ping', 'dnsmasq', 'udhcpc', 'nft']) ? test : test.skip;
const STATE = `/tmp/vxnet-routed-test-${process.pid}`;

function specFor(lab: Lab, host: LabHost, extra: Partial<RoutedSpec> = {}): RoutedSpec {
  const i = host.index;
  return {
    name: 'rt',
    mode: 'routed',
    underlay: { device: 'eth0', address: host.address },
    subnet: `10.20.${i}.0/24`,
    gateway: `10.20.${i}.1`,
    containerRange: '10.20.0.0/16',
    bridge: 'br0',
    dhcp: { ranges: [{ start: `10.20.${i}.100`, end: `10.20.${i}.199` }], leaseTime: '1h' },
    ...(i === 1 ? { masquerade: { egress: 'up0' } } : {}),
    routes: {
      static: lab.hosts.filter((h) => h !== host).map((h) => ({ subnet: `10.20.${h.index}.0/24`, via: h.address })),
    },
    ...extra,
  };
}

const residue = (ns: string) => ({
  ...hostResidue(ns, { skipLinks: /^v-c\d$/, stateRoot: STATE }),
  routes: routeTable(ns),
});

/** The whole IPv4 routing table, as ip prints it (the containers' veths make no routes: they are not addressed). */
function routeTable(ns: string): string[] {
  return (JSON.parse(sh('ip', ['-4', '-n', ns, '-j', 'route', 'show', 'table', 'all'])) as any[])
    .filter((r) => !String(r.dev ?? '').startsWith('v-c'))
    .map(
      (r) =>
        `${r.table ?? 'main'} ${r.type ?? ''} ${r.dst} ${r.gateway ?? ''} ${r.dev ?? ''} ${r.protocol ?? ''} ${r.metric ?? ''}`,
    )
    .sort();
}

function vxnetRoutes(ns: string): { dst: string; gateway?: string; dev?: string; protocol?: string }[] {
  // Not `ip route show proto N`: with that filter ip leaves the protocol out of what it prints.
  return (JSON.parse(sh('ip', ['-n', ns, '-j', 'route', 'show'])) as any[]).filter(
    (r) => r.protocol === String(RTPROT_VXNET),
  );
}

/** An upstream namespace behind host 1 (203.0.113.0/24 on up0) that answers with the address it sees. */
async function upstream(lab: Lab): Promise<{ stop: () => void }> {
  const ns = lab.addNamespaceNamed('up');
  const h1 = lab.host(1).ns;
  sh('ip', ['-n', h1, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  sh('ip', ['-n', h1, 'addr', 'add', '203.0.113.1/24', 'dev', 'up0']);
  sh('ip', ['-n', h1, 'link', 'set', 'up0', 'up']);
  sh('ip', ['-n', ns, 'addr', 'add', '203.0.113.2/24', 'dev', 'eth0']);
  sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  return { stop: await peerEcho(ns, '0.0.0.0', 8080) };
}

it('routed static: DHCP per host, every pair talks with real source addresses, NAT upstream only, routes read back, foreign route kept, no residue', async () => {
  const lab = Lab.create({ hosts: 3 });
  const hosts: OverlayHost[] = [];
  const stops: (() => void)[] = [];
  try {
    stops.push((await upstream(lab)).stop);
    // A foreign route for host 2's subnet (another metric, protocol static): vxnet's lives beside it, and destroy leaves it.
    sh('ip', [
      '-n',
      lab.host(1).ns,
      'route',
      'add',
      '10.20.2.0/24',
      'via',
      '192.168.100.2',
      'metric',
      '100',
      'proto',
      'static',
    ]);
    const before = lab.hosts.map((h) => residue(h.ns));
    for (const h of lab.hosts) hosts.push(await OverlayHost.open({ namespace: h.ns, stateRoot: STATE }));
    for (const [i, h] of lab.hosts.entries()) {
      const changes = (await hosts[i]!.apply(specFor(lab, h))).map(describeChange);
      assert.ok(
        changes.some((c) => /^add 2 routes/.test(c)),
        `host ${h.index}: ${changes.join('; ')}`,
      );
      assert.equal(await hosts[i]!.plan(specFor(lab, h)), [], `host ${h.index} matches its spec after apply`);
    }
    const sent = hosts.map((h) => h.rt.connection.stats.messagesSent);
    for (const [i, h] of lab.hosts.entries())
      assert.equal(await hosts[i]!.apply(specFor(lab, h)), [], 'a second apply changes nothing');
    assert.ok(
      hosts.every((h, i) => h.rt.connection.stats.messagesSent > sent[i]!),
      'it did read',
    );

    // ip reads back what vxnet installed: protocol, via, dev.
    const h1Routes = vxnetRoutes(lab.host(1).ns)
      .map((r) => `${r.dst} via ${r.gateway} dev ${r.dev} proto ${r.protocol}`)
      .sort();
    assert.equal(h1Routes, [
      '10.20.2.0/24 via 192.168.100.2 dev eth0 proto 118',
      '10.20.3.0/24 via 192.168.100.3 dev eth0 proto 118',
    ]);

    for (const h of lab.hosts) {
      const container = lab.addContainer(h, `c${h.index}`);
      sh('ip', ['-n', h.ns, 'link', 'set', container.hostDev, 'master', 'br0', 'up']);
      const lease = await lab.dhcp(container);
      assert.match(lease.ip, new RegExp(`^10\\.20\\.${h.index}\\.1\\d\\d$`), "leased from this host's own dnsmasq");
      assert.is(lease.router, `10.20.${h.index}.1`);
      assert.is(lease.mtu, 1500, 'no encapsulation: the underlay MTU');
      stops.push(await peerEcho(container.ns, lease.ip, 7000));
    }
    const ip = (c: (typeof lab.containers)[number]) => c.address!.split('/')[0]!;
    for (const from of lab.containers) {
      for (const to of lab.containers) {
        if (from === to) continue;
        assert.ok(await lab.pingEventually(from.ns, ip(to), 8), `${from.name} pings ${to.name}`);
        assert.is(
          ask(from.ns, ip(to), 7000),
          ip(from),
          `${to.name} sees ${from.name}'s own address (no NAT between container subnets)`,
        );
      }
    }
    // Upstream: masqueraded on host 1 (it sees host 1's address on up0).
    assert.is(ask(lab.containers[0]!.ns, '203.0.113.2', 8080), '203.0.113.1');

    const status = await hosts[0]!.status('rt', specFor(lab, lab.host(1)));
    assert.equal(status.problems, []);
    assert.equal(status.drift, []);
    assert.equal(
      status.routes?.map((r) => `${r.dst} ${r.via} ${r.dev}`),
      ['10.20.2.0/24 192.168.100.2 eth0', '10.20.3.0/24 192.168.100.3 eth0'],
    );
    assert.ok(
      status.firewall?.rules.includes('vxnet: masquerade 10.20.1.0/24 except to 10.20.0.0/16'),
      status.firewall?.rules.join('; '),
    );
    assert.ok(status.firewall?.rules.includes('vxnet: routed 10.20.0.0/16 to br0'));

    // A host drops out of the table: its route (and only it) goes; one changes next hop: replaced.
    const h1 = lab.host(1);
    const smaller = specFor(lab, h1, { routes: { static: [{ subnet: '10.20.2.0/24', via: '192.168.100.3' }] } });
    const changes = (await hosts[0]!.apply(smaller)).map(describeChange);
    assert.equal(
      changes.filter((c) => /route/.test(c)),
      [
        'replace route 10.20.2.0/24 (via 192.168.100.2 → 192.168.100.3)',
        'delete route 10.20.3.0/24 (via 192.168.100.3, no longer in the spec)',
      ],
    );
    assert.equal(
      vxnetRoutes(h1.ns).map((r) => `${r.dst} ${r.gateway}`),
      ['10.20.2.0/24 192.168.100.3'],
    );
    assert.ok(
      routeTable(h1.ns).some((r) => /10\.20\.2\.0\/24 192\.168\.100\.2 eth0 static 100/.test(r)),
      'the foreign route is still there',
    );
    await hosts[0]!.apply(specFor(lab, h1));

    for (const host of hosts) await host.destroy('rt');
    const after = lab.hosts.map((h) => residue(h.ns));
    assert.equal(
      after,
      before,
      'links, nftables, ip_forward, state and routes exactly as before (the foreign route included)',
    );
    assert.equal(dnsmasqProcessesWith(STATE), [], 'no dnsmasq left');
  } finally {
    for (const stop of stops) stop();
    for (const host of hosts) await host.close();
    lab.destroy();
  }
});

it('refused before any write: a via off the underlay, a subnet another network has here, a foreign route in the way', async () => {
  const lab = Lab.create({ hosts: 3 });
  try {
    const h = lab.host(1);
    const host = await OverlayHost.open({ namespace: h.ns, stateRoot: STATE });
    try {
      const before = residue(h.ns);
      const refused = async (spec: RoutedSpec, type: Function, field?: string, pattern?: RegExp) => {
        const error = await host.apply(spec).then(
          () => undefined,
          (e) => e,
        );
        assert.instance(error, type, String(error));
        if (field) assert.is((error as ValidationError).field, field);
        if (pattern) assert.match((error as Error).message, pattern);
        assert.equal(residue(h.ns), before, 'nothing was written');
      };
      await refused(
        specFor(lab, h, { routes: { static: [{ subnet: '10.20.2.0/24', via: '192.168.200.2' }] } }),
        ValidationError,
        'routes.static[0].via',
        /outside eth0's connected network 192\.168\.100\.0\/24/,
      );

      // A foreign route (metric 0) for a subnet of the table: a conflict naming it; never replaced.
      sh('ip', ['-n', h.ns, 'route', 'add', '10.20.3.0/24', 'via', '192.168.100.3']);
      const withForeign = residue(h.ns);
      const error = await host.apply(specFor(lab, h)).then(
        () => undefined,
        (e) => e,
      );
      assert.instance(error, ConflictError);
      assert.match((error as Error).message, /route 10\.20\.3\.0\/24 .*protocol is boot/);
      assert.equal(residue(h.ns), withForeign);
      sh('ip', ['-n', h.ns, 'route', 'del', '10.20.3.0/24', 'via', '192.168.100.3']);

      // Two networks with one subnet on a host: the second is refused, naming the first.
      await host.apply(specFor(lab, h, { routes: { static: [] }, dhcp: undefined }));
      const other = { ...specFor(lab, h, { name: 'rt2', bridge: 'br1', dhcp: undefined }) };
      const error2 = await host.apply(other).then(
        () => undefined,
        (e) => e,
      );
      assert.instance(error2, ValidationError);
      assert.is((error2 as ValidationError).field, 'subnet');
      assert.match((error2 as Error).message, /10\.20\.1\.0\/24 already on br0 \(network rt\)/);
      assert.equal(
        JSON.parse(sh('ip', ['-n', h.ns, '-j', 'link', 'show'])).filter((l: any) => l.ifname === 'br1'),
        [],
        'br1 was not made',
      );
      await host.destroy('rt');
      assert.equal(residue(h.ns), before);
    } finally {
      await host.close();
    }
  } finally {
    lab.destroy();
  }
});

test.run();
