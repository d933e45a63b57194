/**
 * Routed mode on one host: the plan that makes it match a routed spec. The
 * blocks are the VXLAN mode's, minus VXLAN: the bridge with the gateway
 * (MTU the underlay's: routing adds no header), vxnet's nf_tables table
 * (masquerade for what leaves the container range, forwarding between the
 * container subnets), ip_forward, the DHCP server, and the static routes.
 *
 * Checks that need the kernel run first, in one route dump and one address
 * dump, so every input is validated before the first write: each `via` on
 * the underlay's connected network, this host's subnet not already another
 * device's (another network's bridge), no static subnet that is connected
 * here.
 */
import ipaddr from 'ipaddr.js';
import { planNetworkBridge } from '../bridge/adopt.js';
import { linkLabel } from '../common/link.js';
import { ownerFromAlias } from '../common/ownership.js';
import type { Change } from '../common/plan.js';
import type { MasqueradeConfig } from '../masquerade/config.js';
import type { Masquerade } from '../masquerade/masquerade.js';
import { ValidationError } from '../netlink/errors.js';
import type { DhcpService } from '../network/dhcp-service.js';
import { type IpForwardControl, planForwarding } from '../network/forwarding.js';
import type { NetworkState } from '../network/state.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { RTPROT_KERNEL } from '../rtnetlink/constants.js';
import type { Route } from '../rtnetlink/routes.js';
import { checkNeighbors } from '../frr/neighbors.js';
import type { FrrService } from '../frr/service.js';
import { routedFrr } from './bgp-config.js';
import { RTPROT_VXNET } from './protocol.js';
import { checkNextHops, mainTable, planRemoveRoutes, planStaticRoutes, routeDestination } from './routes.js';
import { overlaps, type ResolvedRoutedSpec, type Subnet } from './spec.js';
import { ETHERNET_MTU } from '../common/mtu.js';

export interface RoutedContext {
  rt: Rtnetlink;
  state: NetworkState;
  masquerade: Masquerade;
  ipForward: IpForwardControl;
  dhcp: DhcpService;
  /** FRR (zebra + bgpd) for `routes.bgp`. */
  frr: FrrService;
  /** Foreign chains that would drop the traffic anyway (reported in status). */
  onBlocking(reasons: string[]): void;
  /** Use a bridge of the spec's name that vxnet did not make (see bridge/adopt.ts). */
  adopt?: boolean;
}

/** The state's claims: which vxnet routes are this network's. */
interface RoutedRecord {
  routes?: string[];
}

export function claimedRoutes(state: NetworkState): string[] {
  return (state.read() as RoutedRecord).routes ?? [];
}

/** Destinations other routed networks of this namespace claim. */
export function othersClaim(state: NetworkState): Set<string> {
  return new Set(state.siblings().flatMap((s) => claimedRoutes(s)));
}

function recordClaim(state: NetworkState, destinations: string[]): void {
  state.update((record) => {
    const r = record as RoutedRecord;
    if (destinations.length) r.routes = [...destinations].sort();
    else delete r.routes;
  });
}

function subnetOf(route: Route): Subnet {
  return { text: routeDestination(route), address: route.dst ?? '0.0.0.0', prefixlen: route.dst_len };
}

/** Kernel-side validation: the subnet and the static table against what this host already routes. */
async function checkAgainstHost(rt: Rtnetlink, spec: ResolvedRoutedSpec, table: Route[]): Promise<void> {
  const bridge = await rt.links.find(spec.bridge);
  const connected = table.filter(
    (r): r is Route & { oif: number } =>
      r.protocol === RTPROT_KERNEL && r.dst_len > 0 && r.oif !== undefined && r.oif !== bridge?.ifindex,
  );
  const names = new Map<number, { name: string; owner?: string }>();
  const nameOf = async (index: number) => {
    let known = names.get(index);
    if (!known) {
      const link = (await rt.links.list()).find((l) => l.ifindex === index);
      const owner = ownerFromAlias(link?.ifalias);
      known = { name: linkLabel(link ?? { ifindex: index }), ...(owner ? { owner } : {}) };
      names.set(index, known);
    }
    return known;
  };
  for (const route of connected) {
    const other = subnetOf(route);
    if (overlaps(other, spec.subnet)) {
      const dev = await nameOf(route.oif);
      throw new ValidationError(
        'subnet',
        `overlaps ${other.text} already on ${dev.name}${dev.owner ? ` (network ${dev.owner})` : ''} in ${rt.where}: ` +
          'two networks with one subnet on a host cannot both be routed',
        spec.subnet.text,
      );
    }
    for (const [i, entry] of spec.routes.static.entries()) {
      if (overlaps(other, entry.subnet)) {
        const dev = await nameOf(route.oif);
        throw new ValidationError(
          `routes.static[${i}].subnet`,
          `overlaps ${other.text}, connected here on ${dev.name}${dev.owner ? ` (network ${dev.owner})` : ''}`,
          entry.subnet.text,
        );
      }
    }
  }
}

