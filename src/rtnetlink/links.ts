/**
 * Links: get, list, create, change, delete, and move between namespaces.
 *
 * Objects are the decoded link messages (`LinkMessage`), with the names
 * `ip -j -d link show` prints (`ifname`, `mtu`, `linkinfo.info_kind`, ...).
 * Requests take the same shape, plus conveniences: a `kind` with its options,
 * devices named by name or index, `up`, and `namespace` for where a device
 * (or a veth peer) should live.
 */
import { constants } from 'node:os';
import { NLM_F_CREATE, NLM_F_EXCL } from '../netlink/constants.js';
import { DecodeError, NetlinkError, ValidationError, VxnetError } from '../netlink/errors.js';
import { decodeMessage, encodeMessage } from '../netlink/message.js';
import { namespacePath, validateNamespaceName } from '../netlink/namespace.js';
import type { Rtnetlink } from './client.js';
import { AF_UNSPEC, IFF_UP, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK } from './constants.js';
import { explainChangeError, explainLinkError } from './explain.js';
import type { bridgeAttrs, bridgePortAttrs } from './schema/kinds/bridge.js';
import type { ipvlanAttrs } from './schema/kinds/ipvlan.js';
import {
  MACVLAN_MODE_BRIDGE,
  MACVLAN_MODE_PASSTHRU,
  MACVLAN_MODE_PRIVATE,
  MACVLAN_MODE_SOURCE,
  MACVLAN_MODE_VEPA,
  type macvlanAttrs,
} from './schema/kinds/macvlan.js';
import { IPVLAN_MODE_L2, IPVLAN_MODE_L3, IPVLAN_MODE_L3S } from './schema/kinds/ipvlan.js';
import type { vxlanAttrs } from './schema/kinds/vxlan.js';
import { encodeVethPeer, type LinkInfoRequest, type LinkMessage, type LinkRequest, linkSchema } from './schema/link.js';
import type { RequestOf } from '../netlink/schema.js';
import { validateIfalias, validateIfname, validateMtu, validateUnicastMac, validateVxlanOptions } from './validate.js';

export type Link = LinkMessage;
/** A device by name or by index. */
export type LinkRef = string | number;

/**
 * A device already looked up (a `Link` will do): a change or delete names it
 * by index on the wire, as a number would, and by name in errors, with no
 * lookup of its own.
 */
export interface KnownLink {
  ifindex: number;
  ifname?: string;
}

/** The ref a request is built from, and how errors name the device. */
function target(ref: LinkRef | KnownLink): { ref: LinkRef; object: string } {
  if (typeof ref === 'object' && ref !== null) return { ref: ref.ifindex, object: ref.ifname ?? String(ref.ifindex) };
  return { ref, object: String(ref) };
}

/** What a new or changed device may say about itself, whatever its kind. */
interface CommonSpec {
  mtu?: number;
  address?: string;
  txqlen?: number;
  /** IFLA_IFALIAS: free text, shown by `ip link` as "alias". */
  ifalias?: string;
  group?: number;
  /** Enslave to this device (a bridge). `null` (in changes) releases it. */
  master?: LinkRef | null;
  /** Bring it up (true) or down (false). */
  up?: boolean;
}

export interface VxlanOptions extends Omit<RequestOf<typeof vxlanAttrs>, 'link' | 'unknown'> {
  id: number;
  /** The underlay device, by name or index (IFLA_VXLAN_LINK). */
  link?: LinkRef;
}

export interface VethPeer {
  ifname: string;
  /** Create the peer directly in this network namespace (/run/netns/NAME). */
  namespace?: string;
  mtu?: number;
  address?: string;
}

export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
export type IpvlanMode = 'l2' | 'l3' | 'l3s';

/** A device to create: its name, its kind and that kind's options. */
export type LinkSpec = CommonSpec & {
  ifname: string /** Create it directly in this namespace. */;
  namespace?: string;
} & (
    | { kind: 'vxlan'; vxlan: VxlanOptions }
    | { kind: 'bridge'; bridge?: Omit<RequestOf<typeof bridgeAttrs>, 'unknown'> }
    | { kind: 'veth'; peer: VethPeer }
    | {
        kind: 'macvlan' | 'macvtap';
        link: LinkRef;
        mode?: MacvlanMode;
        macvlan?: Omit<RequestOf<typeof macvlanAttrs>, 'unknown'>;
      }
    | { kind: 'ipvlan'; link: LinkRef; mode?: IpvlanMode; ipvlan?: Omit<RequestOf<typeof ipvlanAttrs>, 'unknown'> }
    /** Any other kind, with IFLA_INFO_DATA as the schema knows it (or none). */
    | { kind: string; linkinfo?: LinkInfoRequest; link?: LinkRef }
  );

