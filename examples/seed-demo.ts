/**
 * The seed walkthrough, on one machine: three hosts (network namespaces on a
 * shared underlay), the overlay applied to each through vxnet's overlay API —
 * VXLAN id 42 (multicast group 239.1.1.1, or unicast peers with --unicast),
 * a bridge, DHCP served from host 1, masquerade on host 1 towards an
 * "upstream" network — then proof: a lease per container, pings between
 * containers on different hosts, and an answer from upstream through NAT.
 *
 *   npm run demo                         (as root; bash scripts/setup.sh first on a fresh machine)
 *   npx tsx examples/seed-demo.ts [--unicast] [--keep]
 */
import { spawn, spawnSync } from 'node:child_process';
import { describeChange } from '../src/common/plan.js';
import { OverlayHost } from '../src/overlay/host.js';
import type { OverlaySpec } from '../src/overlay/spec.js';
import { Lab, type LabHost } from '../test/helpers/lab.js';

const unicast = process.argv.includes('--unicast');
const keep = process.argv.includes('--keep');
const mode = unicast ? 'unicast peers' : 'multicast group 239.1.1.1';
let failures = 0;

const say = (text: string) => console.log(text);
const check = (ok: boolean, text: string) => {
  say(`  ${ok ? '✓' : '✗'} ${text}`);
  if (!ok) failures++;
};
/** The lab's scaffolding runs ip; vxnet itself never does. */
const ip = (...args: string[]) => {
  const run = spawnSync('ip', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ip ${args.join(' ')}: ${run.stderr.trim()}`);
  return run.stdout;
};

function specFor(lab: Lab, host: LabHost): OverlaySpec {
  return {
    name: 'seed',
    vni: 42,
    port: 4789,
    underlay: { device: 'eth0', address: host.address },
    ...(unicast ? { peers: lab.hosts.map((h) => h.address) } : { group: '239.1.1.1' }),
    subnet: '10.10.0.0/24',
    gateway: `10.10.0.${host.index}`,
    vxlan: 'vx0',
    bridge: 'br0',
    firewall: true,
    ...(host.index === 1
      ? {
          dhcp: { ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }], leaseTime: '12h' },
          masquerade: { egress: 'up0' },
        }
      : {}),
  };
}

say(`vxnet seed walkthrough: 3 hosts, VXLAN id 42, ${mode}, DHCP from host 1, masquerade to upstream\n`);
const lab = Lab.create({ hosts: 3 });
const hosts: OverlayHost[] = [];
let upstreamServer: ReturnType<typeof spawn> | undefined;
try {
  say(
    `1. the lab: underlay bridge in ${lab.underlay}, hosts ${lab.hosts.map((h) => `${h.ns} (eth0 ${h.address})`).join(', ')}`,
  );
  const upstream = lab.addNamespaceNamed('upstream');
  const h1 = lab.host(1).ns;
  ip('-n', h1, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', upstream);
  ip('-n', h1, 'addr', 'add', '203.0.113.1/24', 'dev', 'up0');
  ip('-n', h1, 'link', 'set', 'up0', 'up');
  ip('-n', upstream, 'addr', 'add', '203.0.113.2/24', 'dev', 'eth0');
  ip('-n', upstream, 'link', 'set', 'eth0', 'up');
  say(
    `   upstream network: ${upstream} (203.0.113.2), reached through host 1's up0 (203.0.113.1); it has no route back to 10.10.0.0/24\n`,
  );

  say('2. apply the overlay spec on each host');
  for (const host of lab.hosts) {
    const overlay = await OverlayHost.open({ namespace: host.ns });
    hosts.push(overlay);
    say(`   host ${host.index}:`);
    await overlay.apply(specFor(lab, host), { onChange: (change) => say(`     ${describeChange(change)}`) });
  }
  const second = await Promise.all(hosts.map((h, i) => h.apply(specFor(lab, lab.host(i + 1)))));
  check(
    second.every((c) => c.length === 0),
    'a second apply on every host changes nothing',
  );

  say('\n3. a container per host, attached to br0, configured by DHCP (udhcpc)');
  for (const host of lab.hosts) {
    const container = lab.addContainer(host, `c${host.index}`);
    await hosts[host.index - 1]!.rt.links.set(container.hostDev, { master: 'br0', up: true });
    const lease = await lab.dhcp(container);
    check(
      lease.router === '10.10.0.1' && lease.mtu === 1450,
      `c${host.index} on host ${host.index}: lease ${lease.ip}, router ${lease.router}, MTU ${lease.mtu}`,
    );
  }

  say('\n4. pings between containers on different hosts');
  for (const from of lab.containers) {
    for (const to of lab.containers) {
      if (from === to) continue;
      const target = to.address!.split('/')[0]!;
      check(
        await lab.pingEventually(from.ns, target, 8),
        `${from.name} (host ${from.host.index}) → ${to.name} ${target} (host ${to.host.index})`,
      );
    }
  }

  say('\n5. upstream through NAT');
  upstreamServer = spawn(
    'ip',
    [
      'netns',
      'exec',
      upstream,
      process.execPath,
      '-e',
      "require('net').createServer((s) => s.end(s.remoteAddress)).listen(8080, '0.0.0.0', () => console.log('ready'))",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((resolve) => upstreamServer!.stdout!.once('data', resolve));
  for (const container of lab.containers) {
    const seen = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        container.ns,
        process.execPath,
        '-e',
        "const s = require('net').connect(8080, '203.0.113.2'); let t = ''; s.on('data', (d) => (t += d)); s.on('end', () => console.log(t)); s.setTimeout(3000, () => process.exit(1))",
      ],
      { encoding: 'utf8' },
    ).stdout.trim();
    check(
      seen === '203.0.113.1',
      `${container.name} (${container.address}) → upstream 203.0.113.2:8080: upstream saw ${seen || 'nothing'} (host 1's address: masqueraded)`,
    );
  }

  say('\n6. status of host 1');
  const status = await hosts[0]!.status('seed', specFor(lab, lab.host(1)));
  say(`   links: ${status.links.map((l) => `${l.name} (${l.kind}, mtu ${l.mtu})`).join(', ')}`);
  say(
    `   dhcp: ${status.dhcp?.leases.length ?? 0} lease(s): ${status.dhcp?.leases.map((l) => `${l.ip} ${l.mac}`).join(', ')}`,
  );
  say(`   firewall: ${status.firewall?.rules.join('; ')}`);
  check(
    status.problems.length === 0 && status.drift.length === 0,
    `no problems, no drift${status.problems.length ? `: ${status.problems.join('; ')}` : ''}`,
  );
} catch (error) {
  failures++;
  console.error(`\ndemo failed: ${(error as Error).message}`);
} finally {
  upstreamServer?.kill('SIGKILL');
  if (keep) {
    say(
      `\nkept: namespaces ${lab.prefix}-* (delete with: ip netns list | grep ${lab.prefix} | xargs -n1 ip netns del); DHCP stops with this process`,
    );
    for (const host of hosts) await host.close();
  } else {
    say('\n7. destroy: removing exactly what vxnet created, then the lab');
    for (const [i, host] of hosts.entries()) {
      const removed = await host
        .destroy('seed')
        .catch((error) => [{ action: 'error', target: (error as Error).message }]);
      say(`   host ${i + 1}: ${removed.map((c) => `${c.action} ${c.target}`).join(', ')}`);
      await host.close();
    }
    lab.destroy();
  }
}
say(failures === 0 ? '\nthe seed works.' : `\n${failures} check(s) failed.`);
process.exitCode = failures === 0 ? 0 : 1;
