/**
 * The lab: hosts, an underlay and containers, all network namespaces on this
 * machine, for integration tests, examples and the demo.
 *
 *   underlay namespace: bridge "ul" (multicast flooded: snooping off)
 *     ├─ veth ── host 1 namespace: eth0 192.168.100.1/24   (br0, vx0 ... built by vxnet)
 *     ├─ veth ── host 2 namespace: eth0 192.168.100.2/24
 *     └─ veth ── host 3 ...
 *   container namespaces: eth0, whose peer sits in a host's namespace (to be attached to its bridge)
 *
 * The lab's own plumbing uses `ip` (a test tool here); what is under test is
 * built with vxnet. Every name carries a per-run prefix, so runs never
 * collide, and destroy() removes every namespace the lab made, whatever
 * state a failed test left behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh } from './netns.js';

export interface LabOptions {
  hosts: number;
  /** Prefix of every namespace name; default vxl-<pid>-<counter>. */
  prefix?: string;
  /** Underlay addressing: IPv4 192.168.100.0/24 (default) or IPv6 fd00:100::/64. */
  family?: 4 | 6;
  /** Underlay MTU (default 1500). */
  mtu?: number;
}

export interface LabHost {
  /** 1-based. */
  index: number;
  /** Network namespace name. */
  ns: string;
  /** The underlay device inside the host. */
  dev: 'eth0';
  /** The host's underlay address (no prefix). */
  address: string;
}

export interface LabContainer {
  name: string;
  ns: string;
  host: LabHost;
  /** The container's interface. */
  dev: 'eth0';
  /** The veth end in the host namespace (to attach to the host's bridge). */
  hostDev: string;
  /** Its address with prefix: given statically, or leased by dhcp(). */
  address?: string;
}

export interface DhcpLease {
  ip: string;
  router?: string;
  mtu?: number;
}

// udhcpc's event script: on a lease, configure eth0 from it and note what was applied.
const LEASE_SCRIPT = `#!/bin/sh
case "$1" in
  bound|renew)
    prefix=24
    case "$subnet" in
      255.255.255.0) prefix=24 ;; 255.255.0.0) prefix=16 ;; 255.0.0.0) prefix=8 ;; 255.255.255.128) prefix=25 ;; 255.255.255.192) prefix=26 ;;
    esac
    ip addr flush dev "$interface"
    ip addr add "$ip/$prefix" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    [ -n "$router" ] && ip route replace default via "$router"
    printf 'ip=%s\nmask=%s\nrouter=%s\nmtu=%s\n' "$ip" "$prefix" "$router" "$mtu" > "$VXL_LEASE"
    ;;
esac
exit 0
`;

let labs = 0;

export class Lab {
  readonly prefix: string;
  readonly family: 4 | 6;
  readonly underlay: string;
  readonly hosts: LabHost[] = [];
  readonly containers: LabContainer[] = [];
  private readonly namespaces: string[] = [];

  private constructor(options: LabOptions) {
    this.prefix = options.prefix ?? `vxl-${process.pid}-${labs++}`;
    this.family = options.family ?? 4;
    this.underlay = `${this.prefix}-ul`;
  }

  /** Builds the underlay and the hosts. On failure, removes what it made. */
  static create(options: LabOptions): Lab {
    const lab = new Lab(options);
    try {
      lab.build(options);
    } catch (error) {
      lab.destroy();
      throw error;
    }
    return lab;
  }

