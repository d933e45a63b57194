/**
 * The seed's overlay in multicast mode, on one machine: three lab hosts
 * (network namespaces on a shared underlay), on each a VXLAN device in group
 * 239.1.1.1 and a bridge, one container per host; then every container pings
 * every other. Run as root: npx tsx examples/vxlan-multicast.ts [--keep]
 *
 * On real hosts the same calls run without the lab:
 *   ensureVxlan(rt, { name: 'vx0', vni: 42, group: '239.1.1.1', underlay: 'eth0', port: 4789 })
 */
import { attachPort, ensureBridge } from '../src/bridge/index.js';
import { describeChange } from '../src/common/plan.js';
import { Rtnetlink } from '../src/rtnetlink/client.js';
import { ensureVxlan, vxlanStatus } from '../src/vxlan/index.js';
import { Lab } from '../test/helpers/lab.js';

const keep = process.argv.includes('--keep');
const lab = Lab.create({ hosts: 3 });
const clients: Rtnetlink[] = [];
try {
  for (const host of lab.hosts) {
    console.log(`\nhost ${host.index} (namespace ${host.ns}, underlay ${host.address})`);
    const rt = await Rtnetlink.open({ namespace: host.ns });
    clients.push(rt);
    const changes = [
      ...(await ensureVxlan(rt, {
        name: 'vx0',
        vni: 42,
        group: '239.1.1.1',
        underlay: 'eth0',
        port: 4789,
        owner: 'example',
      })),
      ...(await ensureBridge(rt, { name: 'br0', mtu: 1450, owner: 'example' })),
    ];
    await attachPort(rt, 'br0', 'vx0');
    const container = lab.addContainer(host, `c${host.index}`, { address: `10.10.0.${10 + host.index}/24`, mtu: 1450 });
    await attachPort(rt, 'br0', container.hostDev);
    for (const change of changes) console.log(`  ${describeChange(change)}`);
    console.log(`  container c${host.index}: ${container.address} on br0`);
  }
  console.log('\npings across the overlay:');
  for (const from of lab.containers) {
    for (const to of lab.containers) {
      if (from === to) continue;
      const ok = await lab.pingEventually(from.ns, to.address!.split('/')[0]!, 8);
      console.log(`  ${from.name} → ${to.name}: ${ok ? 'ok' : 'FAILED'}`);
      if (!ok) process.exitCode = 1;
    }
  }
  const status = await vxlanStatus(clients[0]!, 'vx0');
  console.log(
    `\nstatus of vx0 on host 1: vni ${status.vni} group ${status.group} port ${status.port} mtu ${status.mtu}; problems: ${status.problems.join('; ') || 'none'}`,
  );
} finally {
  for (const rt of clients) rt.close();
  if (keep) console.log(`\nkept: namespaces ${lab.prefix}-*`);
  else lab.destroy();
}
