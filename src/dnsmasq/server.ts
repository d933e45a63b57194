/**
 * DnsmasqServer: DHCP for an overlay, served by a supervised dnsmasq on the
 * overlay's bridge.
 *
 *   const server = await DnsmasqServer.start(
 *     {
 *       interface: 'br0',
 *       subnet: '10.42.0.0/24',
 *       gateway: '10.42.0.1',
 *       ranges: [{ start: '10.42.0.100', end: '10.42.0.199' }],
 *       mtu: 1450,
 *     },
 *     { namespace: 'host1' },
 *   );
 *   server.on('leases', ({ added }) => ...);
 *   await server.updateHosts([{ mac: '02:00:00:00:00:01', ip: '10.42.0.10', name: 'db' }]);
 *   await server.stop();
 */
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { ValidationError, VxnetError } from '../netlink/errors.js';
import {
  instancePaths,
  type InstancePaths,
  renderConfig,
  renderHosts,
  writeAtomic,
  writeAtomicSync,
  writeInstanceFiles,
} from './config.js';
import type { DnsmasqExit } from './errors.js';
import {
  type Lease,
  type LeaseChanges,
  LeaseWatcher,
  parseLeases,
  pruneLeaseText,
  readLeases,
  type StaleLease,
  staleLeases,
} from './leases.js';
import { findTools, preflight } from './preflight.js';
import { DnsmasqProcess } from './process.js';
import {
  type DnsmasqSpec,
  type InstanceOptions,
  type StaticHost,
  validateHosts,
  validateInstance,
  validateSpec,
  type ValidHost,
  type ValidSpec,
} from './spec.js';
import {
  type RestartInfo,
  type RestartPolicy,
  Supervisor,
  type SupervisorStatus,
  validatePolicy,
} from './supervisor.js';

export interface DnsmasqServerOptions extends InstanceOptions {
  restart?: Partial<RestartPolicy>;
  /** How long dnsmasq may take to report ready. Default 5000 ms. */
  startTimeoutMs?: number;
  /** How long a graceful stop may take before SIGKILL. Default 5000 ms. */
  stopTimeoutMs?: number;
  /** How long dnsmasq may take to confirm a reload. Default 5000 ms. */
  reloadTimeoutMs?: number;
  /**
   * Check the host before starting (interface and address, port 67 and the
   * DNS port free, no other supervisor on this instance). Default true.
   * Finding dnsmasq itself is never skipped.
   */
  preflight?: boolean;
}

export interface DnsmasqStatus extends SupervisorStatus {
  instance: string;
  namespace?: string;
  paths: InstancePaths;
}

export interface HostsUpdate {
  /**
   * 'reloaded': dnsmasq re-read the hosts file (SIGHUP) and confirmed it.
   * 'restarted': stale leases had to be removed, which needs a fresh process.
   * 'deferred': dnsmasq is between a crash and its restart; the restart reads the new file.
   */
  method: 'reloaded' | 'restarted' | 'deferred';
  /** Leases removed because the new mappings made them wrong. */
  pruned: StaleLease[];
}

export interface DnsmasqServerEvents {
  /** The lease file changed: what is leased now, and what was added, removed or changed. */
  leases: [LeaseChanges];
  /** A new dnsmasq runs: after a crash, or after a change that needed a fresh process. */
  restart: [RestartInfo];
  /** dnsmasq ended when it was not asked to (a crash). */
  exit: [DnsmasqExit];
  /** The supervisor gave up (DnsmasqGaveUpError). Without a listener, node throws it, as for any emitter. */
  error: [Error];
  /** Trouble that does not stop the service (the lease watcher failed, the pid file could not be written). */
  warning: [Error];
  /** Every line dnsmasq writes to stderr. */
  log: [string];
}

function timeout(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > 2 ** 31 - 1) {
    throw new ValidationError(field, 'expected a positive whole number of milliseconds', value);
  }
  return value;
}

export class DnsmasqServer extends EventEmitter<DnsmasqServerEvents> implements AsyncDisposable {
  readonly instance: string;
  readonly namespace?: string;
  readonly paths: InstancePaths;
  private current: ValidSpec;
  private readonly supervisor: Supervisor;
  private readonly watcher: LeaseWatcher;
  private stopping?: Promise<void>;
  private updates: Promise<unknown> = Promise.resolve();

  private constructor(
    spec: ValidSpec,
    instance: string,
    namespace: string | undefined,
    paths: InstancePaths,
    supervisor: Supervisor,
  ) {
    super();
    this.current = spec;
    this.instance = instance;
    this.namespace = namespace;
    this.paths = paths;
    this.supervisor = supervisor;
    this.watcher = new LeaseWatcher(paths.leases);
    supervisor.on('log', (line) => this.emit('log', line));
    supervisor.on('exit', (exit) => this.emit('exit', exit));
    supervisor.on('ready', (pid) => this.writePid(pid));
    supervisor.on('restart', (info) => this.emit('restart', info));
    supervisor.on('error', (error) => {
      rmSync(this.paths.pid, { force: true });
      this.watcher.close();
      this.emit('error', error);
    });
    this.watcher.on('change', (changes) => this.emit('leases', changes));
    this.watcher.on('error', (error) => this.emit('warning', error));
  }

