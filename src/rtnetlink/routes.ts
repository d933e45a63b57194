/**
 * Routes (RTM_*ROUTE): list (collected or streamed), add, replace, delete,
 * and many at once with each failure reported. Defaults follow `ip route add`:
 * table main, protocol boot, type unicast, scope link for a route without a
 * gateway and universe otherwise.
 */
import { constants } from 'node:os';
import ipaddr from 'ipaddr.js';
import { parseIP } from '../netlink/codec.js';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants.js';
import type { BatchResult } from '../netlink/connection.js';
import { ValidationError } from '../netlink/errors.js';
import { decodeMessage, encodeMessage, MessageBatch, type RawMessage } from '../netlink/message.js';
import { scopeNumber, type Scope } from './addresses.js';
import type { Rtnetlink } from './client.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_COMPAT,
  RT_TABLE_MAIN,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  RTN_ANYCAST,
  RTN_BLACKHOLE,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
  RTN_NAT,
  RTN_PROHIBIT,
  RTN_THROW,
  RTN_UNICAST,
  RTN_UNREACHABLE,
  RTN_UNSPEC,
  RTPROT_BOOT,
  RTPROT_UNSPEC,
} from './constants.js';
import type { LinkRef } from './links.js';
import { encodeNexthops, type Nexthop } from './nexthops.js';
import { type RouteMessage, routeSchema, type RouteRequest } from './schema/route.js';
import { parsePrefix, sameFamily } from './validate.js';

export type Route = RouteMessage;

export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw'
  | 'nat';
const TYPES: Record<RouteType, number> = {
  unicast: RTN_UNICAST,
  local: RTN_LOCAL,
  broadcast: RTN_BROADCAST,
  anycast: RTN_ANYCAST,
  multicast: RTN_MULTICAST,
  blackhole: RTN_BLACKHOLE,
  unreachable: RTN_UNREACHABLE,
  prohibit: RTN_PROHIBIT,
  throw: RTN_THROW,
  nat: RTN_NAT,
};
const { EEXIST, EINVAL, ENETUNREACH, ENODEV, ESRCH } = constants.errno;

export interface NexthopSpec {
  gateway?: string;
  dev?: LinkRef;
  /** 1–256, as `ip route ... nexthop ... weight N`. */
  weight?: number;
}

export interface RouteSpec {
  /** "10.0.0.0/24", "2001:db8::/64", "10.0.0.1" (a host route) or "default" (then give `family` or a gateway). */
  dst: string;
  family?: 4 | 6;
  gateway?: string;
  dev?: LinkRef;
  /** Routing table id; default main (254). */
  table?: number;
  /** RTPROT_*; default boot (3), as ip. */
  protocol?: number;
  scope?: Scope;
  type?: RouteType;
  prefsrc?: string;
  /** Route priority (ip: "metric"). */
  metric?: number;
  /** Several next hops (ECMP). */
  nexthops?: NexthopSpec[];
}

export interface RouteFilter {
  family?: 4 | 6;
  /** Only routes of this table (default: every table). */
  table?: number;
}

function describe(spec: RouteSpec): string {
  return (
    `${spec.dst}${spec.gateway ? ` via ${spec.gateway}` : ''}` +
    `${spec.dev !== undefined ? ` dev ${spec.dev}` : ''}${spec.table ? ` table ${spec.table}` : ''}`
  );
}

export class Routes {
  constructor(private readonly rt: Rtnetlink) {}

  private dumpRequest(filter: RouteFilter): () => Buffer {
    const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : AF_UNSPEC;
    return () => encodeMessage(RTM_GETROUTE, 0, routeSchema, { family });
  }

  /** Every route (all tables unless filtered). */
  async list(filter: RouteFilter = {}): Promise<Route[]> {
    const routes = await this.rt.connection.dumpAll(
      this.dumpRequest(filter),
      { operation: 'list routes' },
      { decode: decodeRoute, retries: 3 },
    );
    return filter.table === undefined ? routes : routes.filter((r) => (r.table ?? r.rtm_table) === filter.table);
  }

  /**
   * Streams routes in batches as the kernel sends them, so a million routes
   * never sit in memory at once. Not retried on NLM_F_DUMP_INTR (the batches
   * already handed out cannot be taken back): that raises DumpInterruptedError.
   */
  async *stream(filter: RouteFilter = {}): AsyncGenerator<Route[], void, undefined> {
    const table = filter.table;
    for await (const batch of this.rt.connection.dump(
      this.dumpRequest(filter)(),
      { operation: 'list routes' },
      { decode: decodeRoute },
    )) {
      yield table === undefined ? batch : batch.filter((r) => (r.table ?? r.rtm_table) === table);
    }
  }

  add(spec: RouteSpec): Promise<void> {
    return this.write(spec, NLM_F_CREATE | NLM_F_EXCL, 'add route');
  }

