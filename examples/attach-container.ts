/**
 * Containers on the overlay with one call each: two lab hosts joined by
 * VXLAN (host 1 serves DHCP), a container made with `ip netns add` attached
 * on host 1 with a static address, one made with `unshare --net` attached on
 * host 2 by its pid and leasing its address with udhcpc (across VXLAN). They
 * ping each other; status lists them; a second attach changes nothing;
 * detach and destroy leave nothing.
 * Run as root: npx tsx examples/attach-container.ts   (needs dnsmasq-base, udhcpc, unshare)
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeChange } from '../src/common/plan.js';
import { OverlayHost } from '../src/overlay/index.js';
import type { OverlaySpec } from '../src/overlay/spec.js';
import { Lab, type LabHost } from '../test/helpers/lab.js';

const step = (text: string) => console.log(`\n== ${text}`);
/** Runs a command inside a namespace file, as a container runtime would (nsenter); the library itself never does. */
const inside = (netns: string, ...command: string[]) =>
  spawnSync('nsenter', [`--net=${netns}`, ...command], { encoding: 'utf8' });

function specFor(host: LabHost, peers: string[]): OverlaySpec {
  return {
    name: 'demo',
    vni: 42,
    underlay: { device: 'eth0', address: host.address },
    peers,
    subnet: '10.30.0.0/24',
    gateway: `10.30.0.${host.index}`,
    vxlan: 'vx0',
    bridge: 'br0',
    ...(host.index === 1 ? { dhcp: { ranges: [{ start: '10.30.0.100', end: '10.30.0.199' }] } } : {}),
  };
}

const lab = Lab.create({ hosts: 2 });
// The state directory must be readable by dnsmasq's unprivileged user (it re-reads the hosts file).
const stateRoot = mkdtempSync(join(tmpdir(), 'vxnet-attach-example-'));
chmodSync(stateRoot, 0o755);
// udhcpc's event script: what a container's init would do with a lease (address, default route).
const script = join(mkdtempSync(join(tmpdir(), 'vxnet-attach-udhcpc-')), 'lease.sh');
writeFileSync(
  script,
  '#!/bin/sh\n[ "$1" = bound ] && ip addr add "$ip/$mask" dev "$interface" && ip route replace default via "$router"\nexit 0\n',
  { mode: 0o755 },
);
const hosts: OverlayHost[] = [];
// A container as runtimes make them: a process alone in a new network namespace (lo down, no interfaces).
const container2 = spawn('unshare', ['--net', 'sleep', '300'], { stdio: 'ignore' });
try {
  step('the overlay on two hosts (VXLAN 42, unicast peers); host 1 serves DHCP for 10.30.0.0/24');
  for (const h of lab.hosts) {
    const host = await OverlayHost.open({ namespace: h.ns, stateRoot });
    hosts.push(host);
    await host.apply(
      specFor(
        h,
        lab.hosts.map((x) => x.address),
      ),
    );
  }
  const [host1, host2] = hosts as [OverlayHost, OverlayHost];
  await new Promise((resolve) => setTimeout(resolve, 100)); // unshare has exec'd sleep by now
  const web = lab.addNamespaceNamed('web'); // `ip netns add`: reached by name
  const pid = container2.pid!;

  step(`attach ${web} on host 1 (static 10.30.0.10) and pid ${pid} on host 2 (DHCP)`);
  const a1 = await host1.attach('demo', { netns: web, address: '10.30.0.10' });
  for (const change of a1.changes) console.log(`  ✓ ${describeChange(change)}`);
  console.log(
    `  → ${a1.ifname} in ${a1.netns}: host end ${a1.host.ifname}, mac ${a1.container.mac}, mtu ${a1.container.mtu}, ${a1.address} via ${a1.gateway}`,
  );
  const a2 = await host2.attach('demo', { netns: pid, address: 'dhcp' });
  for (const change of a2.changes) console.log(`  ✓ ${describeChange(change)}`);
  console.log(
    `  → ${a2.ifname} in ${a2.netns}: host end ${a2.host.ifname}, mac ${a2.container.mac}, mtu ${a2.container.mtu}, address by DHCP`,
  );

  step(`udhcpc inside pid ${pid}: the lease comes from host 1's dnsmasq, across VXLAN`);
  // -q: quit once bound. Asynchronous: this process supervises dnsmasq.
  const dhcp = await new Promise<string>((resolve) => {
    const child = spawn(
      'nsenter',
      [`--net=/proc/${pid}/ns/net`, 'udhcpc', '-i', 'eth0', '-n', '-q', '-f', '-t', '10', '-T', '1', '-s', script],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('exit', () => resolve(output));
  });
  const leased = /lease of (\S+) obtained/.exec(dhcp)?.[1];
  if (!leased) throw new Error(`no lease:\n${dhcp}`);
  console.log(`  lease ${leased}`);

  step('ping across the overlay');
  for (const [from, to] of [
    [`/run/netns/${web}`, leased],
    [`/proc/${pid}/ns/net`, '10.30.0.10'],
  ] as const) {
    const ok = inside(from, 'ping', '-c', '1', '-W', '2', to).status === 0;
    console.log(`  ${from} → ${to}: ${ok ? 'ok' : 'FAILED'}`);
    if (!ok) process.exitCode = 1;
  }

  step('a second attach with the same options changes nothing');
  console.log(
    `  host 1: ${(await host1.attach('demo', { netns: web, address: '10.30.0.10' })).changes.length} change(s)`,
  );
  console.log(
    `  host 2: ${(await host2.attach('demo', { netns: `/proc/${pid}/ns/net`, address: 'dhcp' })).changes.length} change(s) (the same namespace by path)`,
  );

  step('status lists the attachments (with the lease, on the host that serves DHCP)');
  for (const [i, host] of hosts.entries()) {
    for (const a of await host.attachments('demo')) {
      console.log(
        `  host ${i + 1}: ${a.ifname} in ${a.netns} through ${a.host.ifname} on ${a.host.bridge}, mac ${a.container?.mac}, address ${a.container?.address}${a.lease ? `, lease ${a.lease.ip}` : ''}`,
      );
    }
  }
  const lease = (await host1.status('demo')).dhcp?.leases.find((l) => l.mac === a2.container.mac);
  console.log(`  host 1's dnsmasq leased ${lease?.ip} to ${lease?.mac} (the container on host 2)`);

  step('detach, then destroy');
  const detached = await host1.detach('demo', { netns: web });
  console.log(`  detach ${web}: removed ${detached.host}`);
  for (const [i, host] of hosts.entries())
    for (const change of await host.destroy('demo')) console.log(`  host ${i + 1}: - ${describeChange(change)}`);
  const left = inside(`/proc/${pid}/ns/net`, 'ip', '-o', 'link')
    .stdout.trim()
    .split('\n')
    .map((l) => l.split(':')[1]!.trim());
  console.log(`  interfaces left in pid ${pid}: ${left.join(', ')}`);
} finally {
  for (const host of hosts) await host.close();
  container2.kill('SIGKILL');
  lab.destroy();
  rmSync(stateRoot, { recursive: true, force: true });
  rmSync(join(script, '..'), { recursive: true, force: true });
}