  /**
   * Validates everything, checks the host, writes the instance's files and
   * starts dnsmasq; resolves once dnsmasq serves. Invalid input throws a
   * ValidationError before anything is written; a host problem a
   * PreflightError; dnsmasq failing to start a DnsmasqStartError with its
   * own stderr (and no process left behind).
   */
  static async start(spec: DnsmasqSpec, options: DnsmasqServerOptions = {}): Promise<DnsmasqServer> {
    const valid = validateSpec(spec);
    const { restart, startTimeoutMs, stopTimeoutMs, reloadTimeoutMs, preflight: check, ...instanceOptions } = options;
    const instance = validateInstance(instanceOptions, valid);
    const policy = validatePolicy(restart);
    const timeouts = {
      start: timeout(startTimeoutMs, 'startTimeoutMs', 5000),
      stop: timeout(stopTimeoutMs, 'stopTimeoutMs', 5000),
      reload: timeout(reloadTimeoutMs, 'reloadTimeoutMs', 5000),
    };
    if (check !== undefined && typeof check !== 'boolean')
      throw new ValidationError('preflight', 'expected true or false', check);
    const paths = instancePaths(instance.stateDir);
    const config = renderConfig(valid, paths, instance);
    const hosts = renderHosts(valid.hosts);

    const tools = check === false ? findTools(instance) : (await preflight(valid, instance, paths)).tools;
    await writeInstanceFiles(paths, config, hosts);

    const supervisor = new Supervisor(
      () =>
        DnsmasqProcess.launch({
          instance: instance.instance,
          tools,
          configPath: paths.config,
          hostsPath: paths.hosts,
          namespace: instance.namespace,
          startTimeoutMs: timeouts.start,
        }),
      {
        instance: instance.instance,
        hostsPath: paths.hosts,
        policy,
        stopTimeoutMs: timeouts.stop,
        reloadTimeoutMs: timeouts.reload,
      },
    );
    const server = new DnsmasqServer(valid, instance.instance, instance.namespace, paths, supervisor);
    await supervisor.start();
    try {
      await server.watcher.start();
    } catch (error) {
      server.emit('warning', error as Error);
    }
    return server;
  }

  /** The validated spec in force (hosts as last updated). */
  get spec(): ValidSpec {
    return structuredClone(this.current);
  }

  status(): DnsmasqStatus {
    return {
      ...this.supervisor.status(),
      instance: this.instance,
      ...(this.namespace ? { namespace: this.namespace } : {}),
      paths: this.paths,
    };
  }

  /** The leases in dnsmasq's lease file now. */
  leases(): Promise<Lease[]> {
    return readLeases(this.paths.leases);
  }

  /**
   * Replaces the static mappings. Validated first (nothing is written when a
   * host is invalid). When a lease contradicts the new mappings (another
   * client holds an address now fixed to a MAC; a MAC holds another address
   * than its fixed one), the lease is removed, which needs a fresh dnsmasq:
   * it only reads its lease file at start. Otherwise dnsmasq re-reads the
   * hosts file on SIGHUP, without a restart.
   */
  async updateHosts(hosts: StaticHost[]): Promise<HostsUpdate> {
    const valid = validateHosts(hosts, this.current, 'hosts');
    // One update at a time: each decides on the leases and hosts the previous one left.
    const run = this.updates.then(() => this.applyHosts(valid));
    this.updates = run.catch(() => undefined);
    return run;
  }

  private async applyHosts(valid: ValidHost[]): Promise<HostsUpdate> {
    const state = this.supervisor.status().state;
    if (this.stopping || state === 'stopped' || state === 'failed') {
      throw new VxnetError(
        `dnsmasq instance ${this.instance} is ${state === 'failed' ? 'failed (the supervisor gave up)' : 'stopped'}: ` +
          'start a new server to change its hosts',
      );
    }
    const stale = staleLeases(await this.leases(), valid, this.current.ranges);
    await writeAtomic(this.paths.hosts, renderHosts(valid));
    this.current = { ...this.current, hosts: valid };
    if (stale.length === 0) {
      const method = await this.supervisor.reload();
      return { method, pruned: [] };
    }
    let pruned: StaleLease[] = [];
    const method = await this.supervisor.restart(async () => {
      // dnsmasq may have written the file again before it stopped: decide on what is there now.
      const text = await readFile(this.paths.leases, 'utf8').catch(() => '');
      pruned = staleLeases(parseLeases(text), valid, this.current.ranges);
      await writeAtomic(
        this.paths.leases,
        pruneLeaseText(
          text,
          pruned.map((s) => s.lease),
        ),
      );
      await this.watcher.refresh();
    });
    return { method, pruned };
  }

  /** Stops dnsmasq (SIGTERM, then SIGKILL after stopTimeoutMs) and waits until it is gone. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.watcher.close();
      await this.supervisor.stop();
      await rm(this.paths.pid, { force: true });
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Synchronous, so the file is right by the time 'restart' is emitted or start() resolves. */
  private writePid(pid: number): void {
    try {
      writeAtomicSync(this.paths.pid, `${pid}\n`);
    } catch (error) {
      this.emit('warning', error as Error);
    }
  }
}