/** Changes to an existing device. */
export interface LinkChanges extends CommonSpec {
  /** Rename. */
  ifname?: string;
  /** Move into this network namespace (/run/netns/NAME or a namespace file path). */
  namespace?: string;
  /** Kind-specific changes (IFLA_INFO_DATA), e.g. `{ info_kind: 'bridge', info_data: { stp_state: 0 } }`. */
  linkinfo?: LinkInfoRequest;
}

const MACVLAN_MODES: Record<MacvlanMode, number> = {
  private: MACVLAN_MODE_PRIVATE,
  vepa: MACVLAN_MODE_VEPA,
  bridge: MACVLAN_MODE_BRIDGE,
  passthru: MACVLAN_MODE_PASSTHRU,
  source: MACVLAN_MODE_SOURCE,
};
const IPVLAN_MODES: Record<IpvlanMode, number> = { l2: IPVLAN_MODE_L2, l3: IPVLAN_MODE_L3, l3s: IPVLAN_MODE_L3S };
const { ENODEV } = constants.errno;

function describeSpec(spec: LinkSpec): string {
  if (spec.kind === 'vxlan' && 'vxlan' in spec) return `${spec.ifname} (vxlan id ${spec.vxlan.id})`;
  if (spec.kind === 'veth' && 'peer' in spec) return `${spec.ifname} (veth, peer ${spec.peer.ifname})`;
  return `${spec.ifname} (${spec.kind})`;
}

export class Links {
  constructor(private readonly rt: Rtnetlink) {}

  /**
   * Every link in the namespace (one dump), optionally only those of a kind or under a master. The filter goes to
   * the kernel in the dump request (IFLA_MASTER, IFLA_LINKINFO's kind), which then sends only those; it is applied
   * again here, because a kernel may send everything: one that does not know the kind (its module not loaded)
   * filters nothing, and kernels before 4.19 read no filter at all. A master given by name is looked up first.
   */
  async list(filter: { kind?: string; master?: LinkRef } = {}): Promise<Link[]> {
    let masterIndex: number | undefined;
    if (filter.master !== undefined) {
      masterIndex = typeof filter.master === 'number' ? filter.master : (await this.find(filter.master))?.ifindex;
      if (masterIndex === undefined) return []; // no such device: nothing is under it
    }
    const request: LinkRequest = {
      family: AF_UNSPEC,
      ...(masterIndex !== undefined ? { master: masterIndex } : {}),
      ...(filter.kind !== undefined ? { linkinfo: { info_kind: filter.kind } } : {}),
    };
    const links = await this.rt.connection.dumpAll(
      () => encodeMessage(RTM_GETLINK, 0, linkSchema, request),
      { operation: 'list links' },
      { decode: (m) => decodeMessage(linkSchema, m), retries: 3 },
    );
    return links.filter(
      (l) =>
        (filter.kind === undefined || l.linkinfo?.info_kind === filter.kind) &&
        (masterIndex === undefined || l.master === masterIndex),
    );
  }

  /**
   * One link by name or index; NetlinkError ENODEV when there is none.
   * `netnsid` reads it in another namespace, named by the id this one knows
   * it by (IFLA_TARGET_NETNSID; a veth's `link_netnsid` names its peer's):
   * no socket in that namespace is needed.
   */
  async get(ref: LinkRef, options: { netnsid?: number } = {}): Promise<Link> {
    const request: LinkRequest = typeof ref === 'number' ? { ifindex: ref } : { ifname: validateIfname(ref) };
    if (options.netnsid !== undefined) request.target_netnsid = options.netnsid;
    const where =
      options.netnsid === undefined ? this.rt.where : `the namespace with id ${options.netnsid} in ${this.rt.where}`;
    const replies = await this.rt.connection.request(encodeMessage(RTM_GETLINK, 0, linkSchema, request), {
      operation: 'get link',
      object: String(ref),
      explain: (errno) =>
        errno === ENODEV
          ? `no device ${typeof ref === 'number' ? 'with index' : 'named'} ${ref} in ${where}`
          : undefined,
    });
    const [reply] = replies;
    if (reply === undefined) throw new DecodeError('RTM_NEWLINK', `no reply to get link ${String(ref)}`, -1);
    return decodeMessage(linkSchema, reply);
  }

