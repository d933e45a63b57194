/**
 * A daemon launched so that it can never outlive vxnet: the chain dnsmasq
 * and FRR's daemons run under, and what both need of it (their lines, their
 * real exit status, their pid, signals, termination). Each daemon's own
 * file adds its command and how it tells it is ready (src/dnsmasq/process.ts,
 * src/frr/daemon.ts).
 *
 * Parent death. Node cannot call prctl(PR_SET_PDEATHSIG), and a
 * parent-death signal set on the daemon itself would not hold: the kernel
 * clears it when a process changes its user or group, and the daemons drop
 * root. So the daemon runs as the second process of a PID namespace of its
 * own, under this chain (all util-linux plus /bin/sh, on every Debian system):
 *
 *   node ── setpriv --pdeathsig SIGKILL ─ [nsenter --net=NS] ─ unshare --pid --fork --kill-child=SIGKILL   (A)
 *             └── sh -c '…"$@"; echo MARKER$? >&2'   PID 1 of the new namespace (B)
 *                   └── the daemon                                               (C)
 *
 * setpriv, nsenter and unshare exec one another: A is our direct child and
 * carries the parent-death signal, and none of them changes credentials, so
 * it holds. When node dies (even by SIGKILL), the kernel kills A; A's
 * --kill-child makes the kernel kill B; B is its namespace's init, and when
 * an init dies the kernel kills every process in the namespace: C. The shell
 * in the middle also reports the daemon's real exit status (an init cannot
 * re-raise a signal on itself, so unshare alone would lose it).
 *
 * The parent-death signal fires when the *thread* that spawned A exits: a
 * daemon started from a worker thread dies with that worker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { namespacePath } from '../netlink/namespace.js';
import { childrenOf, type ExitStatus, processAlive, procStat, statusToExit } from './proc.js';

/** Lines of output kept for error messages. */
const KEPT_LINES = 60;

/** How a daemon ended, as vxnet saw it. */
export interface ProcessExit extends ExitStatus {
  /** When vxnet saw it end. */
  at: Date;
  /** Its last lines of output, oldest first. */
  stderr: string[];
}

export interface ChainTools {
  setpriv: string;
  unshare: string;
  sh: string;
  /** Needed only with a namespace. */
  nsenter?: string;
}

export interface ChainCommand {
  tools: ChainTools;
  /** Network namespace name or path. */
  namespace?: string;
  /** unshare's options beyond a PID namespace (e.g. a mount namespace). */
  unshare?: string[];
  /** The shell script B runs: it must run "$@" and then `echo "MARKER$?" >&2`. */
  script: string;
  /** $0 and the positional arguments of the script (the daemon's command line among them). */
  scriptArgs: string[];
}

/** The command line of the whole chain (see the top of this file). */
export function chainCommand(spec: ChainCommand, what: string): { command: string; args: string[] } {
  const { tools } = spec;
  const args = ['--pdeathsig', 'SIGKILL', '--'];
  if (spec.namespace !== undefined) {
    if (!tools.nsenter) throw new Error(`nsenter is needed to run ${what} in a namespace`);
    args.push(tools.nsenter, `--net=${namespacePath(spec.namespace)}`, '--');
  }
  args.push(tools.unshare, '--pid', '--fork', '--kill-child=SIGKILL', ...(spec.unshare ?? []), '--');
  args.push(tools.sh, '-c', spec.script, ...spec.scriptArgs);
  return { command: tools.setpriv, args };
}

export interface LaunchedChain {
  /** The daemon's name in messages ("dnsmasq", "bgpd"). */
  what: string;
  command: string;
  args: string[];
  /** The line prefix the shell reports the daemon's status with. */
  marker: string;
  /** Whether the daemon's lines come on stdout too (FRR logs to stdout; dnsmasq to stderr). */
  stdout: boolean;
}

/**
 * A launched chain. Lines (stdout and/or stderr) are emitted as 'line' and the
 * last ones kept; 'failed' says the chain could not be run; 'closed' comes
 * with the daemon's own exit status before `exited` resolves. A subclass
 * decides when the daemon is ready, then calls `locate()` to learn its pid.
 */
