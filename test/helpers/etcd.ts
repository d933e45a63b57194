/**
 * A real etcd cluster on the lab: one member (Debian's etcd-server) in each
 * of the first N host namespaces, client and peer URLs on the hosts'
 * underlay addresses, data directories under a per-run temp directory.
 * destroy() kills every member and removes the directory, whatever state a
 * failed test left. `etcdctl` is the test's oracle (and writer, for the
 * bench and the malformed-value tests), never the library's.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestCerts } from './etcd-tls.js';
import type { Lab, LabHost } from './lab.js';

export interface EtcdMember {
  name: string;
  host: LabHost;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process?: ChildProcess;
}

/** Faster than etcd's defaults (100 ms / 1000 ms) is not needed; these are the defaults, named for the tests' waits. */
export const HEARTBEAT_MS = 100;
export const ELECTION_MS = 1000;

export class EtcdCluster {
  readonly members: EtcdMember[];
  private readonly token: string;

  /** The per-run directory (data directories, logs, certificates). */
  readonly dir: string;

  private constructor(
    readonly lab: Lab,
    hosts: LabHost[],
    private readonly extraArgs: string[] = [],
    /** Serve clients over TLS with these files (client certificates required); peers stay plain. */
    readonly tls?: TestCerts,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'vxnet-etcd-'));
    this.token = `${lab.prefix}-etcd`;
    this.members = hosts.map((host, i) => ({
      name: `e${i + 1}`,
      host,
      clientUrl: `${tls ? 'https' : 'http'}://${host.address}:2379`,
      peerUrl: `http://${host.address}:2380`,
      dataDir: join(this.dir, `e${i + 1}`),
    }));
  }

  /** Starts a member on each of the lab's first `size` hosts and waits for a healthy cluster. */
  static async start(
    lab: Lab,
    size = 3,
    extraArgs: string[] = [],
    tls?: (dir: string, addresses: string[]) => TestCerts,
  ): Promise<EtcdCluster> {
    const hosts = lab.hosts.slice(0, size);
    const dir = mkdtempSync(join(tmpdir(), 'vxnet-etcd-certs-'));
    let certs: TestCerts | undefined;
    try {
      certs = tls?.(
        dir,
        hosts.map((h) => h.address),
      );
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    const cluster = new EtcdCluster(lab, hosts, extraArgs, certs);
    cluster.certDir = dir;
    try {
      for (const member of cluster.members) cluster.startMember(member, 'new');
      await cluster.waitHealthy();
    } catch (error) {
      cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** The client URLs, the given host's own member first (an agent talks to its nearest member). */
  endpointsFor(host: LabHost): string[] {
    const own = this.members.filter((m) => m.host.index === host.index);
    return [...own, ...this.members.filter((m) => m.host.index !== host.index)].map((m) => m.clientUrl);
  }

  private startMember(member: EtcdMember, state: 'new' | 'existing'): void {
    const log = openSync(`${member.dataDir}.log`, 'a');
    member.process = spawn(
      'ip',
      [
        'netns',
        'exec',
        member.host.ns,
        'etcd',
        '--name',
        member.name,
        '--data-dir',
        member.dataDir,
        '--listen-client-urls',
        member.clientUrl,
        '--advertise-client-urls',
        member.clientUrl,
        '--listen-peer-urls',
        member.peerUrl,
        '--initial-advertise-peer-urls',
        member.peerUrl,
        '--initial-cluster',
        this.members.map((m) => `${m.name}=${m.peerUrl}`).join(','),
        '--initial-cluster-state',
        state,
        '--initial-cluster-token',
        this.token,
        '--heartbeat-interval',
        String(HEARTBEAT_MS),
        '--election-timeout',
        String(ELECTION_MS),
        ...this.extraArgs,
        ...(this.tls
          ? [
              '--cert-file',
              this.tls.cert,
              '--key-file',
              this.tls.key,
              '--trusted-ca-file',
              this.tls.ca,
              '--client-cert-auth',
            ]
          : []),
      ],
      { stdio: ['ignore', log, log] },
    );
  }

  /** `etcdctl ARGS` from `host` (default: the first member's host) against every member. */
  etcdctl(args: string[], options: { host?: LabHost; input?: string } = {}): { code: number | null; out: string } {
    const host = options.host ?? this.members[0]!.host;
    const run = spawnSync(
      'ip',
      [
        'netns',
        'exec',
        host.ns,
        'etcdctl',
        '--endpoints',
        this.members.map((m) => m.clientUrl).join(','),
        '--dial-timeout',
        '1s',
        '--command-timeout',
        '3s',
        ...this.tlsArgs(),
        ...args,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, ETCDCTL_API: '3' },
        ...(options.input ? { input: options.input } : {}),
      },
    );
    return { code: run.status, out: `${run.stdout}${run.stderr}` };
  }

  private certDir?: string;

  /** etcdctl's TLS flags (the members' certificate doubles as the client's). */
  private tlsArgs(): string[] {
    return this.tls ? ['--cacert', this.tls.ca, '--cert', this.tls.cert, '--key', this.tls.key] : [];
  }

  /** The member that leads now (from each running member's own status), if any. */
  leader(): EtcdMember | undefined {
    for (const member of this.members) {
      if (!this.running(member)) continue;
      const run = spawnSync(
        'ip',
        [
          'netns',
          'exec',
          member.host.ns,
          'etcdctl',
          '--endpoints',
          member.clientUrl,
          'endpoint',
          'status',
          '-w',
          'json',
        ],
        { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 5000 },
      );
      if (run.status !== 0) continue;
      // etcdctl prints 64-bit IDs as JSON numbers: read them as text so no digit is lost.
      const leaderId = /"leader":(\d+)/.exec(run.stdout)?.[1];
      if (!leaderId || leaderId === '0') continue;
      const id = BigInt(leaderId);
      const list = spawnSync(
        'ip',
        [
          'netns',
          'exec',
          member.host.ns,
          'etcdctl',
          '--endpoints',
          member.clientUrl,
          ...this.tlsArgs(),
          'member',
          'list',
          '-w',
          'json',
        ],
        { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 5000 },
      );
      const text = list.stdout.replace(/"ID":(\d+)/g, '"ID":"$1"');
      const found = (JSON.parse(text).members as { ID: string; name: string }[]).find((m) => {
        return BigInt(m.ID) === id;
      });
      return this.members.find((m) => m.name === found?.name);
    }
    return undefined;
  }

  running(member: EtcdMember): boolean {
    return member.process !== undefined && member.process.exitCode === null && member.process.signalCode === null;
  }

  /** SIGKILL (a crash): its data directory stays, restart() brings it back. */
  async kill(member: EtcdMember): Promise<void> {
    await this.signal(member, 'SIGKILL');
  }

  async stop(member: EtcdMember): Promise<void> {
    await this.signal(member, 'SIGTERM');
  }

  private async signal(member: EtcdMember, signal: NodeJS.Signals): Promise<void> {
    const child = member.process;
    if (!child || !this.running(member)) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /** Starts a stopped member again from its data directory. */
  restart(member: EtcdMember): void {
    this.startMember(member, 'existing');
  }

  /** Waits until every running member answers its health check. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const run = this.etcdctl(['endpoint', 'health']);
      if (run.code === 0) return;
      last = run.out;
      for (const member of this.members)
        if (member.process && member.process.exitCode !== null)
          throw new Error(`etcd ${member.name} exited (${member.process.exitCode}): see ${member.dataDir}.log`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`etcd not healthy within ${timeoutMs} ms: ${last}`);
  }

  /** Kills every member and removes the data directories. Safe to call twice. */
  destroy(): void {
    for (const member of this.members) {
      if (this.running(member)) member.process!.kill('SIGKILL');
    }
    // The processes die with SIGKILL at once; their namespaces go with the lab.
    spawnSync('sleep', ['0.2']);
    rmSync(this.dir, { recursive: true, force: true });
    if (this.certDir) rmSync(this.certDir, { recursive: true, force: true });
  }
}

/** Whether etcd and etcdctl are installed (under CI=true a missing one fails the test: see integrationReady). */
export const ETCD_TOOLS = ['etcd', 'etcdctl'];