  /** Like get, but undefined when the device does not exist. */
  async find(ref: LinkRef, options: { netnsid?: number } = {}): Promise<Link | undefined> {
    try {
      return await this.get(ref, options);
    } catch (error) {
      if (error instanceof NetlinkError && error.code === 'ENODEV') return undefined;
      throw error;
    }
  }

  /**
   * The ifindex of a device, resolving names. If there is none, the ENODEV
   * names the option that named it (`field`) and belongs to the request being
   * built (`operation` on `object`, e.g. "create link mv0 (macvlan)"), not to
   * the missing device.
   */
  async indexOf(ref: LinkRef, field: string, operation: string, object?: string): Promise<number> {
    if (typeof ref === 'number') {
      if (!Number.isInteger(ref) || ref <= 0)
        throw new ValidationError(field, 'an interface index is a positive integer', ref);
      return ref;
    }
    validateIfname(ref, field);
    const link = await this.find(ref);
    if (!link) {
      throw new NetlinkError({
        errno: ENODEV,
        operation,
        object: object ?? String(ref),
        cause: `${field}: no device named ${ref} in ${this.rt.where}`,
      });
    }
    return link.ifindex;
  }

  /**
   * Creates a device and returns it as the kernel reports it. Fails with
   * EEXIST if the name is taken (the error says by what); nothing is changed
   * when validation fails.
   */
  async create(spec: LinkSpec): Promise<Link> {
    validateIfname(spec.ifname);
    const operation = 'create link';
    const object = describeSpec(spec);
    const fds: number[] = [];
    try {
      const message = await this.buildCreate(spec, operation, object, fds);
      try {
        await this.rt.connection.request(encodeLink(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, message, spec.kind), {
          operation,
          object,
        });
      } catch (error) {
        if (error instanceof NetlinkError) throw await explainLinkError(this.rt, spec, error);
        throw error;
      }
    } finally {
      for (const fd of fds) await this.rt.connection.transport.closeFd(fd);
    }
    // Created elsewhere: it is not ours to read back.
    if (spec.namespace) return { ifname: spec.ifname } as Link;
    // The kernel ignores IFLA_IFALIAS when creating (rtnl_create_link has no alias): set it after.
    if (spec.ifalias !== undefined) await this.setCreatedAlias(spec.ifname, spec.ifalias, object);
    return this.get(spec.ifname);
  }

  /**
   * The second half of a create with an alias. If the alias cannot be set,
   * the device just created is deleted again: a device without the alias
   * asked for is one its creator cannot recognise (vxnet marks what it owns
   * with the alias, and destroys only what carries the mark), so none is left.
   */
  private async setCreatedAlias(ifname: string, ifalias: string, object: string): Promise<void> {
    const created = await this.get(ifname);
    try {
      await this.set(created, { ifalias });
    } catch (error) {
      const reason = (error as Error).message;
      try {
        await this.delete(created);
      } catch (cleanup) {
        throw new VxnetError(
          `create link ${object}: the device was created, but setting its alias failed (${reason}), ` +
            `and deleting it again failed too ` +
            `(${(cleanup as Error).message}): ${ifname} is left without its alias; delete it yourself`,
          { cause: error },
        );
      }
      const cause = `setting its alias after creation failed, so the new device was deleted again: ${reason}`;
      if (error instanceof NetlinkError)
        throw new NetlinkError({ ...error.toDetails(), operation: 'create link', object, cause });
      throw new VxnetError(`create link ${object} failed: ${cause}`, { cause: error });
    }
  }

