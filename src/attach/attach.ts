/**
 * Attach a container's network namespace to a bridge through a veth pair,
 * and take it off again. Usable on any bridge; the overlay (OverlayHost.attach)
 * calls it with its own bridge, MTU, subnet and gateway.
 *
 *   host namespace                         container namespace
 *   bridge ── vxc1f2e3d4c5b6a (fe:…) ═════ eth0 (02:…, MTU, address, default route), lo up
 *
 * Every input is checked, and both namespaces read, before the first write:
 * a missing namespace, an interface name taken in the container by a device
 * vxnet did not make, an address outside the subnet, a missing bridge each
 * refuse with their own error, and nothing changes. A second attach with the
 * same arguments writes nothing; one with other arguments changes what
 * differs (and removes the address and route vxnet itself set before).
 * Both ends carry vxnet's mark (mark.ts): detach removes the pair it finds by
 * that mark, never a device that only has the name.
 *
 * The caller makes attach and detach of one container take turns (the
 * overlay does it under the network's lock).
 */
import { ConflictError } from '../common/conflict.js';
import { validateOwner } from '../common/ownership.js';
import { type Change, describeChange } from '../common/plan.js';
import { linkName } from '../common/link.js';
import { NetlinkError, ValidationError, VxnetError } from '../netlink/errors.js';
import { namespaceIdentity } from '../netlink/namespace.js';
import type { Address } from '../rtnetlink/addresses.js';
import { Rtnetlink } from '../rtnetlink/client.js';
import { AF_INET, AF_INET6, IFF_UP, RT_TABLE_MAIN } from '../rtnetlink/constants.js';
import type { Link } from '../rtnetlink/links.js';
import type { Route } from '../rtnetlink/routes.js';
import { validateIfname, validateMtu, validatePortableIfname, validateUnicastMac } from '../rtnetlink/validate.js';
import { type Addressing, resolveAddressing } from './addressing.js';
import { BridgeNotFoundError, IfnameTakenError, NetnsNotFoundError } from './errors.js';
import type { Attachment } from './list.js';
import { containerMark, hostMark, parseContainerMark, parseHostMark } from './mark.js';
import { containerMac, HOST_VETH_ATTEMPTS, hostVethMac, hostVethName } from './names.js';
import { type ContainerNamespace, containerNamespace } from './netns.js';
import { ETHERNET_MTU } from '../common/mtu.js';

export interface AttachOptions {
  /** The network the attachment belongs to: its mark's owner (1–64 of [A-Za-z0-9_.-]). */
  network: string;
  /** The bridge in the host's namespace (the namespace `rt` works in). */
  bridge: string;
  /**
   * The container's network namespace: a name under /run/netns, a path (/proc/PID/ns/net, /var/run/netns/NAME) or a
   * pid.
   */
  netns: string | number;
  /** The interface's name inside the container. Default eth0. */
  ifname?: string;
  /**
   * The container interface's MAC. Default: derived from the network, the container (containerId, or netns as given)
   * and ifname.
   */
  mac?: string;
  /**
   * 'dhcp' (nothing assigned: the container's client asks), a static "10.10.0.5/24" (or "10.10.0.5" with `subnet`), or
   * omitted (none).
   */
  address?: string;
  /** The network's subnet: a static address must be inside it. */
  subnet?: string;
  /** The default route's next hop for a static address (inside its prefix). */
  gateway?: string;
  /**
   * Add the default route via `gateway` (default true). Never replaces a default route the container has through
   * another device.
   */
  defaultRoute?: boolean;
  /** MTU of both ends. Default: the bridge's; never more than the bridge's. */
  mtu?: number;
  /** A stable name for the container (a CNI container id): kept in the mark, and the default MAC derives from it. */
  containerId?: string;
}

export interface AttachIo {
  /**
   * Opens an rtnetlink client in the container's namespace (a namespace file path). Default: Rtnetlink.open through a
   * relay.
   */
  openNamespace?: (path: string) => Promise<Rtnetlink>;
}

