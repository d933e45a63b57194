/**
 * The overlay layer on the 3-host lab: one spec per host, apply converges,
 * a second apply writes nothing, containers lease addresses from host 1's
 * dnsmasq across VXLAN, ping each other and reach an upstream through NAT;
 * an apply interrupted at any step resumes; destroy leaves nothing behind.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeChange } from '../../src/common/plan.js';
import { OverlayHost } from '../../src/overlay/host.js';
import type { OverlaySpec } from '../../src/overlay/spec.js';
import { dnsmasqProcessesWith } from '../helpers/dhcp-scene.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { ask, peerEcho } from '../helpers/peer-echo.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { hostResidue } from '../helpers/residue.js';

const it = integrationReady(['ip', 'nsenter', 'ping', 'dnsmasq', 'udhcpc', 'nft', 'bridge']) ? test : test.skip;
const STATE = `/tmp/vxnet-overlay-test-${process.pid}`;

function specFor(lab: Lab, host: LabHost, mode: 'multicast' | 'unicast'): OverlaySpec {
  return {
    name: 'seed',
    vni: 42,
    port: 4789,
    underlay: { device: 'eth0', address: host.address },
    ...(mode === 'multicast' ? { group: '239.1.1.1' } : { peers: lab.hosts.map((h) => h.address) }),
    subnet: '10.10.0.0/24',
    gateway: `10.10.0.${host.index}`,
    vxlan: 'vx0',
    bridge: 'br0',
    ...(host.index === 1
      ? {
          dhcp: { ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }], leaseTime: '1h' },
          masquerade: { egress: 'up0' },
        }
      : {}),
    firewall: true,
  };
}

/** The host's state for before/after comparisons; the containers' veths (v-cN) are the test's own, made after the snapshot. */
const residue = (ns: string) => hostResidue(ns, { skipLinks: /^v-c\d$/, stateRoot: STATE });

