/**
 * One FRR daemon (zebra or bgpd) of one network, launched so that it can
 * never outlive vxnet and never shares anything with another instance.
 *
 * The chain is dnsmasq's (src/process/chain.ts), plus a mount namespace:
 *
 *   node ── setpriv --pdeathsig SIGKILL ─ [nsenter --net=NS] ─
 *     unshare --pid --fork --kill-child=SIGKILL --mount   (A)
 *       └── sh: mount --bind DIR/tmp /var/tmp; "$@"; echo vxnet-frr-exit=$?   PID 1 of the new namespaces (B)
 *             └── /usr/lib/frr/bgpd -f DIR/bgpd.conf -i DIR/bgpd.pid -z DIR/zserv.api --vty_socket DIR -P 0   (C)
 *
 * Parent death kills A, A's --kill-child kills B, B's end kills C. Every
 * path FRR would otherwise share is private: the configuration, pid files,
 * zebra's API socket (-z) and the vty sockets (--vty_socket) are in the
 * network's state directory; no vty TCP port (-P 0); and FRR's crash-log
 * buffers, which it keeps under /var/tmp/frr/DAEMON.PID (the PID being 2 in
 * every such PID namespace), go to the state directory through the bind
 * mount, which only the daemon's mount namespace sees.
 *
 * The daemons run as FRR's own user (`frr`, made by the Debian package),
 * which is how FRR wants it: run as root it refuses, root not being in its
 * vty group. The state directory is handed to that user.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { findChainTools, PreflightError } from '../process/preflight.js';
import { VxnetError } from '../netlink/errors.js';
import { ChainedProcess, chainCommand, type ProcessExit } from '../process/chain.js';
import { findExecutable, processAlive } from '../process/proc.js';

export const FRR_EXIT_MARKER = 'vxnet-frr-exit=';
export const DEFAULT_FRR_DIR = '/usr/lib/frr';
export const INSTALL_FRR =
  'install FRR: Debian/Ubuntu: apt-get install frr (8.4 or later; vxnet runs its zebra and bgpd itself, the system ' +
  'service need not run)';

export type FrrDaemonName = 'zebra' | 'bgpd';

export interface FrrTools {
  zebra: string;
  bgpd: string;
  vtysh: string;
  setpriv: string;
  unshare: string;
  sh: string;
  nsenter?: string;
  /** FRR's user and group ids (the daemons' files must be theirs). */
  uid: number;
  gid: number;
}

export interface FrrToolOptions {
  /** Where zebra and bgpd are. Default /usr/lib/frr (Debian's). */
  frrDir?: string;
  /** vtysh (read-only status). Default: found in PATH. */
  vtyshPath?: string;
  /** PATH to look tools up in (default the process's). */
  path?: string;
}

/**
 * Finds FRR's daemons, vtysh, its user, and the util-linux tools of the chain; a PreflightError naming the package
 * otherwise.
 */
export function findFrr(options: FrrToolOptions & { namespace?: string }): FrrTools {
  const dir = options.frrDir ?? DEFAULT_FRR_DIR;
  const daemon = (name: FrrDaemonName): string => {
    const found = findExecutable(`${dir}/${name}`);
    if (!found)
      throw new PreflightError('tool-missing', `FRR's ${name} is not at ${dir}/${name}: ${INSTALL_FRR}`, {
        tool: name,
        package: 'frr',
        path: `${dir}/${name}`,
      });
    return found;
  };
  const zebra = daemon('zebra');
  const bgpd = daemon('bgpd');
  const vtysh = findExecutable(options.vtyshPath ?? 'vtysh', options.path);
  if (!vtysh)
    throw new PreflightError(
      'tool-missing',
      `vtysh is missing (${options.vtyshPath ?? 'not in PATH'}): ${INSTALL_FRR}`,
      { tool: 'vtysh', package: 'frr' },
    );
  const user = frrUser();
  return {
    zebra,
    bgpd,
    vtysh,
    ...findChainTools({
      ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
      ...(options.path !== undefined ? { path: options.path } : {}),
    }),
    ...user,
  };
}

