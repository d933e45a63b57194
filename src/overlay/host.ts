/**
 * One host's part of an overlay network: plan, apply, destroy, status.
 *
 * apply() converges the host to the spec, block by block — the VXLAN device
 * (and its peers), the bridge with the gateway, masquerade and the VXLAN port
 * in nf_tables, and the DHCP server — and reports each change. Run again, it
 * changes nothing. Everything it creates is marked as the network's on the
 * object itself (link alias, table name, dnsmasq instance), which is how
 * destroy() finds exactly what to remove and status() what to report.
 *
 * Containers join the network with attach() (a veth pair from the bridge
 * into the container's namespace, see src/attach/): under the network's
 * lock, on its bridge, with its MTU and its gateway; status() lists them and
 * destroy() removes them with the rest.
 *
 * Every plan is made, and so every input validated, before the first write.
 * Writers of one network in one network namespace take turns (NetworkLock),
 * whichever process they run in; state that outlives a process lives in the
 * network's directory keyed by the namespace's identity (NetworkState).
 */
import { EventEmitter } from 'node:events';
import ipaddr from 'ipaddr.js';
import {
  attach as attachContainer,
  type AttachIo,
  type AttachmentCheck,
  type AttachResult,
  checkAttachment,
  detach as detachContainer,
  type DetachResult,
} from '../attach/attach.js';
import { NetworkNotAppliedError } from '../attach/errors.js';
import { linkLabel, linkName } from '../common/link.js';
import { type Attachment, listAttachments } from '../attach/list.js';
import { parseHostMark } from '../attach/mark.js';
import { readLinksOnce } from '../rtnetlink/reading.js';
import { BridgeNotOwnedError, planBridgeRelease, planNetworkBridge } from '../bridge/adopt.js';
import { attachPort, planPort } from '../bridge/bridge.js';
import { ConflictError, LIBRARY_REPLACE } from '../common/conflict.js';
import { ownerAlias, ownerFromAlias, validateOwner } from '../common/ownership.js';
import type { Change } from '../common/plan.js';
import { describeChange } from '../common/plan.js';
import type { DnsmasqServerOptions } from '../dnsmasq/server.js';
import { peerAddress } from '../masquerade/addresses.js';
import type { MasqueradeConfig } from '../masquerade/config.js';
import { Masquerade, type MasqueradeStatus } from '../masquerade/masquerade.js';
import { NetlinkError, ValidationError, VxnetError } from '../netlink/errors.js';
import { type NamespaceIdentity, namespaceIdentity } from '../netlink/namespace.js';
import { Nftables } from '../nftables/client.js';
import { Rtnetlink } from '../rtnetlink/client.js';
import type { Link } from '../rtnetlink/links.js';
import { planVxlan } from '../vxlan/device.js';
import { addPeer, removePeer } from '../vxlan/peers.js';
import { underlayFamily, vxlanStatus, type VxlanStatus } from '../vxlan/status.js';
import { agentStatus, type AgentStatus } from '../agent/record.js';
import { dhcpOwner } from '../network/dhcp-owner.js';
import { DhcpService, type DhcpStatus } from '../network/dhcp-service.js';
import { type IpForwardControl, planForwarding, planForwardingRelease, procIpForward } from '../network/forwarding.js';
import { type LockHolder, NetworkLock } from './lock.js';
import { checkNeighbors } from '../frr/neighbors.js';
import { BgpNamespaceTakenError, FrrService, type FrrServiceOptions } from '../frr/service.js';
import { type BgpStatus, routedBgpStatus } from '../routed/bgp-status.js';
import { type EvpnStatus, evpnFrr, evpnStatus, planEvpnPort, remoteVteps } from './evpn.js';
import { planRouted, planRoutedRemoval, routedStatus } from '../routed/plan.js';
import { type AnyResolvedSpec, type AnySpec, type ResolvedSpec, toAnyResolvedSpec } from './spec.js';
import { DEFAULT_STATE_ROOT, NetworkState } from '../network/state.js';
import { ETHERNET_MTU } from '../common/mtu.js';
import { AF_INET, IFF_UP, RT_SCOPE_UNIVERSE } from '../rtnetlink/constants.js';
import { stableVxlanMac, VXLAN_OVERHEAD } from '../vxlan/spec.js';

export interface OverlayHostOptions {
  /** Work inside this network namespace (/run/netns/NAME, or a path such as /proc/PID/ns/net). */
  namespace?: string;
  /** Root of vxnet's per-network state (DHCP files, lock notes, the ip_forward record). Default /run/vxnet. */
  stateRoot?: string;
  /** How long a write waits for another vxnet process changing the same network. Default 60 s. */
  lockTimeoutMs?: number;
  /** Called once when a write has to wait for that process. */
  onLockWait?: (network: string, holder: LockHolder | undefined) => void;
  /** Passed to every DHCP server this host starts (restart policy, dnsmasq path, timeouts). */
  dhcp?: Partial<
    Pick<DnsmasqServerOptions, 'restart' | 'dnsmasqPath' | 'startTimeoutMs' | 'stopTimeoutMs' | 'preflight'>
  >;
  /** Routed mode with BGP: where FRR is, its restart policy and timeouts. */
  frr?: FrrServiceOptions;
  /** How attach reaches into a container's namespace (tests count its writes). Default: a relay through nsenter. */
  attach?: AttachIo;
}

