/**
 * The FRR instances an OverlayHost runs: per network that uses BGP (a routed
 * network's `routes.bgp`, a VXLAN network's `membership.evpn`), one zebra
 * and one bgpd, each under its own supervisor
 * (dnsmasq's: restart with backoff after a crash, give up after too many),
 * with every file in the network's state directory (`DIR/frr/`).
 *
 * Planned like any other change: start, restart when the generated
 * configuration changed, stop. A stale pid file (left by a daemon that was
 * killed) is told apart from a live one by the lock FRR holds on it, not by
 * the pid inside (which is the daemon's pid in its own PID namespace). A
 * daemon alive under another vxnet process is that process's; destroy stops
 * it through the same lock.
 *
 * The configuration comes from the mode that uses FRR (src/routed/bgp-config.ts,
 * src/overlay/evpn.ts); this file knows only daemons and files. Status reads
 * FRR through vtysh, read-only: sessions and prefixes received in every
 * address family (`show bgp summary json`); a mode asks its own questions
 * through `query`.
 */
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Change } from '../common/plan.js';
import { processAlive } from '../process/proc.js';
import { type RestartPolicy, Supervisor, validatePolicy } from '../dnsmasq/supervisor.js';
import { VxnetError } from '../netlink/errors.js';
import type { NetworkState } from '../network/state.js';
import {
  FrrDaemonProcess,
  type FrrDaemonName,
  FrrGaveUpError,
  findFrr,
  frrPaths,
  type FrrPaths,
  type FrrToolOptions,
  type FrrTools,
  pidFileHolder,
  vtyshJson,
} from './daemon.js';

/** What the kernel's routes from zebra carry as their protocol (rtnetlink's RTPROT_BGP). */
export const RTPROT_BGP = 186;
const DAEMONS: FrrDaemonName[] = ['zebra', 'bgpd'];

export interface FrrServiceOptions extends FrrToolOptions {
  restart?: Partial<RestartPolicy>;
  /** How long a daemon may take to make its socket. Default 10 s. */
  startTimeoutMs?: number;
  /** SIGTERM to SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
}

/** The generated configuration: one file per daemon (each reads only its own). */
export interface FrrConfig {
  zebra: string;
  bgpd: string;
}

/** What a network wants of FRR: its configuration, and the words a plan shows for it. */
export interface FrrWanted {
  config: FrrConfig;
  detail: string;
}

export interface BgpPeerStatus {
  address: string;
  state: string;
  /** Prefixes received from the peer (after policy), in every address family. */
  prefixesReceived: number;
  /** The address families the session carries ("ipv4Unicast", "l2VpnEvpn"). */
  families: string[];
  /** Seconds the session has been up (or down). */
  uptime?: string;
}

export interface FrrStatus {
  running: boolean;
  /** Host pids of the daemons that run. */
  pids: Partial<Record<FrrDaemonName, number>>;
  /** The process supervising them, when it is not this one. */
  ownerPid?: number;
  restarts: Partial<Record<FrrDaemonName, number>>;
  asn?: number;
  routerId?: string;
  peers: BgpPeerStatus[];
  established: number;
  gaveUp?: { at: string; reason: string };
  problems: string[];
}

interface Instance {
  config: FrrConfig;
  paths: FrrPaths;
  tools: FrrTools;
  supervisors: Map<FrrDaemonName, Supervisor>;
}

interface BgpRecord {
  bgp?: { gaveUp?: { at: string; reason: string } };
}

/** A second network with BGP in a namespace where one already runs FRR. */
export class BgpNamespaceTakenError extends VxnetError {
  override name = 'BgpNamespaceTakenError';
  constructor(
    readonly network: string,
    readonly holder: string,
    readonly namespace: string | undefined,
    readonly pid?: number,
  ) {
    const where = namespace !== undefined ? `namespace ${namespace}` : 'this namespace';
    const running = pid !== undefined ? `FRR, bgpd pid ${pid}` : 'FRR';
    super(
      `plan frr of ${network}: network ${holder} already runs BGP (${running}) in ${where}; one BGP network ` +
        'per namespace (bgpd binds port 179 there, and EVPN takes every VNI in it): ' +
        'destroy that one, or use another namespace',
    );
  }
}

export type FrrFailureListener = (network: string, error: Error) => void;

export class FrrService {
  private readonly instances = new Map<string, Instance>();

