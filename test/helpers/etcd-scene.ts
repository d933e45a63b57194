/**
 * The scene of the etcd membership tests: a lab, an etcd cluster on its
 * first three hosts, spec files with only `membership.etcd` (no peer list
 * anywhere), agents started inside the hosts' namespaces (`ip netns exec`,
 * as they must be to reach etcd on the underlay), and the oracles: `bridge`
 * for flood entries, ping across the overlay between the bridges' gateways.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentProcess } from './agent.js';
import { EtcdCluster } from './etcd.js';
import { makeCerts } from './etcd-tls.js';
import { Lab, type LabHost } from './lab.js';
import { sh } from './netns.js';

export interface SceneOptions {
  hosts: number;
  ttl?: number;
  /** Serve etcd's clients over TLS (certificates from openssl), the specs with membership.etcd.tls. */
  tls?: boolean;
}

export class EtcdScene {
  readonly agents = new Map<number, AgentProcess>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'vxnet-etcd-specs-'));

  private constructor(
    readonly lab: Lab,
    readonly etcd: EtcdCluster,
    readonly ttl: number,
  ) {}

  static async create(options: SceneOptions): Promise<EtcdScene> {
    const lab = Lab.create({ hosts: options.hosts });
    let etcd: EtcdCluster;
    try {
      etcd = await EtcdCluster.start(lab, 3, [], options.tls ? makeCerts : undefined);
    } catch (error) {
      lab.destroy();
      throw error;
    }
    return new EtcdScene(lab, etcd, options.ttl ?? 3);
  }

  spec(host: LabHost, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name: 'seed',
      vni: 42,
      port: 4789,
      underlay: { device: 'eth0', address: host.address },
      membership: {
        etcd: {
          endpoints: this.etcd.endpointsFor(host),
          ttl: this.ttl,
          ...(this.etcd.tls ? { tls: { ca: this.etcd.tls.ca, cert: this.etcd.tls.cert, key: this.etcd.tls.key } } : {}),
        },
      },
      subnet: '10.10.0.0/24',
      gateway: `10.10.0.${host.index}`,
      vxlan: 'vx0',
      bridge: 'br0',
      // VXLAN accepted from the members only: a peer set that lags the members shows as failed pings.
      firewall: true,
      ...overrides,
    };
  }

  writeSpec(host: LabHost, overrides: Record<string, unknown> = {}): string {
    const file = join(this.dir, `h${host.index}.json`);
    writeFileSync(file, JSON.stringify(this.spec(host, overrides), null, 2));
    return file;
  }

  /** Starts host `index`'s agent inside its namespace; resolves once it has started. */
  async startAgent(index: number, options: { overrides?: Record<string, unknown>; args?: string[] } = {}) {
    const host = this.lab.host(index);
    const agent = AgentProcess.start(this.writeSpec(host, options.overrides), {
      ns: host.ns,
      via: 'exec',
      args: ['--resync', '5', ...(options.args ?? [])],
    });
    this.agents.set(index, agent);
    await agent.ready(30_000);
    return agent;
  }

  /** The flood entries (all-zeros MAC) of vx0 on host `index`, sorted. */
  flood(index: number): string[] {
    const ns = this.lab.host(index).ns;
    let text: string;
    try {
      text = sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vx0']);
    } catch {
      return [];
    }
    return (JSON.parse(text || '[]') as { mac: string; dst?: string }[])
      .filter((e) => e.mac === '00:00:00:00:00:00' && e.dst)
      .map((e) => e.dst!)
      .sort();
  }

  /** The firewall's peer set (nft set vxlan-peers of table vxnet-seed) on host `index`, sorted. */
  firewallPeers(index: number): string[] {
    const ns = this.lab.host(index).ns;
    const out = JSON.parse(
      sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'set', 'ip', 'vxnet-seed', 'vxlan-peers']),
    );
    const set = (out.nftables as { set?: { elem?: unknown[] } }[]).find((o) => o.set)?.set;
    return (set?.elem ?? []).map(String).sort();
  }

  /** Every other started host's address, sorted: what host `index`'s flood list should be. */
  othersOf(index: number, among: number[]): string[] {
    return among
      .filter((i) => i !== index)
      .map((i) => this.lab.host(i).address)
      .sort();
  }

  /** Pings between every ordered pair of `among` over the overlay (gateway to gateway); the failures. */
  async pingAll(among: number[], seconds = 8): Promise<string[]> {
    const failed: string[] = [];
    for (const from of among)
      for (const to of among) {
        if (from === to) continue;
        if (!(await this.lab.pingEventually(this.lab.host(from).ns, `10.10.0.${to}`, seconds)))
          failed.push(`h${from}→h${to}`);
      }
    return failed;
  }

  async destroy(): Promise<void> {
    for (const agent of this.agents.values()) agent.kill();
    await Promise.all([...this.agents.values()].map((a) => Promise.race([a.exited, sleep(3000)])));
    this.etcd.destroy();
    this.lab.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * What changes in host `ns`'s kernel that vxnet owns, as `ip monitor link`
 * and `bridge monitor fdb` report it: vx0/br0 link events and flood entries
 * (all-zeros MAC). Entries the bridge learns from traffic are not vxnet's
 * writes, and are left out.
 */
export function monitorKernel(ns: string): { changes: string[]; stop(): void } {
  const changes: string[] = [];
  const children = [
    spawn('ip', ['-n', ns, 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'ignore'] }),
    spawn('bridge', ['-n', ns, 'monitor', 'fdb'], { stdio: ['ignore', 'pipe', 'ignore'] }),
  ];
  for (const child of children) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      for (const line of chunk.split('\n'))
        if (
          /\b(vx0|br0)\b/.test(line) &&
          (!line.includes('dev vx0') ||
            line.startsWith('00:00:00:00:00:00') ||
            line.startsWith('Deleted 00:00:00:00:00:00'))
        )
          changes.push(line);
    });
  }
  return {
    changes,
    stop: () => {
      for (const child of children) child.kill();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function eventually(what: string, check: () => boolean, ms = 5000, stepMs = 50): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(stepMs);
  }
  return Date.now() - start;
}