/** What OverlayHost.over() works with: clients the caller opened (in the namespace `options.namespace` names). */
export interface OverlayClients {
  rtnetlink: Rtnetlink;
  nftables: Nftables;
  /** net.ipv4.ip_forward of that namespace. Default: /proc/sys, entered with nsenter for another namespace. */
  ipForward?: IpForwardControl;
}

export interface PlanOptions {
  /**
   * Use a bridge of the spec's name that vxnet did not make (else a
   * BridgeNotOwnedError listing what would change). Its settings are
   * recorded first; destroy gives them back and leaves the bridge.
   */
  adopt?: boolean;
}

export interface ApplyOptions extends PlanOptions {
  /** Recreate a VXLAN device whose VNI, port, group or underlay differ (else a ConflictError). */
  replace?: boolean;
  /** Called after each change is carried out; throwing stops the apply there (the next apply resumes). */
  onChange?: (change: Change, index: number) => void;
}

export interface StatusOptions {
  /**
   * How the caller asks for a replace, for the remedy of a refusal in the
   * drift ("ask for --replace to recreate it"). Default `{ replace: true }`,
   * the library's words; the CLI passes `--replace`.
   */
  replace?: string;
}

/**
 * A container to attach to the network: what OverlayHost.attach takes (the bridge, MTU and gateway are the network's).
 */
export interface OverlayAttachOptions {
  /**
   * The container's network namespace: a name under /run/netns, a path (/proc/PID/ns/net, /var/run/netns/NAME) or a
   * pid.
   */
  netns: string | number;
  /** The interface inside the container. Default eth0. */
  ifname?: string;
  /** Default: a stable locally administered MAC derived from the network, the container and ifname. */
  mac?: string;
  /**
   * 'dhcp' (the container's client asks the network's DHCP server), a static address inside the subnet ("10.10.0.5" or
   * "10.10.0.5/24"), or omitted (none).
   */
  address?: string;
  /** Default: the overlay's MTU (the bridge's). */
  mtu?: number;
  /** A stable name for the container (a CNI container id): kept in the mark; the default MAC derives from it. */
  containerId?: string;
  /**
   * With a static address, a default route via the network's gateway (default true; never over one through another
   * device).
   */
  defaultRoute?: boolean;
}

/** Which container interface: what detach and check take. */
export interface OverlayDetachOptions {
  netns: string | number;
  /** Default eth0. */
  ifname?: string;
}

/** An attachment as status() reports it: the DHCP lease of its MAC, when this host serves the network's DHCP. */
export interface OverlayAttachment extends Attachment {
  lease?: { ip: string; expires: string | null; hostname?: string };
}

export interface OverlayStatus {
  name: string;
  /** Links carrying this network's mark. */
  links: { name: string; kind?: string; mtu?: number; up: boolean }[];
  vxlan?: VxlanStatus;
  bridge?: { name: string; ports: string[]; addresses: string[] };
  /** The DHCP server, when this host serves it (or served it until its supervisor gave up). */
  dhcp?: DhcpStatus;
  /** Routed mode: the network's routes (vxnet's protocol) as the kernel has them. */
  routes?: { dst: string; via?: string; dev?: string }[];
  /** BGP (routes.bgp, or EVPN): FRR's daemons, sessions, prefixes received, the routes zebra installed. */
  bgp?: BgpStatus;
  /** EVPN: the VTEPs and MACs FRR installed in the VXLAN device's FDB (learned from BGP; vxnet never touches them). */
  evpn?: EvpnStatus;
  /** Containers attached to the network here. */
  attachments: OverlayAttachment[];
  /** The network's agent here (vxnet agent): its record, and whether its process runs. */
  agent?: AgentStatus;
  /** vxnet's nf_tables table for the network: its rules (by comment) and the VXLAN peer set. */
  firewall?: { table: string; rules: string[]; peers?: string[] };
  /** What apply would still change (given a spec): drift from it. Empty when the host matches. */
  drift: string[];
  problems: string[];
  /** What could not be read, and why (e.g. nf_tables without CAP_NET_ADMIN). */
  unknown: string[];
}

export interface OverlayHostEvents {
  /** A DHCP server's supervisor gave up restarting dnsmasq (the error says why). Status shows it too. */
  dhcpFailed: [network: string, error: Error];
  /** The supervisor of a network's FRR daemon gave up restarting it. Status shows it too. */
  frrFailed: [network: string, error: Error];
}

export class OverlayHost extends EventEmitter<OverlayHostEvents> implements AsyncDisposable {
  private readonly dhcp: DhcpService;
  private readonly frr: FrrService;
  /** Foreign chains found dropping what our rules accept, per network (from the last apply). */
  private readonly blocking = new Map<string, string[]>();
  private readonly locks = new Map<string, { lock: NetworkLock; holders: number }>();
  private nftables?: Promise<Nftables>;
  private closed = false;

