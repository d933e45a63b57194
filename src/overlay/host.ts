/**
 * One host's part of an overlay network: plan, apply, destroy, status.
 *
 * apply() converges the host to the spec, block by block — the VXLAN device
 * (and its peers), the bridge with the gateway, masquerade and the VXLAN port
 * in nf_tables, and the DHCP server — and reports each change. Run again, it
 * changes nothing. Everything it creates is marked as the network's on the
 * object itself (link alias, table name, dnsmasq instance), which is how
 * destroy() finds exactly what to remove and status() what to report.
 */
import { rmSync } from 'node:fs';
import { attachPort, planBridge, planPort } from '../bridge/bridge.js';
import type { Change } from '../common/plan.js';
import { describeChange } from '../common/plan.js';
import { ownerAlias, ownerFromAlias, validateOwner } from '../common/ownership.js';
import { DnsmasqServer } from '../dnsmasq/server.js';
import { type Lease, readLeases } from '../dnsmasq/leases.js';
import { DEFAULT_STATE_ROOT, type DnsmasqSpec, validateSpec, type ValidSpec } from '../dnsmasq/spec.js';
import { dhcpOwner, recordOwner, stopForeignDhcp } from './dhcp-owner.js';
import { VxnetError } from '../netlink/errors.js';
import { Rtnetlink } from '../rtnetlink/client.js';
import type { Link } from '../rtnetlink/links.js';
import { enableIpForwarding, ipForwarding } from '../masquerade/forwarding.js';
import { Masquerade } from '../masquerade/masquerade.js';
import type { MasqueradeConfig } from '../masquerade/config.js';
import { planVxlan } from '../vxlan/device.js';
import { addPeer, removePeer } from '../vxlan/peers.js';
import { underlayFamily, vxlanStatus, type VxlanStatus } from '../vxlan/status.js';
import { peerAddress } from '../masquerade/addresses.js';
import { resolveSpec, type OverlaySpec, type ResolvedSpec } from './spec.js';

export interface OverlayHostOptions {
  /** Work inside this network namespace (/run/netns/NAME). */
  namespace?: string;
  /** Root of the DHCP servers' state directories. Default /run/vxnet/dnsmasq. */
  stateRoot?: string;
}

export interface ApplyOptions {
  /** Recreate a VXLAN device whose VNI, port, group or underlay differ (else a ConflictError). */
  replace?: boolean;
  /** Called after each change is carried out; throwing stops the apply there (the next apply resumes). */
  onChange?: (change: Change, index: number) => void;
}

export interface OverlayStatus {
  name: string;
  /** Links carrying this network's mark. */
  links: { name: string; kind?: string; mtu?: number; up: boolean }[];
  vxlan?: VxlanStatus;
  bridge?: { name: string; ports: string[]; addresses: string[] };
  /** The DHCP server, when this host serves it: dnsmasq's pid, and the pid of the process supervising it if that is not us. */
  dhcp?: { running: boolean; pid?: number; ownerPid?: number; restarts: number; leases: Lease[] };
  /** vxnet's nf_tables table for the network: its rules (by comment) and the VXLAN peer set. */
  firewall?: { table: string; rules: string[]; peers?: string[] };
  /** What apply would still change (given a spec): drift from it. Empty when the host matches. */
  drift: string[];
  problems: string[];
}

export class OverlayHost implements AsyncDisposable {
  private readonly servers = new Map<string, DnsmasqServer>();
  private readonly masquerades = new Map<string, Promise<Masquerade>>();
  /** Foreign chains found dropping what our rules accept, per network (from the last apply). */
  private readonly blocking = new Map<string, string[]>();

  private constructor(
    readonly rt: Rtnetlink,
    private readonly options: OverlayHostOptions,
  ) {}

  static async open(options: OverlayHostOptions = {}): Promise<OverlayHost> {
    return new OverlayHost(await Rtnetlink.open({ namespace: options.namespace }), options);
  }

  get namespace(): string | undefined {
    return this.options.namespace;
  }

  private instanceName(network: string): string {
    return this.options.namespace ? `${this.options.namespace}.${network}` : network;
  }

  /** The DHCP instance's state directory (dnsmasq's files and the owner's pid). */
  stateDir(network: string): string {
    return `${this.options.stateRoot ?? DEFAULT_STATE_ROOT}/${this.instanceName(network)}`;
  }

  /** The changes apply() would make, in order, without making them. */
  async plan(input: OverlaySpec | ResolvedSpec): Promise<Change[]> {
    const spec = 'mode' in input ? input : resolveSpec(input);
    return this.changesFor(spec, {});
  }