  constructor(
    private readonly namespace: string | undefined,
    private readonly onFailure: FrrFailureListener,
    private readonly options: FrrServiceOptions = {},
  ) {}

  static dirOf(state: NetworkState): string {
    return `${state.dir}/frr`;
  }

  /** Checks (and finds the tools) before any write: a missing FRR is a PreflightError naming the package. */
  tools(): FrrTools {
    return findFrr({ ...this.options, ...(this.namespace !== undefined ? { namespace: this.namespace } : {}) });
  }

  /** The changes that bring the network's FRR to `wanted` (none running when undefined). */
  plan(
    network: string,
    wanted: FrrWanted | undefined,
    state: NetworkState,
    why = 'BGP no longer in the spec',
  ): Change[] {
    if (!wanted) {
      const stop = this.planStop(network, state);
      return stop ? [{ ...stop, detail: why }] : [];
    }
    this.checkAlone(network, state);
    const tools = this.tools();
    validatePolicy(this.options.restart, 'frr.restart');
    const { config, detail } = wanted;
    const paths = frrPaths(FrrService.dirOf(state));
    const running = this.instances.get(network);
    const target = `frr of ${network}`;
    if (!running) {
      const holders = DAEMONS.map((d) => pidFileHolder(paths.pid(d)));
      if (holders.every((pid) => pid !== undefined)) {
        // Served by another vxnet process: it owns them; a changed configuration needs that process gone first.
        if (sameConfig(paths, config)) return [];
        return [
          {
            action: 'restart',
            target,
            detail: `${detail}; configuration changed, running under pid ${holders[0]}`,
            apply: async () => {
              await stopForeign(paths, this.options.stopTimeoutMs ?? 5000);
              await this.start(network, config, paths, tools, state);
            },
          },
        ];
      }
      return [
        {
          action: 'start',
          target,
          detail,
          apply: async () => {
            // half an instance (one daemon alive): start whole
            await stopForeign(paths, this.options.stopTimeoutMs ?? 5000);
            await this.start(network, config, paths, tools, state);
          },
        },
      ];
    }
    const states = [...running.supervisors.values()].map((s) => s.status().state);
    if (states.some((s) => s === 'stopped' || s === 'failed')) {
      return [
        {
          action: 'start',
          target,
          detail,
          apply: async () => {
            await this.stop(network);
            await this.start(network, config, paths, tools, state);
          },
        },
      ];
    }
    if (running.config.zebra !== config.zebra || running.config.bgpd !== config.bgpd) {
      return [
        {
          action: 'restart',
          target,
          detail: `${detail}; configuration changed`,
          apply: async () => {
            await this.stop(network);
            await this.start(network, config, paths, tools, state);
          },
        },
      ];
    }
    return [];
  }

  /**
   * One BGP network per namespace: each bgpd binds port 179 on every address
   * of the namespace (and zebra takes every VNI there for EVPN), so a second
   * would fail to start or take the first one's sessions. Refused at plan
   * time, before anything is written.
   */
  private checkAlone(network: string, state: NetworkState): void {
    const here = [...this.instances.keys()].find((name) => name !== network);
    if (here !== undefined) throw new BgpNamespaceTakenError(network, here, this.namespace);
    for (const sibling of state.siblings()) {
      const pid = pidFileHolder(frrPaths(FrrService.dirOf(sibling)).pid('bgpd'));
      if (pid !== undefined) throw new BgpNamespaceTakenError(network, sibling.network, this.namespace, pid);
    }
  }

