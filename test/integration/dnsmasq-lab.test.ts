/**
 * The issue's scene on the 3-host lab: the seed's overlay (vx0 id 42 group
 * 239.1.1.1 dev eth0 dstport 4789, a bridge per host, built with vxnet),
 * dnsmasq on host 1's bridge, and containers on hosts 2 and 3 that get their
 * leases from it with udhcpc, across the VXLAN overlay.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attachPort, ensureBridge } from '../../src/bridge/index.js';
import { DnsmasqServer } from '../../src/dnsmasq/server.js';
import type { RestartInfo } from '../../src/dnsmasq/supervisor.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import { ensureVxlan } from '../../src/vxlan/index.js';
import { dnsmasqProcessesWith, udhcpc, untilNoProcessMentions } from '../helpers/dhcp-scene.js';
import { Lab, type LabContainer } from '../helpers/lab.js';
import { inNs, integrationReady, ipIn, ipJson } from '../helpers/netns.js';

const it = integrationReady(['ip', 'nsenter', 'dnsmasq', 'udhcpc', 'setpriv', 'unshare', 'ping']) ? test : test.skip;

it('dnsmasq on host 1 serves the whole overlay: leases (router, MTU, fixed address) on host 3, kill -9 survived, stop leaves nothing', async () => {
  const lab = Lab.create({ hosts: 3 });
  const clients: Rtnetlink[] = [];
  const root = mkdtempSync(join(tmpdir(), 'vxt-dnsmasq-lab-'));
  chmodSync(root, 0o755); // dnsmasq re-reads its hosts file as an unprivileged user
  let server: DnsmasqServer | undefined;
  try {
    const attach = async (container: LabContainer) =>
      attachPort(clients[container.host.index - 1]!, 'br0', container.hostDev);
    let mtu = 0;
    for (const host of lab.hosts) {
      const rt = await Rtnetlink.open({ namespace: host.ns });
      clients.push(rt);
      await ensureVxlan(rt, { name: 'vx0', vni: 42, group: '239.1.1.1', underlay: 'eth0', port: 4789 });
      mtu = (await rt.links.get('vx0')).mtu!;
      await ensureBridge(rt, { name: 'br0', mtu, ...(host.index === 1 ? { address: '10.10.0.1/24' } : {}) });
      await attachPort(rt, 'br0', 'vx0');
    }
    assert.is(mtu, 1450);

    const c3 = lab.addContainer(lab.host(3), 'c3');
    const pinned = lab.addContainer(lab.host(3), 'p3');
    const c2 = lab.addContainer(lab.host(2), 'c2');
    for (const c of [c3, pinned, c2]) await attach(c);
    const pinnedMac = ipJson<{ address: string }[]>(pinned.ns, 'link', 'show', 'eth0')[0]!.address;

    server = await DnsmasqServer.start(
      {
        interface: 'br0',
        subnet: '10.10.0.0/24',
        gateway: '10.10.0.1',
        ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }],
        mtu,
        hosts: [{ mac: pinnedMac, ip: '10.10.0.33', name: 'pinned' }],
        pingCheck: false,
      },
      { namespace: lab.host(1).ns, stateDir: join(root, 'state') },
    );

    const lease = await udhcpc(c3.ns);
    assert.match(lease.ip, /^10\.10\.0\.1\d\d$/);
    assert.is(lease.router, '10.10.0.1');
    assert.is(lease.mtu, 1450);
    const fixed = await udhcpc(pinned.ns);
    assert.equal([fixed.ip, fixed.hostname], ['10.10.0.33', 'pinned']);

    // What DHCP said works: host 3's container reaches the gateway on host 1 at the overlay MTU.
    ipIn(c3.ns, 'link', 'set', 'eth0', 'mtu', String(lease.mtu));
    ipIn(c3.ns, 'addr', 'add', `${lease.ip}/24`, 'dev', 'eth0');
    inNs(c3.ns, 'ping', ['-c', '1', '-W', '2', '-M', 'do', '-s', String(lease.mtu! - 28), lease.router!]);

    const leasesBefore = readFileSync(server.paths.leases, 'utf8');
    const restarted = new Promise<RestartInfo>((resolve) => server!.once('restart', resolve));
    process.kill(server.status().pid!, 'SIGKILL');
    const info = await restarted;
    assert.is(info.reason, 'crash');
    assert.is(readFileSync(server.paths.leases, 'utf8'), leasesBefore);
    assert.equal((await server.leases()).map((l) => l.ip).sort(), [lease.ip, '10.10.0.33'].sort());
    // The restarted dnsmasq holds the old leases: host 2's container cannot take host 3's address.
    const next = await udhcpc(c2.ns, { requestIp: lease.ip });
    assert.match(next.ip, /^10\.10\.0\.1\d\d$/);
    assert.is.not(next.ip, lease.ip);
    assert.is((await server.leases()).length, 3);

    await server.stop();
    assert.equal(dnsmasqProcessesWith(root), []);
    console.log(
      `  figures: lab lease across VXLAN (multicast) ${lease.elapsedMs.toFixed(0)} ms; restart downtime ${info.downtimeMs} ms`,
    );
  } finally {
    await server?.stop().catch(() => undefined);
    for (const rt of clients) rt.close();
    lab.destroy();
    await untilNoProcessMentions(root).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