  private async buildCreate(spec: LinkSpec, operation: string, object: string, fds: number[]): Promise<LinkRequest> {
    const message: LinkRequest = { family: AF_UNSPEC, ifname: spec.ifname };
    await this.applyCommon(message, spec, operation, object, spec.kind);
    delete message.ifalias; // set after creation, see create()
    let linkinfo: LinkInfoRequest = { info_kind: spec.kind };
    switch (spec.kind) {
      case 'vxlan':
        linkinfo.info_data = await this.vxlanData((spec as { vxlan: VxlanOptions }).vxlan, operation, object);
        break;
      case 'bridge': {
        const { bridge } = spec as { bridge?: RequestOf<typeof bridgeAttrs> };
        if (bridge) linkinfo.info_data = { ...bridge };
        break;
      }
      case 'veth': {
        const { peer: options } = spec as { peer: VethPeer };
        const peer: LinkRequest = { ifname: validateIfname(options?.ifname, 'peer.ifname') };
        if (options.mtu !== undefined) peer.mtu = validateMtu(options.mtu, 'peer.mtu');
        if (options.address !== undefined) peer.address = validateUnicastMac(options.address, 'peer.address');
        if (options.namespace) peer.net_ns_fd = await this.openNamespace(options.namespace, fds, 'peer.namespace');
        linkinfo.info_data = { peer: withField('peer.', () => encodeVethPeer(peer)) };
        break;
      }
      case 'macvlan':
      case 'macvtap': {
        const { mode, macvlan } = spec as { mode?: MacvlanMode; macvlan?: RequestOf<typeof macvlanAttrs> };
        const data: RequestOf<typeof macvlanAttrs> = { ...macvlan };
        if (mode !== undefined) data.mode = macvlanMode(mode);
        if (Object.keys(data).length) linkinfo.info_data = data;
        break;
      }
      case 'ipvlan': {
        const { mode, ipvlan } = spec as { mode?: IpvlanMode; ipvlan?: RequestOf<typeof ipvlanAttrs> };
        const data: RequestOf<typeof ipvlanAttrs> = { ...ipvlan };
        if (mode !== undefined) data.mode = ipvlanMode(mode);
        if (Object.keys(data).length) linkinfo.info_data = data;
        break;
      }
      default: {
        const { linkinfo: given } = spec as { linkinfo?: LinkInfoRequest };
        if (given) linkinfo = { ...given, info_kind: spec.kind };
      }
    }
    message.linkinfo = linkinfo;
    if ('link' in spec && spec.link !== undefined && spec.kind !== 'vxlan') {
      message.link = await this.rt.links.indexOf(spec.link, 'link', operation, object);
    }
    if (spec.namespace) message.net_ns_fd = await this.openNamespace(spec.namespace, fds);
    return message;
  }

  private async vxlanData(
    options: VxlanOptions,
    operation: string,
    object: string,
  ): Promise<RequestOf<typeof vxlanAttrs>> {
    validateVxlanOptions(options);
    const link =
      options.link === undefined
        ? undefined
        : await this.rt.links.indexOf(options.link, 'vxlan.link', operation, object);
    return { ...options, link };
  }

  private async applyCommon(
    message: LinkRequest,
    spec: CommonSpec,
    operation: string,
    object: string,
    kind?: string,
  ): Promise<void> {
    if (spec.mtu !== undefined) message.mtu = validateMtu(spec.mtu);
    if (spec.address !== undefined)
      message.address =
        kind !== undefined && ETHERNET_KINDS.has(kind) ? validateUnicastMac(spec.address, 'address') : spec.address;
    if (spec.txqlen !== undefined) message.txqlen = spec.txqlen;
    if (spec.ifalias !== undefined) message.ifalias = validateIfalias(spec.ifalias);
    if (spec.group !== undefined) message.group = spec.group;
    if (spec.master === null) message.master = 0;
    else if (spec.master !== undefined) message.master = await this.indexOf(spec.master, 'master', operation, object);
    if (spec.up !== undefined) {
      message.flags = spec.up ? IFF_UP : 0;
      message.change = IFF_UP;
    }
  }

  private async openNamespace(namespace: string, fds: number[], field = 'namespace'): Promise<number> {
    if (typeof namespace !== 'string' || !namespace.startsWith('/')) validateNamespaceName(namespace, field);
    const path = namespacePath(namespace);
    let fd: number;
    try {
      // The descriptor must be valid in the process that sends the request (a relay, for namespaced connections).
      fd = await this.rt.connection.transport.openFd(path);
    } catch (error) {
      // Nothing was sent yet: a namespace that cannot be opened is a bad value, named as such.
      throw new ValidationError(
        field,
        `cannot open network namespace ${namespace} (${path}): ` +
          `${(error as Error).message}; is it created (ip netns add)?`,
        namespace,
      );
    }
    fds.push(fd);
    return fd;
  }