  private async changesFor(spec: ResolvedSpec, options: ApplyOptions): Promise<Change[]> {
    const rt = this.rt;
    const changes: Change[] = [];
    changes.push(...(await planVxlan(rt, {
      name: spec.vxlan, vni: spec.vni, underlay: spec.underlay.device, local: spec.underlay.address, port: spec.port,
      ...(spec.group ? { group: spec.group } : { peers: spec.peers }),
      ...(spec.mtu ? { mtu: spec.mtu } : {}), owner: spec.name,
    }, { replace: options.replace })));
    // The bridge takes the VXLAN device's MTU: the one the spec gives, or the underlay's minus the overhead.
    const mtu = spec.mtu ?? (await this.overlayMtu(spec));
    changes.push(...(await planBridge(rt, {
      name: spec.bridge, mtu, owner: spec.name,
      ...(spec.gateway ? { address: `${spec.gateway}/${spec.subnet.prefixlen}` } : {}),
    })));
    const bridgeExists = await rt.links.find(spec.bridge);
    const vxlanExists = await rt.links.find(spec.vxlan);
    if (bridgeExists && vxlanExists) changes.push(...(await planPort(rt, spec.bridge, spec.vxlan)));
    else changes.push({ action: 'add', target: `port ${spec.vxlan} on ${spec.bridge}`, apply: async () => void (await attachPort(rt, spec.bridge, spec.vxlan)) });
    changes.push(...(await this.planFirewall(spec)));
    if (spec.dhcp?.serve) changes.push(...this.planDhcp(spec, mtu));
    return changes;
  }

  /** nf_tables table of a network: vxnet-NAME, owned (marked) by vxnet. */
  static tableName(network: string): string {
    return `vxnet-${network}`;
  }

  private masqueradeFor(network: string): Promise<Masquerade> {
    let masquerade = this.masquerades.get(network);
    if (!masquerade) {
      masquerade = Masquerade.open({ ...(this.options.namespace ? { namespace: this.options.namespace } : {}), table: OverlayHost.tableName(network), ip6: true });
      this.masquerades.set(network, masquerade);
    }
    return masquerade;
  }

  /** The masquerade rule, the VXLAN port opening and the bridge's forwarding, in the network's own table. */
  private async planFirewall(spec: ResolvedSpec): Promise<Change[]> {
    const table = OverlayHost.tableName(spec.name);
    if (!spec.masquerade && !spec.firewall) {
      // Neither asked for: a table left from an earlier spec goes.
      const masquerade = await this.masqueradeFor(spec.name);
      if (!(await masquerade.status()).present) return [];
      return [{ action: 'delete', target: `nftables table ${table}`, detail: 'no longer in the spec', apply: async () => void (await masquerade.remove()) }];
    }
    const masquerade = await this.masqueradeFor(spec.name);
    const config: MasqueradeConfig = {
      subnet: spec.subnet.text,
      nat: spec.masquerade !== undefined,
      ...(spec.masquerade?.egress ? { egress: spec.masquerade.egress } : {}),
      bridge: spec.bridge,
      ...(spec.firewall
        ? { vxlan: { port: spec.port, family: (spec.group ?? spec.underlay.address ?? '').includes(':') ? 6 : 4, ...(spec.mode === 'unicast' && spec.firewall.peersOnly && spec.peers.length ? { peers: spec.peers } : {}) } }
        : {}),
    };
    const changes: Change[] = [];
    const diff = await masquerade.diff(config);
    if (diff.length) {
      const present = (await masquerade.status()).present;
      changes.push({
        action: present ? 'update' : 'create',
        target: `nftables table ${table}`,
        detail: [spec.masquerade ? `masquerade ${spec.subnet.text}` : '', spec.firewall ? `udp ${spec.port} open` : '', `${diff.length} message(s)`].filter(Boolean).join(', '),
        apply: async () => {
          const result = await masquerade.ensure(config);
          this.blocking.set(spec.name, result.blocking.map((b) => b.reason));
        },
      });
    }
    if (spec.masquerade && !(await ipForwarding(this.options.namespace))) {
      changes.push({ action: 'update', target: 'net.ipv4.ip_forward', detail: '0 → 1 (masquerade routes the containers\' traffic)', apply: () => enableIpForwarding(this.options.namespace) });
    }
    return changes;
  }

  private async overlayMtu(spec: ResolvedSpec): Promise<number> {
    const underlay = await this.rt.links.find(spec.underlay.device);
    const overhead = (spec.group ?? spec.underlay.address ?? '').includes(':') ? 70 : 50;
    return (underlay?.mtu ?? 1500) - overhead;
  }

