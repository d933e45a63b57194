/**
 * Neighbours (ARP / NDP entries) and the bridge forwarding database (FDB):
 * both are RTM_*NEIGH messages; the FDB is family AF_BRIDGE, keyed by MAC.
 *
 * For a VXLAN device the FDB says where to send frames: an entry per remote
 * MAC, and the all-zeros MAC entries that list where to flood broadcast and
 * unknown traffic when there is no multicast group (one per peer, added with
 * append: `bridge fdb append 00:00:00:00:00:00 dev vx0 dst PEER`).
 */
import { constants } from 'node:os';
import { NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants.js';
import type { BatchResult } from '../netlink/connection.js';
import { NetlinkError, ValidationError } from '../netlink/errors.js';
import { decodeMessage, encodeMessage, MessageBatch } from '../netlink/message.js';
import { parseMac } from '../netlink/codec.js';
import type { Rtnetlink } from './client.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  NTF_EXT_LEARNED,
  NTF_MASTER,
  NTF_PROXY,
  NTF_ROUTER,
  NTF_SELF,
  NTF_STICKY,
  NUD_DELAY,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_NOARP,
  NUD_NONE,
  NUD_PERMANENT,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
  RTM_DELNEIGH,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
  RTN_UNSPEC,
} from './constants.js';
import type { LinkRef } from './links.js';
import { linkSchema } from './schema/link.js';
import { type NeighbourMessage, neighbourSchema, type NeighbourRequest } from './schema/neighbour.js';
import { addressFamily, validatePort, validateVni } from './validate.js';

const { EAFNOSUPPORT, EEXIST, ENOENT, EOPNOTSUPP } = constants.errno;

export type Neighbour = NeighbourMessage;
export type FdbEntry = NeighbourMessage;

export type NeighbourState =
  | 'permanent'
  | 'noarp'
  | 'reachable'
  | 'stale'
  | 'none'
  | 'incomplete'
  | 'delay'
  | 'probe'
  | 'failed';
const STATES: Record<NeighbourState, number> = {
  permanent: NUD_PERMANENT,
  noarp: NUD_NOARP,
  reachable: NUD_REACHABLE,
  stale: NUD_STALE,
  none: NUD_NONE,
  incomplete: NUD_INCOMPLETE,
  delay: NUD_DELAY,
  probe: NUD_PROBE,
  failed: NUD_FAILED,
};

function stateNumber(state: NeighbourState, field = 'state'): number {
  const value = STATES[state];
  if (value === undefined) throw new ValidationError(field, `one of ${Object.keys(STATES).join(', ')}`, state);
  return value;
}

export interface NeighbourSpec {
  dev: LinkRef;
  /** The neighbour's IP address. */
  dst: string;
  lladdr?: string;
  /** Default permanent, as `ip neigh add`. */
  state?: NeighbourState;
  router?: boolean;
  proxy?: boolean;
}

export class Neighbours {
  constructor(private readonly rt: Rtnetlink) {}

  /**
   * Neighbour entries, or (proxy: true) the proxy entries — ARP/NDP answered
   * on another host's behalf — which live in a table of their own that a
   * dump lists only when asked with NTF_PROXY.
   */
  async list(filter: { family?: 4 | 6; dev?: LinkRef; proxy?: boolean } = {}): Promise<Neighbour[]> {
    const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : AF_UNSPEC;
    const ifindex =
      filter.dev === undefined
        ? 0
        : await this.rt.links.indexOf(filter.dev, 'dev', 'list neighbours', `on ${filter.dev}`);
    const all = await this.rt.connection.dumpAll(
      () => encodeMessage(RTM_GETNEIGH, 0, neighbourSchema, { family, flags: filter.proxy ? NTF_PROXY : 0 }),
      { operation: filter.proxy ? 'list proxy neighbours' : 'list neighbours' },
      { decode: (m) => decodeMessage(neighbourSchema, m), retries: 3 },
    );
    // AF_UNSPEC dumps include the bridge FDB (AF_BRIDGE): those are not neighbours.
    return all.filter((n) => n.family !== AF_BRIDGE && (ifindex === 0 || n.ifindex === ifindex));
  }

  add(spec: NeighbourSpec): Promise<void> {
    return this.write(spec, NLM_F_CREATE | NLM_F_EXCL, 'add neighbour');
  }

  replace(spec: NeighbourSpec): Promise<void> {
    return this.write(spec, NLM_F_CREATE | NLM_F_REPLACE, 'replace neighbour');
  }

