/**
 * A VXLAN device without multicast floods to unicast peers: one all-zeros MAC
 * FDB entry per peer, what `bridge fdb append 00:00:00:00:00:00 dev vx0 dst
 * PEER` adds. Here with the rtnetlink API directly, in a throwaway namespace.
 * Run as root: npx tsx examples/fdb-flood-entry.ts
 */
import { spawnSync } from 'node:child_process';
import { Rtnetlink } from '../src/rtnetlink/index.js';

const namespace = `vxfdb-${process.pid}`;
spawnSync('ip', ['netns', 'add', namespace]); // the example's scaffolding; vxnet never runs ip
try {
  await using rt = await Rtnetlink.open({ namespace });
  await rt.links.create({ ifname: 'ul0', kind: 'veth', peer: { ifname: 'ul1' }, up: true });
  await rt.addresses.add({ dev: 'ul0', address: '192.168.50.1/24' });
  await rt.links.create({
    ifname: 'vx0',
    kind: 'vxlan',
    vxlan: { id: 42, link: 'ul0', local: '192.168.50.1', port: 4789 },
    up: true,
  });
  for (const peer of ['192.168.50.2', '192.168.50.3']) {
    await rt.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: peer });
  }
  try {
    await rt.fdb.add({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.168.50.4' });
  } catch (error) {
    console.log(`add (not append) is refused: ${(error as Error).message}\n`);
  }
  for (const entry of await rt.fdb.list({ dev: 'vx0' })) {
    console.log(
      `${entry.lladdr} dst ${entry.dst ?? '-'} state 0x${entry.state.toString(16)} flags 0x${entry.flags.toString(16)}`,
    );
  }
  await rt.fdb.delete({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '192.168.50.2' });
  console.log(`after deleting one: ${(await rt.fdb.list({ dev: 'vx0' })).map((e) => e.dst).join(', ')}`);
} finally {
  spawnSync('ip', ['netns', 'del', namespace]);
}
