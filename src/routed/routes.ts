/**
 * Static route convergence: the routes to the other hosts' container
 * subnets, in the main table, tagged with vxnet's route protocol. One dump
 * tells what is there; the plan adds what is missing (many per sendmsg),
 * replaces what points elsewhere, deletes the network's routes no longer
 * wanted, and never touches a route of another protocol: one in the way
 * (same prefix, same metric) is a conflict, reported before any write.
 *
 * Which vxnet routes belong to which network is the network's state
 * (`claimed`): several routed networks in one namespace each remove only
 * their own.
 */
import ipaddr from 'ipaddr.js';
import { ConflictError } from '../common/conflict.js';
import type { Change } from '../common/plan.js';
import { NetlinkError, ValidationError, VxnetError } from '../netlink/errors.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { RT_TABLE_MAIN } from '../rtnetlink/constants.js';
import type { Route, RouteSpec } from '../rtnetlink/routes.js';
import { RTPROT_VXNET } from './protocol.js';
import type { Subnet } from './spec.js';

export interface StaticRoute {
  subnet: Subnet;
  via: string;
}

export interface StaticRoutesInput {
  /** The wanted table. Errors name entry i as `${field}[i]`. */
  routes: readonly StaticRoute[];
  /** The underlay device: the routes' output device. */
  dev: string;
  /** Destinations this network installed earlier (from its state): stale ones among them are deleted. */
  claimed: readonly string[];
  /** Destinations other networks here claim: never deleted by this one. */
  othersClaim?: ReadonlySet<string>;
  /** Records the network's claim (called before the routes are written, and after stale ones go). */
  claim(destinations: string[]): void;
  /** Field path of the table, for errors. Default "routes.static". */
  field?: string;
}

export interface RoutePlan {
  changes: Change[];
  /** vxnet routes of this network now in the kernel, as `ip -j route` would say them. */
  installed: { dst: string; via?: string; dev?: string }[];
}

const PROTOCOL_NAMES: Record<number, string> = {
  2: 'kernel',
  3: 'boot',
  4: 'static',
  11: 'zebra',
  12: 'bird',
  16: 'dhcp',
  186: 'bgp',
};

export function routeDestination(route: Route): string {
  return `${route.dst ?? '0.0.0.0'}/${route.dst_len}`;
}

/** The IPv4 routes of the main table (one dump). */
export async function mainTable(rt: Rtnetlink): Promise<Route[]> {
  return (await rt.routes.list({ family: 4 })).filter((r) => (r.table ?? r.rtm_table) === RT_TABLE_MAIN);
}

/**
 * Checks every `via` against the underlay's connected IPv4 networks, before
 * any write: a next hop the host cannot reach directly makes the kernel
 * refuse the route (ENETUNREACH), or worse, would route through a default.
 */
export async function checkNextHops(
  rt: Rtnetlink,
  dev: string,
  routes: readonly StaticRoute[],
  field = 'routes.static',
): Promise<void> {
  if (routes.length === 0) return;
  const link = await rt.links.find(dev);
  if (!link) throw new ValidationError('underlay.device', `no device ${dev} in ${rt.where}`, dev);
  // An address the reply gave without IFA_LOCAL and IFA_ADDRESS connects nothing.
  const connected = (await rt.addresses.list({ family: 4, dev: link.ifindex })).flatMap((a) => {
    const address = a.local ?? a.address;
    return address === undefined ? [] : [{ address, prefixlen: a.prefixlen }];
  });
  if (connected.length === 0)
    throw new ValidationError(
      'underlay.device',
      `${dev} has no IPv4 address: the routes' next hops must be on its network`,
      dev,
    );
  routes.forEach((route, i) => {
    const via = ipaddr.parse(route.via);
    const inside = connected.some((c) => via.match(ipaddr.parse(c.address), c.prefixlen));
    if (!inside) {
      const networks = connected
        .map((c) => `${ipaddr.IPv4.networkAddressFromCIDR(`${c.address}/${c.prefixlen}`)}/${c.prefixlen}`)
        .join(', ');
      throw new ValidationError(
        `${field}[${i}].via`,
        `is outside ${dev}'s connected network${connected.length > 1 ? 's' : ''} ${networks}`,
        route.via,
      );
    }
    if (connected.some((c) => c.address === route.via))
      throw new ValidationError(`${field}[${i}].via`, `is this host's own address on ${dev}`, route.via);
  });
}

