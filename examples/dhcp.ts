/**
 * DHCP for a whole overlay, on one machine: two lab hosts joined by VXLAN
 * (built with vxnet), a supervised dnsmasq on host 1's bridge, and
 * containers on host 2 that get their leases from it with udhcpc, across the
 * overlay. Then dnsmasq is killed (the supervisor restarts it, the leases
 * survive), a static mapping changes, and everything is removed.
 * Run as root: npx tsx examples/dhcp.ts   (needs dnsmasq-base and udhcpc)
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attachPort, ensureBridge } from '../src/bridge/index.js';
import { DnsmasqServer, type Lease } from '../src/dnsmasq/index.js';
import { Rtnetlink } from '../src/rtnetlink/client.js';
import { ensureVxlan } from '../src/vxlan/index.js';
import { udhcpc } from '../test/helpers/dhcp-scene.js';
import { Lab } from '../test/helpers/lab.js';
import { ipJson } from '../test/helpers/netns.js';

const step = (text: string) => console.log(`\n== ${text}`);
const show = (leases: Lease[]) => {
  for (const l of leases)
    console.log(
      `  ${l.ip.padEnd(12)} ${l.mac}  ${(l.hostname ?? '-').padEnd(8)} until ${l.expires?.toISOString() ?? 'forever'}`,
    );
};

const lab = Lab.create({ hosts: 2 });
const clients: Rtnetlink[] = [];
// The state directory must be readable by dnsmasq's unprivileged user (it re-reads the hosts file).
const stateRoot = mkdtempSync(join(tmpdir(), 'vxnet-dhcp-example-'));
chmodSync(stateRoot, 0o755);
let server: DnsmasqServer | undefined;

try {
  step(
    'two hosts, vx0 (VNI 42, unicast peers, port 4789) in br0 on each; br0 on host 1 holds the gateway 10.20.0.1/24',
  );
  for (const host of lab.hosts) {
    const rt = await Rtnetlink.open({ namespace: host.ns });
    clients.push(rt);
    const peer = lab.hosts.find((h) => h !== host)!.address;
    await ensureVxlan(rt, { name: 'vx0', vni: 42, underlay: 'eth0', local: host.address, peers: [peer], port: 4789 });
    await ensureBridge(rt, { name: 'br0', mtu: 1450, ...(host.index === 1 ? { address: '10.20.0.1/24' } : {}) });
    await attachPort(rt, 'br0', 'vx0');
  }
  const web = lab.addContainer(lab.host(2), 'web');
  const db = lab.addContainer(lab.host(2), 'db');
  for (const c of [web, db]) await attachPort(clients[1]!, 'br0', c.hostDev);
  const dbMac = ipJson<{ address: string }[]>(db.ns, 'link', 'show', 'eth0')[0]!.address;

  step('dnsmasq on host 1, supervised');
  server = await DnsmasqServer.start(
    {
      interface: 'br0',
      subnet: '10.20.0.0/24',
      gateway: '10.20.0.1',
      ranges: [{ start: '10.20.0.100', end: '10.20.0.199', leaseTime: '12h' }],
      mtu: 1450,
      domain: 'overlay.example',
      hosts: [{ mac: dbMac, ip: '10.20.0.10', name: 'db' }],
      pingCheck: false,
    },
    { namespace: lab.host(1).ns, stateDir: join(stateRoot, 'host1.br0') },
  );
  const status = server.status();
  console.log(`  dnsmasq ${status.version}, pid ${status.pid}, files in ${status.paths.dir}`);
  server.on('leases', ({ added, removed }) => {
    for (const l of added) console.log(`  [leases] + ${l.ip} ${l.mac}${l.hostname ? ` (${l.hostname})` : ''}`);
    for (const l of removed) console.log(`  [leases] - ${l.ip} ${l.mac}`);
  });
  server.on('restart', (info) =>
    console.log(
      `  [restart] ${info.reason}: new pid ${info.pid} after ${info.downtimeMs} ms (backoff ${info.delayMs} ms)`,
    ),
  );

  step('containers on host 2 ask for leases (udhcpc), across VXLAN');
  for (const c of [web, db]) {
    const got = await udhcpc(c.ns);
    console.log(
      `  ${c.name}: ${got.ip}/${got.subnet} router ${got.router} mtu ${got.mtu} domain ${got.domain}${got.hostname ? ` name ${got.hostname}` : ''} (${got.elapsedMs.toFixed(0)} ms)`,
    );
  }
  show(await server.leases());

  step('kill -9 dnsmasq: the supervisor restarts it; the lease file keeps the leases');
  const restarted = new Promise((resolve) => server!.once('restart', resolve));
  process.kill(server.status().pid!, 'SIGKILL');
  await restarted;
  show(await server.leases());

  step('db moves to 10.20.0.11: its old lease is pruned, dnsmasq restarted, db asks again');
  const update = await server.updateHosts([{ mac: dbMac, ip: '10.20.0.11', name: 'db' }]);
  console.log(
    `  ${update.method}; pruned: ${update.pruned.map((s) => `${s.lease.ip} (${s.reason})`).join(', ') || 'none'}`,
  );
  console.log(`  db: ${(await udhcpc(db.ns)).ip}`);

  step('status');
  const { state, pid, restarts, controlledRestarts, reloads, lastExit } = server.status();
  console.log(
    `  ${state}, pid ${pid}, restarts ${restarts}, controlled restarts ${controlledRestarts}, reloads ${reloads}, last exit ${lastExit?.signal ?? lastExit?.code}`,
  );
} finally {
  step('stop and clean up');
  await server?.stop();
  for (const rt of clients) rt.close();
  lab.destroy();
  rmSync(stateRoot, { recursive: true, force: true });
  console.log('  done');
}
