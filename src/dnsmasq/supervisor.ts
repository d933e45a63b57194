/**
 * Keeps one dnsmasq (or another daemon: FRR's, src/frr/service.ts) running: the start check, restarts with exponential
 * backoff after a crash, giving up after too many crashes in a window,
 * graceful stop, reload on SIGHUP, and a status to look at.
 *
 * Operations that replace or signal the process (reload, controlled
 * restart, stop) run one at a time, in the order asked.
 */
import { EventEmitter } from 'node:events';
import { ValidationError } from '../netlink/errors.js';
import { DnsmasqGaveUpError, DnsmasqReloadError, type DnsmasqExit } from './errors.js';
import { classifyLine } from './process.js';

/** What the supervisor needs of a launched process (DnsmasqProcess, or a fake in tests). */
export interface ManagedProcess {
  readonly ready: Promise<number>;
  readonly exited: Promise<DnsmasqExit>;
  readonly pid?: number;
  readonly version?: string;
  on(event: 'line', listener: (line: string) => void): unknown;
  signal(signal: NodeJS.Signals): boolean;
  kill(): void;
  terminate(timeoutMs: number): Promise<DnsmasqExit>;
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T>;
  stderr(): string[];
}

export interface RestartPolicy {
  /** Delay before the first restart after a crash; doubled for each further crash in the window. Default 100 ms. */
  initialDelayMs: number;
  /** The longest delay between restarts. Default 10 s. */
  maxDelayMs: number;
  /** Give up when this many crashes fall within `windowMs`. Default 5. */
  maxCrashes: number;
  /** Default 60 s. */
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  maxCrashes: 5,
  windowMs: 60_000,
};

export function validatePolicy(policy: Partial<RestartPolicy> = {}, field = 'restart'): RestartPolicy {
  const out = { ...DEFAULT_RESTART_POLICY };
  for (const key of Object.keys(policy)) {
    if (!(key in DEFAULT_RESTART_POLICY))
      throw new ValidationError(
        `${field}.${key}`,
        `unknown field; expected one of ${Object.keys(DEFAULT_RESTART_POLICY).join(', ')}`,
        (policy as any)[key],
      );
    const value = (policy as any)[key];
    if (value === undefined) continue;
    const min = key === 'maxCrashes' ? 1 : 0;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 2 ** 31 - 1) {
      throw new ValidationError(`${field}.${key}`, `expected a whole number from ${min}`, value);
    }
    (out as any)[key] = value;
  }
  if (out.maxDelayMs < out.initialDelayMs)
    throw new ValidationError(
      `${field}.maxDelayMs`,
      `is less than initialDelayMs (${out.initialDelayMs})`,
      out.maxDelayMs,
    );
  return out;
}

/** Delay before the restart that follows the n-th crash (1-based) in the window. */
export function backoffDelay(policy: RestartPolicy, crashes: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, crashes - 1));
}

export type SupervisorState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export interface RestartInfo {
  /** Why: a crash (with backoff) or a change that needed a fresh process (stale leases pruned). */
  reason: 'crash' | 'hosts-changed';
  pid: number;
  /** Crashes counted in the current window (0 for a controlled restart). */
  crashesInWindow: number;
  /** The backoff delay that was waited. */
  delayMs: number;
  /** From the old process's end to the new one being ready. */
  downtimeMs: number;
  /** How the previous process ended. */
  previousExit?: DnsmasqExit;
}

export interface SupervisorStatus {
  state: SupervisorState;
  /** dnsmasq's pid (host-visible) while running. */
  pid?: number;
  version?: string;
  startedAt?: Date;
  uptimeMs?: number;
  /** Restarts after crashes, since the start. */
  restarts: number;
  /** Restarts vxnet chose (to prune stale leases). */
  controlledRestarts: number;
  /** SIGHUP reloads confirmed by dnsmasq. */
  reloads: number;
  crashesInWindow: number;
  lastExit?: DnsmasqExit;
  /** When the next restart is due, while waiting out a backoff. */
  nextRestartAt?: Date;
}

