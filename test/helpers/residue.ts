/**
 * What a host's network stack holds that vxnet could have touched, as plain
 * data for before/after comparisons ("destroy leaves nothing"): every link
 * with its state (kind, alias, up, MTU, master, addresses), the FDB entries
 * with a destination, the nf_tables tables, ip_forward, and vxnet's state
 * directory for the namespace. Read with ip, bridge and nft, never vxnet.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './netns.js';

export interface HostResidue {
  links: string[];
  fdb: string[];
  nft: string[];
  ipForward: string;
  state: string[];
}

/** vxnet's state directory of a named namespace: ROOT/ns-<dev>-<ino>, as the library keys it. */
export function namespaceStateDir(ns: string, root = '/run/vxnet'): string {
  const stat = statSync(`/run/netns/${ns}`);
  return `${root}/ns-${stat.dev}-${stat.ino}`;
}

function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    out.push(entry.name);
    if (entry.isDirectory()) out.push(...listTree(join(dir, entry.name)).map((inner) => `${entry.name}/${inner}`));
  }
  return out.sort();
}

/** `skipLinks`: links the test itself makes after the first snapshot (containers' veths). */
export function hostResidue(ns: string, options: { skipLinks?: RegExp; stateRoot?: string } = {}): HostResidue {
  const links = JSON.parse(sh('ip', ['-n', ns, '-j', '-d', 'link', 'show'])) as any[];
  const names = new Map(links.map((l) => [l.ifindex, l.ifname]));
  const addresses = JSON.parse(sh('ip', ['-n', ns, '-j', 'addr', 'show'])) as any[];
  const addressesOf = (name: string): string[] =>
    (addresses.find((a) => a.ifname === name)?.addr_info ?? [])
      .filter((a: any) => a.scope !== 'link')
      .map((a: any) => `${a.local}/${a.prefixlen}`)
      .sort();
  return {
    links: links
      .filter((l) => !options.skipLinks?.test(l.ifname))
      .map((l) =>
        [
          l.ifname,
          l.linkinfo?.info_kind ?? '',
          l.ifalias ?? '',
          l.flags.includes('UP') ? 'up' : 'down',
          l.mtu,
          l.master ?? '',
          addressesOf(l.ifname).join(','),
        ].join(':'),
      )
      .sort(),
    fdb: (JSON.parse(sh('bridge', ['-n', ns, '-j', 'fdb', 'show']) || '[]') as any[])
      .filter((e) => e.dst)
      .map((e) => `${e.ifname ?? names.get(e.ifindex)}:${e.mac}>${e.dst}`)
      .sort(),
    nft: (JSON.parse(sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset'])).nftables as any[])
      .filter((o) => o.table)
      .map((o) => `${o.table.family} ${o.table.name}`)
      .sort(),
    ipForward: sh('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/ip_forward']).trim(),
    state: listTree(namespaceStateDir(ns, options.stateRoot)),
  };
}
