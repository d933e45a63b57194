/**
 * vxnet/routed: routed container networks — each host's container subnet
 * reached through routes (vxnet's own route protocol) instead of a VXLAN
 * overlay. The overlay layer applies a `mode: routed` spec with these.
 */
export { RTPROT_VXNET, RTPROT_VXNET_NAME } from './protocol.js';
export {
  type ResolvedBgp,
  type ResolvedRoutedSpec,
  resolveRoutedSpec,
  type RoutedBgp,
  type RoutedSpec,
  type RoutedStaticRoute,
  type Subnet,
} from './spec.js';
export {
  checkNextHops,
  deleteOwnRoute,
  mainTable,
  planRemoveRoutes,
  planStaticRoutes,
  type RoutePlan,
  routeDestination,
  type StaticRoute,
  type StaticRoutesInput,
} from './routes.js';