  /** Deletes an entry; a proxy entry needs `proxy: true` (it lives in the proxy table). */
  async delete(spec: Pick<NeighbourSpec, 'dev' | 'dst' | 'proxy'>): Promise<void> {
    const message = await this.message({ ...spec }, 'delete neighbour');
    await this.rt.connection.request(encodeMessage(RTM_DELNEIGH, 0, neighbourSchema, message), {
      operation: 'delete neighbour',
      object: `${spec.dst} on ${spec.dev}`,
      explain: (errno) => (errno === ENOENT ? `no neighbour entry for ${spec.dst} on ${spec.dev}` : undefined),
    });
  }

  private async write(spec: NeighbourSpec, flags: number, operation: string): Promise<void> {
    const message = await this.message(spec, operation);
    try {
      await this.rt.connection.request(encodeMessage(RTM_NEWNEIGH, flags, neighbourSchema, message), {
        operation,
        object: `${spec.dst} on ${spec.dev}`,
        explain: (errno) =>
          errno === EEXIST ? `${spec.dst} already has an entry on ${spec.dev}; use replace to change it` : undefined,
      });
    } catch (error) {
      if (error instanceof NetlinkError && error.code === 'EINVAL')
        throw await this.explainInvalid(spec, message.ifindex as number, error);
      throw error;
    }
  }

  /** EINVAL on a neighbour write: the link-layer address is missing, or not the device's length. */
  private async explainInvalid(spec: NeighbourSpec, ifindex: number, error: NetlinkError): Promise<NetlinkError> {
    const state = spec.state ?? 'permanent';
    if (spec.lladdr === undefined && !spec.proxy && !['none', 'incomplete', 'failed'].includes(state)) {
      return error.withCause(
        `lladdr: a ${state} entry needs a link-layer address ` +
          `(only none, incomplete and failed entries, and proxies, go without)`,
      );
    }
    try {
      const link = await this.rt.links.get(ifindex);
      const wanted = link.address === undefined ? 0 : link.address.split(':').length;
      const given = spec.lladdr === undefined ? 0 : spec.lladdr.split(':').length;
      if (spec.lladdr !== undefined && given !== wanted) {
        return error.withCause(
          `lladdr: ${spec.lladdr} has ${given} bytes, but ${link.ifname} takes ${wanted}-byte link-layer addresses`,
        );
      }
    } catch {
      // The device vanished meanwhile: keep the kernel's answer.
    }
    return error;
  }

  private async message(spec: NeighbourSpec, operation: string): Promise<NeighbourRequest> {
    const family = addressFamily(spec.dst, 'dst');
    if (spec.lladdr !== undefined) parseMac(spec.lladdr, 'lladdr');
    return {
      family: family === 4 ? AF_INET : AF_INET6,
      ifindex: await this.rt.links.indexOf(spec.dev, 'dev', operation, `${spec.dst} on ${spec.dev}`),
      state: stateNumber(spec.state ?? 'permanent'),
      flags: (spec.router ? NTF_ROUTER : 0) | (spec.proxy ? NTF_PROXY : 0),
      type: RTN_UNSPEC,
      dst: spec.dst,
      ...(spec.lladdr !== undefined ? { lladdr: spec.lladdr } : {}),
    };
  }
}

export interface FdbSpec {
  /** The device whose table holds the entry (a vxlan device, or a bridge port). */
  dev: LinkRef;
  /** The MAC address; 00:00:00:00:00:00 for the flood list of a VXLAN device. */
  mac: string;
  /** VXLAN: the remote VTEP's IP address. */
  dst?: string;
  /** VXLAN: the remote's UDP port, when it differs from the device's. */
  port?: number;
  /** VXLAN: the remote's VNI, when it differs from the device's. */
  vni?: number;
  /** VXLAN external mode: the VNI of this entry. */
  src_vni?: number;
  /** VXLAN: the underlay device to reach the remote through. */
  via?: LinkRef;
  /** Which table: the device's own (self, the default, as `bridge fdb`) and/or its master bridge's. */
  self?: boolean;
  master?: boolean;
  /** Default permanent, as `bridge fdb add` without a state word. */
  state?: 'permanent' | 'static' | 'dynamic';
  extern_learn?: boolean;
  sticky?: boolean;
  vlan?: number;
}

export interface FdbFilter {
  /** Only entries in this device's table (filtered by the kernel). */
  dev?: LinkRef;
}

function describeFdb(spec: FdbSpec): string {
  return `${spec.mac} dev ${spec.dev}${spec.dst ? ` dst ${spec.dst}` : ''}`;
}

export class Fdb {
  constructor(private readonly rt: Rtnetlink) {}