  private dhcpSpec(spec: ResolvedSpec, mtu: number): DnsmasqSpec {
    const dhcp = spec.dhcp!;
    return {
      interface: spec.bridge,
      subnet: spec.subnet.text,
      gateway: spec.gateway!,
      ranges: dhcp.ranges,
      mtu,
      ...(dhcp.hosts ? { hosts: dhcp.hosts } : {}),
      ...(dhcp.leaseTime !== undefined ? { leaseTime: dhcp.leaseTime } : {}),
      ...(dhcp.dnsServers ? { dnsServers: dhcp.dnsServers } : {}),
      ...(dhcp.domain ? { domain: dhcp.domain } : {}),
    };
  }

  private planDhcp(spec: ResolvedSpec, mtu: number): Change[] {
    const running = this.servers.get(spec.name);
    const wanted = this.dhcpSpec(spec, mtu);
    const start = async (): Promise<void> => {
      const server = await DnsmasqServer.start(wanted, {
        instance: this.instanceName(spec.name),
        ...(this.options.namespace ? { namespace: this.options.namespace } : {}),
        stateDir: this.stateDir(spec.name),
      });
      this.servers.set(spec.name, server);
      recordOwner(this.stateDir(spec.name));
    };
    if (!running) {
      // Served by another process (an earlier `vxnet apply` still running): that one owns it.
      const foreign = dhcpOwner(this.stateDir(spec.name));
      if (foreign.ownerPid !== undefined && foreign.dnsmasqPid !== undefined) return [];
    }
    if (!running || running.status().state === 'stopped' || running.status().state === 'failed') {
      return [{ action: 'start', target: `dhcp on ${spec.bridge}`, detail: `dnsmasq, ${wanted.ranges.map((r) => `${r.start}–${r.end}`).join(', ')}`, apply: start }];
    }
    const current = running.spec;
    const want = validateSpec(wanted);
    const withoutHosts = (v: ValidSpec): string => JSON.stringify({ ...v, hosts: undefined });
    if (withoutHosts(current) !== withoutHosts(want)) {
      return [{
        action: 'restart', target: `dhcp on ${spec.bridge}`, detail: 'configuration changed',
        apply: async () => {
          await running.stop();
          this.servers.delete(spec.name);
          await start();
        },
      }];
    }
    if (JSON.stringify(current.hosts) !== JSON.stringify(want.hosts)) {
      return [{ action: 'update', target: `dhcp static hosts on ${spec.bridge}`, apply: async () => void (await running.updateHosts(wanted.hosts ?? [])) }];
    }
    return [];
  }

  /** Converges the host to the spec; returns the changes made (none: it already matched). */
  async apply(input: OverlaySpec | ResolvedSpec, options: ApplyOptions = {}): Promise<Change[]> {
    const spec = 'mode' in input ? input : resolveSpec(input);
    const changes = await this.changesFor(spec, options);
    for (const [index, change] of changes.entries()) {
      try {
        await change.apply();
      } catch (error) {
        throw new VxnetError(`apply ${spec.name}: step ${index + 1} of ${changes.length} (${describeChange(change)}) failed: ${(error as Error).message}`, { cause: error });
      }
      options.onChange?.(change, index);
    }
    return changes;
  }

  /** The network's VXLAN device on this host (found by its mark). */
  private async vxlanOf(name: string): Promise<Link> {
    const device = (await this.ownedLinks(name)).find((l) => l.linkinfo?.info_kind === 'vxlan');
    if (!device) throw new VxnetError(`network ${name} has no VXLAN device in ${this.rt.where} (apply its spec first)`);
    return device;
  }

  /**
   * Adds a unicast peer: its flood entry on the VXLAN device and, if the
   * firewall accepts VXLAN from peers only, its address in the peer set.
   * False if it was there already.
   */
  async addPeer(name: string, address: string): Promise<boolean> {
    validateOwner(name, 'name');
    const device = await this.vxlanOf(name);
    peerAddress(address, 'address', underlayFamily(device)); // before the FDB: a bad address changes nothing
    const added = await addPeer(this.rt, device.ifname!, address);
    await (await this.masqueradeFor(name)).addPeers([address]);
    return added;
  }

  /** Removes a unicast peer (and what was learned behind it); false if it was not there. */
  async removePeer(name: string, address: string): Promise<boolean> {
    validateOwner(name, 'name');
    const device = await this.vxlanOf(name);
    peerAddress(address, 'address', underlayFamily(device));
    const removed = await removePeer(this.rt, device.ifname!, address);
    await (await this.masqueradeFor(name)).removePeers([address]);
    return removed;
  }

  /** Links that carry this network's mark. */
  private async ownedLinks(name: string): Promise<Link[]> {
    const alias = ownerAlias(name);
    return (await this.rt.links.list()).filter((l) => l.ifalias === alias);
  }