/** The frr user's ids, from /etc/passwd (the package makes it). */
function frrUser(): { uid: number; gid: number } {
  let passwd = '';
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    // below
  }
  const entry = passwd
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'frr');
  if (!entry)
    throw new PreflightError('tool-missing', `there is no user "frr", which FRR's daemons run as: ${INSTALL_FRR}`, {
      package: 'frr',
    });
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

/** The files of one network's FRR, all in one directory. */
export interface FrrPaths {
  dir: string;
  tmp: string;
  config(daemon: FrrDaemonName): string;
  pid(daemon: FrrDaemonName): string;
  vty(daemon: FrrDaemonName): string;
  zserv: string;
}

export function frrPaths(dir: string): FrrPaths {
  return {
    dir,
    tmp: `${dir}/tmp`,
    config: (d) => `${dir}/${d}.conf`,
    pid: (d) => `${dir}/${d}.pid`,
    vty: (d) => `${dir}/${d}.vty`,
    zserv: `${dir}/zserv.api`,
  };
}

/** The daemon's own arguments: private paths, no vty TCP port, log to stdout. */
export function daemonArgs(daemon: FrrDaemonName, paths: FrrPaths): string[] {
  return [
    '-f',
    paths.config(daemon),
    '-i',
    paths.pid(daemon),
    '-z',
    paths.zserv,
    '--vty_socket',
    paths.dir,
    '-P',
    '0',
    '--log',
    'stdout',
  ];
}

/** The whole chain's command line (see the top of this file). */
export function frrLaunchCommand(
  daemon: FrrDaemonName,
  tools: FrrTools,
  paths: FrrPaths,
  namespace?: string,
): { command: string; args: string[] } {
  const script =
    'tmp=$1; shift; mount --bind "$tmp" /var/tmp || { echo "vxnet: cannot bind $tmp over /var/tmp" >&2; ' +
    `exit 97; }; "$@"; echo "${FRR_EXIT_MARKER}$?" >&2`;
  return chainCommand(
    {
      tools,
      ...(namespace !== undefined ? { namespace } : {}),
      unshare: ['--mount', '--propagation', 'private'],
      script,
      scriptArgs: [`vxnet-${daemon}`, paths.tmp, tools[daemon], ...daemonArgs(daemon, paths)],
    },
    'FRR',
  );
}

/** The process holding the POSIX lock FRR takes on its pid file (host pid), if any: the daemon, alive. */
export function pidFileHolder(path: string): number | undefined {
  let ino: number;
  try {
    ino = statSync(path).ino;
  } catch {
    return undefined;
  }
  let locks = '';
  try {
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of locks.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 12345 00:1a:67890 0 EOF"
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== 'POSIX' && fields[1] !== 'OFDLCK') continue;
    const pid = Number(fields[4]);
    const inode = Number(fields[5]?.split(':')[2]);
    if (inode === ino && pid > 0 && processAlive(pid)) return pid;
  }
  return undefined;
}

/** How a daemon ended, in words (FRR's exit codes carry no documented meaning beyond non-zero). */
export function frrExit(exit: Pick<ProcessExit, 'code' | 'signal'>): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  if (exit.code === null) return 'ended for an unknown reason';
  return `exited with code ${exit.code}`;
}

/** The lines worth quoting: the first ones (FRR says what is wrong before any usage text) and the last. */
function excerpt(lines: string[]): string[] {
  const said = lines.filter((line) => line.trim() !== '');
  return said.length <= 12 ? said : [...said.slice(0, 4), '…', ...said.slice(-6)];
}

/** FRR did not come up: it exited during its start, or its socket did not appear in time. */
export class FrrStartError extends VxnetError {
  override name = 'FrrStartError';
  constructor(
    readonly instance: string,
    readonly daemon: FrrDaemonName,
    readonly reason: string,
    /** The daemon's own words, oldest first. */
    readonly stderr: string[],
    readonly exit?: Pick<ProcessExit, 'code' | 'signal'>,
  ) {
    const said = excerpt(stderr);
    super(
      `FRR ${daemon} (network ${instance}) failed to start: ` +
        `${reason}${said.length ? `; ${daemon} said:\n  ${said.join('\n  ')}` : ''}`,
    );
  }
}