  /**
   * FDB entries, all or one device's. The kernel filters by device, but only
   * if asked the way it understands on a socket without strict checking
   * (ours: node-netlink cannot set NETLINK_GET_STRICT_CHK): there it ignores
   * ndm_ifindex and reads the request as a struct ifinfomsg, taking the port
   * from ifi_index (valid_fdb_dump_legacy). So a filtered dump is an AF_BRIDGE
   * ifinfomsg, as older iproute2 sent it; the entries are checked again here.
   */
  async list(filter: FdbFilter = {}): Promise<FdbEntry[]> {
    const ifindex =
      filter.dev === undefined ? 0 : await this.rt.links.indexOf(filter.dev, 'dev', 'list fdb', `dev ${filter.dev}`);
    const entries = await this.rt.connection.dumpAll(
      () =>
        ifindex
          ? encodeMessage(RTM_GETNEIGH, 0, linkSchema, { family: AF_BRIDGE, ifindex })
          : encodeMessage(RTM_GETNEIGH, 0, neighbourSchema, { family: AF_BRIDGE }),
      { operation: 'list fdb', object: filter.dev === undefined ? undefined : `dev ${filter.dev}` },
      { decode: (m) => decodeMessage(neighbourSchema, m), retries: 3 },
    );
    return ifindex ? entries.filter((e) => e.ifindex === ifindex) : entries;
  }

  /** Adds an entry; EEXIST if that MAC already has one (use append for extra flood destinations). */
  add(spec: FdbSpec): Promise<void> {
    return this.write([spec], NLM_F_CREATE | NLM_F_EXCL, 'add fdb entry').then(single);
  }

  /** Adds another destination for a MAC (the VXLAN flood list: one all-zeros entry per peer). */
  append(spec: FdbSpec): Promise<void> {
    return this.write([spec], NLM_F_CREATE | NLM_F_APPEND, 'append fdb entry').then(single);
  }

  replace(spec: FdbSpec): Promise<void> {
    return this.write([spec], NLM_F_CREATE | NLM_F_REPLACE, 'replace fdb entry').then(single);
  }

  /** Deletes an entry; with `dst`, only that destination of the MAC. */
  delete(spec: FdbSpec): Promise<void> {
    return this.write([spec], 0, 'delete fdb entry', RTM_DELNEIGH).then(single);
  }

  /** Many entries at once (several per sendmsg); each failure is reported with its index. */
  appendMany(specs: FdbSpec[]): Promise<BatchResult> {
    return this.write(specs, NLM_F_CREATE | NLM_F_APPEND, 'append fdb entry');
  }

  deleteMany(specs: FdbSpec[]): Promise<BatchResult> {
    return this.write(specs, 0, 'delete fdb entry', RTM_DELNEIGH);
  }

  private async write(specs: FdbSpec[], flags: number, operation: string, type = RTM_NEWNEIGH): Promise<BatchResult> {
    // Each device is looked up once (a batch names the same one a thousand times), and a message is built without
    // a promise of its own unless its device is new: each spec is still checked, then its devices resolved, in order.
    const names = new Map<LinkRef, number>();
    const batch = new MessageBatch(specs.length);
    for (const [i, spec] of specs.entries()) {
      const at = specs.length === 1 ? '' : `fdb[${i}].`;
      try {
        const state = checkFdbSpec(spec);
        if (!names.has(spec.dev))
          names.set(spec.dev, await this.rt.links.indexOf(spec.dev, 'dev', operation, describeFdb(spec)));
        if (spec.via !== undefined && !names.has(spec.via))
          names.set(spec.via, await this.rt.links.indexOf(spec.via, 'via', operation, describeFdb(spec)));
        batch.add(type, flags, neighbourSchema, fdbRequest(spec, state, names));
      } catch (error) {
        if (error instanceof ValidationError && at)
          throw new ValidationError(`${at}${error.field}`, error.reason, error.value);
        throw error;
      }
    }
    const messages = batch.messages();
    const [message] = messages;
    const [spec] = specs;
    if (messages.length === 1 && message !== undefined && spec !== undefined) {
      try {
        await this.rt.connection.request(message, {
          operation,
          object: describeFdb(spec),
          explain: (errno) => fdbCause(errno, spec),
        });
      } catch (error) {
        if (error instanceof NetlinkError && error.code === 'EINVAL') throw await this.explainInvalid(spec, error);
        throw error;
      }
      return { succeeded: 1, failed: [] };
    }
    return this.rt.connection.batch(messages, (index) => {
      const failed = specs[index]; // messages[index] was encoded from specs[index]
      return { operation, object: failed ? describeFdb(failed) : `fdb[${index}]` };
    });
  }