  replace(spec: RouteSpec): Promise<void> {
    return this.write(spec, NLM_F_CREATE | NLM_F_REPLACE, 'replace route');
  }

  async delete(spec: RouteSpec): Promise<void> {
    const names = new Map<LinkRef, number>();
    const message = await this.message(spec, 'delete route', names, true);
    await this.rt.connection.request(encodeMessage(RTM_DELROUTE, 0, routeSchema, message), {
      operation: 'delete route',
      object: describe(spec),
      explain: (errno) => (errno === ESRCH ? `no route ${describe(spec)}` : undefined),
    });
  }

  /**
   * Adds many routes, several per sendmsg, within the connection's window.
   * Every failure is reported with its index; the others are applied.
   */
  async addMany(specs: RouteSpec[], options: { replace?: boolean } = {}): Promise<BatchResult> {
    const flags = NLM_F_CREATE | (options.replace ? NLM_F_REPLACE : NLM_F_EXCL);
    const names = new Map<LinkRef, number>();
    const batch = new MessageBatch(specs.length);
    for (const [i, spec] of specs.entries()) {
      try {
        batch.add(RTM_NEWROUTE, flags, routeSchema, await this.message(spec, 'add route', names, false));
      } catch (error) {
        if (error instanceof ValidationError)
          throw new ValidationError(`routes[${i}].${error.field}`, error.reason, error.value);
        throw error;
      }
    }
    return this.rt.connection.batch(batch.messages(), (index) => {
      const failed = specs[index]; // messages[index] was encoded from specs[index]
      return { operation: 'add route', object: failed ? describe(failed) : `routes[${index}]` };
    });
  }

  private async write(spec: RouteSpec, flags: number, operation: string): Promise<void> {
    const message = await this.message(spec, operation, new Map(), false);
    await this.rt.connection.request(encodeMessage(RTM_NEWROUTE, flags, routeSchema, message), {
      operation,
      object: describe(spec),
      explain: (errno) => routeCause(errno, spec),
    });
  }

  /** Builds the rtmsg and attributes; `names` caches device lookups across a batch. */
  private async message(
    spec: RouteSpec,
    operation: string,
    names: Map<LinkRef, number>,
    forDelete: boolean,
  ): Promise<RouteRequest> {
    const resolve = async (ref: LinkRef, field: string): Promise<number> => {
      let index = names.get(ref);
      if (index === undefined) {
        index = await this.rt.links.indexOf(ref, field, operation, describe(spec));
        names.set(ref, index);
      }
      return index;
    };
    let family: 4 | 6;
    let dst: string | undefined;
    let dstLen = 0;
    if (spec.dst === 'default') {
      const known = sameFamily([
        ['gateway', spec.gateway],
        ['prefsrc', spec.prefsrc],
        ...(spec.nexthops ?? []).map((h, i): [string, string | undefined] => [`nexthops[${i}].gateway`, h.gateway]),
      ]);
      family = spec.family ?? known ?? 4;
    } else {
      const prefix = parsePrefix(spec.dst, 'dst');
      family = prefix.family;
      dst = prefix.address;
      dstLen = prefix.prefixlen;
      // The kernel refuses host bits with a bare EINVAL (ip checks it first: "Invalid prefix for given prefix length").
      const network = networkOf(prefix);
      if (network)
        throw new ValidationError(
          'dst',
          `${spec.dst} has host bits set: the network is ${network}/${dstLen}`,
          spec.dst,
        );
      if (spec.family !== undefined && spec.family !== family)
        throw new ValidationError('family', `dst ${spec.dst} is IPv${family}`, spec.family);
    }
    sameFamily([
      ['dst', dst],
      ['gateway', spec.gateway],
      ['prefsrc', spec.prefsrc],
      ...(spec.nexthops ?? []).map((h, i): [string, string | undefined] => [`nexthops[${i}].gateway`, h.gateway]),
    ]);
    const table = spec.table ?? RT_TABLE_MAIN;
    if (!Number.isInteger(table) || table < 0 || table > 0xffffffff)
      throw new ValidationError('table', 'a table id is a 32-bit unsigned integer', table);
    const type = spec.type === undefined ? TYPES.unicast : TYPES[spec.type];
    if (type === undefined) throw new ValidationError('type', `one of ${Object.keys(TYPES).join(', ')}`, spec.type);
    if (spec.nexthops !== undefined && (!Array.isArray(spec.nexthops) || spec.nexthops.length === 0))
      throw new ValidationError('nexthops', 'at least one next hop', spec.nexthops);
    const hasGateway = spec.gateway !== undefined || (spec.nexthops ?? []).some((h) => h.gateway !== undefined);
    if (
      !forDelete &&
      type === TYPES.unicast &&
      !hasGateway &&
      spec.dev === undefined &&
      !(spec.nexthops ?? []).some((h) => h.dev !== undefined)
    ) {
      // The kernel answers ENODEV ("no such device"), which points at the wrong thing.
      throw new ValidationError(
        'dev',
        `a unicast route to ${spec.dst} needs a gateway or a device (or a type such as blackhole)`,
      );
    }
    const scope =
      spec.scope !== undefined
        ? scopeNumber(spec.scope)
        : forDelete
          ? RT_SCOPE_NOWHERE // match any scope, as ip route del does
          : type === TYPES.local || type === TYPES.nat
            ? RT_SCOPE_HOST
            : type === TYPES.unicast && !hasGateway
              ? RT_SCOPE_LINK
              : RT_SCOPE_UNIVERSE;
    const message: RouteRequest = {
      family: family === 4 ? AF_INET : AF_INET6,
      dst_len: dstLen,
      rtm_table: table < 256 ? table : RT_TABLE_COMPAT, // RTA_TABLE carries the real id
      protocol: forDelete ? (spec.protocol ?? RTPROT_UNSPEC) : (spec.protocol ?? RTPROT_BOOT),
      scope,
      type: forDelete && spec.type === undefined ? RTN_UNSPEC : type,
      table,
    };
    if (dst !== undefined) message.dst = dst;
    if (spec.gateway !== undefined) message.gateway = spec.gateway;
    if (spec.dev !== undefined) message.oif = await resolve(spec.dev, 'dev');
    if (spec.prefsrc !== undefined) message.prefsrc = spec.prefsrc;
    if (spec.metric !== undefined) message.metric = spec.metric;
    if (spec.nexthops !== undefined) {
      if (spec.nexthops.length === 0) throw new ValidationError('nexthops', 'at least one next hop', spec.nexthops);
      const hops: Nexthop[] = [];
      for (const [i, hop] of spec.nexthops.entries()) {
        const weight = hop.weight ?? 1;
        if (!Number.isInteger(weight) || weight < 1 || weight > 256)
          throw new ValidationError(`nexthops[${i}].weight`, 'a weight is 1 to 256', weight);
        const entry: Nexthop = {
          flags: 0,
          hops: weight - 1,
          ifindex: hop.dev === undefined ? 0 : await resolve(hop.dev, `nexthops[${i}].dev`),
        };
        if (hop.gateway !== undefined) entry.gateway = hop.gateway;
        hops.push(entry);
      }
      message.nexthops = encodeNexthops(hops);
    }
    return message;
  }
}