  private constructor(
    readonly rt: Rtnetlink,
    private readonly options: OverlayHostOptions,
    /** The namespace the host works in, by identity: the key of its state. */
    readonly namespaceId: NamespaceIdentity,
    private readonly ipForward: IpForwardControl,
    nftables: Nftables | undefined,
    private readonly ownsClients: boolean,
  ) {
    super();
    if (nftables) this.nftables = Promise.resolve(nftables);
    this.dhcp = new DhcpService(
      options.namespace,
      (network, error) => this.emit('dhcpFailed', network, error),
      options.dhcp,
    );
    this.frr = new FrrService(
      options.namespace,
      (network, error) => this.emit('frrFailed', network, error),
      options.frr,
    );
  }

  /** Opens the clients this host needs (nf_tables only when first used) in `options.namespace`, or this process's. */
  static async open(options: OverlayHostOptions = {}): Promise<OverlayHost> {
    const identity = namespaceIdentity(options.namespace);
    const rt = await Rtnetlink.open({ namespace: options.namespace });
    return new OverlayHost(rt, options, identity, procIpForward(options.namespace), undefined, true);
  }

  /** Works with clients the caller opened and keeps; close() leaves them open. */
  static over(clients: OverlayClients, options: OverlayHostOptions = {}): OverlayHost {
    const identity = namespaceIdentity(options.namespace);
    return new OverlayHost(
      clients.rtnetlink,
      options,
      identity,
      clients.ipForward ?? procIpForward(options.namespace),
      clients.nftables,
      false,
    );
  }

  get namespace(): string | undefined {
    return this.options.namespace;
  }

  /** The network's state on this host: its directory under the state root, keyed by the namespace's identity. */
  state(network: string): NetworkState {
    return new NetworkState(
      this.options.stateRoot ?? DEFAULT_STATE_ROOT,
      this.namespaceId,
      validateOwner(network, 'name'),
    );
  }

  /** nf_tables table of a network: vxnet-NAME, owned (marked) by vxnet. */
  static tableName(network: string): string {
    return `vxnet-${network}`;
  }

  /** The changes apply() would make, in order, without making them. */
  async plan(input: AnySpec | AnyResolvedSpec, options: PlanOptions = {}): Promise<Change[]> {
    return this.changesFor(toAnyResolvedSpec(input), options);
  }

  /** Converges the host to the spec; returns the changes made (none: it already matched). */
  async apply(input: AnySpec | AnyResolvedSpec, options: ApplyOptions = {}): Promise<Change[]> {
    const spec = toAnyResolvedSpec(input);
    return this.locked(spec.name, async () => {
      const state = this.state(spec.name);
      if (await this.isStale(state)) state.clear();
      const changes = await this.changesFor(spec, options);
      for (const [index, change] of changes.entries()) {
        try {
          await change.apply();
        } catch (error) {
          throw new VxnetError(
            `apply ${spec.name}: step ${index + 1} of ${changes.length} (${describeChange(change)}) failed: ` +
              `${(error as Error).message}`,
            { cause: error },
          );
        }
        options.onChange?.(change, index);
      }
      return changes;
    });
  }

  /** The plan, made against one reading of the links (see rtnetlink/reading.ts), or the caller's reading. */
  private async changesFor(spec: AnyResolvedSpec, options: ApplyOptions, reading?: Rtnetlink): Promise<Change[]> {
    if (reading) return this.planWith(reading, spec, options);
    const once = readLinksOnce(this.rt);
    try {
      return await this.planWith(once.rt, spec, options);
    } finally {
      once.end();
    }
  }

  private async planWith(rt: Rtnetlink, spec: AnyResolvedSpec, options: ApplyOptions): Promise<Change[]> {
    if (spec.mode === 'routed') {
      return planRouted(
        {
          rt,
          state: this.state(spec.name),
          masquerade: await this.masqueradeFor(spec.name),
          ipForward: this.ipForward,
          dhcp: this.dhcp,
          frr: this.frr,
          onBlocking: (reasons) => this.blocking.set(spec.name, reasons),
          adopt: options.adopt ?? false,
        },
        spec,
      );
    }
    const changes: Change[] = [];
    const vxlanChanges = await planVxlan(
      rt,
      {
        name: spec.vxlan,
        vni: spec.vni,
        underlay: spec.underlay.device,
        local: spec.underlay.address,
        port: spec.port,
        // EVPN: no group and no peer list (FRR writes the flood entries; vxnet's peer convergence never
        // runs on this device), and no learning (the remote MACs come from BGP too).
        ...(spec.group
          ? { group: spec.group }
          : spec.mode === 'evpn'
            ? { learning: false }
            : { peers: [...spec.peers] }),
        ...(spec.mtu ? { mtu: spec.mtu } : {}),
        owner: spec.name,
        // The same MAC whenever this host's device is created again (a reboot): the etcd membership knows the
        // host's registration by it.
        ...(spec.mode === 'unicast' && spec.underlay.address
          ? { createAddress: stableVxlanMac(spec.name, spec.underlay.address) }
          : {}),
      },
      { replace: options.replace },
    );
    changes.push(...vxlanChanges);
    // The bridge takes the VXLAN device's MTU: the one the spec gives, or the underlay's minus the overhead.
    const mtu = spec.mtu ?? (await this.overlayMtu(rt, spec));
    changes.push(
      ...(await planNetworkBridge(
        rt,
        {
          name: spec.bridge,
          mtu,
          owner: spec.name,
          ...(spec.gateway ? { address: `${spec.gateway}/${spec.subnet.prefixlen}` } : {}),
        },
        { adopt: options.adopt, store: this.state(spec.name).adoptionStore() },
      )),
    );
    changes.push(...(await this.planVxlanPort(rt, spec, vxlanChanges)));
    if (spec.mode === 'evpn') {
      const fresh = vxlanChanges.some((c) => c.target === `link ${spec.vxlan}` && c.action !== 'update');
      changes.push(...(await planEvpnPort(rt, spec.bridge, spec.vxlan, fresh)));
    }
    changes.push(...(await this.planFirewall(spec)));
    if (spec.dhcp?.serve) changes.push(...this.dhcp.plan(spec, mtu, this.state(spec.name)));
    // FRR last: zebra finds the VNI from the device, in the bridge and up. Checked (its tools found) before any write.
    if (spec.evpn) await checkNeighbors(rt, spec.underlay.device, spec.evpn, 'membership.evpn');
    const wanted = spec.evpn ? evpnFrr(spec.name, spec.evpn, spec.vni) : undefined;
    changes.push(...this.frr.plan(spec.name, wanted, this.state(spec.name), 'membership.evpn no longer in the spec'));
    return changes;
  }

