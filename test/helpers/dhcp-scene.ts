/**
 * A small DHCP scene for the dnsmasq tests, in throwaway namespaces: a
 * "server host" with a bridge, "containers" attached to a bridge by veth,
 * and optionally a second host whose bridge is joined to the first by a
 * VXLAN pair over a veth underlay. `ip` builds it (a setup tool here);
 * udhcpc, busybox's DHCP client, is the client, run asynchronously so the
 * test's event loop (and the supervisor in it) keeps running meanwhile.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNamespace, deleteNamespace, ipIn, ipJson, sh } from './netns.js';

export const BRIDGE = 'br0';

/** A namespace with a bridge, up; with an address when given ("10.77.0.1/24"). */
export function createBridgeHost(tag: string, address?: string): string {
  const ns = createNamespace(tag);
  try {
    addBridge(ns, BRIDGE, address);
  } catch (error) {
    deleteNamespace(ns);
    throw error;
  }
  return ns;
}

/** Another bridge in an existing namespace. */
export function addBridge(ns: string, name: string, address?: string): void {
  ipIn(ns, 'link', 'add', name, 'type', 'bridge');
  if (address) ipIn(ns, 'addr', 'add', address, 'dev', name);
  ipIn(ns, 'link', 'set', name, 'up');
}

let ports = 0;

export interface Container {
  ns: string;
  /** The container side's MAC (eth0). */
  mac: string;
}

/** A container namespace with eth0, whose veth peer is a port of the host's bridge. */
export function addContainer(hostNs: string, tag: string, options: { bridge?: string } = {}): Container {
  const ns = createNamespace(tag);
  try {
    const port = `vc${process.pid % 10000}x${ports++}`;
    sh('ip', ['link', 'add', port, 'netns', hostNs, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    ipIn(hostNs, 'link', 'set', port, 'master', options.bridge ?? BRIDGE, 'up');
    ipIn(ns, 'link', 'set', 'eth0', 'up');
    const mac = ipJson<{ address: string }[]>(ns, 'link', 'show', 'eth0')[0]!.address;
    return { ns, mac };
  } catch (error) {
    deleteNamespace(ns);
    throw error;
  }
}

/**
 * Joins two hosts' bridges with VXLAN: an underlay veth pair (192.168.77.1
 * and .2), then on each host `vx0 type vxlan id VNI remote PEER local SELF
 * dstport 4789 dev u0`, enslaved to the bridge.
 */
export function joinByVxlan(a: string, b: string, vni = 42): void {
  sh('ip', ['link', 'add', 'u0', 'netns', a, 'type', 'veth', 'peer', 'name', 'u0', 'netns', b]);
  const ends: [string, string, string][] = [
    [a, '192.168.77.1', '192.168.77.2'],
    [b, '192.168.77.2', '192.168.77.1'],
  ];
  for (const [ns, self, peer] of ends) {
    ipIn(ns, 'addr', 'add', `${self}/30`, 'dev', 'u0');
    ipIn(ns, 'link', 'set', 'u0', 'up');
    ipIn(
      ns,
      'link',
      'add',
      'vx0',
      'type',
      'vxlan',
      'id',
      String(vni),
      'remote',
      peer,
      'local',
      self,
      'dstport',
      '4789',
      'dev',
      'u0',
    );
    ipIn(ns, 'link', 'set', 'vx0', 'master', BRIDGE, 'up');
  }
}

/** What udhcpc handed its script for a "bound" event. */
export interface DhcpResult {
  ip: string;
  subnet?: string;
  router?: string;
  /** Option 26, when the server sent it. */
  mtu?: number;
  dns?: string;
  domain?: string;
  hostname?: string;
  lease?: number;
  serverid?: string;
  /** Every event the script saw, in order (deconfig, bound, leasefail, nak, ...). */
  events: string[];
  /** Wall time from launching udhcpc to its exit. */
  elapsedMs: number;
}

// The script udhcpc runs at each event: it records the environment udhcpc
// passes (the options it got) in a file per event, and configures nothing.
const SCRIPT = `#!/bin/sh
n=$(ls "$VXT_OUT" | wc -l)
env > "$VXT_OUT/$(printf %03d "$n")-$1"
`;

/**
 * Runs `udhcpc -i eth0 -n -q -f -s SCRIPT` in a namespace and resolves with
 * the options of the lease it obtained; rejects (with udhcpc's output) when
 * it got none. `tries` discovers, one second apart.
 */
export function udhcpc(
  ns: string,
  options: { tries?: number; requestIp?: string; extra?: string[] } = {},
): Promise<DhcpResult> {
  const dir = mkdtempSync(join(tmpdir(), 'vxt-udhcpc-'));
  const out = join(dir, 'events');
  const script = join(dir, 'script.sh');
  writeFileSync(script, SCRIPT);
  chmodSync(script, 0o755);
  sh('mkdir', [out]);
  const args = [
    'netns',
    'exec',
    ns,
    'udhcpc',
    '-i',
    'eth0',
    '-n',
    '-q',
    '-f',
    '-s',
    script,
    '-t',
    String(options.tries ?? 10),
    '-T',
    '1',
    '-A',
    '1',
  ];
  if (options.requestIp) args.push('-r', options.requestIp);
  args.push(...(options.extra ?? []));
  const started = performance.now();
  return new Promise<DhcpResult>((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VXT_OUT: out } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', (error) => {
      rmSync(dir, { recursive: true, force: true });
      reject(error);
    });
    child.once('close', (code) => {
      const elapsedMs = performance.now() - started;
      try {
        const files = readdirSync(out).sort();
        const events = files.map((f) => f.slice(4));
        const bound = files.filter((f) => f.endsWith('-bound') || f.endsWith('-renew')).pop();
        if (code !== 0 || !bound) {
          reject(
            new Error(
              `udhcpc in ${ns} got no lease (exit ${code}; events ${events.join(', ') || 'none'}):\n${output.trim()}`,
            ),
          );
          return;
        }
        const env = Object.fromEntries(
          readFileSync(join(out, bound), 'utf8')
            .split('\n')
            .filter((l) => l.includes('='))
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
        resolve({
          ip: env.ip!,
          subnet: env.subnet,
          router: env.router,
          mtu: env.mtu === undefined ? undefined : Number(env.mtu),
          dns: env.dns,
          domain: env.domain,
          hostname: env.hostname,
          lease: env.lease === undefined ? undefined : Number(env.lease),
          serverid: env.serverid,
          events,
          elapsedMs,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

export interface ProcessEntry {
  pid: number;
  command: string;
  cmdline: string;
}

/**
 * Live processes (zombies excluded: they hold nothing) whose command line
 * mentions `needle`, such as a state directory: it names dnsmasq and every
 * process of its launch chain.
 */
export function processesMentioning(needle: string): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (!cmdline.includes(needle)) continue;
      out.push({ pid: Number(entry), command: readFileSync(`/proc/${entry}/comm`, 'utf8').trim(), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** Live dnsmasq processes whose command line mentions `needle`. */
export function dnsmasqProcessesWith(needle: string): ProcessEntry[] {
  return processesMentioning(needle).filter((p) => p.command === 'dnsmasq');
}

/**
 * Waits until no process mentions `needle`; resolves with how long that
 * took. A process that is not our child raises no event when it dies, so
 * this polls /proc (every 5 ms), bounded by `timeoutMs`.
 */
export async function untilNoProcessMentions(needle: string, timeoutMs = 3000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const left = processesMentioning(needle);
    if (left.length === 0) return performance.now() - started;
    if (performance.now() - started > timeoutMs) {
      throw new Error(`still running ${timeoutMs} ms later: ${left.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
