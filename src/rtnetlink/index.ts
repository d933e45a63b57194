/**
 * vxnet/rtnetlink: links (and their kinds), addresses, routes, neighbours,
 * the bridge FDB and events, over NETLINK_ROUTE.
 */
export { Rtnetlink, type RtnetlinkOptions } from './client.js';
export {
  type IpvlanMode,
  type KnownLink,
  type Link,
  type LinkChanges,
  type LinkRef,
  Links,
  type LinkSpec,
  type MacvlanMode,
  type VethPeer,
  type VxlanOptions,
} from './links.js';
export { type Address, Addresses, type AddressSpec, type Scope } from './addresses.js';
export { type NexthopSpec, type Route, type RouteFilter, Routes, type RouteSpec, type RouteType } from './routes.js';
export { decodeNexthops, encodeNexthops, type Nexthop } from './nexthops.js';
export {
  Fdb,
  type FdbEntry,
  type FdbFilter,
  type FdbSpec,
  type Neighbour,
  Neighbours,
  type NeighbourSpec,
  type NeighbourState,
} from './neighbours.js';
export { decodeEvent, type Action, type EventGroup, type EventOptions, type RtEvent } from './events.js';
export {
  addressFamily,
  IFNAME_MAX_BYTES,
  isMulticast,
  parsePrefix,
  validateIfname,
  validateMtu,
  validatePort,
  validatePortableIfname,
  validateVni,
} from './validate.js';
export * from './constants.js';
export * from './schema/link.js';
export * from './schema/address.js';
export * from './schema/route.js';
export * from './schema/neighbour.js';
export * from './schema/kinds/vxlan.js';
export * from './schema/kinds/bridge.js';
export * from './schema/kinds/veth.js';
export * from './schema/kinds/macvlan.js';
export * from './schema/kinds/ipvlan.js';
