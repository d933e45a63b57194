/**
 * A host joins: how long until its containers are reachable from every
 * other host, for the three ways vxnet connects hosts. Lab of three hosts
 * (network namespaces on one underlay bridge, test/helpers/lab.ts), one
 * container per host (static address, attached to the host's bridge).
 * Hosts 1 and 2 stay up; each round host 3 applies its spec, is timed, then
 * is destroyed (and the others are let see it gone) before the next round.
 *
 *   - routed + BGP (routes.bgp, FRR per host): from host 3's BGP sessions up
 *     (both Established, as host 3's bgpd says through vtysh) to host 3's
 *     container pingable from the containers of hosts 1 and 2 (its subnet
 *     learned and installed by zebra there);
 *   - VXLAN + EVPN (membership.evpn): the same, the subnet being one layer-2
 *     segment (host 3's VTEP learned as a flood entry, its MAC as type-2);
 *   - VXLAN unicast (peers): from host 3's apply returned (the new peer
 *     applied; hosts 1 and 2 list it already) to pingable.
 *
 * Each also gets "apply returned → pingable", the whole join as an operator
 * sees it (for BGP it includes FRR's start and the session set-up). Each
 * source runs a ping probing every 20 ms until the first reply (a new one
 * 10 ms after an ICMP error, which ends a ping), and vtysh
 * is polled every ~30 ms (a vtysh run costs ~20 ms more): the figures are
 * good to a few tens of ms. Neighbour caches in the containers are flushed
 * before each round, so ARP is part of it (an ARP request lost before the
 * path exists is retried by the kernel after 1 s: that is what a container
 * sees too).
 */
import { spawn, spawnSync } from 'node:child_process';
import { OverlayHost } from '../../src/overlay/host.js';
import type { AnySpec } from '../../src/overlay/spec.js';
import { Lab, type LabContainer, type LabHost } from '../../test/helpers/lab.js';
import { addRow, workload } from '../lib.js';

const ROUNDS = Number(process.env.VXNET_BENCH_JOIN_ROUNDS ?? 10);
const STATE = `/tmp/vxnet-bench-join-${process.pid}`;
const NET = 'jn';

type Mode = 'routed-bgp' | 'evpn' | 'unicast';

function specFor(mode: Mode, host: LabHost): AnySpec {
  const i = host.index;
  const others = [1, 2, 3].filter((j) => j !== i).map((j) => `192.168.100.${j}`);
  const bgp = { asn: 65000, neighbors: others, listen: '192.168.100.0/24', holdTime: 3 };
  if (mode === 'routed-bgp')
    return {
      name: NET,
      mode: 'routed',
      underlay: { device: 'eth0', address: host.address },
      subnet: `10.20.${i}.0/24`,
      gateway: `10.20.${i}.1`,
      bridge: 'br0',
      routes: { bgp },
    };
  return {
    name: NET,
    vni: 77,
    underlay: { device: 'eth0', address: host.address },
    ...(mode === 'evpn' ? { membership: { evpn: bgp } } : { peers: others }),
    subnet: '10.30.0.0/24',
    vxlan: 'vx0',
    bridge: 'br0',
  };
}

function containerAddress(mode: Mode, i: number): { address: string; gateway?: string } {
  return mode === 'routed-bgp'
    ? { address: `10.20.${i}.10/24`, gateway: `10.20.${i}.1` }
    : { address: `10.30.0.${10 + i}/24` };
}

function frrDir(host: OverlayHost): string {
  return `${host.state(NET).dir}/frr`;
}

function sessionsUp(host: OverlayHost, count: number): boolean {
  const out = spawnSync('vtysh', ['--vty_socket', frrDir(host), '-c', 'show bgp summary json'], { encoding: 'utf8' });
  if (out.status !== 0) return false;
  try {
    const peers = new Map<string, string>();
    for (const table of Object.values<any>(JSON.parse(out.stdout)))
      for (const [address, peer] of Object.entries<any>(table?.peers ?? {})) peers.set(address, peer.state);
    return [...peers.values()].filter((s) => s === 'Established').length >= count;
  } catch {
    return false;
  }
}

/** One ping probing every 20 ms until the first reply, or an ICMP error (which ends ping), or 2 s. */
function probe(ns: string, to: string): Promise<boolean> {
  return new Promise((resolve) => {
    const args = ['netns', 'exec', ns, 'ping', '-q', '-c', '1', '-i', '0.02', '-w', '2', to];
    spawn('ip', args, { stdio: 'ignore' }).once('exit', (code) => resolve(code === 0));
  });
}

/** When (performance.now()) every source has had a reply from `to`. */
async function pingableFromAll(sources: LabContainer[], to: string, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  const times = await Promise.all(
    sources.map(async (from) => {
      while (performance.now() < deadline) {
        if (await probe(from.ns, to)) return performance.now();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`${from.name} cannot ping ${to} within ${timeoutMs} ms`);
    }),
  );
  return Math.max(...times);
}

async function until(what: string, timeoutMs: number, check: () => boolean, everyMs = 30): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return performance.now();
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Figures {
  fromSession: number[];
  fromApply: number[];
  /** Session up → host 3's route (routed) or flood entry (EVPN) in the kernel of hosts 1 and 2. */
  installed: number[];
}

