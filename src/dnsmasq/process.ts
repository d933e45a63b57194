/**
 * One dnsmasq process: its command line, how we know it is ready (its
 * "started" line, then its confirmation that it read the hosts file), and
 * what its lines mean. It runs under the never-orphaned chain of
 * src/process/chain.ts (parent-death signal, PID namespace, the shell that
 * reports its real exit status), which also does the rest: lines, pid,
 * signals, termination.
 */
import { type ChainTools, ChainedProcess, chainCommand } from '../process/chain.js';
import { DnsmasqStartError, type DnsmasqExit, describeExit } from './errors.js';

export const EXIT_MARKER = 'vxnet-dnsmasq-exit=';

export interface Tools extends ChainTools {
  dnsmasq: string;
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

/** The command line of the whole chain (src/process/chain.ts). */
export function launchCommand(spec: Pick<LaunchSpec, 'tools' | 'configPath' | 'namespace'>): {
  command: string;
  args: string[];
} {
  return chainCommand(
    {
      tools: spec.tools,
      ...(spec.namespace !== undefined ? { namespace: spec.namespace } : {}),
      script: `"$0" "$@"; echo "${EXIT_MARKER}$?" >&2`,
      scriptArgs: [spec.tools.dnsmasq, '--keep-in-foreground', `--conf-file=${spec.configPath}`],
    },
    'dnsmasq',
  );
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
  const version = /^dnsmasq(?:-\w+)?\[\d+\]: started, version (\S+)/.exec(line)?.[1];
  if (version !== undefined) return { kind: 'started', version };
  const message = line.replace(/^dnsmasq(?:-\w+)?\[\d+\]: /, '');
  if (message === `read ${hostsPath}`) return { kind: 'hosts-read' };
  if (message.startsWith(`cannot read ${hostsPath}:`)) return { kind: 'hosts-failed', reason: message };
  if (message.includes(` at line `) && message.endsWith(` of ${hostsPath}`))
    return { kind: 'hosts-failed', reason: message };
  return { kind: 'other' };
}

/**
 * A launched dnsmasq. `ready` resolves with dnsmasq's pid once it has started
 * and read its hosts file, or rejects with a DnsmasqStartError carrying its
 * stderr. `exited` resolves once the whole chain has ended.
 */
export class DnsmasqProcess extends ChainedProcess {
  readonly ready: Promise<number>;
  version?: string;

  private constructor(spec: LaunchSpec) {
    const { command, args } = launchCommand(spec);
    super({ what: 'dnsmasq', command, args, marker: EXIT_MARKER, stdout: false });
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
      this.once('failed', (error) => fail(`could not run ${command}: ${error.message}`));
      this.once('closed', (exit) => fail(describeExit(exit), exit));
      this.on('line', (line) => {
        if (settled) return;
        const meaning = classifyLine(line, spec.hostsPath);
        if (meaning.kind === 'started') {
          started = true;
          this.version = meaning.version;
        } else if (meaning.kind === 'hosts-failed') {
          fail(
            `dnsmasq cannot use its hosts file (${meaning.reason}); it reads it after dropping root, so the state ` +
              'directory must be readable by its user',
          );
          this.kill();
        } else if (meaning.kind === 'hosts-read' && started) {
          try {
            const pid = this.locate();
            settled = true;
            clearTimeout(timer);
            resolve(pid);
          } catch (error) {
            fail((error as Error).message);
            this.kill();
          }
        }
      });
    });
    // A start failure is reported through `ready`; `exited` must not be an unhandled rejection path.
    this.ready.catch(() => undefined);
  }

  static launch(spec: LaunchSpec): DnsmasqProcess {
    return new DnsmasqProcess(spec);
  }
}
