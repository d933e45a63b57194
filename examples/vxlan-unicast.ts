/**
 * The cloud variant (no multicast), on one machine: each lab host's VXLAN
 * device floods to a list of unicast peers (the other hosts), as an
 * all-zeros FDB entry per peer. Then host 3 leaves the overlay and rejoins,
 * and the pings show it. Run as root: npx tsx examples/vxlan-unicast.ts
 */
import { attachPort, ensureBridge } from '../src/bridge/index.js';
import { Rtnetlink } from '../src/rtnetlink/client.js';
import { ensureVxlan, listPeers, setPeers } from '../src/vxlan/index.js';
import { Lab } from '../test/helpers/lab.js';

const lab = Lab.create({ hosts: 3 });
const clients: Rtnetlink[] = [];
const peersOf = (index: number, without?: number) =>
  lab.hosts.filter((h) => h.index !== index && h.index !== without).map((h) => h.address);

async function pingAll(title: string): Promise<void> {
  console.log(`\n${title}`);
  for (const from of lab.containers) {
    const line = lab.containers
      .filter((to) => to !== from)
      .map(
        (to) =>
          `${to.name} ${lab.ping(from.ns, to.address!.split('/')[0]!, { count: 1, timeoutSeconds: 1 }) ? 'ok' : '--'}`,
      );
    console.log(`  from ${from.name}: ${line.join(', ')}`);
  }
}

try {
  for (const host of lab.hosts) {
    const rt = await Rtnetlink.open({ namespace: host.ns });
    clients.push(rt);
    await ensureVxlan(rt, {
      name: 'vx0',
      vni: 42,
      underlay: 'eth0',
      local: host.address,
      port: 4789,
      peers: peersOf(host.index),
    });
    await ensureBridge(rt, { name: 'br0', mtu: 1450 });
    await attachPort(rt, 'br0', 'vx0');
    const container = lab.addContainer(host, `c${host.index}`, { address: `10.10.0.${10 + host.index}/24`, mtu: 1450 });
    await attachPort(rt, 'br0', container.hostDev);
    console.log(`host ${host.index}: vx0 floods to ${(await listPeers(rt, 'vx0')).join(', ')}`);
  }
  for (const from of lab.containers)
    for (const to of lab.containers) if (from !== to) await lab.pingEventually(from.ns, to.address!.split('/')[0]!, 8);
  await pingAll('all hosts in the overlay:');

  // Host 3 leaves: everyone drops it, it drops everyone.
  await setPeers(clients[0]!, 'vx0', peersOf(1, 3));
  await setPeers(clients[1]!, 'vx0', peersOf(2, 3));
  await setPeers(clients[2]!, 'vx0', []);
  await pingAll('host 3 removed from every peer list:');

  for (const [i, rt] of clients.entries()) await setPeers(rt, 'vx0', peersOf(i + 1));
  for (const from of lab.containers)
    for (const to of lab.containers) if (from !== to) await lab.pingEventually(from.ns, to.address!.split('/')[0]!, 8);
  await pingAll('host 3 back:');
} finally {
  for (const rt of clients) rt.close();
  lab.destroy();
}