  /**
   * The VXLAN device as a port of the bridge. Planned against the devices
   * there now, unless apply creates one of them first: a device created, or
   * recreated by a replace, has no master whatever the old one had, so its
   * port is looked at when the step runs.
   */
  private async planVxlanPort(rt: Rtnetlink, spec: ResolvedSpec, vxlanChanges: Change[]): Promise<Change[]> {
    const fresh = vxlanChanges.some(
      (c) => c.target === `link ${spec.vxlan}` && (c.action === 'create' || c.action === 'replace'),
    );
    if (!fresh) {
      const [bridge, vxlan] = await Promise.all([rt.links.find(spec.bridge), rt.links.find(spec.vxlan)]);
      if (bridge && vxlan) return planPort(rt, spec.bridge, spec.vxlan);
    }
    return [
      {
        action: 'add',
        target: `port ${spec.vxlan} on ${spec.bridge}`,
        apply: async () => void (await attachPort(rt, spec.bridge, spec.vxlan)),
      },
    ];
  }

  /** One nf_tables client for every network; a failed open is not remembered, so the next call tries again. */
  private nft(): Promise<Nftables> {
    if (!this.nftables) {
      const opening = Nftables.open({ ...(this.options.namespace ? { namespace: this.options.namespace } : {}) });
      this.nftables = opening;
      opening.catch(() => {
        if (this.nftables === opening) this.nftables = undefined;
      });
    }
    return this.nftables;
  }

  private async masqueradeFor(network: string): Promise<Masquerade> {
    return Masquerade.over(await this.nft(), {
      table: OverlayHost.tableName(network),
      ip6: true,
      ...(this.options.namespace ? { namespace: this.options.namespace } : {}),
    });
  }

  /** The masquerade rule, the VXLAN port opening and the bridge's forwarding, in the network's own table. */
  private async planFirewall(spec: ResolvedSpec): Promise<Change[]> {
    const table = OverlayHost.tableName(spec.name);
    const masquerade = await this.masqueradeFor(spec.name);
    if (!spec.masquerade && !spec.firewall) {
      // Neither asked for: a table left from an earlier spec goes.
      if (!(await masquerade.status()).present) return [];
      return [
        {
          action: 'delete',
          target: `nftables table ${table}`,
          detail: 'no longer in the spec',
          apply: async () => void (await masquerade.remove()),
        },
      ];
    }
    const config: MasqueradeConfig = {
      subnet: spec.subnet.text,
      nat: spec.masquerade !== undefined,
      ...(spec.masquerade?.egress ? { egress: spec.masquerade.egress } : {}),
      bridge: spec.bridge,
      ...(spec.firewall
        ? {
            vxlan: {
              port: spec.port,
              family: underlayFamilyOf(spec),
              ...(spec.mode === 'unicast' && spec.firewall.peersOnly && spec.peers.length
                ? { peers: [...spec.peers] }
                : {}),
            },
          }
        : {}),
    };
    const changes: Change[] = [];
    const diff = await masquerade.diff(config);
    if (diff.length) {
      const present = (await masquerade.status()).present;
      changes.push({
        action: present ? 'update' : 'create',
        target: `nftables table ${table}`,
        detail: [
          spec.masquerade ? `masquerade ${spec.subnet.text}` : '',
          spec.firewall ? `udp ${spec.port} open` : '',
          `${diff.length} message(s)`,
        ]
          .filter(Boolean)
          .join(', '),
        apply: async () => {
          const result = await masquerade.ensure(config);
          this.blocking.set(
            spec.name,
            result.blocking.map((b) => b.reason),
          );
        },
      });
    }
    if (spec.masquerade) changes.push(...(await planForwarding(this.ipForward, this.state(spec.name))));
    return changes;
  }