/** An attachment as attach leaves it. */
export interface AttachResult {
  network: string;
  /** The container's namespace: the path it was reached by. */
  netns: string;
  /** Its identity, "ns-<dev>-<ino>" (the same however it is reached). */
  netnsId: string;
  /** The interface inside the container. */
  ifname: string;
  containerId?: string;
  host: { ifname: string; mac: string; bridge: string };
  container: { ifname: string; mac: string; mtu: number };
  /** 'dhcp', the static address (CIDR), or undefined when none is managed. */
  address?: string;
  /** The gateway of the container's default route, when vxnet set it. */
  gateway?: string;
  /** What was changed (empty: it was attached so already). */
  changes: Change[];
  /** Things left alone on purpose, in words (a default route through another device). */
  notes: string[];
}

/** The changes an attach would make, with the container's client open until it is applied or closed. */
export class AttachPlan implements AsyncDisposable {
  private closed = false;

  constructor(
    readonly changes: Change[],
    /** The attachment once the changes are made (`changes` empty here). */
    readonly result: Omit<AttachResult, 'changes'>,
    private readonly container: Rtnetlink,
    /** Whether an attachment for this container interface exists already (false: the pair would be created). */
    readonly exists: boolean,
  ) {}

  /** Carries the changes out in order; stops at the first failure (the next attach resumes). Closes the plan. */
  async apply(onChange?: (change: Change, index: number) => void): Promise<AttachResult> {
    try {
      for (const [index, change] of this.changes.entries()) {
        try {
          await change.apply();
        } catch (error) {
          throw new VxnetError(
            `attach ${this.result.ifname} in ${this.result.netns} to ${this.result.network}: step ${index + 1} of ` +
              `${this.changes.length} (${describeChange(change)}) failed: ${(error as Error).message}`,
            { cause: error },
          );
        }
        onChange?.(change, index);
      }
      return { ...this.result, changes: this.changes };
    } finally {
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.container.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** A container id as CNI defines one (letters, digits, "_", ".", "-"), at most 100 characters. */
export function validateContainerId(id: unknown, field = 'containerId'): string {
  if (typeof id !== 'string' || !CONTAINER_ID.test(id)) {
    throw new ValidationError(
      field,
      'a container id is 1–100 letters, digits, "_", "." or "-", starting with a letter or digit',
      id,
    );
  }
  return id;
}

const isUp = (link: Link): boolean => (link.flags & IFF_UP) !== 0;
const addressOf = (a: Address): string | undefined => a.local ?? a.address;
const hasAddress = (addresses: Address[], cidr: string): boolean => {
  const [ip, length] = cidr.split('/');
  return addresses.some((a) => addressOf(a) === ip && a.prefixlen === Number(length));
};
const isDefaultRoute = (r: Route): boolean =>
  r.dst_len === 0 && (r.table ?? r.rtm_table) === RT_TABLE_MAIN && r.type === 1;

function openNamespace(io: AttachIo): (path: string) => Promise<Rtnetlink> {
  return io.openNamespace ?? ((path) => Rtnetlink.open({ namespace: path }));
}

/** The host ends in `links` that carry a mark for this container interface. */
function markedFor(links: Link[], ns: ContainerNamespace, ifname: string): { link: Link; network: string }[] {
  const found: { link: Link; network: string }[] = [];
  for (const link of links) {
    const mark = parseHostMark(link.ifalias);
    if (mark && mark.netnsId === ns.identity.id && mark.ifname === ifname && link.linkinfo?.info_kind === 'veth')
      found.push({ link, network: mark.network });
  }
  return found;
}

function attachedElsewhere(ifname: string, ns: ContainerNamespace, other: string, network: string): ConflictError {
  return new ConflictError(
    `attachment of ${ifname} in namespace ${ns.label}`,
    [{ field: 'network', actual: other, wanted: network }],
    `detach it from ${other} first, or pick another ifname`,
  );
}

/**
 * Plans an attach: validates everything, reads the bridge and both
 * namespaces, and returns the changes with the container's client open
 * (apply() or close() the plan). Throws before any write on bad input.
 */
export async function planAttach(rt: Rtnetlink, options: AttachOptions, io: AttachIo = {}): Promise<AttachPlan> {
  const host = await planHost(rt, options);
  const container = await openNamespace(io)(host.ns.path);
  try {
    const plan = await planContainer(rt, container, host);
    return new AttachPlan(plan.changes, plan.result, container, host.existing !== undefined);
  } catch (error) {
    container.close();
    throw error;
  }
}

/** Everything attach checks and decides from the host's side: the options validated, the bridge, an existing pair. */
async function planHost(rt: Rtnetlink, options: AttachOptions): Promise<Context> {
  const network = validateOwner(options.network, 'network');
  const bridgeName = validateIfname(options.bridge, 'bridge');
  const ifname = validatePortableIfname(options.ifname ?? 'eth0', 'ifname');
  if (ifname === 'lo') throw new ValidationError('ifname', "lo is the container's loopback device", ifname);
  const mac = options.mac === undefined ? undefined : validateUnicastMac(options.mac, 'mac').toLowerCase();
  const mtu = options.mtu === undefined ? undefined : validateMtu(options.mtu, 'mtu');
  const containerId = options.containerId === undefined ? undefined : validateContainerId(options.containerId);
  const addressing = resolveAddressing(options);
  const ns = containerNamespace(options.netns);
  if (namespaceIdentity(rt.namespace).id === ns.identity.id) {
    throw new ValidationError(
      'netns',
      `is the namespace the bridge is in (${rt.where}); a container has a network namespace of its own`,
      options.netns,
    );
  }

  const links = await rt.links.list();
  const bridge = links.find((l) => l.ifname === bridgeName);
  if (!bridge) throw new BridgeNotFoundError(bridgeName, rt.where, 'there is no device of that name');
  if (bridge.linkinfo?.info_kind !== 'bridge')
    throw new BridgeNotFoundError(
      bridgeName,
      rt.where,
      `it is a ${bridge.linkinfo?.info_kind ?? 'plain'} device, not a bridge`,
    );
  const bridgeMtu = bridge.mtu ?? ETHERNET_MTU;
  if (mtu !== undefined && mtu > bridgeMtu) {
    throw new ValidationError(
      'mtu',
      `the bridge ${bridgeName} carries at most ${bridgeMtu} bytes: a larger MTU inside the container would be ` +
        'dropped on the way',
      mtu,
    );
  }
  const wantedMtu = mtu ?? bridgeMtu;
  const marked = markedFor(links, ns, ifname);
  const other = marked.find((m) => m.network !== network);
  if (other) throw attachedElsewhere(ifname, ns, other.network, network);
  const existing = marked[0]?.link;
  const wantedMac = mac ?? containerMac(network, containerId ?? ns.key, ifname);
  return {
    network,
    bridge,
    ifname,
    ns,
    ...(existing ? { existing } : {}),
    links,
    wantedMtu,
    wantedMac,
    ...(containerId ? { containerId } : {}),
    addressing,
  };
}

/** How createPair found the container interface. */
export type PairOutcome =
  /**
   * Created now: the host end on the bridge, up and marked; the peer in the container, named, its MTU and MAC, down and
   * unmarked.
   */
  | 'created'
  /** An attachment of it to this network exists already (its host end carries the mark). */
  | 'exists'
  /** The kernel refused the peer's name in the container (EEXIST): planAttach says by what. */
  | 'taken';

/**
 * The first write of a new attachment, made from the host's side alone: the
 * pair, its peer created straight in the container's namespace. Validates
 * the options as planAttach does; a name taken inside the container is the
 * kernel's EEXIST, and nothing is created. The rest (the container end's
 * mark and up, lo, address, route) is what a following planAttach finds to
 * do, with a client inside the container. For a caller that opens that
 * client meanwhile (the CNI plugin starts its relay, and runs IPAM, while
 * the pair is made).
 */
export async function createPair(rt: Rtnetlink, options: AttachOptions): Promise<PairOutcome> {
  const host = await planHost(rt, options);
  if (host.existing) return 'exists';
  const create = createChange(rt, host, freeHostName(host));
  try {
    await create.apply();
  } catch (error) {
    // The host end's name was free a moment ago: the name taken is the peer's, inside the container.
    if (error instanceof NetlinkError && error.code === 'EEXIST') return 'taken';
    throw error;
  }
  return 'created';
}

/** The change that creates the pair: the host end on the bridge, up, marked; the peer in the container. */
function createChange(rt: Rtnetlink, c: Context, hostName: string): Change {
  const hostMarkText = hostMark({
    network: c.network,
    netnsId: c.ns.identity.id,
    ifname: c.ifname,
    ...(c.containerId ? { containerId: c.containerId } : {}),
  });
  return {
    action: 'create',
    target: `veth ${hostName} on ${c.bridge.ifname}`,
    detail: `peer ${c.ifname} in ${c.ns.label}, mtu ${c.wantedMtu}, mac ${c.wantedMac}`,
    apply: async () =>
      void (await rt.links.create({
        ifname: hostName,
        kind: 'veth',
        address: hostVethMac(hostName),
        mtu: c.wantedMtu,
        master: c.bridge.ifindex,
        up: true,
        ifalias: hostMarkText,
        peer: { ifname: c.ifname, namespace: c.ns.path, mtu: c.wantedMtu, address: c.wantedMac },
      })),
  };
}

interface Context {
  network: string;
  bridge: Link;
  ifname: string;
  ns: ContainerNamespace;
  existing?: Link;
  links: Link[];
  wantedMtu: number;
  wantedMac: string;
  containerId?: string;
  addressing: Addressing;
}

async function planContainer(
  rt: Rtnetlink,
  container: Rtnetlink,
  c: Context,
): Promise<{ changes: Change[]; result: Omit<AttachResult, 'changes'> }> {
  const { network, bridge, ifname, ns, existing, addressing } = c;
  const where = `${ifname} in ${ns.label}`;
  const containerLinks = await container.links.list();
  const lo = containerLinks.find((l) => l.ifname === 'lo');
  let device: Link | undefined;
  if (existing) {
    device = containerLinks.find(
      (l) => l.ifindex === existing.link && l.link === existing.ifindex && l.linkinfo?.info_kind === 'veth',
    );
    if (!device)
      throw new VxnetError(
        `the attachment's host end ${existing.ifname} has no peer in namespace ${ns.label} (moved away?): detach it ` +
          'and attach again',
      );
    if (device.ifname !== ifname)
      throw new VxnetError(
        `the container end of ${existing.ifname} is named ${device.ifname} in namespace ${ns.label}, not ${ifname} ` +
          '(renamed since): detach it and attach again',
      );
  } else {
    const holder = containerLinks.find((l) => l.ifname === ifname);
    if (holder) {
      const mark = parseContainerMark(holder.ifalias);
      if (mark && mark.network !== network) throw attachedElsewhere(ifname, ns, mark.network, network);
      if (mark)
        throw new VxnetError(
          `${where} is attached to network ${network} from another network namespace (its host end is not in ` +
            `${rt.where}): detach it there`,
        );
      throw new IfnameTakenError(ns.label, ifname, {
        kind: holder.linkinfo?.info_kind,
        ...(holder.ifalias ? { alias: holder.ifalias } : {}),
      });
    }
  }

  const changes: Change[] = [];
  const notes: string[] = [];
  const hostName = existing?.ifname ?? freeHostName(c);
  const hostMac = existing?.address ?? hostVethMac(hostName);
  const hostMarkText = hostMark({
    network,
    netnsId: ns.identity.id,
    ifname,
    ...(c.containerId ? { containerId: c.containerId } : {}),
  });
  const previous = device ? parseContainerMark(device.ifalias) : undefined;
  const wantedStatic = addressing.mode === 'static' ? addressing : undefined;

  // Addresses and the default route inside the container, as they are now.
  const addresses = device ? await container.addresses.list({ dev: device.ifindex }) : [];
  // Default routes of both families: the one vxnet added before may be of the other family than the one wanted now.
  const defaults = existing || wantedStatic?.gateway ? (await container.routes.list()).filter(isDefaultRoute) : [];
  const ours = (gateway: string | undefined): Route | undefined =>
    gateway === undefined || !device
      ? undefined
      : defaults.find((r) => r.gateway === gateway && r.oif === device.ifindex);

  let routeGateway: string | undefined;
  const routeChanges: Change[] = [];
  const addressChanges: Change[] = [];
  // The static address vxnet set before and no longer wants goes first: removing a subnet's primary address takes its
  // secondaries with it.
  if (
    previous?.address &&
    previous.address !== 'dhcp' &&
    previous.address !== wantedStatic?.address &&
    hasAddress(addresses, previous.address)
  ) {
    const old = previous.address;
    addressChanges.push({
      action: 'remove',
      target: `address ${old} from ${where}`,
      detail: 'no longer wanted',
      apply: () => container.addresses.delete({ dev: ifname, address: old }),
    });
  }
  if (wantedStatic && !hasAddress(addresses, wantedStatic.address)) {
    addressChanges.push({
      action: 'add',
      target: `address ${wantedStatic.address} on ${where}`,
      apply: () => container.addresses.add({ dev: ifname, address: wantedStatic.address }),
    });
  }
  if (previous?.gateway && previous.gateway !== wantedStatic?.gateway && ours(previous.gateway)) {
    const gateway = previous.gateway;
    routeChanges.push({
      action: 'remove',
      target: `default route via ${gateway} from ${where}`,
      detail: 'no longer wanted',
      apply: () =>
        container.routes.delete({ dst: 'default', family: gateway.includes(':') ? 6 : 4, gateway, dev: ifname }),
    });
  }
  if (wantedStatic?.gateway) {
    const gateway = wantedStatic.gateway;
    const familyNumber = wantedStatic.family === 4 ? AF_INET : AF_INET6;
    const foreign = defaults.find(
      (r) => r.family === familyNumber && !(r.gateway === gateway && r.oif === device?.ifindex),
    );
    if (ours(gateway) && addressChanges.length === 0) {
      routeGateway = gateway;
    } else if (foreign && !ours(gateway) && !(previous?.gateway && foreign === ours(previous.gateway))) {
      const via = foreign.gateway ? `via ${foreign.gateway} ` : '';
      const dev = containerLinks.find((l) => l.ifindex === foreign.oif)?.ifname ?? `index ${foreign.oif}`;
      notes.push(`default route left alone: the container routes ${via}dev ${dev} already`);
    } else {
      routeGateway = gateway;
      const spec = { dst: 'default', family: wantedStatic.family, gateway, dev: ifname } as const;
      routeChanges.push({
        action: 'add',
        target: `default route via ${gateway} on ${where}`,
        ...(ours(gateway) ? { detail: 'if the address change took it' } : {}),
        // Checked again when applied: the address changes before it may have taken a route through the old address
        // with them.
        apply: async () => {
          const index = (await container.links.get(ifname)).ifindex;
          const now = (await container.routes.list({ family: wantedStatic.family })).filter(isDefaultRoute);
          if (!now.some((r) => r.gateway === gateway && r.oif === index)) await container.routes.add(spec);
        },
      });
    }
  }
  const markAddress = addressing.mode === 'dhcp' ? 'dhcp' : wantedStatic?.address;
  const containerMarkText = containerMark({
    network,
    ...(markAddress ? { address: markAddress } : {}),
    ...(routeGateway ? { gateway: routeGateway } : {}),
  });

  if (!existing) {
    changes.push(createChange(rt, c, hostName));
    changes.push({
      action: 'update',
      target: `link ${where}`,
      detail: 'mark, up',
      apply: () => container.links.set(ifname, { ifalias: containerMarkText, up: true }),
    });
  } else {
    const set: Parameters<Rtnetlink['links']['set']>[1] = {};
    const details: string[] = [];
    if (existing.master !== bridge.ifindex) {
      set.master = bridge.ifindex;
      details.push(`onto ${bridge.ifname}`);
    }
    if (existing.mtu !== c.wantedMtu) {
      set.mtu = c.wantedMtu;
      details.push(`mtu ${existing.mtu} → ${c.wantedMtu}`);
    }
    if (!isUp(existing)) {
      set.up = true;
      details.push('up');
    }
    if (existing.ifalias !== hostMarkText) {
      set.ifalias = hostMarkText;
      details.push('mark');
    }
    if (details.length)
      changes.push({
        action: 'update',
        target: `link ${existing.ifname}`,
        detail: details.join(', '),
        apply: () => rt.links.set(existing, set),
      });
    const peer = device!; // found above whenever existing is set (or it threw)
    const inside: Parameters<Rtnetlink['links']['set']>[1] = {};
    const insideDetails: string[] = [];
    if (peer.mtu !== c.wantedMtu) {
      inside.mtu = c.wantedMtu;
      insideDetails.push(`mtu ${peer.mtu} → ${c.wantedMtu}`);
    }
    if (peer.address?.toLowerCase() !== c.wantedMac) {
      inside.address = c.wantedMac;
      insideDetails.push(`mac ${peer.address} → ${c.wantedMac}`);
    }
    if (!isUp(peer)) {
      inside.up = true;
      insideDetails.push('up');
    }
    if (insideDetails.length)
      changes.push({
        action: 'update',
        target: `link ${where}`,
        detail: insideDetails.join(', '),
        apply: () => container.links.set(peer, inside),
      });
  }
  if (lo && !isUp(lo))
    changes.push({
      action: 'update',
      target: `link lo in ${ns.label}`,
      detail: 'up',
      apply: () => container.links.set(lo, { up: true }),
    });
  changes.push(...addressChanges, ...routeChanges);
  // An existing attachment's container mark changes last: until then it says what to undo.
  if (existing && device && device.ifalias !== containerMarkText) {
    const peer = device;
    changes.push({
      action: 'update',
      target: `link ${where}`,
      detail: 'mark',
      apply: () => container.links.set(peer, { ifalias: containerMarkText }),
    });
  }

  return {
    changes,
    result: {
      network,
      netns: ns.path,
      netnsId: ns.identity.id,
      ifname,
      ...(c.containerId ? { containerId: c.containerId } : {}),
      host: { ifname: hostName, mac: hostMac, bridge: linkName(bridge) },
      container: { ifname, mac: c.wantedMac, mtu: c.wantedMtu },
      ...(markAddress ? { address: markAddress } : {}),
      ...(routeGateway ? { gateway: routeGateway } : {}),
      notes,
    },
  };
}

/** The first candidate name no device in the host namespace holds. */
function freeHostName(c: Context): string {
  const taken = new Set(c.links.map((l) => l.ifname));
  for (let attempt = 0; attempt < HOST_VETH_ATTEMPTS; attempt++) {
    const name = hostVethName(c.ns.identity.id, c.ifname, attempt);
    if (!taken.has(name)) return name;
  }
  throw new VxnetError(
    `no free name for the host end of ${c.ifname} in ${c.ns.label}: the ${HOST_VETH_ATTEMPTS} candidates ` +
      `(${hostVethName(c.ns.identity.id, c.ifname)} …) are all taken by other devices`,
  );
}

/** Attaches (or converges an attachment); returns it with the changes made. */
export async function attach(rt: Rtnetlink, options: AttachOptions, io: AttachIo = {}): Promise<AttachResult> {
  const plan = await planAttach(rt, options, io);
  return plan.apply();
}

export interface AttachmentCheck {
  /** Whether an attachment of this container interface to the network exists. */
  attached: boolean;
  /** What differs from the options, in words ("would add address …"); empty when all is as asked. */
  problems: string[];
  /** The attachment as it would be (host end, MACs, address). */
  attachment: Omit<AttachResult, 'changes'>;
}

/** Compares an attachment with the options, changing nothing (a CNI CHECK). Throws as attach would on bad input. */
export async function checkAttachment(
  rt: Rtnetlink,
  options: AttachOptions,
  io: AttachIo = {},
): Promise<AttachmentCheck> {
  await using plan = await planAttach(rt, options, io);
  const problems = plan.exists
    ? plan.changes.map((change) => `would ${describeChange(change)}`)
    : [`${plan.result.ifname} in ${plan.result.netns} is not attached to ${plan.result.network}`];
  return { attached: plan.exists, problems, attachment: plan.result };
}

export interface DetachOptions {
  network: string;
  netns: string | number;
  /** Default eth0. */
  ifname?: string;
}

export interface DetachResult {
  /** Whether a pair was removed. */
  detached: boolean;
  /** The host end removed (it took the container end with it). */
  host?: string;
  /** Why nothing was removed. */
  reason?: string;
  changes: Change[];
}

/**
 * Removes the pair vxnet made for this container interface (found by the
 * host end's mark): deleting one end deletes the other, and with it the
 * addresses and routes on it. Nothing attached, or a namespace that is gone
 * (the kernel removed the pair with it), is not an error. An attachment of
 * the interface to another network is a ConflictError.
 */
export async function detach(rt: Rtnetlink, options: DetachOptions): Promise<DetachResult> {
  const network = validateOwner(options.network, 'network');
  const ifname = validatePortableIfname(options.ifname ?? 'eth0', 'ifname');
  let ns: ContainerNamespace;
  try {
    ns = containerNamespace(options.netns);
  } catch (error) {
    if (error instanceof NetnsNotFoundError)
      return {
        detached: false,
        reason: `${error.reason}: nothing is attached (a veth goes with its namespace)`,
        changes: [],
      };
    throw error;
  }
  const marked = markedFor(await rt.links.list(), ns, ifname);
  const other = marked.find((m) => m.network !== network);
  if (other) throw attachedElsewhere(ifname, ns, other.network, network);
  const ours = marked[0]?.link;
  if (!ours)
    return {
      detached: false,
      reason: `${ifname} in ${ns.label} is not attached to ${network} in ${rt.where}`,
      changes: [],
    };
  const change: Change = {
    action: 'delete',
    target: `veth ${ours.ifname}`,
    detail: `${ifname} in ${ns.label}`,
    apply: () => rt.links.delete(ours),
  };
  await change.apply();
  return { detached: true, host: linkName(ours), changes: [change] };
}

/**
 * Removes an attachment found by listAttachments, by its host end — for a
 * sweep (a CNI GC) that has the listing, not the namespace: the device is
 * looked up again and deleted only if it still carries the same mark.
 * False when it is gone already (its namespace died, or a detach ran).
 */
export async function detachAttachment(
  rt: Rtnetlink,
  attachment: Pick<Attachment, 'network' | 'netnsId' | 'ifname'> & {
    host: Pick<Attachment['host'], 'ifname' | 'ifindex'>;
  },
): Promise<boolean> {
  const link = await rt.links.find(attachment.host.ifindex);
  const mark = parseHostMark(link?.ifalias);
  if (
    !link ||
    link.ifname !== attachment.host.ifname ||
    !mark ||
    mark.network !== attachment.network ||
    mark.netnsId !== attachment.netnsId ||
    mark.ifname !== attachment.ifname
  )
    return false;
  try {
    await rt.links.delete(link);
  } catch (error) {
    if (error instanceof NetlinkError && error.code === 'ENODEV') return false;
    throw error;
  }
  return true;
}