  /** EINVAL on an FDB write: a VXLAN entry without its remote. */
  private async explainInvalid(spec: FdbSpec, error: NetlinkError): Promise<NetlinkError> {
    try {
      const link = await this.rt.links.get(spec.dev);
      if (link.linkinfo?.info_kind === 'vxlan' && spec.dst === undefined && !spec.master) {
        return error.withCause(
          `dst: an entry in the table of VXLAN device ${link.ifname} says where to send: ` +
            `give the remote VTEP's address`,
        );
      }
    } catch {
      // The device vanished meanwhile: keep the kernel's answer.
    }
    return error;
  }
}

/** The states `bridge fdb` sends for its words (checked with strace against iproute2). */
const FDB_STATES: Record<string, number> = {
  permanent: NUD_NOARP | NUD_PERMANENT,
  static: NUD_NOARP | NUD_REACHABLE,
  dynamic: NUD_REACHABLE,
};

/** An FDB spec's values checked before anything is sent; returns its neighbour state. */
function checkFdbSpec(spec: FdbSpec): number {
  if (parseMac(spec.mac, 'mac').length !== 6)
    throw new ValidationError('mac', 'an FDB entry is for a 6-byte Ethernet address', spec.mac);
  if (spec.dst !== undefined) addressFamily(spec.dst, 'dst');
  if (spec.port !== undefined) validatePort(spec.port);
  if (spec.vni !== undefined) validateVni(spec.vni, 'vni');
  if (spec.src_vni !== undefined) validateVni(spec.src_vni, 'src_vni');
  const word = spec.state ?? 'permanent';
  const state = Object.hasOwn(FDB_STATES, word) ? FDB_STATES[word] : undefined;
  if (state === undefined)
    throw new ValidationError('state', `one of ${Object.keys(FDB_STATES).join(', ')}`, spec.state);
  if (spec.sticky && state & NUD_PERMANENT) {
    // The bridge refuses it with a bare EINVAL: a permanent entry never moves anyway.
    throw new ValidationError(
      'sticky',
      'a sticky entry is static or dynamic, not permanent (the default): give state',
      spec.state ?? 'permanent',
    );
  }
  return state;
}

/** The request for a checked spec whose devices are resolved in `names`. */
function fdbRequest(spec: FdbSpec, state: number, names: Map<LinkRef, number>): NeighbourRequest {
  let flags = (spec.self ? NTF_SELF : 0) | (spec.master ? NTF_MASTER : 0);
  if (!flags) flags = NTF_SELF; // as `bridge fdb`: the device's own table unless told otherwise
  if (spec.extern_learn) flags |= NTF_EXT_LEARNED;
  if (spec.sticky) flags |= NTF_STICKY;
  const message: NeighbourRequest = {
    family: AF_BRIDGE,
    ifindex: names.get(spec.dev) ?? 0, // resolved by the caller before the request is built
    state,
    flags,
    type: RTN_UNSPEC,
    lladdr: spec.mac,
  };
  if (spec.dst !== undefined) message.dst = spec.dst;
  if (spec.vlan !== undefined) message.vlan = spec.vlan;
  if (spec.port !== undefined) message.port = spec.port;
  if (spec.vni !== undefined) message.vni = spec.vni;
  if (spec.via !== undefined) message.viaIfIndex = names.get(spec.via) ?? 0;
  if (spec.src_vni !== undefined) message.src_vni = spec.src_vni;
  return message;
}

function single(result: BatchResult): void {
  const [first] = result.failed;
  if (first) throw first.error;
}

function fdbCause(errno: number, spec: FdbSpec): string | undefined {
  if (errno === EEXIST)
    return (
      `${spec.mac} already has an entry on ${spec.dev}; ` +
      `use append to add another destination (VXLAN flood list) or replace`
    );
  if (errno === ENOENT) return `no entry for ${spec.mac}${spec.dst ? ` with dst ${spec.dst}` : ''} on ${spec.dev}`;
  if (errno === EAFNOSUPPORT)
    return (
      `the destination ${spec.dst} ` +
      `is not of the device's address family ` +
      '(an IPv4 VXLAN device takes IPv4 remotes)'
    );
  if (errno === EOPNOTSUPP) {
    return spec.master
      ? `master: ${spec.dev} is not a bridge port, so there is no bridge table to put the entry in (enslave it first)`
      : `${spec.dev} has no forwarding database of its own: ` +
          `is it a vxlan device or a bridge port? (set master: true for the bridge's table)`;
  }
  return undefined;
}
