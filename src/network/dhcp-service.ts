/**
 * The DHCP servers an OverlayHost runs: one supervised dnsmasq per network
 * that this host serves, in the network's state directory. It plans starts,
 * restarts and static-host updates like any other change, and it watches
 * each server: when the supervisor gives up, the failure is recorded in the
 * network's state (so `vxnet status` in any process reports it) and handed
 * to the host's listener, instead of surfacing as an unhandled 'error'.
 */
import { readFileSync, rmSync } from 'node:fs';
import type { Change } from '../common/plan.js';
import { ValidationError } from '../netlink/errors.js';
import { instancePaths, renderHosts, writeAtomic } from '../dnsmasq/config.js';
import type { Lease } from '../dnsmasq/leases.js';
import { readLeases } from '../dnsmasq/leases.js';
import { DnsmasqServer, type DnsmasqServerOptions } from '../dnsmasq/server.js';
import { type DnsmasqSpec, validateSpec, type ValidSpec } from '../dnsmasq/spec.js';
import { dhcpOwner, recordOwner, stopForeignDhcp } from './dhcp-owner.js';
import type { ResolvedDhcp } from './dhcp-spec.js';
import type { NetworkState } from './state.js';

export interface DhcpStatus {
  running: boolean;
  pid?: number;
  /** The process supervising dnsmasq, when it is not this one. */
  ownerPid?: number;
  restarts: number;
  leases: Lease[];
  /** The supervisor stopped restarting dnsmasq: when, and the last failure. */
  gaveUp?: { at: string; reason: string };
}

/** What the DHCP server is made from: the parts of a spec (VXLAN or routed) it reads. */
export interface DhcpSource {
  name: string;
  bridge: string;
  subnet: { text: string; address: string; prefixlen: number };
  dhcp?: ResolvedDhcp;
  gateway?: string;
}

export type DhcpFailureListener = (network: string, error: Error) => void;

export class DhcpService {
  private readonly servers = new Map<string, DnsmasqServer>();

  constructor(
    private readonly namespace: string | undefined,
    private readonly onFailure: DhcpFailureListener,
    /** Options for every server (tests shorten the restart policy, or point at another dnsmasq). */
    private readonly serverOptions: Partial<DnsmasqServerOptions> = {},
  ) {}

  /** Whether this process supervises the network's server. */
  serves(network: string): boolean {
    return this.servers.has(network);
  }

  plan(spec: DhcpSource, mtu: number, state: NetworkState): Change[] {
    const running = this.servers.get(spec.name);
    const wanted = dhcpSpec(spec, mtu);
    const target = `dhcp on ${spec.bridge}`;
    if (!running) {
      // Served by another process (an agent, or an earlier `vxnet apply` still running): that one owns it.
      const foreign = dhcpOwner(state.dhcpDir);
      if (foreign.ownerPid !== undefined && foreign.dnsmasqPid !== undefined)
        return planForeignHosts(spec, wanted, state, foreign.dnsmasqPid, foreign.ownerPid);
    }
    const state_ = running?.status().state;
    if (!running || state_ === 'stopped' || state_ === 'failed') {
      return [
        {
          action: 'start',
          target,
          detail: `dnsmasq, ${wanted.ranges.map((r) => `${r.start}–${r.end}`).join(', ')}`,
          apply: () => this.start(spec.name, wanted, state),
        },
      ];
    }
    const current = running.spec;
    const want = validateSpec(wanted);
    const withoutHosts = (v: ValidSpec): string => JSON.stringify({ ...v, hosts: undefined });
    if (withoutHosts(current) !== withoutHosts(want)) {
      return [
        {
          action: 'restart',
          target,
          detail: 'configuration changed',
          apply: async () => {
            await this.stop(spec.name);
            await this.start(spec.name, wanted, state);
          },
        },
      ];
    }
    if (JSON.stringify(current.hosts) !== JSON.stringify(want.hosts)) {
      return [
        {
          action: 'update',
          target: `dhcp static hosts on ${spec.bridge}`,
          apply: async () => void (await running.updateHosts(wanted.hosts ?? [])),
        },
      ];
    }
    return [];
  }

  private async start(network: string, wanted: DnsmasqSpec, state: NetworkState): Promise<void> {
    state.ensureDir();
    state.update((record) => delete record.dhcp);
    const server = await DnsmasqServer.start(wanted, {
      ...this.serverOptions,
      instance: network,
      ...(this.namespace ? { namespace: this.namespace } : {}),
      stateDir: state.dhcpDir,
    });
    server.on('error', (error) => {
      state.update((record) => {
        record.dhcp = { gaveUp: { at: new Date().toISOString(), reason: error.message } };
      });
      this.onFailure(network, error);
    });
    this.servers.set(network, server);
    recordOwner(state.dhcpDir);
  }