/** The plan that makes the main table hold exactly `input.routes` as this network's vxnet routes. */
export async function planStaticRoutes(rt: Rtnetlink, input: StaticRoutesInput, table?: Route[]): Promise<RoutePlan> {
  const field = input.field ?? 'routes.static';
  const routes = table ?? (await mainTable(rt));
  const dev = await rt.links.find(input.dev);
  if (!dev) throw new ValidationError('underlay.device', `no device ${input.dev} in ${rt.where}`, input.dev);
  const ours = new Map<string, Route>();
  const foreign = new Map<string, Route>();
  for (const route of routes) {
    const key = routeDestination(route);
    if (route.protocol === RTPROT_VXNET) ours.set(key, route);
    else if ((route.metric ?? 0) === 0) foreign.set(key, route);
  }
  const wanted = new Map(input.routes.map((r, i) => [r.subnet.text, { ...r, index: i }]));
  const add: RouteSpec[] = [];
  const replace: { spec: RouteSpec; have: Route }[] = [];
  const changes: Change[] = [];
  for (const [dst, want] of wanted) {
    const other = foreign.get(dst);
    if (other) {
      throw new ConflictError(
        `route ${dst}`,
        [
          {
            field: 'protocol',
            actual: PROTOCOL_NAMES[other.protocol] ?? String(other.protocol),
            wanted: `vxnet (${RTPROT_VXNET})`,
          },
          { field: 'via', actual: other.gateway ?? 'none', wanted: want.via },
        ],
        'vxnet never replaces a route it did not make: ' +
          `delete that route, or remove ${field}[${want.index}] from the spec`,
      );
    }
    const spec: RouteSpec = { dst, gateway: want.via, dev: dev.ifindex, protocol: RTPROT_VXNET, table: RT_TABLE_MAIN };
    const have = ours.get(dst);
    if (!have) add.push(spec);
    else if (have.gateway !== want.via || have.oif !== dev.ifindex || (have.metric ?? 0) !== 0)
      replace.push({ spec, have });
  }
  const claimed = new Set(input.claimed);
  const stale = [...ours.values()].filter((r) => {
    const dst = routeDestination(r);
    return !wanted.has(dst) && claimed.has(dst) && !input.othersClaim?.has(dst);
  });
  const keep = [...wanted.keys()];
  const claimNow = [...new Set([...keep, ...input.claimed])];
  if (add.length) {
    changes.push({
      action: 'add',
      target: add.length === 1 && add[0] ? `route ${add[0].dst} via ${add[0].gateway}` : `${add.length} routes`,
      detail:
        add.length === 1
          ? `dev ${input.dev}, proto vxnet`
          : `${add
              .slice(0, 3)
              .map((r) => `${r.dst} via ${r.gateway}`)
              .join(', ')}${add.length > 3 ? ', …' : ''}; dev ${input.dev}, proto vxnet`,
      apply: async () => {
        input.claim(claimNow); // claimed first: a crash after the write still lets destroy find them
        const result = await rt.routes.addMany(add);
        throwFailures(result.failed, add, 'add');
      },
    });
  }
  for (const { spec, have } of replace) {
    changes.push({
      action: 'replace',
      target: `route ${spec.dst}`,
      detail: `via ${have.gateway ?? 'none'} → ${spec.gateway}`,
      apply: async () => {
        input.claim(claimNow);
        await rt.routes.replace(spec);
      },
    });
  }
  const remaining = new Set(claimNow);
  for (const route of stale) {
    const dst = routeDestination(route);
    changes.push({
      action: 'delete',
      target: `route ${dst}`,
      detail: `via ${route.gateway ?? 'none'}, no longer in the spec`,
      apply: async () => {
        await deleteOwnRoute(rt, route);
        remaining.delete(dst);
        input.claim([...remaining]);
      },
    });
  }
  const installed = [...ours.values()]
    .filter((r) => claimed.has(routeDestination(r)) || wanted.has(routeDestination(r)))
    .map((r) => ({
      dst: routeDestination(r),
      ...(r.gateway ? { via: r.gateway } : {}),
      ...(r.oif !== undefined ? { dev: r.oif === dev.ifindex ? input.dev : String(r.oif) } : {}),
    }));
  return { changes, installed };
}

/**
 * Deletes one route of vxnet's, by its full identity (protocol included: a foreign route of the same prefix never
 * matches).
 */
export async function deleteOwnRoute(rt: Rtnetlink, route: Route): Promise<void> {
  if (route.protocol !== RTPROT_VXNET)
    throw new VxnetError(`refusing to delete ${routeDestination(route)}: protocol ${route.protocol} is not vxnet's`);
  try {
    await rt.routes.delete({
      dst: routeDestination(route),
      protocol: RTPROT_VXNET,
      table: route.table ?? route.rtm_table,
      ...(route.gateway ? { gateway: route.gateway } : {}),
      ...(route.oif !== undefined ? { dev: route.oif } : {}),
      metric: route.metric ?? 0,
    });
  } catch (error) {
    if (error instanceof NetlinkError && (error.code === 'ESRCH' || error.code === 'ENODEV')) return; // gone already
    throw error;
  }
}

/** The plan that removes this network's vxnet routes (destroy). */
export async function planRemoveRoutes(
  rt: Rtnetlink,
  claimed: readonly string[],
  othersClaim: ReadonlySet<string>,
): Promise<Change[]> {
  const mine = new Set(claimed);
  const routes = (await mainTable(rt)).filter(
    (r) => r.protocol === RTPROT_VXNET && mine.has(routeDestination(r)) && !othersClaim.has(routeDestination(r)),
  );
  return routes.map((route) => ({
    action: 'delete' as const,
    target: `route ${routeDestination(route)}`,
    detail: `via ${route.gateway ?? 'none'}, proto vxnet`,
    apply: () => deleteOwnRoute(rt, route),
  }));
}

function throwFailures(failed: { index: number; error: NetlinkError }[], specs: RouteSpec[], what: string): void {
  const [first] = failed;
  if (!first) return;
  const spec = specs[first.index]; // the index of a spec of the batch
  throw new VxnetError(
    `${what} ${failed.length} of ${specs.length} route(s) failed; ` +
      `first ${spec ? `${spec.dst} via ${spec.gateway}` : `#${first.index}`}: ${first.error.message}`,
    { cause: first.error },
  );
}
