/**
 * FRR's configuration for one routed network on one host, generated from
 * the spec: one file for zebra, one for bgpd (each daemon reads only its
 * own; vxnet never configures FRR through vtysh).
 *
 * bgpd: iBGP (every host the same AS), the listed neighbours and a listen
 * range in one peer group, this host's subnet advertised (`network`), the
 * peers treated as route-reflector clients so that a host which names only
 * one neighbour (a newcomer accepted through `listen`) still learns every
 * subnet and has its own passed on, and short timers so that a dead peer's
 * routes go within the hold time.
 *
 * zebra: a route map on what BGP hands it for the kernel, refusing this
 * host's own subnet and anything inside it: a peer that announces an
 * overlapping prefix never gets it installed over the bridge's subnet (the
 * status reports such prefixes from bgpd's table).
 */
import type { FrrConfig, FrrWanted } from '../frr/service.js';
import type { ResolvedRoutedSpec } from './spec.js';

/** Names used in the generated configuration (also read back by status). */
export const PEER_GROUP = 'vxnet';
export const OWN_SUBNET_LIST = 'vxnet-own-subnet';
export const FIB_ROUTE_MAP = 'vxnet-fib';

export function frrConfig(spec: ResolvedRoutedSpec): FrrConfig {
  const bgp = spec.routes.bgp;
  if (!bgp) throw new Error(`network ${spec.name} does not use BGP`);
  const header = [
    `! vxnet network ${spec.name}: generated, rewritten on every apply`,
    `hostname vxnet-${spec.name}`,
    'log stdout informational',
    '!',
  ];
  const zebra = [
    ...header,
    `ip prefix-list ${OWN_SUBNET_LIST} seq 5 permit ${spec.subnet.text} le 32`,
    '!',
    `route-map ${FIB_ROUTE_MAP} deny 10`,
    ` match ip address prefix-list ${OWN_SUBNET_LIST}`,
    'exit',
    `route-map ${FIB_ROUTE_MAP} permit 20`,
    'exit',
    '!',
    `ip protocol bgp route-map ${FIB_ROUTE_MAP}`,
    '!',
  ];
  const bgpd = [
    ...header,
    `router bgp ${bgp.asn}`,
    ` bgp router-id ${bgp.routerId}`,
    ' bgp log-neighbor-changes',
    ' no bgp ebgp-requires-policy',
    // The subnet is advertised whether or not its connected route is up yet (a bridge without ports is "linkdown").
    ' no bgp network import-check',
    ` timers bgp ${bgp.keepalive} ${bgp.holdTime}`,
    ` neighbor ${PEER_GROUP} peer-group`,
    ` neighbor ${PEER_GROUP} remote-as internal`,
    ` neighbor ${PEER_GROUP} timers connect 1`,
    ...bgp.neighbors.map((n) => ` neighbor ${n} peer-group ${PEER_GROUP}`),
    ...(bgp.listen ? [` bgp listen range ${bgp.listen.text} peer-group ${PEER_GROUP}`] : []),
    ' !',
    ' address-family ipv4 unicast',
    `  network ${spec.subnet.text}`,
    `  neighbor ${PEER_GROUP} route-reflector-client`,
    ' exit-address-family',
    'exit',
    '!',
  ];
  return { zebra: `${zebra.join('\n')}\n`, bgpd: `${bgpd.join('\n')}\n` };
}

/** What the network wants of FRR (undefined without routes.bgp): the configuration and a plan's words for it. */
export function routedFrr(spec: ResolvedRoutedSpec): FrrWanted | undefined {
  const bgp = spec.routes.bgp;
  if (!bgp) return undefined;
  const neighbors = bgp.neighbors.length ? `, neighbors ${bgp.neighbors.join(' ')}` : '';
  const listen = bgp.listen ? `, listen ${bgp.listen.text}` : '';
  return {
    config: frrConfig(spec),
    detail: `zebra + bgpd, AS ${bgp.asn}, router-id ${bgp.routerId}${neighbors}${listen}, hold ${bgp.holdTime} s`,
  };
}