  /** The change that stops the network's server, wherever it runs; none if none runs. */
  planStop(network: string, state: NetworkState): Change | undefined {
    if (this.servers.has(network)) {
      return { action: 'stop', target: `dhcp of ${network}`, apply: () => this.stop(network, state) };
    }
    const foreign = dhcpOwner(state.dhcpDir);
    if (foreign.ownerPid === undefined && foreign.dnsmasqPid === undefined) return undefined;
    return {
      action: 'stop',
      target: `dhcp of ${network}`,
      detail: `served by pid ${foreign.ownerPid ?? foreign.dnsmasqPid}`,
      apply: async () => void (await stopForeignDhcp(state.dhcpDir)),
    };
  }

  async stop(network: string, state?: NetworkState): Promise<void> {
    const server = this.servers.get(network);
    if (!server) return;
    this.servers.delete(network);
    await server.stop();
    if (state) rmSync(state.dhcpDir, { recursive: true, force: true });
  }

  async status(network: string, state: NetworkState): Promise<DhcpStatus | undefined> {
    const gaveUp = state.read().dhcp?.gaveUp;
    const server = this.servers.get(network);
    if (server) {
      const s = server.status();
      return {
        running: s.state === 'running',
        pid: s.pid,
        restarts: s.restarts,
        leases: await server.leases(),
        ...(gaveUp ? { gaveUp } : {}),
      };
    }
    const foreign = dhcpOwner(state.dhcpDir);
    if (foreign.dnsmasqPid !== undefined) {
      const leases = await readLeases(`${state.dhcpDir}/leases`).catch(() => []);
      return {
        running: true,
        pid: foreign.dnsmasqPid,
        restarts: 0,
        leases,
        ...(foreign.ownerPid ? { ownerPid: foreign.ownerPid } : {}),
      };
    }
    if (gaveUp) return { running: false, restarts: 0, leases: [], gaveUp };
    return undefined;
  }

  /** Stops every server this process runs. */
  async close(): Promise<void> {
    const servers = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/**
 * The static hosts of a server another process supervises: dnsmasq re-reads
 * its hosts file on SIGHUP, so whoever supervises it, the file is rewritten
 * (atomically) and dnsmasq signalled. The rest of its configuration stays
 * with its supervisor. A lease that contradicts a new mapping is not pruned
 * from here (that needs a restart, which only the supervisor does); dnsmasq
 * refuses it at the client's next renewal.
 */
function planForeignHosts(
  spec: DhcpSource,
  wanted: DnsmasqSpec,
  state: NetworkState,
  dnsmasqPid: number,
  ownerPid: number,
): Change[] {
  const text = renderHosts(validateSpec(wanted).hosts);
  const path = instancePaths(state.dhcpDir).hosts;
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) return [];
  return [
    {
      action: 'update',
      target: `dhcp static hosts on ${spec.bridge}`,
      detail: `served by pid ${ownerPid}: hosts file rewritten, dnsmasq pid ${dnsmasqPid} reloaded (SIGHUP)`,
      apply: async () => {
        await writeAtomic(path, text);
        process.kill(dnsmasqPid, 'SIGHUP');
      },
    },
  ];
}

function dhcpSpec(spec: DhcpSource, mtu: number): DnsmasqSpec {
  // Planned only for a network that serves DHCP, whose spec has a gateway to hand out.
  const { dhcp, gateway } = spec;
  if (!dhcp) throw new ValidationError('dhcp', `network ${spec.name} does not serve DHCP`);
  if (gateway === undefined)
    throw new ValidationError('gateway', `network ${spec.name} serves DHCP but has no gateway`);
  return {
    interface: spec.bridge,
    subnet: spec.subnet.text,
    gateway,
    ranges: dhcp.ranges.map((range) => ({ ...range })),
    mtu,
    ...(dhcp.hosts ? { hosts: dhcp.hosts.map((host) => ({ ...host })) } : {}),
    ...(dhcp.leaseTime !== undefined ? { leaseTime: dhcp.leaseTime } : {}),
    ...(dhcp.dnsServers ? { dnsServers: [...dhcp.dnsServers] } : {}),
    ...(dhcp.domain ? { domain: dhcp.domain } : {}),
  };
}