  /** Changes a device: rename, MTU, address, alias, up/down, master/nomaster, namespace, kind options. */
  async set(device: LinkRef | KnownLink, changes: LinkChanges): Promise<void> {
    const operation = 'change link';
    const { ref, object } = target(device);
    const ifindex = await this.indexOf(ref, 'link', operation, object);
    const message: LinkRequest = { family: AF_UNSPEC, ifindex };
    if (changes.ifname !== undefined) message.ifname = validateIfname(changes.ifname);
    await this.applyCommon(message, changes, operation, object);
    if (changes.linkinfo !== undefined) message.linkinfo = changes.linkinfo;
    const fds: number[] = [];
    try {
      if (changes.namespace !== undefined) message.net_ns_fd = await this.openNamespace(changes.namespace, fds);
      try {
        await this.rt.connection.request(encodeMessage(RTM_NEWLINK, 0, linkSchema, message), { operation, object });
      } catch (error) {
        if (error instanceof NetlinkError) throw await explainChangeError(this.rt, ref, changes, error);
        throw error;
      }
    } finally {
      for (const fd of fds) await this.rt.connection.transport.closeFd(fd);
    }
  }

  /** Sets bridge-port options (IFLA_BRPORT_*) of a device enslaved to a bridge. */
  async setBridgePort(
    ref: LinkRef | KnownLink,
    options: Omit<RequestOf<typeof bridgePortAttrs>, 'unknown'>,
  ): Promise<void> {
    await this.set(ref, { linkinfo: { info_slave_kind: 'bridge', info_slave_data: options } });
  }

  /** Deletes a device (a veth takes its peer with it). */
  async delete(device: LinkRef | KnownLink): Promise<void> {
    const { ref, object } = target(device);
    const request = typeof ref === 'number' ? { ifindex: ref } : { ifname: validateIfname(ref) };
    await this.rt.connection.request(encodeMessage(RTM_DELLINK, 0, linkSchema, request), {
      operation: 'delete link',
      object,
      explain: (errno) =>
        errno === ENODEV
          ? `no device ${typeof ref === 'number' ? 'with index' : 'named'} ${ref}` +
            `${object !== String(ref) ? ` (${object})` : ''} in ${this.rt.where}`
          : undefined,
    });
  }
}

/** Kinds whose devices take a 6-byte Ethernet address of their own. */
const ETHERNET_KINDS = new Set(['vxlan', 'bridge', 'veth', 'macvlan', 'macvtap']);

/** Where each kind's options sit in a LinkSpec, to name them in encoding errors as the caller wrote them. */
const KIND_OPTIONS: Record<string, string> = {
  vxlan: 'vxlan',
  bridge: 'bridge',
  macvlan: 'macvlan',
  macvtap: 'macvlan',
  ipvlan: 'ipvlan',
};

/**
 * Encodes a link message; a ValidationError inside IFLA_INFO_DATA names the option as given (`vxlan.ttl`,
 * not `linkinfo.info_data.ttl`).
 */
function encodeLink(type: number, flags: number, message: LinkRequest, kind: string): Buffer {
  try {
    return encodeMessage(type, flags, linkSchema, message);
  } catch (error) {
    const options = KIND_OPTIONS[kind];
    if (options && error instanceof ValidationError && error.field.startsWith('linkinfo.info_data.')) {
      throw new ValidationError(
        `${options}.${error.field.slice('linkinfo.info_data.'.length)}`,
        error.reason,
        error.value,
      );
    }
    throw error;
  }
}

/** Runs an encoder whose ValidationErrors should carry a prefix (the veth peer's own link message). */
function withField<T>(prefix: string, encode: () => T): T {
  try {
    return encode();
  } catch (error) {
    if (error instanceof ValidationError)
      throw new ValidationError(`${prefix}${error.field}`, error.reason, error.value);
    throw error;
  }
}

function macvlanMode(mode: MacvlanMode): number {
  const value = MACVLAN_MODES[mode];
  if (value === undefined) throw new ValidationError('mode', `one of ${Object.keys(MACVLAN_MODES).join(', ')}`, mode);
  return value;
}

function ipvlanMode(mode: IpvlanMode): number {
  const value = IPVLAN_MODES[mode];
  if (value === undefined) throw new ValidationError('mode', `one of ${Object.keys(IPVLAN_MODES).join(', ')}`, mode);
  return value;
}
