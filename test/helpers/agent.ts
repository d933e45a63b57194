/**
 * `vxnet agent` as a user runs it, for the integration tests and the bench:
 * the CLI in its own process (`--namespace NS`, or started inside the
 * namespace with `ip netns exec NS`), its JSON log read line by line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
/** A line of the agent's JSON log (src/agent/log.ts): time, level, network, event, message and the event's fields. */
export interface AgentLogEntry {
  time: string;
  level: 'info' | 'warn' | 'error';
  network: string;
  event: string;
  message: string;
  [field: string]: any;
}

import { CLI } from './cli.js';

export { CLI, vxnet } from './cli.js';

export interface AgentStart {
  /** The host's namespace. */
  ns: string;
  /** 'option': `vxnet agent FILE --namespace NS`; 'exec': `ip netns exec NS vxnet agent FILE`. */
  via?: 'option' | 'exec';
  /** More arguments (--destroy-on-exit, --resync 5). */
  args?: string[];
}

export class AgentProcess {
  readonly entries: AgentLogEntry[] = [];
  /** Lines that were not JSON (there should be none), and stderr. */
  readonly other: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();
  private buffered = '';

  private constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      this.buffered += chunk;
      let newline: number;
      while ((newline = this.buffered.indexOf('\n')) !== -1) {
        const line = this.buffered.slice(0, newline);
        this.buffered = this.buffered.slice(newline + 1);
        try {
          this.entries.push(JSON.parse(line) as AgentLogEntry);
        } catch {
          this.other.push(line);
        }
      }
      for (const wake of this.waiters) wake();
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => this.other.push(chunk));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        resolve({ code, signal });
        for (const wake of this.waiters) wake();
      }),
    );
  }

  static start(file: string, options: AgentStart): AgentProcess {
    const args = ['agent', file, '--log-format', 'json', ...(options.args ?? [])];
    const child =
      options.via === 'exec'
        ? spawn('ip', ['netns', 'exec', options.ns, process.execPath, ...CLI, ...args], {
            stdio: ['ignore', 'pipe', 'pipe'],
          })
        : spawn(process.execPath, [...CLI, ...args, '--namespace', options.ns], { stdio: ['ignore', 'pipe', 'pipe'] });
    return new AgentProcess(child);
  }

  /** The agent's own pid (from its `started` entry): with `ip netns exec`, the child is `ip`, which execs node. */
  get pid(): number {
    return this.entries.find((e) => e.event === 'started')?.pid ?? this.child.pid!;
  }

  /** The first entry from index `from` on that matches; rejects after `timeoutMs` or when the agent exits first. */
  waitFor(
    match: (entry: AgentLogEntry) => boolean,
    options: { from?: number; timeoutMs?: number; what?: string } = {},
  ): Promise<AgentLogEntry> {
    const from = options.from ?? 0;
    return new Promise((resolve, reject) => {
      let exited = false;
      void this.exited.then(() => (exited = true));
      const check = (): void => {
        const found = this.entries.slice(from).find(match);
        if (found) done(() => resolve(found));
        else if (exited || this.child.exitCode !== null)
          done(() =>
            reject(new Error(`the agent exited before ${options.what ?? 'the entry'}:\n${this.transcript()}`)),
          );
      };
      const timer = setTimeout(
        () =>
          done(() =>
            reject(
              new Error(
                `no ${options.what ?? 'matching entry'} within ${options.timeoutMs ?? 15_000} ms:\n${this.transcript()}`,
              ),
            ),
          ),
        options.timeoutMs ?? 15_000,
      );
      const done = (finish: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        finish();
      };
      this.waiters.add(check);
      check();
    });
  }

  ready(timeoutMs = 30_000): Promise<AgentLogEntry> {
    return this.waitFor((e) => e.event === 'started', { timeoutMs, what: 'the start' });
  }

  signal(name: NodeJS.Signals): void {
    process.kill(this.pid, name);
  }

  /** SIGTERM, and the exit. */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.signal('SIGTERM');
    return this.exited;
  }

  /** Makes sure it is gone (test cleanup). */
  kill(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }

  transcript(): string {
    return [...this.entries.map((e) => `${e.time} ${e.level} ${e.event}: ${e.message}`), ...this.other].join('\n');
  }
}