  private addNamespace(name: string): string {
    sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  private build(options: LabOptions): void {
    const mtu = String(options.mtu ?? 1500);
    this.addNamespace(this.underlay);
    // Snooping off: the underlay floods multicast to every host, as a switch without IGMP snooping does.
    sh('ip', [
      '-n',
      this.underlay,
      'link',
      'add',
      'ul',
      'type',
      'bridge',
      'mcast_snooping',
      '0',
      'stp_state',
      '0',
      'forward_delay',
      '0',
    ]);
    sh('ip', ['-n', this.underlay, 'link', 'set', 'ul', 'mtu', mtu, 'up']);
    for (let i = 1; i <= options.hosts; i++) {
      const ns = this.addNamespace(`${this.prefix}-h${i}`);
      const address = this.family === 4 ? `192.168.100.${i}` : `fd00:100::${i}`;
      sh('ip', [
        '-n',
        this.underlay,
        'link',
        'add',
        `h${i}`,
        'mtu',
        mtu,
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        ns,
        'mtu',
        mtu,
      ]);
      sh('ip', ['-n', this.underlay, 'link', 'set', `h${i}`, 'master', 'ul', 'up']);
      sh('ip', [
        '-n',
        ns,
        'addr',
        'add',
        `${address}/${this.family === 4 ? 24 : 64}`,
        'dev',
        'eth0',
        ...(this.family === 6 ? ['nodad'] : []),
      ]);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
      this.hosts.push({ index: i, ns, dev: 'eth0', address });
    }
  }

  host(index: number): LabHost {
    const host = this.hosts[index - 1];
    if (!host) throw new Error(`the lab has no host ${index}`);
    return host;
  }

  /**
   * A container: a namespace whose eth0 is a veth into `host`'s namespace
   * (the host end is `hostDev`, left for the caller to attach to its bridge).
   * With `address` it is configured statically, with `gateway` as default route.
   */
  addContainer(
    host: LabHost,
    name: string,
    options: { address?: string; gateway?: string; mtu?: number } = {},
  ): LabContainer {
    const ns = this.addNamespace(`${this.prefix}-${name}`);
    const hostDev = `v-${name}`.slice(0, 15);
    sh('ip', ['-n', host.ns, 'link', 'add', hostDev, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    if (options.mtu) {
      sh('ip', ['-n', host.ns, 'link', 'set', hostDev, 'mtu', String(options.mtu)]);
      sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'mtu', String(options.mtu)]);
    }
    sh('ip', ['-n', host.ns, 'link', 'set', hostDev, 'up']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    if (options.address)
      sh('ip', [
        '-n',
        ns,
        'addr',
        'add',
        options.address,
        'dev',
        'eth0',
        ...(options.address.includes(':') ? ['nodad'] : []),
      ]);
    if (options.gateway) sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', options.gateway]);
    const container = { name, ns, host, dev: 'eth0' as const, hostDev, address: options.address };
    this.containers.push(container);
    return container;
  }

  /**
   * Configures a container by DHCP, as a real one would: udhcpc on eth0, whose
   * script applies the lease (address, MTU option 26, default route). Resolves
   * with what was applied; rejects with udhcpc's output if no lease came.
   */
  async dhcp(container: LabContainer, options: { tries?: number } = {}): Promise<DhcpLease> {
    const dir = mkdtempSync(join(tmpdir(), 'vxl-dhcp-'));
    const script = join(dir, 'apply.sh');
    const result = join(dir, 'lease');
    writeFileSync(script, LEASE_SCRIPT);
    chmodSync(script, 0o755);
    try {
      const run = await new Promise<{ code: number | null; output: string }>((resolve) => {
        const child = spawn(
          'ip',
          [
            'netns',
            'exec',
            container.ns,
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
          ],
          {
            env: { ...process.env, VXL_LEASE: result },
          },
        );
        let output = '';
        child.stdout.on('data', (d) => (output += d));
        child.stderr.on('data', (d) => (output += d));
        child.on('exit', (code) => resolve({ code, output }));
      });
      let text: string;
      try {
        text = readFileSync(result, 'utf8');
      } catch {
        throw new Error(`no DHCP lease for ${container.name} (udhcpc exit ${run.code}):\n${run.output.trim()}`);
      }
      const fields = Object.fromEntries(
        text
          .trim()
          .split('\n')
          .map((line) => line.split('=', 2) as [string, string]),
      );
      const lease: DhcpLease = {
        ip: fields.ip!,
        router: fields.router || undefined,
        mtu: fields.mtu ? Number(fields.mtu) : undefined,
      };
      container.address = `${lease.ip}/${fields.mask ?? 24}`;
      return lease;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** An extra namespace of the test's own (an upstream server, ...), removed with the lab. */
  addNamespaceNamed(tag: string): string {
    return this.addNamespace(`${this.prefix}-${tag}`);
  }

  /**
   * Pings from a namespace; true if every reply came back. `size` is the ICMP
   * payload; `dontFragment` sets DF (and forbids local fragmentation).
   */
  ping(
    fromNs: string,
    to: string,
    options: { count?: number; size?: number; dontFragment?: boolean; timeoutSeconds?: number } = {},
  ): boolean {
    const args = [
      'netns',
      'exec',
      fromNs,
      'ping',
      '-n',
      '-q',
      '-c',
      String(options.count ?? 2),
      '-i',
      '0.2',
      '-W',
      String(options.timeoutSeconds ?? 1),
    ];
    if (options.size !== undefined) args.push('-s', String(options.size));
    if (options.dontFragment) args.push('-M', 'do');
    args.push(to);
    return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
  }

  /** Pings until one succeeds or `seconds` pass (ARP, FDB learning and multicast joins take a moment). */
  async pingEventually(fromNs: string, to: string, seconds = 5): Promise<boolean> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      if (this.ping(fromNs, to, { count: 1, timeoutSeconds: 1 })) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  }

  /** Deletes every namespace the lab made (their devices go with them). Safe to call twice. */
  /**
   * Deletes every namespace the lab made, and vxnet's state directory of
   * each (left by a test that failed before its destroy): a namespace made
   * later may get the same inode, and so the same state key.
   */
  destroy(): void {
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        const stat = statSync(`/run/netns/${ns}`);
        rmSync(`/run/vxnet/ns-${stat.dev}-${stat.ino}`, { recursive: true, force: true });
      } catch {
        // Gone already.
      }
      spawnSync('ip', ['netns', 'del', ns]);
    }
  }

  [Symbol.dispose](): void {
    this.destroy();
  }
}
