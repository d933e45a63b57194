/**
 * One dnsmasq process: how it is launched so that it can never outlive us,
 * how we know it is ready, how it ended.
 *
 * Parent death. Node cannot call prctl(PR_SET_PDEATHSIG), and a
 * parent-death signal set on dnsmasq itself would not hold: the kernel
 * clears it when a process changes its user or group, and dnsmasq drops
 * root right after binding its sockets. So dnsmasq runs as the second
 * process of a PID namespace of its own, under this chain (all util-linux
 * plus /bin/sh, present on every Debian system):
 *
 *   node ── setpriv --pdeathsig SIGKILL ─ [nsenter --net=NS] ─ unshare --pid --fork --kill-child=SIGKILL   (A)
 *             └── sh -c '"$0" "$@"; echo vxnet-dnsmasq-exit=$? >&2'   PID 1 of the new namespace (B)
 *                   └── dnsmasq --keep-in-foreground --conf-file=...                                  (C)
 *
 * setpriv, nsenter and unshare exec one another: A is our direct child and
 * carries the parent-death signal, and none of them changes credentials, so
 * it holds. When node dies (even by SIGKILL), the kernel kills A; A's
 * --kill-child makes the kernel kill B; B is its namespace's init, and when
 * an init dies the kernel kills every process in the namespace: C. No
 * polling, no cooperation from dnsmasq, nothing left behind. The shell in
 * the middle also reports dnsmasq's real exit status (an init cannot re-raise
 * a signal on itself, so unshare alone would lose it).
 *
 * The parent-death signal fires when the *thread* that spawned A exits: a
 * DnsmasqServer started from a worker thread dies with that worker.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants, readdirSync, readFileSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter } from 'node:path';
import { namespacePath } from '../netlink/namespace.js';
import { DnsmasqStartError, type DnsmasqExit, describeExit } from './errors.js';

export const EXIT_MARKER = 'vxnet-dnsmasq-exit=';
/** Lines of stderr kept for error messages. */
const STDERR_LINES = 60;

export interface Tools {
  dnsmasq: string;
  setpriv: string;
  unshare: string;
  sh: string;
  /** Needed only with a namespace. */
  nsenter?: string;
}

export interface LaunchSpec {
  instance: string;
  tools: Tools;
  configPath: string;
  /** dnsmasq confirms reading it at start and after each SIGHUP: that is the readiness signal. */
  hostsPath: string;
  /** Network namespace name or path. */
  namespace?: string;
  startTimeoutMs: number;
}

/** The command line of the whole chain (see the top of this file). */
export function launchCommand(spec: Pick<LaunchSpec, 'tools' | 'configPath' | 'namespace'>): {
  command: string;
  args: string[];
} {
  const { tools } = spec;
  const args = ['--pdeathsig', 'SIGKILL', '--'];
  if (spec.namespace !== undefined) {
    if (!tools.nsenter) throw new Error('nsenter is needed to run dnsmasq in a namespace');
    args.push(tools.nsenter, `--net=${namespacePath(spec.namespace)}`, '--');
  }
  args.push(tools.unshare, '--pid', '--fork', '--kill-child=SIGKILL', '--');
  args.push(tools.sh, '-c', `"$0" "$@"; echo "${EXIT_MARKER}$?" >&2`);
  args.push(tools.dnsmasq, '--keep-in-foreground', `--conf-file=${spec.configPath}`);
  return { command: tools.setpriv, args };
}

/** The shell's status of dnsmasq ($?) as a code or a signal: above 128 is 128 + the signal number. */
export function statusToExit(status: number): Pick<DnsmasqExit, 'code' | 'signal'> {
  if (status > 128) {
    const number = status - 128;
    const name = Object.entries(osConstants.signals).find(([, n]) => n === number)?.[0] as NodeJS.Signals | undefined;
    if (name) return { code: null, signal: name };
  }
  return { code: status, signal: null };
}

