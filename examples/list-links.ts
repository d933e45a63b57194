/**
 * Lists this namespace's links with their kind, MTU, state, addresses and
 * master — what `ip -br addr` shows, from a typed API.
 * Run: npx tsx examples/list-links.ts [namespace]   (reading needs no root)
 */
import { IFF_UP, Rtnetlink } from '../src/rtnetlink/index.js';

const namespace = process.argv[2];
await using rt = await Rtnetlink.open({ namespace });
const [links, addresses] = await Promise.all([rt.links.list(), rt.addresses.list()]);
const names = new Map(links.map((l) => [l.ifindex, l.ifname]));
for (const link of links) {
  const mine = addresses.filter((a) => a.ifindex === link.ifindex).map((a) => `${a.local ?? a.address}/${a.prefixlen}`);
  const master = link.master ? ` master ${names.get(link.master)}` : '';
  console.log(
    `${String(link.ifindex).padStart(3)} ${link.ifname!.padEnd(15)} ${(link.linkinfo?.info_kind ?? '-').padEnd(7)} ` +
      `mtu ${String(link.mtu).padEnd(5)} ${link.flags & IFF_UP ? 'UP  ' : 'DOWN'} ${mine.join(' ')}${master}`,
  );
}