  /**
   * Removes exactly what vxnet created for the network on this host: its DHCP
   * server, its marked links. Devices without the mark are never touched.
   */
  async destroy(name: string): Promise<Change[]> {
    validateOwner(name, 'name');
    const changes: Change[] = [];
    const server = this.servers.get(name);
    if (server) {
      changes.push({
        action: 'stop', target: `dhcp of ${name}`,
        apply: async () => {
          await server.stop();
          this.servers.delete(name);
          rmSync(this.stateDir(name), { recursive: true, force: true });
        },
      });
    } else {
      const foreign = dhcpOwner(this.stateDir(name));
      if (foreign.ownerPid !== undefined || foreign.dnsmasqPid !== undefined) {
        changes.push({
          action: 'stop', target: `dhcp of ${name}`, detail: `served by pid ${foreign.ownerPid ?? foreign.dnsmasqPid}`,
          apply: async () => void (await stopForeignDhcp(this.stateDir(name))),
        });
      }
    }
    // The bridge first: deleting it releases its ports; then the VXLAN device.
    const owned = (await this.ownedLinks(name)).sort((a, b) => Number(b.linkinfo?.info_kind === 'bridge') - Number(a.linkinfo?.info_kind === 'bridge'));
    for (const link of owned) {
      changes.push({ action: 'delete', target: `link ${link.ifname}`, detail: link.linkinfo?.info_kind, apply: () => this.rt.links.delete(link.ifindex) });
    }
    const masquerade = await this.masqueradeFor(name);
    if ((await masquerade.status()).present) {
      changes.push({ action: 'delete', target: `nftables table ${OverlayHost.tableName(name)}`, apply: async () => void (await masquerade.remove()) });
    }
    for (const change of changes) await change.apply();
    return changes;
  }

  async status(name: string, spec?: OverlaySpec | ResolvedSpec): Promise<OverlayStatus> {
    validateOwner(name, 'name');
    const resolved = spec === undefined ? undefined : 'mode' in spec ? spec : resolveSpec(spec);
    const owned = await this.ownedLinks(name);
    const status: OverlayStatus = {
      name,
      links: owned.map((l) => ({ name: l.ifname!, kind: l.linkinfo?.info_kind, mtu: l.mtu, up: (l.flags & 1) !== 0 })),
      drift: [],
      problems: [],
    };
    const vx = owned.find((l) => l.linkinfo?.info_kind === 'vxlan') ?? (resolved ? await this.rt.links.find(resolved.vxlan) : undefined);
    if (vx) {
      status.vxlan = await vxlanStatus(this.rt, vx.ifname!, { port: resolved?.port, vni: resolved?.vni });
      status.problems.push(...status.vxlan.problems);
    }
    const br = owned.find((l) => l.linkinfo?.info_kind === 'bridge');
    if (br) {
      const ports = (await this.rt.links.list({ master: br.ifindex })).map((l) => l.ifname!);
      const addresses = (await this.rt.addresses.list({ dev: br.ifindex })).filter((a) => a.family === 2 || a.scope === 0).map((a) => `${a.local ?? a.address}/${a.prefixlen}`);
      status.bridge = { name: br.ifname!, ports, addresses };
    }
    const server = this.servers.get(name);
    if (server) {
      const s = server.status();
      status.dhcp = { running: s.state === 'running', pid: s.pid, restarts: s.restarts, leases: await server.leases() };
    } else {
      const foreign = dhcpOwner(this.stateDir(name));
      if (foreign.dnsmasqPid !== undefined) {
        const leases = await readLeases(`${this.stateDir(name)}/leases`).catch(() => []);
        status.dhcp = { running: true, pid: foreign.dnsmasqPid, restarts: 0, leases, ...(foreign.ownerPid ? { ownerPid: foreign.ownerPid } : {}) };
      }
    }
    const masquerade = await (await this.masqueradeFor(name)).status();
    if (masquerade.present) {
      status.firewall = { table: OverlayHost.tableName(name), rules: masquerade.rules.map((r) => r.comment ?? '(no comment)'), ...(masquerade.peers ? { peers: masquerade.peers } : {}) };
    }
    status.problems.push(...(this.blocking.get(name) ?? []));
    if (resolved) status.drift = (await this.changesFor(resolved, {})).map(describeChange);
    if (owned.length === 0 && !resolved) status.problems.push(`nothing of network ${name} exists in ${this.rt.where}`);
    for (const link of owned) if (ownerFromAlias(link.ifalias) !== name) status.problems.push(`${link.ifname} is marked for another network`);
    return status;
  }

  /** Stops the DHCP servers this object started and closes the connection. */
  async close(): Promise<void> {
    for (const server of this.servers.values()) await server.stop();
    this.servers.clear();
    for (const masquerade of this.masquerades.values()) (await masquerade).close();
    this.masquerades.clear();
    this.rt.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