/** What a dnsmasq stderr line says, for the lines the supervisor acts on. */
export type LineMeaning =
  | { kind: 'started'; version: string }
  | { kind: 'hosts-read' }
  | { kind: 'hosts-failed'; reason: string }
  | { kind: 'exit'; status: number }
  | { kind: 'other' };

export function classifyLine(line: string, hostsPath: string): LineMeaning {
  if (line.startsWith(EXIT_MARKER)) {
    const status = Number(line.slice(EXIT_MARKER.length));
    if (Number.isInteger(status)) return { kind: 'exit', status };
  }
  // "dnsmasq[2]: started, version 2.90 DNS disabled"
  const started = /^dnsmasq(?:-\w+)?\[\d+\]: started, version (\S+)/.exec(line);
  if (started) return { kind: 'started', version: started[1]! };
  const message = line.replace(/^dnsmasq(?:-\w+)?\[\d+\]: /, '');
  if (message === `read ${hostsPath}`) return { kind: 'hosts-read' };
  if (message.startsWith(`cannot read ${hostsPath}:`)) return { kind: 'hosts-failed', reason: message };
  if (message.includes(` at line `) && message.endsWith(` of ${hostsPath}`))
    return { kind: 'hosts-failed', reason: message };
  return { kind: 'other' };
}

/** An executable by name: PATH first, then the sbin directories a non-root PATH often lacks. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const dirs = [...path.split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = `${dir}/${name}`;
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    // access(X_OK) alone passes directories, and for root any file with one x bit.
    accessSync(path, fsConstants.X_OK);
    const stat = statSync(path);
    return stat.isFile() && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Direct children of a process: /proc/PID/task/PID/children, or a scan of /proc when that file is absent. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    const out: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = procStat(Number(entry));
      if (stat?.ppid === pid) out.push(Number(entry));
    }
    return out;
  }
}

/** State, parent and start time (clock ticks since boot) of a process, from /proc/PID/stat. */
export function procStat(pid: number): { state: string; ppid: number; startTime: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces: read after the last ")".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, ppid: Number(fields[1]), startTime: Number(fields[19]) };
}

