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
import { bgpSession, configHeader, PEER_GROUP, sessionDetail } from '../frr/config.js';
import type { FrrConfig, FrrWanted } from '../frr/service.js';
import type { ResolvedRoutedSpec } from './spec.js';

/** Names used in the generated configuration (also read back by status). */
export { PEER_GROUP };
export const OWN_SUBNET_LIST = 'vxnet-own-subnet';
export const FIB_ROUTE_MAP = 'vxnet-fib';

export function frrConfig(spec: ResolvedRoutedSpec): FrrConfig {
  const bgp = spec.routes.bgp;
  if (!bgp) throw new Error(`network ${spec.name} does not use BGP`);
  const header = configHeader(spec.name);
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
    ...bgpSession(bgp, [
      ' no bgp ebgp-requires-policy',
      // The subnet is advertised whether or not its connected route is up yet (a bridge without ports is "linkdown").
      ' no bgp network import-check',
    ]),
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
  return { config: frrConfig(spec), detail: `zebra + bgpd, ${sessionDetail(bgp)}` };
}