  private async overlayMtu(rt: Rtnetlink, spec: ResolvedSpec): Promise<number> {
    const underlay = await rt.links.find(spec.underlay.device);
    return (underlay?.mtu ?? ETHERNET_MTU) - VXLAN_OVERHEAD[underlayFamilyOf(spec)];
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
   * False if it was there already. The address and the table are checked
   * before the first write.
   */
  async addPeer(name: string, address: string): Promise<boolean> {
    return this.editPeer(name, address, 'add');
  }

  /** Removes a unicast peer (and what was learned behind it); false if it was not there. */
  async removePeer(name: string, address: string): Promise<boolean> {
    return this.editPeer(name, address, 'remove');
  }

  private async editPeer(name: string, address: string, how: 'add' | 'remove'): Promise<boolean> {
    validateOwner(name, 'name');
    return this.locked(name, async () => {
      const device = await this.vxlanOf(name);
      peerAddress(address, 'address', underlayFamily(device));
      const masquerade = await this.masqueradeFor(name);
      await masquerade.status(); // a foreign table of our name refuses here, before the FDB changes
      const edit = how === 'add' ? addPeer : removePeer;
      const undo = how === 'add' ? removePeer : addPeer;
      const changed = await edit(this.rt, linkName(device), address);
      try {
        if (how === 'add') await masquerade.addPeers([address]);
        else await masquerade.removePeers([address]);
      } catch (error) {
        // The flood list and the firewall's peer set change together or not at all: the flood entry goes back.
        if (changed) {
          try {
            await undo(this.rt, linkName(device), address);
          } catch (undoError) {
            throw new VxnetError(
              `${how} peer ${address} of ${name}: the firewall's peer set failed (${(error as Error).message}), ` +
                `and putting the flood entry back failed too (${(undoError as Error).message}): run it again`,
              { cause: error },
            );
          }
        }
        throw error;
      }
      return changed;
    });
  }

  /** The networks that have marked links here (one dump). */
  private async liveNetworks(): Promise<Set<string>> {
    const owners = (await this.rt.links.list()).map((l) => ownerFromAlias(l.ifalias));
    return new Set(owners.filter((owner): owner is string => owner !== undefined));
  }

  /**
   * A network's state with no device of the network here and no DHCP server
   * alive belongs to an earlier life: a namespace deleted with the network
   * in it, whose inode a new namespace got (and so its state key); or
   * devices deleted by hand. Such a record is not trusted.
   */
  private async isStale(state: NetworkState): Promise<boolean> {
    const links = await this.rt.links.list();
    if (links.some((l) => ownerFromAlias(l.ifalias) === state.network)) return false;
    // An adopted bridge carries no mark: it is the record's own device while its index and name still match.
    const adopted = state.read().adoptedBridge;
    if (adopted && links.some((l) => l.ifindex === adopted.ifindex && l.ifname === adopted.ifname)) return false;
    const dhcp = dhcpOwner(state.dhcpDir);
    return dhcp.ownerPid === undefined && dhcp.dnsmasqPid === undefined;
  }

  /** The bridge vxnet adopted for the network, while it is still the device the record names. */
  private adoptedBridge(network: string, links: readonly Link[]): Link | undefined {
    const adopted = this.state(network).read().adoptedBridge;
    return adopted && links.find((l) => l.ifindex === adopted.ifindex && l.ifname === adopted.ifname);
  }

  /** Links that carry this network's mark. */
  private async ownedLinks(name: string, rt: Rtnetlink = this.rt): Promise<Link[]> {
    const alias = ownerAlias(name);
    return (await rt.links.list()).filter((l) => l.ifalias === alias);
  }

  /**
   * Removes exactly what vxnet created for the network on this host: its DHCP
   * server, its marked links, its nf_tables table, its state; and puts
   * ip_forward back if vxnet turned it on for this network alone. Devices
   * without the mark are never touched. A failed step does not stop the
   * others: every failure is reported together (an AggregateError), and a
   * second destroy finishes what is left.
   */
  async destroy(name: string): Promise<Change[]> {
    validateOwner(name, 'name');
    return this.locked(name, async () => {
      const state = this.state(name);
      const changes: Change[] = [];
      const failures: Error[] = [];
      const stopDhcp = this.dhcp.planStop(name, state);
      if (stopDhcp) changes.push(stopDhcp);
      // Containers' pairs first (deleting the host end takes the container's end with it), then the bridge
      // (deleting it releases its ports), then the VXLAN device.
      for (const link of await this.rt.links.list()) {
        const mark = parseHostMark(link.ifalias);
        if (mark?.network === name) {
          changes.push({
            action: 'delete',
            target: `veth ${link.ifname}`,
            detail: `attachment of ${mark.ifname} in ${mark.netnsId}`,
            apply: () => this.rt.links.delete(link),
          });
        }
      }
      const stopFrr = this.frr.planStop(name, state);
      if (stopFrr) changes.push(stopFrr);
      changes.push(...(await planRoutedRemoval(this.rt, state)));
      const owned = (await this.ownedLinks(name)).sort(
        (a, b) => Number(b.linkinfo?.info_kind === 'bridge') - Number(a.linkinfo?.info_kind === 'bridge'),
      );
      for (const link of owned) {
        changes.push({
          action: 'delete',
          target: `link ${link.ifname}`,
          detail: link.linkinfo?.info_kind,
          apply: () => this.rt.links.delete(link),
        });
      }
      // A bridge vxnet adopted stays; what vxnet changed on it is given back once its own devices are gone.
      const adopted = state.read().adoptedBridge;
      if (adopted) changes.push(...(await planBridgeRelease(this.rt, adopted)));
      try {
        const masquerade = await this.masqueradeFor(name);
        if ((await masquerade.status()).present) {
          changes.push({
            action: 'delete',
            target: `nftables table ${OverlayHost.tableName(name)}`,
            apply: async () => void (await masquerade.remove()),
          });
        }
      } catch (error) {
        failures.push(
          new VxnetError(`destroy ${name}: reading its nftables table failed: ${(error as Error).message}`, {
            cause: error,
          }),
        );
      }
      const live = new Set([...(await this.liveNetworks())]);
      if (owned.length > 0) live.add(name);
      const forwarding = planForwardingRelease(this.ipForward, state, live);
      if (forwarding) changes.push(forwarding);
      const done: Change[] = [];
      for (const change of changes) {
        try {
          await change.apply();
          done.push(change);
        } catch (error) {
          if (error instanceof NetlinkError && error.code === 'ENODEV') continue; // gone already: what we wanted
          failures.push(
            new VxnetError(`destroy ${name}: ${describeChange(change)} failed: ${(error as Error).message}`, {
              cause: error,
            }),
          );
        }
      }
      // The state goes last, and only when everything else is gone: a failed destroy can be run again.
      if (failures.length === 0) state.remove();
      if (failures.length === 1) throw failures[0];
      if (failures.length > 1) {
        throw new AggregateError(
          failures,
          `destroy ${name}: ${failures.length} steps failed (the others were done): ` +
            `${failures.map((f) => f.message).join('; ')}`,
        );
      }
      return done;
    });
  }

  async status(name: string, spec?: AnySpec | AnyResolvedSpec, options: StatusOptions = {}): Promise<OverlayStatus> {
    validateOwner(name, 'name');
    // One reading of the links for the whole report (and the drift's plan): a status is a look, not a change.
    const reading = readLinksOnce(this.rt);
    try {
      return await this.statusWith(reading.rt, name, spec, options);
    } finally {
      reading.end();
    }
  }

  private async statusWith(
    rt: Rtnetlink,
    name: string,
    spec: AnySpec | AnyResolvedSpec | undefined,
    options: StatusOptions,
  ): Promise<OverlayStatus> {
    const any = spec === undefined ? undefined : toAnyResolvedSpec(spec);
    const resolved = any?.mode === 'routed' ? undefined : any;
    const owned = await this.ownedLinks(name, rt);
    const status: OverlayStatus = {
      name,
      links: owned.map((l) => ({
        name: linkLabel(l),
        kind: l.linkinfo?.info_kind,
        mtu: l.mtu,
        up: (l.flags & IFF_UP) !== 0,
      })),
      attachments: [],
      drift: [],
      problems: [],
      unknown: [],
    };
    const vx =
      owned.find((l) => l.linkinfo?.info_kind === 'vxlan') ??
      (resolved ? await rt.links.find(resolved.vxlan) : undefined);
    if (vx) {
      status.vxlan = await vxlanStatus(rt, linkName(vx), { port: resolved?.port, vni: resolved?.vni });
      // EVPN's flood entries are FRR's, made when sessions come up: an empty list there is BGP's to explain (below).
      const evpn = resolved?.mode === 'evpn';
      status.problems.push(...status.vxlan.problems.filter((p) => !(evpn && p.startsWith('no multicast group'))));
    }
    const br = owned.find((l) => l.linkinfo?.info_kind === 'bridge') ?? this.adoptedBridge(name, await rt.links.list());
    if (br) {
      const ports = (await rt.links.list()).filter((l) => l.master === br.ifindex).map(linkLabel);
      const addresses = (await rt.addresses.list({ dev: br.ifindex }))
        .filter((a) => a.family === AF_INET || a.scope === RT_SCOPE_UNIVERSE)
        .map((a) => `${a.local ?? a.address}/${a.prefixlen}`);
      status.bridge = { name: linkLabel(br), ports, addresses };
    }
    const state = this.state(name);
    const agent = agentStatus(state);
    if (agent) status.agent = agent;
    const routes = await routedStatus(rt, state);
    if (routes.length || any?.mode === 'routed') status.routes = routes;
    const bgp = await routedBgpStatus(
      this.frr,
      name,
      state,
      rt,
      any?.mode === 'routed' ? any.subnet : any?.mode === 'evpn' ? undefined : await this.bridgeSubnet(rt, br),
    );
    // EVPN: said by the spec, or (without one) a VXLAN device without group beside a running FRR.
    const evpnVni = any
      ? any.mode === 'evpn'
        ? any.vni
        : undefined
      : vx && !status.vxlan?.group && bgp?.running
        ? status.vxlan?.vni
        : undefined;
    if (evpnVni !== undefined && vx) {
      const frr = await this.frr.query(name, state, `show evpn vni ${evpnVni} json`).catch((error: Error) => {
        status.problems.push(`evpn: cannot read FRR's VNI ${evpnVni}: ${error.message}`);
        return undefined;
      });
      status.evpn = evpnStatus(await rt.fdb.list({ dev: vx.ifindex }), evpnVni, remoteVteps(frr));
      if (status.evpn.vteps.length === 0 && bgp?.running)
        status.problems.push('evpn: no remote VTEP learned yet: broadcast (ARP, DHCP) reaches no other host');
    }
    if (bgp) {
      status.bgp = bgp;
      status.problems.push(...bgp.problems);
    }
    const dhcp = await this.dhcp.status(name, state);
    if (dhcp && (dhcp.running || owned.length > 0)) {
      status.dhcp = dhcp;
      if (dhcp.gaveUp && !dhcp.running)
        status.problems.push(`dhcp: stopped (gave up at ${dhcp.gaveUp.at}: ${dhcp.gaveUp.reason})`);
    }
    status.attachments = withLeases(await listAttachments(rt, { network: name }), status.dhcp);
    for (const attachment of status.attachments)
      status.problems.push(...attachment.problems.map((p) => `attachment: ${p}`));
    const firewallKnown = await this.firewallStatus(name, status);
    status.problems.push(...(this.blocking.get(name) ?? []));
    if (any && firewallKnown) await this.drift(rt, any, status, options.replace ?? LIBRARY_REPLACE);
    else if (any) status.unknown.push('drift: planning reads nf_tables, which needs CAP_NET_ADMIN');
    if (owned.length === 0 && !any && !status.dhcp && status.attachments.length === 0)
      status.problems.push(`nothing of network ${name} exists in ${rt.where}`);
    for (const link of owned)
      if (ownerFromAlias(link.ifalias) !== name) status.problems.push(`${link.ifname} is marked for another network`);
    return status;
  }

  /** The bridge's IPv4 network (routed mode's subnet, for status without a spec). */
  private async bridgeSubnet(
    rt: Rtnetlink,
    bridge: Link | undefined,
  ): Promise<{ text: string; address: string; prefixlen: number } | undefined> {
    if (!bridge) return undefined;
    const address = (await rt.addresses.list({ dev: bridge.ifindex })).find((a) => a.family === AF_INET);
    if (!address?.local) return undefined;
    const mask = address.prefixlen === 0 ? 0 : (0xffffffff << (32 - address.prefixlen)) >>> 0;
    const n = (address.local.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) & mask) >>> 0;
    const text = [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
    return { text: `${text}/${address.prefixlen}`, address: text, prefixlen: address.prefixlen };
  }

  /** The network's table into `status`; false when nf_tables cannot be read here (no CAP_NET_ADMIN). */
  private async firewallStatus(name: string, status: OverlayStatus): Promise<boolean> {
    let masquerade: MasqueradeStatus;
    try {
      masquerade = await (await this.masqueradeFor(name)).status();
    } catch (error) {
      if (error instanceof NetlinkError && (error.code === 'EPERM' || error.code === 'EACCES')) {
        status.unknown.push(`firewall: reading nf_tables needs CAP_NET_ADMIN (${error.code})`);
        return false;
      }
      throw error;
    }
    if (masquerade.present) {
      status.firewall = {
        table: OverlayHost.tableName(name),
        rules: masquerade.rules.map((r) => r.comment ?? '(no comment)'),
        ...(masquerade.peers ? { peers: masquerade.peers } : {}),
      };
    }
    return true;
  }

  /** What apply would change, in words. A device apply would refuse to touch is drift too, said as the refusal. */
  private async drift(rt: Rtnetlink, spec: AnyResolvedSpec, status: OverlayStatus, replace: string): Promise<void> {
    try {
      status.drift = (await this.changesFor(spec, {}, rt)).map(describeChange);
    } catch (error) {
      if (error instanceof ConflictError) status.drift.push(`refuse: ${error.messageFor(replace)}`);
      else if (error instanceof BridgeNotOwnedError) status.drift.push(`refuse: ${error.message}`);
      else if (error instanceof ValidationError || error instanceof BgpNamespaceTakenError)
        status.problems.push(`the spec cannot be applied here: ${error.message}`);
      else throw error;
    }
  }

  /**
   * Attaches a container to the network on this host: a veth pair from the
   * network's bridge into the container's namespace, with the overlay's MTU
   * and, for a static address, a default route via this host's gateway (the
   * bridge's address). A second call with the same options writes nothing.
   * Under the network's lock; every input checked before the first write.
   * NetworkNotAppliedError when the network has no bridge here.
   */
  async attach(network: string, options: OverlayAttachOptions): Promise<AttachResult> {
    validateOwner(network, 'network');
    return this.locked(network, async () =>
      attachContainer(this.rt, await this.attachOptions(network, options), this.options.attach),
    );
  }

  /**
   * Takes a container off the network: removes the pair vxnet made for it
   * (found by its mark, never by name). Nothing attached, or a namespace
   * already gone, is not an error (`detached: false`, with the reason).
   */
  async detach(network: string, options: OverlayDetachOptions): Promise<DetachResult> {
    validateOwner(network, 'network');
    return this.locked(network, () =>
      detachContainer(this.rt, {
        network,
        netns: options.netns,
        ...(options.ifname !== undefined ? { ifname: options.ifname } : {}),
      }),
    );
  }

  /** Compares a container's attachment with `options`, changing nothing: what attach would still do, as problems. */
  async checkAttachment(network: string, options: OverlayAttachOptions): Promise<AttachmentCheck> {
    validateOwner(network, 'network');
    return checkAttachment(this.rt, await this.attachOptions(network, options), this.options.attach);
  }

  /** The containers attached to the network here, with their DHCP leases when this host serves them. */
  async attachments(network: string): Promise<OverlayAttachment[]> {
    validateOwner(network, 'network');
    const dhcp = await this.dhcp.status(network, this.state(network));
    return withLeases(await listAttachments(this.rt, { network }), dhcp);
  }

  /**
   * The building block's options for this network: its bridge (the marked
   * one, or the master of its marked VXLAN device when the bridge was used,
   * not created), and for a static address the subnet and gateway of the
   * bridge's address of that family.
   */
  private async attachOptions(network: string, options: OverlayAttachOptions) {
    const links = await this.rt.links.list();
    const alias = ownerAlias(network);
    let bridge = links.find((l) => l.ifalias === alias && l.linkinfo?.info_kind === 'bridge');
    const vxlan = links.find((l) => l.ifalias === alias && l.linkinfo?.info_kind === 'vxlan');
    bridge ??= this.adoptedBridge(network, links);
    if (!bridge && vxlan?.master)
      bridge = links.find((l) => l.ifindex === vxlan.master && l.linkinfo?.info_kind === 'bridge');
    if (!bridge) throw new NetworkNotAppliedError(network, this.rt.where);
    let subnet: string | undefined;
    let gateway: string | undefined;
    if (options.address !== undefined && options.address !== 'dhcp') {
      const family = String(options.address).includes(':') ? 10 : 2;
      const addresses = (await this.rt.addresses.list({ dev: bridge.ifindex })).filter(
        (a) => a.scope === RT_SCOPE_UNIVERSE,
      );
      const candidates = addresses.filter((a) => a.family === family);
      const chosen = candidates.find((a) => sameNetwork(a, String(options.address))) ?? candidates[0] ?? addresses[0];
      if (chosen) {
        gateway = chosen.local ?? chosen.address;
        subnet = `${gateway}/${chosen.prefixlen}`;
        if (chosen.family !== family) gateway = undefined;
      }
    }
    return {
      network,
      bridge: linkName(bridge),
      netns: options.netns,
      ...(options.ifname !== undefined ? { ifname: options.ifname } : {}),
      ...(options.mac !== undefined ? { mac: options.mac } : {}),
      ...(options.address !== undefined ? { address: options.address } : {}),
      ...(subnet ? { subnet } : {}),
      ...(gateway ? { gateway } : {}),
      ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
      ...(options.containerId !== undefined ? { containerId: options.containerId } : {}),
      ...(options.defaultRoute !== undefined ? { defaultRoute: options.defaultRoute } : {}),
    };
  }

  /** Runs `work` holding the network's lock (re-entrant within this object). */
  private async locked<T>(network: string, work: () => Promise<T>): Promise<T> {
    let entry = this.locks.get(network);
    const state = this.state(network);
    if (!entry) {
      const lock = await NetworkLock.acquire(network, this.options.namespace, state.lockNote, {
        ...(this.options.lockTimeoutMs !== undefined ? { timeoutMs: this.options.lockTimeoutMs } : {}),
        onWait: (holder) => this.options.onLockWait?.(network, holder),
      });
      entry = this.locks.get(network) ?? { lock, holders: 0 };
      if (entry.lock !== lock) lock.release();
      this.locks.set(network, entry);
    }
    entry.holders++;
    try {
      return await work();
    } finally {
      if (--entry.holders === 0) {
        this.locks.delete(network);
        entry.lock.release();
        state.removeIfEmpty();
      }
    }
  }

  /**
   * Stops the DHCP servers this object started and closes the clients it
   * opened. Every step runs even if one fails; the first failure is thrown.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const failures: unknown[] = [];
    await this.dhcp.close().catch((error) => failures.push(error));
    await this.frr.close().catch((error) => failures.push(error));
    for (const entry of this.locks.values()) entry.lock.release();
    this.locks.clear();
    if (this.ownsClients) {
      const nftables = this.nftables;
      this.nftables = undefined;
      if (nftables)
        await nftables.then(
          (nft) => nft.close(),
          () => undefined,
        );
      this.rt.close();
    }
    if (failures.length) throw failures[0];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Each attachment with the DHCP lease of its container's MAC, if the server has one. */
function withLeases(attachments: Attachment[], dhcp: DhcpStatus | undefined): OverlayAttachment[] {
  return attachments.map((attachment) => {
    const mac = attachment.container?.mac?.toLowerCase();
    const lease = mac ? dhcp?.leases.find((l) => l.mac === mac) : undefined;
    if (!lease) return attachment;
    return {
      ...attachment,
      lease: {
        ip: lease.ip,
        expires: lease.expires ? lease.expires.toISOString() : null,
        ...(lease.hostname ? { hostname: lease.hostname } : {}),
      },
    };
  });
}

/** Whether an address (with or without its prefix) lies in the bridge address's network. */
function sameNetwork(bridgeAddress: { local?: string; address?: string; prefixlen: number }, address: string): boolean {
  const ip = address.replace(/\/.*$/, '');
  const base = bridgeAddress.local ?? bridgeAddress.address;
  if (!base || !ipaddr.isValid(ip)) return false;
  const parsed = ipaddr.parse(ip);
  const network = ipaddr.parse(base);
  return parsed.kind() === network.kind() && parsed.match(network, bridgeAddress.prefixlen);
}

function underlayFamilyOf(spec: ResolvedSpec): 4 | 6 {
  return (spec.group ?? spec.underlay.address ?? '').includes(':') ? 6 : 4;
}