/** Whether host 3's subnet route (routed) or VTEP flood entry (EVPN) is in `ns`'s kernel, as ip / bridge say. */
function learned(mode: Mode, ns: string): boolean {
  if (mode === 'routed-bgp') {
    const out = spawnSync('ip', ['-n', ns, '-j', 'route', 'show', '10.20.3.0/24'], { encoding: 'utf8' }).stdout;
    return (JSON.parse(out || '[]') as { protocol?: string }[]).some((r) => r.protocol === 'bgp');
  }
  const out = spawnSync('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vx0'], { encoding: 'utf8' }).stdout;
  return (JSON.parse(out || '[]') as { mac: string; dst?: string }[]).some(
    (e) => e.mac === '00:00:00:00:00:00' && e.dst === '192.168.100.3',
  );
}

async function measure(mode: Mode): Promise<Figures> {
  const lab = Lab.create({ hosts: 3 });
  const hosts: OverlayHost[] = [];
  const figures: Figures = { fromSession: [], fromApply: [], installed: [] };
  try {
    for (const h of lab.hosts) hosts.push(await OverlayHost.open({ namespace: h.ns, stateRoot: STATE }));
    const containers = lab.hosts.map((h) => lab.addContainer(h, `j${h.index}`, containerAddress(mode, h.index)));
    const attach = (h: LabHost) =>
      spawnSync('ip', ['-n', h.ns, 'link', 'set', containers[h.index - 1]!.hostDev, 'master', 'br0', 'up']);
    for (const h of lab.hosts.slice(0, 2)) {
      await hosts[h.index - 1]!.apply(specFor(mode, h));
      attach(h);
    }
    const h3 = lab.host(3);
    const target = containerAddress(mode, 3).address.split('/')[0]!;
    const sources = containers.slice(0, 2);
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of containers) spawnSync('ip', ['-n', c.ns, 'neigh', 'flush', 'all']);
      await hosts[2]!.apply(specFor(mode, h3));
      attach(h3);
      const applied = performance.now();
      const session =
        mode === 'unicast' ? applied : await until('host 3 sessions up', 30_000, () => sessionsUp(hosts[2]!, 2));
      const [reachable, installed] = await Promise.all([
        pingableFromAll(sources, target, 30_000),
        mode === 'unicast'
          ? Promise.resolve(applied)
          : until(
              'installed on hosts 1 and 2',
              30_000,
              () => [0, 1].every((j) => learned(mode, lab.host(j + 1).ns)),
              5,
            ),
      ]);
      if (mode !== 'unicast') figures.installed.push(installed - session);
      figures.fromSession.push(reachable - session);
      figures.fromApply.push(reachable - applied);
      await hosts[2]!.destroy(NET);
      // The others see host 3 gone before the next round (its routes withdrawn / flood entry removed, or not pingable).
      await until('host 3 gone for hosts 1 and 2', 30_000, () =>
        sources.every(
          (c) => spawnSync('ip', ['netns', 'exec', c.ns, 'ping', '-q', '-c', '1', '-W', '0.3', target]).status !== 0,
        ),
      );
      if (mode !== 'unicast')
        await until('host 1 sees host 3 session down', 30_000, () => !sessionsUp(hosts[0]!, 2), 100);
    }
    for (const host of hosts.slice(0, 2)) await host.destroy(NET);
  } finally {
    for (const host of hosts) await host.close();
    lab.destroy();
  }
  return figures;
}

export async function run(): Promise<void> {
  const w = workload(
    'A host joins: reachable from every other host',
    `Three lab hosts (namespaces on one underlay bridge), one container each; host 3 joins ${ROUNDS} times (apply, timed, destroy). ` +
      'Figures: median (the "whole process" column), p99 and min/max in the note. ' +
      "BGP rows: from host 3's BGP sessions Established to its container pingable from hosts 1 and 2; " +
      'unicast row: from its apply returned (the new peer applied) to pingable.',
  );
  const labels: Record<Mode, string> = {
    'routed-bgp': 'routed + BGP (FRR): session up → pingable',
    evpn: 'VXLAN + EVPN (FRR): session up → pingable',
    unicast: 'VXLAN unicast peers: applied → pingable',
  };
  for (const mode of ['routed-bgp', 'evpn', 'unicast'] as Mode[]) {
    const f = await measure(mode);
    const fmt = (v: number[]) =>
      `p99 ${percentile(v, 99).toFixed(0)} ms, min ${Math.min(...v).toFixed(0)}, max ${Math.max(...v).toFixed(0)}`;
    addRow(w, { tool: labels[mode], whole: percentile(f.fromSession, 50), note: `${fmt(f.fromSession)}; n=${ROUNDS}` });
    if (mode !== 'unicast')
      addRow(w, {
        tool: `${labels[mode].split(':')[0]}: session up → in the others' kernels`,
        whole: percentile(f.installed, 50),
        note: `${fmt(f.installed)}; ${mode === 'evpn' ? 'the flood entry to host 3' : 'the route to 10.20.3.0/24'} on hosts 1 and 2 (polled every 5 ms)`,
      });
    if (mode !== 'unicast')
      addRow(w, {
        tool: `${labels[mode].split(':')[0]}: applied → pingable`,
        whole: percentile(f.fromApply, 50),
        note: `${fmt(f.fromApply)} (FRR's start and the session set-up included)`,
      });
  }
}