/** FRR crashed too often within the window: no more restarts. */
export class FrrGaveUpError extends VxnetError {
  override name = 'FrrGaveUpError';
  constructor(
    readonly instance: string,
    readonly daemon: FrrDaemonName,
    readonly crashes: number,
    windowMs: number,
    lastExit?: ProcessExit,
    lastError?: Error,
  ) {
    const said = excerpt(lastExit?.stderr ?? []);
    const last = lastError
      ? lastError.message
      : lastExit
        ? `${daemon} ${frrExit(lastExit)}${said.length ? `; ${daemon} said:\n  ${said.join('\n  ')}` : ''}`
        : 'no exit recorded';
    super(
      `FRR ${daemon} (network ${instance}) failed ${crashes} times within ${Math.round(windowMs / 1000)} s; no more ` +
        `restarts. Last failure: ${last}`,
    );
  }
}

export interface FrrLaunch {
  instance: string;
  daemon: FrrDaemonName;
  tools: FrrTools;
  paths: FrrPaths;
  namespace?: string;
  startTimeoutMs: number;
}

/**
 * A launched FRR daemon. `ready` resolves with its (host) pid once its
 * socket is there (zebra: the API socket; bgpd: its vty socket), or rejects
 * with an FrrStartError carrying its output. `exited` resolves once the
 * whole chain has ended.
 */
export class FrrDaemonProcess extends ChainedProcess {
  readonly ready: Promise<number>;
  version?: string;

  private constructor(spec: FrrLaunch) {
    const { command, args } = frrLaunchCommand(spec.daemon, spec.tools, spec.paths, spec.namespace);
    super({ what: spec.daemon, command, args, marker: FRR_EXIT_MARKER, stdout: true });
    this.on('line', (line) => {
      const version = /\b(?:zebra|bgpd) (\d+\.\d+\S*) starting/.exec(line);
      if (version) this.version = version[1];
    });
    const socket = spec.daemon === 'zebra' ? spec.paths.zserv : spec.paths.vty(spec.daemon);
    this.ready = new Promise<number>((resolve, reject) => {
      let settled = false;
      const started = Date.now();
      const fail = (reason: string, exit?: Pick<ProcessExit, 'code' | 'signal'>): void => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        reject(new FrrStartError(spec.instance, spec.daemon, reason, this.stderr(), exit));
      };
      // FRR says nothing reliable when it is ready: its socket appearing is the sign.
      const poll = setInterval(() => {
        if (settled || !this.running) return;
        if (existsSync(socket)) {
          try {
            const pid = this.locate();
            settled = true;
            clearInterval(poll);
            resolve(pid);
          } catch (error) {
            fail((error as Error).message);
            this.kill();
          }
        } else if (Date.now() - started > spec.startTimeoutMs) {
          fail(`${socket} did not appear within ${spec.startTimeoutMs} ms`);
          this.kill();
        }
      }, 10);
      this.once('failed', (error) => fail(`could not run ${command}: ${error.message}`));
      this.once('closed', (exit) => fail(`${spec.daemon} ${frrExit(exit)}`, exit));
    });
    this.ready.catch(() => undefined);
  }

  static launch(spec: FrrLaunch): FrrDaemonProcess {
    return new FrrDaemonProcess(spec);
  }
}

/** vtysh, read-only: one command's JSON from the network's private daemons. */
export function vtyshJson(vtysh: string, dir: string, command: string, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      vtysh,
      ['--vty_socket', dir, '-c', command],
      { encoding: 'utf8', timeout: timeoutMs },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`vtysh -c '${command}': ${(stderr || error.message).trim()}`));
        try {
          resolve(JSON.parse(stdout));
        } catch {
          reject(new Error(`vtysh -c '${command}' did not answer JSON: ${stdout.slice(0, 200)}`));
        }
      },
    );
  });
}