/** An upstream namespace behind host 1 (203.0.113.0/24 on up0), with a TCP server that answers with the address it sees. */
async function upstream(lab: Lab): Promise<{ ns: string; stop: () => void }> {
  const ns = lab.addNamespaceNamed('up');
  const h1 = lab.host(1).ns;
  sh('ip', ['-n', h1, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  sh('ip', ['-n', h1, 'addr', 'add', '203.0.113.1/24', 'dev', 'up0']);
  sh('ip', ['-n', h1, 'link', 'set', 'up0', 'up']);
  sh('ip', ['-n', ns, 'addr', 'add', '203.0.113.2/24', 'dev', 'eth0']);
  sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  return { ns, stop: await peerEcho(ns, '0.0.0.0', 8080) };
}

/** What the upstream server saw as our source address, asked from a container. */
function askUpstream(containerNs: string): string {
  return ask(containerNs, '203.0.113.2', 8080);
}

for (const mode of ['multicast', 'unicast'] as const) {
  it(`the seed through the overlay API (${mode}): leases, pings, NAT to upstream, a no-write second apply, no residue after destroy`, async () => {
    const lab = Lab.create({ hosts: 3 });
    const hosts: OverlayHost[] = [];
    let up: { ns: string; stop: () => void } | undefined;
    try {
      up = await upstream(lab);
      const before = lab.hosts.map((h) => residue(h.ns));
      for (const h of lab.hosts) hosts.push(await OverlayHost.open({ namespace: h.ns, stateRoot: STATE }));
      for (const [i, h] of lab.hosts.entries()) {
        const changes = await hosts[i]!.apply(specFor(lab, h, mode));
        assert.ok(changes.length >= 4, `host ${h.index}: ${changes.map(describeChange).join('; ')}`);
        assert.equal(await hosts[i]!.plan(specFor(lab, h, mode)), [], `host ${h.index} matches its spec after apply`);
      }
      // A second apply writes nothing: count the messages the connection sends.
      const sentBefore = hosts.map((h) => h.rt.connection.stats.messagesSent);
      for (const [i, h] of lab.hosts.entries()) assert.equal(await hosts[i]!.apply(specFor(lab, h, mode)), []);
      const reads = hosts.map((h, i) => h.rt.connection.stats.messagesSent - sentBefore[i]!);
      assert.ok(
        reads.every((n) => n > 0),
        'the second apply did read',
      );

      for (const h of lab.hosts) {
        const container = lab.addContainer(h, `c${h.index}`);
        sh('ip', ['-n', h.ns, 'link', 'set', container.hostDev, 'master', 'br0', 'up']);
        const lease = await lab.dhcp(container);
        assert.match(lease.ip, /^10\.10\.0\.1\d\d$/);
        assert.is(lease.router, '10.10.0.1');
        assert.is(lease.mtu, 1450);
      }
      for (const from of lab.containers) {
        for (const to of lab.containers) {
          if (from !== to)
            assert.ok(await lab.pingEventually(from.ns, to.address!.split('/')[0]!, 8), `${from.name} → ${to.name}`);
        }
      }
      // Host 3's container reaches upstream through host 1, which masquerades: upstream sees host 1's address.
      assert.is(askUpstream(lab.containers[2]!.ns), '203.0.113.1');
      assert.is(askUpstream(lab.containers[0]!.ns), '203.0.113.1');

      const status = await hosts[0]!.status('seed', specFor(lab, lab.host(1), mode));
      assert.equal(status.problems, []);
      assert.equal(status.drift, []);
      assert.is(status.dhcp?.leases.length, 3);
      assert.ok(status.firewall?.rules.some((r) => /masquerade/.test(r)));

      for (const host of hosts) await host.destroy('seed');
      const after = lab.hosts.map((h) => residue(h.ns));
      assert.equal(
        after,
        before,
        'links (state, MTU, master, addresses), FDB, nftables, ip_forward and state directories exactly as before',
      );
      assert.equal(dnsmasqProcessesWith(STATE), [], 'no dnsmasq left');
    } finally {
      up?.stop();
      for (const host of hosts) await host.close();
      lab.destroy();
    }
  });
}

it('an apply interrupted after any step leaves a state the next apply converges and destroy cleans', async () => {
  const lab = Lab.create({ hosts: 1 });
  try {
    const h = lab.host(1);
    const spec = { ...specFor(lab, h, 'unicast'), masquerade: true, peers: ['192.168.100.2', '192.168.100.3'] };
    const host = await OverlayHost.open({ namespace: h.ns, stateRoot: STATE });
    try {
      // ip_forward is among the steps: destroy puts it back to 0, the value it had before vxnet.
      const steps = async () => (await host.plan(spec)).map(describeChange);
      await host.apply(spec);
      await host.destroy('seed');
      const full = await steps();
      const total = full.length;
      assert.ok(total >= 6, `steps: ${full.join('; ')}`);
      for (let stop = 0; stop < total; stop++) {
        await host
          .apply(spec, {
            onChange: (_change, index) => {
              if (index === stop) throw new Error(`injected failure after step ${stop + 1}`);
            },
          })
          .then(
            () => assert.unreachable('the injected failure stops apply'),
            (error) => assert.match((error as Error).message, /injected failure/),
          );
        assert.equal(await steps(), full.slice(stop + 1), `after step ${stop + 1}, the rest of the plan remains`);
        await host.apply(spec);
        assert.equal(await host.plan(spec), [], 'the next apply converged');
        await host.destroy('seed');
        assert.equal(await steps(), full, 'destroy cleaned everything');
      }
    } finally {
      await host.close();
    }
  } finally {
    lab.destroy();
  }
});

it('a matching device someone else made is used, not claimed: destroy leaves it', async () => {
  const lab = Lab.create({ hosts: 1 });
  try {
    const h = lab.host(1);
    sh('ip', [
      '-n',
      h.ns,
      'link',
      'add',
      'vx0',
      'type',
      'vxlan',
      'id',
      '42',
      'group',
      '239.1.1.1',
      'local',
      h.address,
      'dev',
      'eth0',
      'dstport',
      '4789',
    ]);
    const spec: OverlaySpec = {
      name: 'seed',
      vni: 42,
      underlay: { device: 'eth0', address: h.address },
      group: '239.1.1.1',
      subnet: '10.10.0.0/24',
      gateway: '10.10.0.1',
      vxlan: 'vx0',
      bridge: 'br0',
    };
    const host = await OverlayHost.open({ namespace: h.ns, stateRoot: STATE });
    try {
      const changes = (await host.apply(spec)).map(describeChange);
      // Used as it is: brought up, enslaved, never recreated or marked.
      assert.not.ok(
        changes.some((c) => /^(create|replace|delete) link vx0/.test(c)),
        `vx0 is used as it is: ${changes.join('; ')}`,
      );
      assert.equal(await host.plan(spec), []);
      const removed = (await host.destroy('seed')).map((c) => c.target);
      assert.equal(removed, ['link br0']);
      const [vx] = JSON.parse(sh('ip', ['-n', h.ns, '-j', 'link', 'show', 'vx0']));
      assert.is(vx.ifname, 'vx0', 'the foreign device is still there');
      assert.is(vx.ifalias, undefined, 'and carries no mark of ours');
    } finally {
      await host.close();
    }
  } finally {
    lab.destroy();
  }
});

test.run();