/** Whether this exact process (pid and start time) still runs; a zombie has stopped. */
export function processAlive(pid: number, startTime?: number): boolean {
  const stat = procStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

/**
 * A launched dnsmasq. `ready` resolves with dnsmasq's pid once it has started
 * and read its hosts file, or rejects with a DnsmasqStartError carrying its
 * stderr. `exited` resolves once the whole chain has ended.
 */
export class DnsmasqProcess extends EventEmitter<{ line: [string] }> {
  readonly child: ChildProcess;
  readonly ready: Promise<number>;
  readonly exited: Promise<DnsmasqExit>;
  /** dnsmasq's pid as this host sees it; known once ready. */
  pid?: number;
  version?: string;
  private startTime?: number;
  private lines: string[] = [];
  private status?: number;
  private ended = false;

  private constructor(private readonly spec: LaunchSpec) {
    super();
    const { command, args } = launchCommand(spec);
    this.child = spawn(command, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      // dnsmasq's messages in English, whatever the caller's locale: they are parsed.
      env: { ...process.env, LC_ALL: 'C' },
      // Its own process group: a Ctrl-C at a terminal goes to node, which decides.
      detached: true,
    });
    let resolveExit!: (exit: DnsmasqExit) => void;
    this.exited = new Promise((resolve) => (resolveExit = resolve));
    this.ready = new Promise<number>((resolve, reject) => {
      let started = false;
      let settled = false;
      const timer = setTimeout(() => {
        fail(`not ready within ${spec.startTimeoutMs} ms (waiting for "started" and "read ${spec.hostsPath}")`);
        this.kill();
      }, spec.startTimeoutMs);
      const fail = (reason: string, exit?: Pick<DnsmasqExit, 'code' | 'signal'>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new DnsmasqStartError(spec.instance, reason, this.stderr(), exit));
      };
      this.child.once('error', (error) => {
        fail(`could not run ${command}: ${error.message}`);
        this.finish(resolveExit, { code: null, signal: null });
      });
      let partial = '';
      this.child.stderr!.setEncoding('utf8');
      this.child.stderr!.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        for (const line of parts) {
          const meaning = classifyLine(line, spec.hostsPath);
          if (meaning.kind === 'exit') {
            this.status = meaning.status;
            continue;
          }
          this.remember(line);
          this.emit('line', line);
          if (settled) continue;
          if (meaning.kind === 'started') {
            started = true;
            this.version = meaning.version;
          } else if (meaning.kind === 'hosts-failed') {
            fail(
              `dnsmasq cannot use its hosts file (${meaning.reason}); it reads it after dropping root, so the state directory must be readable by its user`,
            );
            this.kill();
          } else if (meaning.kind === 'hosts-read' && started) {
            try {
              this.locate();
              settled = true;
              clearTimeout(timer);
              resolve(this.pid!);
            } catch (error) {
              fail((error as Error).message);
              this.kill();
            }
          }
        }
      });
      this.child.once('close', (code, signal) => {
        if (partial) this.remember(partial);
        const exit = this.status !== undefined ? statusToExit(this.status) : { code, signal };
        fail(describeExit(exit), exit);
        this.finish(resolveExit, exit);
      });
    });
    // A start failure is reported through `ready`; `exited` must not be an unhandled rejection path.
    this.ready.catch(() => undefined);
  }

  static launch(spec: LaunchSpec): DnsmasqProcess {
    return new DnsmasqProcess(spec);
  }

  get running(): boolean {
    return !this.ended;
  }

  /** The last lines dnsmasq wrote to stderr, oldest first. */
  stderr(): string[] {
    return [...this.lines];
  }

  private remember(line: string): void {
    this.lines.push(line);
    if (this.lines.length > STDERR_LINES) this.lines.shift();
  }

  private finish(resolve: (exit: DnsmasqExit) => void, exit: Pick<DnsmasqExit, 'code' | 'signal'>): void {
    if (this.ended) return;
    this.ended = true;
    resolve({ ...exit, at: new Date(), stderr: this.stderr() });
  }

  /** Finds dnsmasq below the wrapper: A's only child is the shell, whose only child is dnsmasq. */
  private locate(): void {
    const wrapper = this.child.pid!;
    const [shell] = childrenOf(wrapper);
    const [dnsmasq] = shell === undefined ? [] : childrenOf(shell);
    if (dnsmasq === undefined)
      throw new Error(`dnsmasq reported ready but is not found under its wrapper (pid ${wrapper})`);
    this.pid = dnsmasq;
    this.startTime = procStat(dnsmasq)?.startTime;
  }

  /** Sends a signal to dnsmasq itself. False when it is not (or no longer) running. */
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
   * Resolves with the next stderr line that satisfies `match`, or rejects
   * after `timeoutMs` (or when the process ends first).
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
        if (done()) reject(new Error(`${what}: dnsmasq ended first`));
      });
    });
  }

  /**
   * SIGTERM, then SIGKILL for everything after `timeoutMs`. Resolves when the
   * chain has ended and dnsmasq is gone from the process table.
   */
  async terminate(timeoutMs: number): Promise<DnsmasqExit> {
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
   * Once the wrapper has ended, dnsmasq is dead or about to be (the kernel
   * tears its namespace down); a non-child's death raises no event in node,
   * so this polls /proc, bounded.
   */
  private async gone(timeoutMs: number): Promise<void> {
    if (this.pid === undefined) return;
    const deadline = Date.now() + timeoutMs;
    while (processAlive(this.pid, this.startTime)) {
      if (Date.now() > deadline)
        throw new Error(`dnsmasq (pid ${this.pid}) still runs ${timeoutMs} ms after its wrapper ended`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}
