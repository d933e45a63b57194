/**
 * Rendering a validated spec into dnsmasq's files, and writing them.
 *
 * The main configuration is read once, at start. Static hosts live in a
 * separate dhcp-hostsfile because that is what dnsmasq re-reads on SIGHUP:
 * changing a mapping then needs no restart.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import type { ValidHost, ValidInstance, ValidSpec } from './spec.js';

export interface InstancePaths {
  /** The instance's state directory. */
  dir: string;
  /** dnsmasq.conf: regenerated at every start. */
  config: string;
  /** Static hosts (dhcp-hostsfile), re-read on SIGHUP. */
  hosts: string;
  /** dnsmasq's lease database; kept across restarts so leases survive them. */
  leases: string;
  /** The pid of the running dnsmasq, as seen from this host (written by vxnet). */
  pid: string;
}

export function instancePaths(stateDir: string): InstancePaths {
  return {
    dir: stateDir,
    config: `${stateDir}/dnsmasq.conf`,
    hosts: `${stateDir}/hosts`,
    leases: `${stateDir}/leases`,
    pid: `${stateDir}/dnsmasq.pid`,
  };
}

function leaseText(time: number | 'infinite'): string {
  return String(time);
}

/** The number of addresses a spec can hand out: dnsmasq's default cap (1000) would silently stop a /16. */
export function leaseCapacity(spec: ValidSpec): number {
  return spec.ranges.reduce((sum, r) => sum + (r.last - r.first + 1), 0) + spec.hosts.length;
}

export function renderConfig(
  spec: ValidSpec,
  paths: InstancePaths,
  instance: Pick<ValidInstance, 'instance' | 'user' | 'group'>,
): string {
  const lines = [
    `# dnsmasq configuration of vxnet instance ${instance.instance}.`,
    '# Written by vxnet at every start: edits here are lost.',
    `interface=${spec.interface}`,
    // Bind to the interface's own addresses (and the DHCP socket to the device),
    // so other dnsmasq instances can serve other bridges on the same host.
    'bind-interfaces',
    'except-interface=lo',
    // Logs go to stderr, which the supervisor reads: that is how it sees
    // dnsmasq start, reload, and why it failed.
    'log-facility=-',
    // No pid file from dnsmasq: inside its own PID namespace it would write
    // its namespace-local pid. vxnet writes the host-visible one.
    'pid-file=',
    `dhcp-leasefile=${paths.leases}`,
    `dhcp-hostsfile=${paths.hosts}`,
    `dhcp-lease-max=${leaseCapacity(spec)}`,
  ];
  if (instance.user) lines.push(`user=${instance.user}`);
  if (instance.group) lines.push(`group=${instance.group}`);
  for (const range of spec.ranges) {
    lines.push(`dhcp-range=${range.start},${range.end},${spec.subnet.netmask},${leaseText(range.leaseTime)}`);
  }
  lines.push(`dhcp-option=option:router,${spec.gateway}`);
  // Forced: most clients (udhcpc among them) do not ask for option 26, yet
  // a wrong MTU on a VXLAN overlay silently drops every large packet.
  if (spec.mtu !== undefined) lines.push(`dhcp-option-force=option:mtu,${spec.mtu}`);
  if (spec.dnsServers.length) lines.push(`dhcp-option=option:dns-server,${spec.dnsServers.join(',')}`);
  if (spec.domain) lines.push(`domain=${spec.domain}`);
  if (spec.dns === false) {
    lines.push('port=0');
  } else {
    lines.push(`port=${spec.dns.port}`);
    // The host's /etc/hosts describes the host, not the overlay.
    lines.push('no-hosts');
    if (spec.domain) lines.push(`local=/${spec.domain}/`);
    if (spec.dns.upstream.length) {
      lines.push('no-resolv');
      for (const server of spec.dns.upstream) lines.push(`server=${server}`);
    }
  }
  if (spec.authoritative) lines.push('dhcp-authoritative');
  if (!spec.pingCheck) lines.push('no-ping');
  if (spec.logDhcp) lines.push('log-dhcp');
  return `${lines.join('\n')}\n`;
}

/** One dhcp-host line per static host: MAC, IP, then name and lease time when given. */
export function renderHosts(hosts: readonly ValidHost[]): string {
  return hosts
    .map(
      (h) =>
        [h.mac, h.ip, ...(h.name ? [h.name] : []), ...(h.leaseTime !== undefined ? [leaseText(h.leaseTime)] : [])].join(
          ',',
        ) + '\n',
    )
    .join('');
}

/**
 * Writes a file by renaming a complete temporary copy over it, so dnsmasq
 * (reading on SIGHUP) never sees half a file. Mode 0644 and a 0755 directory:
 * dnsmasq re-reads the hosts file after it has dropped root.
 */
let temporaries = 0;
export async function writeAtomic(path: string, contents: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${temporaries++}.tmp`;
  await writeFile(temporary, contents, { mode: 0o644 });
  await rename(temporary, path);
}

export function writeAtomicSync(path: string, contents: string): void {
  const temporary = `${path}.${process.pid}.${temporaries++}.tmp`;
  writeFileSync(temporary, contents, { mode: 0o644 });
  renameSync(temporary, path);
}

export async function writeInstanceFiles(paths: InstancePaths, config: string, hosts: string): Promise<void> {
  await mkdir(paths.dir, { recursive: true, mode: 0o755 });
  await writeAtomic(paths.hosts, hosts);
  await writeAtomic(paths.config, config);
}