  private async start(
    network: string,
    config: FrrConfig,
    paths: FrrPaths,
    tools: FrrTools,
    state: NetworkState,
  ): Promise<void> {
    state.ensureDir();
    state.update((record) => delete (record as BgpRecord).bgp);
    // A fresh directory: stale pid files and sockets of a killed instance go with the old one.
    rmSync(paths.dir, { recursive: true, force: true });
    mkdirSync(paths.tmp, { recursive: true, mode: 0o750 });
    writeFileSync(paths.config('zebra'), config.zebra, { mode: 0o640 });
    writeFileSync(paths.config('bgpd'), config.bgpd, { mode: 0o640 });
    for (const path of [paths.dir, paths.tmp, paths.config('zebra'), paths.config('bgpd')])
      chownSync(path, tools.uid, tools.gid);
    const policy = validatePolicy(this.options.restart, 'frr.restart');
    const instance: Instance = { config, paths, tools, supervisors: new Map() };
    this.instances.set(network, instance);
    try {
      for (const daemon of DAEMONS) {
        const supervisor = new Supervisor(
          () =>
            FrrDaemonProcess.launch({
              instance: network,
              daemon,
              tools,
              paths,
              ...(this.namespace !== undefined ? { namespace: this.namespace } : {}),
              startTimeoutMs: this.options.startTimeoutMs ?? 10_000,
            }),
          {
            instance: network,
            hostsPath: '',
            policy,
            stopTimeoutMs: this.options.stopTimeoutMs ?? 5000,
            reloadTimeoutMs: 0,
            gaveUp: (crashes, windowMs, lastExit, lastError) =>
              new FrrGaveUpError(network, daemon, crashes, windowMs, lastExit, lastError),
          },
        );
        supervisor.on('error', (error) => {
          state.update((record) => {
            (record as BgpRecord).bgp = { gaveUp: { at: new Date().toISOString(), reason: error.message } };
          });
          this.onFailure(network, error);
        });
        await supervisor.start();
        instance.supervisors.set(daemon, supervisor);
      }
    } catch (error) {
      await this.stop(network);
      throw error;
    }
  }

  /** The change that stops the network's FRR, wherever it runs; none if none runs. */
  planStop(network: string, state: NetworkState): Change | undefined {
    const paths = frrPaths(FrrService.dirOf(state));
    if (this.instances.has(network))
      return { action: 'stop', target: `frr of ${network}`, apply: () => this.stop(network, paths) };
    const holders = DAEMONS.map((d) => pidFileHolder(paths.pid(d))).filter((p) => p !== undefined);
    if (holders.length === 0) {
      // Nothing alive; files of a killed instance are removed with the state.
      return undefined;
    }
    return {
      action: 'stop',
      target: `frr of ${network}`,
      detail: `pid ${holders.join(', ')}`,
      apply: async () => {
        await stopForeign(paths, this.options.stopTimeoutMs ?? 5000);
        rmSync(paths.dir, { recursive: true, force: true });
      },
    };
  }

  /** bgpd first (zebra then withdraws its routes from the kernel), then zebra. */
  async stop(network: string, paths?: FrrPaths): Promise<void> {
    const instance = this.instances.get(network);
    if (!instance) return;
    this.instances.delete(network);
    for (const daemon of [...DAEMONS].reverse()) await instance.supervisors.get(daemon)?.stop();
    if (paths) rmSync(paths.dir, { recursive: true, force: true });
  }