export class ChainedProcess extends EventEmitter<{
  line: [string];
  failed: [Error];
  closed: [ExitStatus];
}> {
  readonly child: ChildProcess;
  readonly exited: Promise<ProcessExit>;
  /** The daemon's pid as this host sees it; known once located. */
  pid?: number;
  protected startTime?: number;
  private lines: string[] = [];
  private status?: number;
  private ended = false;

  protected constructor(protected readonly chain: LaunchedChain) {
    super();
    this.child = spawn(chain.command, chain.args, {
      stdio: ['ignore', chain.stdout ? 'pipe' : 'ignore', 'pipe'],
      // The daemon's messages in English, whatever the caller's locale: they are parsed.
      env: { ...process.env, LC_ALL: 'C' },
      // Its own process group: a Ctrl-C at a terminal goes to node, which decides.
      detached: true,
    });
    let resolveExit!: (exit: ProcessExit) => void;
    this.exited = new Promise((resolve) => (resolveExit = resolve));
    this.child.once('error', (error) => {
      this.emit('failed', error);
      this.finish(resolveExit, { code: null, signal: null });
    });
    let partial = '';
    const onData = (chunk: string): void => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? ''; // split gives at least one part
      for (const line of parts) this.line(line);
    };
    this.child.stdout?.setEncoding('utf8').on('data', onData);
    this.child.stderr?.setEncoding('utf8').on('data', onData);
    this.child.once('close', (code, signal) => {
      if (partial) this.line(partial);
      const exit = this.status !== undefined ? statusToExit(this.status) : { code, signal };
      this.emit('closed', exit);
      this.finish(resolveExit, exit);
    });
  }

  private line(line: string): void {
    if (line.startsWith(this.chain.marker)) {
      const status = Number(line.slice(this.chain.marker.length));
      if (Number.isInteger(status)) {
        this.status = status;
        return;
      }
    }
    this.lines.push(line);
    if (this.lines.length > KEPT_LINES) this.lines.shift();
    this.emit('line', line);
  }

  get running(): boolean {
    return !this.ended;
  }

  /** The last lines the daemon wrote, oldest first. */
  stderr(): string[] {
    return [...this.lines];
  }

  private finish(resolve: (exit: ProcessExit) => void, exit: ExitStatus): void {
    if (this.ended) return;
    this.ended = true;
    resolve({ ...exit, at: new Date(), stderr: this.stderr() });
  }

  /** Finds the daemon below the wrapper (A's only child is the shell, whose only child is the daemon); its pid. */
  protected locate(): number {
    const wrapper = this.child.pid;
    // No pid: the wrapper was never spawned (its 'error' event says why).
    if (wrapper === undefined) throw new Error(`${this.chain.what} is ready but its wrapper has no pid (not spawned)`);
    const [shell] = childrenOf(wrapper);
    const [daemon] = shell === undefined ? [] : childrenOf(shell);
    if (daemon === undefined)
      throw new Error(`${this.chain.what} is ready but is not found under its wrapper (pid ${wrapper})`);
    this.pid = daemon;
    this.startTime = procStat(daemon)?.startTime;
    return daemon;
  }

  /** Sends a signal to the daemon itself. False when it is not (or no longer) running. */
  signal(signal: NodeJS.Signals): boolean {
    if (this.ended || this.pid === undefined || !processAlive(this.pid, this.startTime)) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Ends the whole chain at once: killing the wrapper makes the kernel kill the rest. */
  kill(): void {
    if (this.ended) return;
    this.signal('SIGKILL');
    try {
      this.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  /**
   * Resolves with the next line that satisfies `match`, or rejects after
   * `timeoutMs` (or when the daemon ends first).
   */
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const done = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        this.off('line', onLine);
        return true;
      };
      const onLine = (line: string): void => {
        const value = match(line);
        if (value !== undefined && done()) resolve(value);
      };
      const timer = setTimeout(() => {
        if (done()) reject(new Error(`${what}: not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('line', onLine);
      void this.exited.then(() => {
        if (done()) reject(new Error(`${what}: ${this.chain.what} ended first`));
      });
    });
  }

  /**
   * SIGTERM, then SIGKILL for everything after `timeoutMs`. Resolves when the
   * chain has ended and the daemon is gone from the process table.
   */
  async terminate(timeoutMs: number): Promise<ProcessExit> {
    if (!this.signal('SIGTERM')) this.kill();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exit = await Promise.race([
      this.exited,
      new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (exit) {
      await this.gone(timeoutMs);
      return exit;
    }
    this.kill();
    const killed = await this.exited;
    await this.gone(timeoutMs);
    return killed;
  }

  /**
   * Once the wrapper has ended, the daemon is dead or about to be (the kernel
   * tears its namespace down); a non-child's death raises no event in node,
   * so this polls /proc, bounded.
   */
  private async gone(timeoutMs: number): Promise<void> {
    if (this.pid === undefined) return;
    const deadline = Date.now() + timeoutMs;
    while (processAlive(this.pid, this.startTime)) {
      if (Date.now() > deadline)
        throw new Error(`${this.chain.what} (pid ${this.pid}) still runs ${timeoutMs} ms after its wrapper ended`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
