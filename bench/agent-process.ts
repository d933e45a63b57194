/**
 * A `vxnet agent --log-format json` process as the agent benchmarks drive it:
 * its log entries as they come, a wait for the next one that matches, and a
 * clean stop (SIGTERM to the agent itself, not the `ip netns exec` in front).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LogEntry {
  event: string;
  message: string;
  level: string;
  ms?: number;
  /** A repair's: the time its last write was answered (ISO). */
  at?: string;
  pid?: number;
  trigger?: string;
  /** When this process read the line (performance.now()). */
  readAt: number;
}

export class AgentProcess {
  readonly entries: LogEntry[] = [];
  readonly child: ChildProcess;
  private readonly waiters: (() => void)[] = [];

  constructor(argv: string[]) {
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: this.child.stdout! });
    lines.on('line', (line) => {
      try {
        this.entries.push({ ...(JSON.parse(line) as Omit<LogEntry, 'readAt'>), readAt: performance.now() });
      } catch {
        // Not a log entry.
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  get pid(): number {
    return this.entries.find((e) => e.event === 'started')?.pid ?? this.child.pid!;
  }

  async next(match: (e: LogEntry) => boolean, from: number, timeoutMs = 30_000): Promise<LogEntry> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.entries.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(
          `agent: nothing matching within ${timeoutMs} ms; last: ${JSON.stringify(this.entries.slice(-3))}`,
        );
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    process.kill(this.pid, 'SIGTERM');
    await exited;
  }
}