  async status(network: string, state: NetworkState): Promise<FrrStatus | undefined> {
    const paths = frrPaths(FrrService.dirOf(state));
    const gaveUp = (state.read() as BgpRecord).bgp?.gaveUp;
    const instance = this.instances.get(network);
    const pids: FrrStatus['pids'] = {};
    const restarts: FrrStatus['restarts'] = {};
    let ownerPid: number | undefined;
    if (instance) {
      for (const [daemon, supervisor] of instance.supervisors) {
        const s = supervisor.status();
        if (s.state === 'running' && s.pid !== undefined) pids[daemon] = s.pid;
        restarts[daemon] = s.restarts;
      }
    } else {
      for (const daemon of DAEMONS) {
        const pid = pidFileHolder(paths.pid(daemon));
        if (pid !== undefined) pids[daemon] = pid;
      }
      if (pids.bgpd !== undefined) ownerPid = parentOf(parentOf(parentOf(pids.bgpd)));
      if (Object.keys(pids).length === 0 && !gaveUp) return undefined;
    }
    const status: FrrStatus = {
      running: pids.zebra !== undefined && pids.bgpd !== undefined,
      pids,
      restarts,
      ...(ownerPid ? { ownerPid } : {}),
      peers: [],
      established: 0,
      ...(gaveUp ? { gaveUp } : {}),
      problems: [],
    };
    if (gaveUp && !status.running) status.problems.push(`bgp: stopped (gave up at ${gaveUp.at}: ${gaveUp.reason})`);
    for (const daemon of DAEMONS)
      if (pids[daemon] === undefined && !gaveUp) status.problems.push(`bgp: ${daemon} is not running`);
    if (pids.bgpd === undefined) return status;
    const vtysh = instance?.tools.vtysh ?? safeTools(this)?.vtysh;
    if (!vtysh) return status;
    try {
      // One object per address family ({ ipv4Unicast: {...}, l2VpnEvpn: {...} }); a peer may be in several.
      const summary = (await vtyshJson(vtysh, paths.dir, 'show bgp summary json')) as Record<string, any>;
      const peers = new Map<string, BgpPeerStatus>();
      for (const [family, table] of Object.entries(summary)) {
        if (typeof table !== 'object' || table === null || !table.peers) continue;
        status.asn ??= table.as;
        status.routerId ??= table.routerId;
        for (const [address, peer] of Object.entries<any>(table.peers)) {
          const known = peers.get(address);
          if (known) {
            known.prefixesReceived += peer.pfxRcd ?? 0;
            known.families.push(family);
            continue;
          }
          peers.set(address, {
            address,
            state: peer.state,
            prefixesReceived: peer.pfxRcd ?? 0,
            families: [family],
            ...(peer.peerUptime ? { uptime: peer.peerUptime } : {}),
          });
        }
      }
      status.peers = [...peers.values()].sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
      status.established = status.peers.filter((p) => p.state === 'Established').length;
    } catch (error) {
      status.problems.push(`bgp: cannot read FRR's status: ${(error as Error).message}`);
    }
    return status;
  }

  /** One read-only vtysh command's JSON from the network's daemons (undefined when bgpd does not run). */
  async query(network: string, state: NetworkState, command: string): Promise<unknown> {
    const paths = frrPaths(FrrService.dirOf(state));
    const running = this.instances.get(network)?.supervisors.get('bgpd')?.status().state === 'running';
    if (!running && pidFileHolder(paths.pid('bgpd')) === undefined) return undefined;
    const vtysh = this.instances.get(network)?.tools.vtysh ?? safeTools(this)?.vtysh;
    if (!vtysh) return undefined;
    return vtyshJson(vtysh, paths.dir, command);
  }

  async close(): Promise<void> {
    const networks = [...this.instances.keys()];
    await Promise.all(networks.map((network) => this.stop(network)));
  }
}

function safeTools(service: FrrService): FrrTools | undefined {
  try {
    return service.tools();
  } catch {
    return undefined;
  }
}

function sameConfig(paths: FrrPaths, config: FrrConfig): boolean {
  try {
    return (
      readFileSync(paths.config('zebra'), 'utf8') === config.zebra &&
      readFileSync(paths.config('bgpd'), 'utf8') === config.bgpd
    );
  } catch {
    return false;
  }
}

function parentOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * Stops daemons of this directory that another process launched. Their
 * supervisor would restart a daemon that merely died, so, as for DHCP, the
 * owner (the vxnet process above the launch chain) is asked to stop
 * (SIGTERM: it stops its daemons gracefully); daemons still alive after the
 * timeout are killed.
 */
export async function stopForeign(paths: FrrPaths, timeoutMs: number): Promise<void> {
  const pids = (['bgpd', 'zebra'] as FrrDaemonName[])
    .map((d) => pidFileHolder(paths.pid(d)))
    .filter((p): p is number => p !== undefined);
  if (pids.length === 0) return;
  const owners = new Set(
    pids
      .map((pid) => parentOf(parentOf(parentOf(pid))))
      .filter((p): p is number => p !== undefined && p > 1 && p !== process.pid),
  );
  for (const owner of owners) signal(owner, 'SIGTERM');
  if (owners.size === 0) for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (pids.some((pid) => processAlive(pid))) {
    if (Date.now() > deadline) for (const pid of pids) signal(pid, 'SIGKILL');
    if (Date.now() > deadline + timeoutMs) throw new Error(`FRR (pid ${pids.join(', ')}) does not end`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone
  }
}