/** The likely cause of a refused route write, naming the option at fault. */
function routeCause(errno: number, spec: RouteSpec): string | undefined {
  const gateways = [spec.gateway, ...(spec.nexthops ?? []).map((h) => h.gateway)].filter((g) => g !== undefined);
  switch (errno) {
    case EEXIST:
      return (
        `a route to ${spec.dst} already exists in table ${spec.table ?? RT_TABLE_MAIN} ` +
        `with the same metric; use replace`
      );
    case ENETUNREACH:
      return (
        `gateway: ${gateways.join(', ')} is not reachable through a connected route` +
        `${spec.dev !== undefined ? ` on ${spec.dev}` : ''}`
      );
    case EINVAL:
      if (spec.prefsrc !== undefined)
        return `prefsrc: ${spec.prefsrc} must be an address configured on this host (in this namespace)`;
      if (gateways.length)
        return (
          `gateway: the kernel refused ${gateways.join(', ')} ` +
          `(a local address, or not reachable as a neighbour on the device)`
        );
      return undefined;
    case ENODEV:
      return spec.dev !== undefined ? `dev: ${spec.dev} is gone or down` : undefined;
    default:
      return undefined;
  }
}

/** If the prefix has host bits set, the network it belongs to (host bits cleared), as text; otherwise undefined. */
function networkOf(prefix: { address: string; prefixlen: number; family: 4 | 6 }): string | undefined {
  if (prefix.prefixlen === (prefix.family === 4 ? 32 : 128)) return undefined; // a host route has no host bits
  const bytes = parseIP(prefix.address, 'dst');
  let hostBits = false;
  for (let bit = prefix.prefixlen; bit < bytes.length * 8; bit++) {
    const mask = 0x80 >> (bit & 7);
    const byte = bytes[bit >> 3]!; // bit < bytes.length * 8: the byte exists
    if (byte & mask) hostBits = true;
    bytes[bit >> 3] = byte & ~mask;
  }
  if (!hostBits) return undefined;
  const network = ipaddr.fromByteArray(bytes);
  return network.kind() === 'ipv6' ? (network as ipaddr.IPv6).toRFC5952String() : network.toString();
}

function decodeRoute(m: RawMessage): Route {
  return decodeMessage(routeSchema, m);
}
