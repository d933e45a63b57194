/**
 * Watches link, address and route events in a throwaway namespace while a
 * few changes happen: what exists first, then live changes.
 * Run as root: npx tsx examples/watch-events.ts
 */
import { spawnSync } from 'node:child_process';
import { Rtnetlink } from '../src/rtnetlink/index.js';

const namespace = `vxwatch-${process.pid}`;
spawnSync('ip', ['netns', 'add', namespace]); // the example's scaffolding; vxnet never runs ip
try {
  await using rt = await Rtnetlink.open({ namespace });
  // The signal ends the stream even while it waits for an event (break cannot interrupt that wait).
  const stop = new AbortController();
  const events = rt.events({ groups: ['link', 'ipv4-address', 'ipv4-route'], listFirst: true, signal: stop.signal });
  const changes = (async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await rt.links.create({ ifname: 'w0', kind: 'veth', peer: { ifname: 'w1' }, up: true });
    await rt.addresses.add({ dev: 'w0', address: '10.55.0.1/24' });
    await rt.routes.add({ dst: '10.56.0.0/16', gateway: '10.55.0.2' });
    await rt.links.delete('w0');
  })();
  const deadline = setTimeout(() => stop.abort(), 2000);
  for await (const event of events) {
    switch (event.kind) {
      case 'link':
        console.log(`${event.action.padEnd(8)} link ${event.link.ifname} (index ${event.link.ifindex})`);
        break;
      case 'address':
        console.log(`${event.action.padEnd(8)} address ${event.address.local}/${event.address.prefixlen}`);
        break;
      case 'route':
        console.log(
          `${event.action.padEnd(8)} route ${event.route.dst ?? 'default'}/${event.route.dst_len} table ${event.route.table}`,
        );
        break;
      case 'synced':
        console.log('-- listing done, live changes follow --');
        break;
      case 'overrun':
        console.log(`overrun: ${event.error.message}`);
        break;
    }
  }
  clearTimeout(deadline);
  await changes;
} finally {
  spawnSync('ip', ['netns', 'del', namespace]);
}
