/**
 * Typed rtnetlink events: links, addresses, routes and neighbours as they
 * change, optionally preceded by what exists now. The socket lives in a
 * relay process (netlink/subscription.ts), so an event storm never takes the
 * caller down; lost events surface as an `overrun` telling the consumer to
 * list again.
 */
import { NETLINK_ROUTE } from '../netlink/constants.js';
import { type OverrunError, ValidationError } from '../netlink/errors.js';
import { decodeMessage, type RawMessage } from '../netlink/message.js';
import { Subscription, type SubscriptionEvent } from '../netlink/subscription.js';
import type { Address } from './addresses.js';
import type { Rtnetlink } from './client.js';
import {
  AF_BRIDGE,
  AF_INET,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_DELROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
  RTM_NEWROUTE,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV4_ROUTE,
  RTNLGRP_IPV6_IFADDR,
  RTNLGRP_IPV6_ROUTE,
  RTNLGRP_LINK,
  RTNLGRP_NEIGH,
} from './constants.js';
import type { Link } from './links.js';
import type { FdbEntry, Neighbour } from './neighbours.js';
import type { Route } from './routes.js';
import { addressSchema } from './schema/address.js';
import { linkSchema } from './schema/link.js';
import { neighbourSchema } from './schema/neighbour.js';
import { routeSchema } from './schema/route.js';

export type EventGroup = 'link' | 'ipv4-address' | 'ipv6-address' | 'ipv4-route' | 'ipv6-route' | 'neighbour' | 'fdb';

/**
 * The kernel group of each. Neighbours (ARP/NDP) and bridge FDB entries share
 * RTNLGRP_NEIGH; they are told apart by family (AF_BRIDGE is the FDB) and
 * delivered only to those who asked for them.
 */
const GROUPS: Record<EventGroup, number> = {
  link: RTNLGRP_LINK,
  'ipv4-address': RTNLGRP_IPV4_IFADDR,
  'ipv6-address': RTNLGRP_IPV6_IFADDR,
  'ipv4-route': RTNLGRP_IPV4_ROUTE,
  'ipv6-route': RTNLGRP_IPV6_ROUTE,
  neighbour: RTNLGRP_NEIGH,
  fdb: RTNLGRP_NEIGH,
};

/** `existing`: listed at the start (listFirst); `new` covers changes too, as in the kernel. */
export type Action = 'existing' | 'new' | 'del';

export type RtEvent =
  | { kind: 'link'; action: Action; link: Link }
  | { kind: 'address'; action: Action; address: Address }
  | { kind: 'route'; action: Action; route: Route }
  | { kind: 'neighbour'; action: Action; neighbour: Neighbour }
  /** A bridge FDB entry (a neighbour message of family AF_BRIDGE): a learned MAC, a VXLAN remote. */
  | { kind: 'fdb'; action: Action; entry: FdbEntry }
  /** The initial listing is complete (listFirst only). */
  | { kind: 'synced' }
  /** Events were lost: list again before trusting your view. */
  | { kind: 'overrun'; error: OverrunError };

export interface EventOptions {
  groups: EventGroup[];
  /** Yield what exists first (as `existing`), then a `synced` marker, then live changes. */
  listFirst?: boolean;
  /** Bytes the relay may hold for a consumer that is not reading (see Subscription). */
  maxBacklog?: number;
  /**
   * Ends the stream: the subscription and its relay process are closed and
   * the iteration finishes, also while it is waiting for the next event —
   * which `break` and `return()` cannot interrupt (an async generator handles
   * them only when it next resumes, that is, when an event arrives).
   */
  signal?: AbortSignal;
}

/** Decodes one event message; undefined for types this stream does not describe. */
export function decodeEvent(message: RawMessage): RtEvent | undefined {
  switch (message.type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      return {
        kind: 'link',
        action: message.type === RTM_NEWLINK ? 'new' : 'del',
        link: decodeMessage(linkSchema, message),
      };
    case RTM_NEWADDR:
    case RTM_DELADDR:
      return {
        kind: 'address',
        action: message.type === RTM_NEWADDR ? 'new' : 'del',
        address: decodeMessage(addressSchema, message),
      };
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return {
        kind: 'route',
        action: message.type === RTM_NEWROUTE ? 'new' : 'del',
        route: decodeMessage(routeSchema, message),
      };
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: {
      const action = message.type === RTM_NEWNEIGH ? 'new' : 'del';
      const decoded = decodeMessage(neighbourSchema, message);
      return decoded.family === AF_BRIDGE
        ? { kind: 'fdb', action, entry: decoded }
        : { kind: 'neighbour', action, neighbour: decoded };
    }
    default:
      return undefined;
  }
}

/**
 * Subscribes before listing, so nothing that changes during the listing is
 * missed (an object may then appear twice: once existing, once new).
 */
export async function* watch(rt: Rtnetlink, options: EventOptions): AsyncGenerator<RtEvent, void, undefined> {
  const groups = [
    ...new Set(
      options.groups.map((g) => {
        const number = Object.hasOwn(GROUPS, g) ? GROUPS[g] : undefined;
        if (number === undefined)
          throw new ValidationError(
            'groups',
            `unknown event group ${JSON.stringify(g)}; one of ${Object.keys(GROUPS).join(', ')}`,
            g,
          );
        return number;
      }),
    ),
  ];
  const wanted = new Set(options.groups);
  const { signal } = options;
  if (signal?.aborted) return;
  const subscription = await Subscription.open({
    protocol: NETLINK_ROUTE,
    groups,
    namespace: rt.namespace,
    maxBacklog: options.maxBacklog,
  });
  // Closing the subscription wakes a pending read, which then reports the end.
  const stop = (): void => subscription.close();
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted) stop();
  try {
    const live = subscription[Symbol.asyncIterator]();
    // Start the iterator now so events queue while we list.
    const first = live.next();
    if (options.listFirst) {
      if (wanted.has('link'))
        for (const link of await rt.links.list()) yield { kind: 'link', action: 'existing', link };
      if (wanted.has('ipv4-address') || wanted.has('ipv6-address')) {
        for (const address of await rt.addresses.list()) {
          if (wanted.has(address.family === AF_INET ? 'ipv4-address' : 'ipv6-address'))
            yield { kind: 'address', action: 'existing', address };
        }
      }
      if (wanted.has('ipv4-route') || wanted.has('ipv6-route')) {
        for (const route of await rt.routes.list()) {
          if (wanted.has(route.family === AF_INET ? 'ipv4-route' : 'ipv6-route'))
            yield { kind: 'route', action: 'existing', route };
        }
      }
      if (wanted.has('neighbour'))
        for (const neighbour of await rt.neighbours.list()) yield { kind: 'neighbour', action: 'existing', neighbour };
      if (wanted.has('fdb')) for (const entry of await rt.fdb.list()) yield { kind: 'fdb', action: 'existing', entry };
      if (signal?.aborted) return;
      yield { kind: 'synced' };
    }
    for (let step = await first; !step.done; step = await live.next()) {
      const event: SubscriptionEvent = step.value;
      if (event.kind === 'overrun') yield { kind: 'overrun', error: event.error };
      else if (event.kind === 'error') throw event.error;
      else {
        const decoded = decodeEvent(event.message);
        // Neighbours and the FDB share a kernel group: deliver only what was asked for.
        if (
          decoded &&
          (decoded.kind !== 'neighbour' || wanted.has('neighbour')) &&
          (decoded.kind !== 'fdb' || wanted.has('fdb'))
        )
          yield decoded;
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    subscription.close();
  }
}