export interface SupervisorOptions {
  instance: string;
  hostsPath: string;
  policy: RestartPolicy;
  stopTimeoutMs: number;
  reloadTimeoutMs: number;
  /** The error emitted on giving up; default a DnsmasqGaveUpError (other daemons, FRR's, name themselves). */
  gaveUp?: (
    crashes: number,
    windowMs: number,
    lastExit: DnsmasqExit | undefined,
    lastError: Error | undefined,
  ) => Error;
}

export class Supervisor extends EventEmitter<{
  ready: [number];
  exit: [DnsmasqExit];
  restart: [RestartInfo];
  error: [Error];
  log: [string];
}> {
  private state: SupervisorState = 'stopped';
  private current?: ManagedProcess;
  private startedAt?: Date;
  private crashes: number[] = [];
  private restarts = 0;
  private controlledRestarts = 0;
  private reloads = 0;
  private lastExit?: DnsmasqExit;
  private timer?: ReturnType<typeof setTimeout>;
  private nextRestartAt?: Date;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly launch: () => ManagedProcess,
    private readonly options: SupervisorOptions,
  ) {
    super();
  }

  status(): SupervisorStatus {
    const current = this.state === 'running' ? this.current : undefined;
    const startedAt = this.startedAt; // set once the current process is ready, before the state is running
    return {
      state: this.state,
      ...(current && startedAt
        ? {
            pid: current.pid,
            version: current.version,
            startedAt,
            uptimeMs: Date.now() - startedAt.getTime(),
          }
        : {}),
      restarts: this.restarts,
      controlledRestarts: this.controlledRestarts,
      reloads: this.reloads,
      crashesInWindow: this.crashesInWindow(),
      ...(this.lastExit ? { lastExit: this.lastExit } : {}),
      ...(this.nextRestartAt ? { nextRestartAt: this.nextRestartAt } : {}),
    };
  }

  /** The first start: a failure is thrown to the caller (with dnsmasq's stderr), not retried. */
  async start(): Promise<number> {
    if (this.state !== 'stopped') throw new Error(`cannot start: the supervisor is ${this.state}`);
    this.state = 'starting';
    const proc = this.launch();
    try {
      const pid = await this.adopt(proc);
      this.state = 'running';
      return pid;
    } catch (error) {
      this.current = undefined;
      this.state = 'stopped';
      await proc.exited;
      throw error;
    }
  }

  /** Waits for a launched process to be ready, then watches it for an unexpected end ('exit' reports only those). */
  private async adopt(proc: ManagedProcess): Promise<number> {
    this.current = proc;
    proc.on('line', (line) => this.emit('log', line));
    const pid = await proc.ready;
    this.startedAt = new Date();
    void proc.exited.then((exit) => this.exited(proc, exit));
    this.emit('ready', pid);
    return pid;
  }

  private exited(proc: ManagedProcess, exit: DnsmasqExit): void {
    if (this.current !== proc) return; // replaced on purpose
    this.current = undefined;
    this.lastExit = exit;
    this.emit('exit', exit);
    if (this.state !== 'running') return;
    this.crashed(exit, undefined);
  }

  private crashesInWindow(now = Date.now()): number {
    this.crashes = this.crashes.filter((t) => now - t < this.options.policy.windowMs);
    return this.crashes.length;
  }

  private crashed(exit: DnsmasqExit | undefined, error: Error | undefined): void {
    const now = Date.now();
    this.crashes.push(now);
    const count = this.crashesInWindow(now);
    const { policy } = this.options;
    if (count >= policy.maxCrashes) {
      this.state = 'failed';
      this.nextRestartAt = undefined;
      const lastExit = exit ?? this.lastExit;
      this.emit(
        'error',
        this.options.gaveUp?.(count, policy.windowMs, lastExit, error) ??
          new DnsmasqGaveUpError(this.options.instance, count, policy.windowMs, lastExit, error),
      );
      return;
    }
    const delayMs = backoffDelay(policy, count);
    this.state = 'restarting';
    this.nextRestartAt = new Date(now + delayMs);
    this.timer = setTimeout(() => void this.relaunch(now, delayMs, exit), delayMs);
  }

  private async relaunch(downSince: number, delayMs: number, previousExit: DnsmasqExit | undefined): Promise<void> {
    this.timer = undefined;
    this.nextRestartAt = undefined;
    if (this.state !== 'restarting') return;
    const proc = this.launch();
    try {
      const pid = await this.adopt(proc);
      if (this.state !== 'restarting') return; // stopped meanwhile: stop() ends it
      this.state = 'running';
      this.restarts++;
      this.emit('restart', {
        reason: 'crash',
        pid,
        crashesInWindow: this.crashesInWindow(),
        delayMs,
        downtimeMs: Date.now() - downSince,
        previousExit,
      });
    } catch (error) {
      // A restart that does not come up counts as one more crash.
      if (this.current === proc) this.current = undefined;
      const exit = await proc.exited;
      this.lastExit = exit;
      if (this.state !== 'restarting') return;
      this.emit('exit', exit);
      this.crashed(exit, error as Error);
    }
  }

  private serial<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(operation, operation);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * SIGHUP: dnsmasq re-reads its hosts file. Resolves when dnsmasq confirms
   * it; 'deferred' when no dnsmasq is running (the next start reads the file).
   */
  reload(): Promise<'reloaded' | 'deferred'> {
    return this.serial(async () => {
      const proc = this.current;
      if (this.state !== 'running' || !proc) return 'deferred';
      const confirmation = proc.waitForLine(
        (line) => {
          const meaning = classifyLine(line, this.options.hostsPath);
          if (meaning.kind === 'hosts-read') return { ok: true as const };
          if (meaning.kind === 'hosts-failed') return { ok: false as const, reason: meaning.reason };
          return undefined;
        },
        this.options.reloadTimeoutMs,
        `confirmation that ${this.options.hostsPath} was read`,
      );
      if (!proc.signal('SIGHUP')) {
        confirmation.catch(() => undefined);
        return 'deferred';
      }
      let result: { ok: true } | { ok: false; reason: string };
      try {
        result = await confirmation;
      } catch (error) {
        throw new DnsmasqReloadError(this.options.instance, (error as Error).message, proc.stderr());
      }
      if (!result.ok) throw new DnsmasqReloadError(this.options.instance, result.reason, proc.stderr());
      this.reloads++;
      return 'reloaded';
    });
  }

  /**
   * Replaces the running dnsmasq: stop it gracefully, run `between` while
   * none runs (to edit its lease file), start a new one. While a crash
   * restart is pending, only `between` runs: the coming restart picks it up.
   */
  restart(between: () => Promise<void>): Promise<'restarted' | 'deferred'> {
    return this.serial(async () => {
      if (this.state === 'restarting') {
        await between();
        return 'deferred';
      }
      if (this.state !== 'running' || !this.current) throw new Error(`cannot restart: the supervisor is ${this.state}`);
      const old = this.current;
      this.current = undefined;
      this.state = 'starting';
      const stoppedAt = Date.now();
      const previousExit = await old.terminate(this.options.stopTimeoutMs);
      this.lastExit = previousExit;
      try {
        await between();
        const pid = await this.adopt(this.launch());
        this.state = 'running';
        this.controlledRestarts++;
        this.emit('restart', {
          reason: 'hosts-changed',
          pid,
          crashesInWindow: 0,
          delayMs: 0,
          downtimeMs: Date.now() - stoppedAt,
          previousExit,
        });
        return 'restarted';
      } catch (error) {
        // Not up again: from here on it is a crash like any other, with backoff.
        this.current = undefined;
        this.state = 'running';
        this.crashed(undefined, error as Error);
        throw error;
      }
    });
  }

  /** Graceful stop: SIGTERM, SIGKILL after the stop timeout. Idempotent. */
  stop(): Promise<void> {
    return this.serial(async () => {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.nextRestartAt = undefined;
      if (this.state === 'stopped') return;
      this.state = 'stopping';
      const proc = this.current;
      this.current = undefined;
      if (proc) this.lastExit = await proc.terminate(this.options.stopTimeoutMs);
      this.state = 'stopped';
    });
  }
}
