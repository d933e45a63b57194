/**
 * The FRR instances an OverlayHost runs: per routed network with
 * `routes.bgp`, one zebra and one bgpd, each under its own supervisor
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
 * Status reads FRR through vtysh, read-only: sessions and prefixes received
 * (`show bgp summary json`), and any learned prefix that overlaps this
 * host's own subnet (`show bgp ipv4 unicast json`), which zebra's route map
 * keeps out of the kernel.
 */
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Change } from '../common/plan.js';
import { processAlive } from '../dnsmasq/process.js';
import { type RestartPolicy, Supervisor, validatePolicy } from '../dnsmasq/supervisor.js';
import type { NetworkState } from '../overlay/state.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { frrConfig, type FrrConfig } from './frr-config.js';
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
} from './frr-daemon.js';
import { mainTable, routeDestination } from './routes.js';
import { overlaps, type ResolvedRoutedSpec, type Subnet } from './spec.js';

export const RTPROT_BGP = 186;
const DAEMONS: FrrDaemonName[] = ['zebra', 'bgpd'];

export interface FrrServiceOptions extends FrrToolOptions {
  restart?: Partial<RestartPolicy>;
  /** How long a daemon may take to make its socket. Default 10 s. */
  startTimeoutMs?: number;
  /** SIGTERM to SIGKILL. Default 5 s. */
  stopTimeoutMs?: number;
}

export interface BgpPeerStatus {
  address: string;
  state: string;
  /** Prefixes received from the peer (after policy). */
  prefixesReceived: number;
  /** Seconds the session has been up (or down). */
  uptime?: string;
}

export interface BgpStatus {
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
  /** Routes zebra installed (protocol bgp, main table). */
  routes: { dst: string; via?: string; dev?: string }[];
  /** Learned prefixes that overlap this host's subnet: never installed over it. */
  overlapping: { prefix: string; from: string }[];
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

  /** The changes that bring the network's FRR to `spec` (none without routes.bgp and none running). */
  plan(spec: ResolvedRoutedSpec, state: NetworkState): Change[] {
    if (!spec.routes.bgp) {
      const stop = this.planStop(spec.name, state);
      return stop ? [{ ...stop, detail: 'routes.bgp no longer in the spec' }] : [];
    }
    const tools = this.tools();
    validatePolicy(this.options.restart, 'frr.restart');
    const config = frrConfig(spec);
    const paths = frrPaths(FrrService.dirOf(state));
    const running = this.instances.get(spec.name);
    const bgp = spec.routes.bgp;
    const detail = `zebra + bgpd, AS ${bgp.asn}, router-id ${bgp.routerId}${bgp.neighbors.length ? `, neighbors ${bgp.neighbors.join(' ')}` : ''}${bgp.listen ? `, listen ${bgp.listen.text}` : ''}, hold ${bgp.holdTime} s`;
    const target = `frr of ${spec.name}`;
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
              await this.start(spec.name, config, paths, tools, state);
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
            await stopForeign(paths, this.options.stopTimeoutMs ?? 5000); // half an instance (one daemon alive): start whole
            await this.start(spec.name, config, paths, tools, state);
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
            await this.stop(spec.name);
            await this.start(spec.name, config, paths, tools, state);
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
            await this.stop(spec.name);
            await this.start(spec.name, config, paths, tools, state);
          },
        },
      ];
    }
    return [];
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

  async status(network: string, state: NetworkState, rt: Rtnetlink, subnet?: Subnet): Promise<BgpStatus | undefined> {
    const paths = frrPaths(FrrService.dirOf(state));
    const gaveUp = (state.read() as BgpRecord).bgp?.gaveUp;
    const instance = this.instances.get(network);
    const pids: BgpStatus['pids'] = {};
    const restarts: BgpStatus['restarts'] = {};
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
    const status: BgpStatus = {
      running: pids.zebra !== undefined && pids.bgpd !== undefined,
      pids,
      restarts,
      ...(ownerPid ? { ownerPid } : {}),
      peers: [],
      established: 0,
      routes: [],
      overlapping: [],
      ...(gaveUp ? { gaveUp } : {}),
      problems: [],
    };
    if (gaveUp && !status.running) status.problems.push(`bgp: stopped (gave up at ${gaveUp.at}: ${gaveUp.reason})`);
    for (const daemon of DAEMONS)
      if (pids[daemon] === undefined && !gaveUp) status.problems.push(`bgp: ${daemon} is not running`);
    const names = new Map((await rt.links.list()).map((l) => [l.ifindex, l.ifname]));
    status.routes = (await mainTable(rt))
      .filter((r) => r.protocol === RTPROT_BGP)
      .map((r) => ({
        dst: routeDestination(r),
        ...(r.gateway ? { via: r.gateway } : {}),
        ...(r.oif !== undefined ? { dev: names.get(r.oif) ?? `#${r.oif}` } : {}),
      }));
    if (pids.bgpd === undefined) return status;
    const vtysh = instance?.tools.vtysh ?? safeTools(this)?.vtysh;
    if (!vtysh) return status;
    try {
      const summary = (await vtyshJson(vtysh, paths.dir, 'show bgp ipv4 unicast summary json')) as any;
      status.asn = summary.as;
      status.routerId = summary.routerId;
      for (const [address, peer] of Object.entries<any>(summary.peers ?? {})) {
        status.peers.push({
          address,
          state: peer.state,
          prefixesReceived: peer.pfxRcd ?? 0,
          ...(peer.peerUptime ? { uptime: peer.peerUptime } : {}),
        });
      }
      status.peers.sort((a, b) => a.address.localeCompare(b.address, 'en', { numeric: true }));
      status.established = status.peers.filter((p) => p.state === 'Established').length;
      if (subnet) {
        const table = (await vtyshJson(vtysh, paths.dir, 'show bgp ipv4 unicast json')) as any;
        for (const [prefix, paths_] of Object.entries<any>(table.routes ?? {})) {
          const [address, len] = prefix.split('/');
          if (!overlaps({ text: prefix, address: address!, prefixlen: Number(len) }, subnet)) continue;
          for (const path of paths_ as any[]) {
            const from = path.peerId;
            if (!from || from === '(unspec)' || from === '0.0.0.0') continue; // our own `network`
            status.overlapping.push({ prefix, from });
            status.problems.push(
              `bgp: ${from} announces ${prefix}, which overlaps this host's subnet ${subnet.text}: not installed over it`,
            );
          }
        }
      }
    } catch (error) {
      status.problems.push(`bgp: cannot read FRR's status: ${(error as Error).message}`);
    }
    return status;
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
