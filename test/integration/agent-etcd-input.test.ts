/**
 * Bad input with a real etcd: malformed or foreign values under the prefix
 * (ignored with a warning naming the key, never programmed), a registration
 * of this host's address held by another host (refused; taken once it is
 * free), etcd unreachable at start (default: start stale and retry; with
 * --require-membership: exit non-zero, nothing created), a TLS file that
 * cannot be used (an error naming it, nothing created).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess, vxnet } from '../helpers/agent.js';
import { ETCD_TOOLS } from '../helpers/etcd.js';
import { EtcdScene, eventually, sleep } from '../helpers/etcd-scene.js';
import { integrationReady, sh } from '../helpers/netns.js';

const it = integrationReady(['ip', 'nsenter', 'bridge', 'nft', 'ping', ...ETCD_TOOLS]) ? test : test.skip;

const created = (ns: string): boolean => /"vx0"|"br0"/.test(sh('ip', ['-n', ns, '-j', 'link', 'show']));

it('malformed and foreign values under the prefix are ignored with a warning naming the key', async () => {
  const scene = await EtcdScene.create({ hosts: 3 });
  try {
    const agent = await scene.startAgent(1);
    await scene.startAgent(2);
    await eventually('h1 has h2', () => equal(scene.flood(1), [scene.lab.host(2).address]), 10_000);
    const bad: [string, string][] = [
      ['/vxnet/seed/hosts/192.168.100.9', 'not json'],
      ['/vxnet/seed/hosts/not-an-address', '{"address":"192.168.100.7"}'],
      [
        '/vxnet/seed/hosts/192.168.100.8',
        '{"address":"192.168.100.3","port":4789,"vni":42,"mac":"02:00:00:00:00:08","hostname":"x","version":"0"}',
      ],
      [
        '/vxnet/seed/hosts/192.168.100.6',
        '{"address":"192.168.100.6","port":8472,"vni":42,"mac":"02:00:00:00:00:06","hostname":"x","version":"0"}',
      ],
      ['/vxnet/seed/hosts/192.168.100.5', '[1,2,3]'],
    ];
    for (const [key, value] of bad) {
      const put = scene.etcd.etcdctl(['put', key, '--', value]);
      assert.is(put.code, 0, put.out);
    }
    for (const [key] of bad)
      await agent.waitFor((e) => e.event === 'notice' && e.message.includes(`ignoring etcd key ${key}`), {
        what: `a warning naming ${key}`,
      });
    await sleep(500);
    assert.equal(scene.flood(1), [scene.lab.host(2).address], 'no bogus peer programmed');
    assert.is(agent.child.exitCode, null, 'the agent still runs');
    console.log(
      agent.entries
        .filter((e) => e.event === 'notice' && e.message.startsWith('ignoring'))
        .map((e) => `  ${e.message}`)
        .join('\n'),
    );
  } finally {
    await scene.destroy();
  }
});

it("a registration claiming this host's address is refused while another host holds it", async () => {
  const scene = await EtcdScene.create({ hosts: 3 });
  try {
    await scene.startAgent(1);
    // Another host (a fake one: another MAC) holds h2's key under a lease of its own.
    const h2 = scene.lab.host(2);
    const grant = scene.etcd.etcdctl(['lease', 'grant', '60']);
    const lease = /lease ([0-9a-f]+) granted/.exec(grant.out)?.[1];
    assert.ok(lease, grant.out);
    const squatter = `{"address":"${h2.address}","port":4789,"vni":42,"mac":"02:00:00:00:00:99","hostname":"other","version":"0"}`;
    assert.is(scene.etcd.etcdctl(['put', `/vxnet/seed/hosts/${h2.address}`, squatter, '--lease', lease!]).code, 0);
    const agent = await scene.startAgent(2);
    await agent.waitFor((e) => e.event === 'notice' && e.message.startsWith('registration refused'), {
      what: 'the refusal',
    });
    const held = scene.etcd.etcdctl(['get', '--print-value-only', `/vxnet/seed/hosts/${h2.address}`]);
    assert.match(held.out, /02:00:00:00:00:99/, 'the holder is not overwritten');
    // Freed: the agent takes its key on a later keep-alive tick.
    assert.is(scene.etcd.etcdctl(['lease', 'revoke', lease!]).code, 0);
    await eventually(
      'h2 registered with its own MAC',
      () => {
        const value = scene.etcd.etcdctl(['get', '--print-value-only', `/vxnet/seed/hosts/${h2.address}`]).out;
        return value.includes('"mac"') && !value.includes('02:00:00:00:00:99');
      },
      10_000,
      200,
    );
    assert.equal(await scene.pingAll([1, 2]), []);
  } finally {
    await scene.destroy();
  }
});

it('etcd unreachable at start: the agent starts stale and retries; with --require-membership it exits, nothing made', async () => {
  const scene = await EtcdScene.create({ hosts: 3 });
  try {
    const h1 = scene.lab.host(1);
    const nowhere = { membership: { etcd: { endpoints: ['http://192.168.100.1:2399'], ttl: 3 } } };
    const strict = AgentProcess.start(scene.writeSpec(h1, nowhere), {
      ns: h1.ns,
      via: 'exec',
      args: ['--require-membership'],
    });
    const exit = await strict.exited;
    assert.is(exit.code, 1, strict.transcript());
    assert.match(strict.transcript(), /no etcd endpoint answered \(http:\/\/192\.168\.100\.1:2399: /);
    assert.not.ok(created(h1.ns), 'nothing created with --require-membership');

    const lenient = await scene.startAgent(1, { overrides: nowhere });
    const started = lenient.entries.find((e) => e.event === 'started')!;
    assert.ok(started.changes.length > 0, 'the network is built');
    const status = vxnet(['status', 'seed'], { inside: h1.ns }).stdout;
    assert.match(
      status,
      /membership etcd: stale since .*no etcd endpoint answered \(http:\/\/192\.168\.100\.1:2399: connect ECONNREFUSED/,
      status,
    );
  } finally {
    await scene.destroy();
  }
});

it('a TLS file that cannot be used: an error naming the file, nothing created', async () => {
  const scene = await EtcdScene.create({ hosts: 3 });
  const notPem = join(tmpdir(), `vxnet-etcd-notpem-${process.pid}.pem`);
  try {
    const h1 = scene.lab.host(1);
    writeFileSync(notPem, 'hello\n');
    for (const [ca, reason] of [
      ['/nonexistent/vxnet-ca.pem', /membership\.etcd\.tls\.ca: cannot use \/nonexistent\/vxnet-ca\.pem: ENOENT/],
      [notPem, new RegExp(`membership\\.etcd\\.tls\\.ca: cannot use ${notPem.replace(/\./g, '\\.')}: not a PEM file`)],
    ] as const) {
      const spec = { membership: { etcd: { endpoints: ['https://192.168.100.1:2379'], tls: { ca } } } };
      const agent = AgentProcess.start(scene.writeSpec(h1, spec), { ns: h1.ns, via: 'exec' });
      const exit = await agent.exited;
      assert.is(exit.code, 1, agent.transcript());
      assert.match(agent.transcript(), reason);
      assert.not.ok(created(h1.ns), 'nothing created');
    }
  } finally {
    rmSync(notPem, { force: true });
    await scene.destroy();
  }
});

it('TLS: agents with the CA and a client certificate join over https; a CA that did not sign etcd is refused', async () => {
  const scene = await EtcdScene.create({ hosts: 3, tls: true });
  try {
    for (const i of [1, 2]) await scene.startAgent(i);
    await eventually('h1 has h2', () => equal(scene.flood(1), [scene.lab.host(2).address]), 10_000);
    await eventually('h2 has h1', () => equal(scene.flood(2), [scene.lab.host(1).address]), 10_000);
    assert.equal(await scene.pingAll([1, 2]), []);
    // etcdctl with the same files sees the registrations: the agents went through etcd's TLS and client auth.
    const keys = scene.etcd.etcdctl(['get', '--prefix', '--keys-only', '/vxnet/seed/hosts/']);
    assert.is(keys.code, 0, keys.out);
    assert.match(keys.out, /192\.168\.100\.1/);

    const h3 = scene.lab.host(3);
    const tls = scene.etcd.tls!;
    const wrongCa = {
      membership: {
        etcd: { endpoints: scene.etcd.endpointsFor(h3), tls: { ca: tls.otherCa, cert: tls.cert, key: tls.key } },
      },
    };
    const agent = AgentProcess.start(scene.writeSpec(h3, wrongCa), {
      ns: h3.ns,
      via: 'exec',
      args: ['--require-membership'],
    });
    scene.agents.set(3, agent);
    const exit = await agent.exited;
    assert.is(exit.code, 1, agent.transcript());
    assert.match(agent.transcript(), /no etcd endpoint answered \(https:\/\/192\.168\.100\.3:2379: .*certificate/i);
    assert.not.ok(created(h3.ns), 'nothing created');
    console.log(`  wrong CA: ${agent.other.join('').trim()}`);
  } finally {
    await scene.destroy();
  }
});

function equal(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

test.run();