export async function planRouted(ctx: RoutedContext, spec: ResolvedRoutedSpec): Promise<Change[]> {
  const { rt, state } = ctx;
  const table = await mainTable(rt);
  await checkNextHops(rt, spec.underlay.device, spec.routes.static);
  await checkAgainstHost(rt, spec, table);
  const routePlan = await planStaticRoutes(
    rt,
    {
      routes: spec.routes.static,
      dev: spec.underlay.device,
      claimed: claimedRoutes(state),
      othersClaim: othersClaim(state),
      claim: (destinations) => recordClaim(state, destinations),
    },
    table,
  );

  const changes: Change[] = [];
  const mtu = spec.mtu ?? (await rt.links.find(spec.underlay.device))?.mtu ?? ETHERNET_MTU;
  changes.push(
    ...(await planNetworkBridge(
      rt,
      { name: spec.bridge, mtu, owner: spec.name, address: `${spec.gateway}/${spec.subnet.prefixlen}` },
      { adopt: ctx.adopt, store: state.adoptionStore() },
    )),
  );

  const range = spec.containerRange?.text;
  const config: MasqueradeConfig = {
    subnet: spec.subnet.text,
    nat: spec.masquerade !== undefined,
    ...(spec.masquerade?.egress ? { egress: spec.masquerade.egress } : {}),
    ...(range ? { exclude: range } : {}),
    bridge: spec.bridge,
    routedFrom: range ?? routedSources(spec),
  };
  const diff = await ctx.masquerade.diff(config);
  if (diff.length) {
    const present = (await ctx.masquerade.status()).present;
    changes.push({
      action: present ? 'update' : 'create',
      target: `nftables table ${ctx.masquerade.table}`,
      detail: [
        spec.masquerade ? `masquerade ${spec.subnet.text}${range ? ` except to ${range}` : ''}` : '',
        `forward ${range ?? routedSources(spec)} to ${spec.bridge}`,
        `${diff.length} message(s)`,
      ]
        .filter(Boolean)
        .join(', '),
      apply: async () => ctx.onBlocking((await ctx.masquerade.ensure(config)).blocking.map((b) => b.reason)),
    });
  }
  // A routed host forwards between its bridge and the underlay: always.
  changes.push(...(await planForwarding(ctx.ipForward, state)));
  if (spec.dhcp?.serve) changes.push(...ctx.dhcp.plan(spec, mtu, state));
  changes.push(...routePlan.changes);
  // BGP: FRR advertises this host's subnet and installs the others' (checked, its tools found, before any write).
  if (spec.routes.bgp) await checkNeighbors(ctx.rt, spec.underlay.device, spec.routes.bgp, 'routes.bgp');
  changes.push(...ctx.frr.plan(spec.name, routedFrr(spec), state, 'routes.bgp no longer in the spec'));
  return changes;
}

/**
 * Without a containerRange, the forward rule accepts the smallest network
 * covering this host's subnet and the static table's: the container
 * subnets, as far as this host knows them.
 */
function routedSources(spec: ResolvedRoutedSpec): string {
  const subnets = [spec.subnet, ...spec.routes.static.map((r) => r.subnet)];
  const first = ipaddr.IPv4.parse(spec.subnet.address).toByteArray();
  let prefixlen = Math.min(...subnets.map((s) => s.prefixlen));
  // IPv4: four bytes
  const toInt = ([a = 0, b = 0, c = 0, d = 0]: number[]) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
  const base = toInt(first);
  for (const s of subnets) {
    const other = toInt(ipaddr.IPv4.parse(s.address).toByteArray());
    while (
      prefixlen > 0 &&
      (prefixlen === 32 ? base !== other : base >>> (32 - prefixlen) !== other >>> (32 - prefixlen))
    )
      prefixlen--;
  }
  const network = prefixlen === 0 ? 0 : ((base >>> (32 - prefixlen)) << (32 - prefixlen)) >>> 0;
  return `${[24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join('.')}/${prefixlen}`;
}

/** destroy's part for routed mode: this network's vxnet routes. */
export async function planRoutedRemoval(rt: Rtnetlink, state: NetworkState): Promise<Change[]> {
  const claimed = claimedRoutes(state);
  if (claimed.length === 0) return [];
  return planRemoveRoutes(rt, claimed, othersClaim(state));
}

/** status's part: this network's vxnet routes, as the kernel has them. */
export async function routedStatus(
  rt: Rtnetlink,
  state: NetworkState,
): Promise<{ dst: string; via?: string; dev?: string }[]> {
  const claimed = new Set(claimedRoutes(state));
  if (claimed.size === 0) return [];
  const names = new Map((await rt.links.list()).map((l) => [l.ifindex, l.ifname]));
  return (await mainTable(rt))
    .filter((r) => r.protocol === RTPROT_VXNET && claimed.has(routeDestination(r)))
    .map((r) => ({
      dst: routeDestination(r),
      ...(r.gateway ? { via: r.gateway } : {}),
      ...(r.oif !== undefined ? { dev: names.get(r.oif) ?? `#${r.oif}` } : {}),
    }));
}
