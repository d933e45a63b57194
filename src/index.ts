/**
 * vxnet: Linux container overlay networks from TypeScript.
 * Each layer is also a subpath: vxnet/netlink, vxnet/rtnetlink, vxnet/nftables, vxnet/vxlan,
 * vxnet/bridge, vxnet/masquerade, vxnet/dnsmasq, vxnet/overlay, vxnet/attach.
 */
export * from './netlink/index.js';
export * from './rtnetlink/index.js';
export * from './vxlan/index.js';
export * from './bridge/index.js';
export { type Change, type ChangeAction, applyChanges, describeChange } from './common/plan.js';
export { ConflictError, type ConflictOptions, type Difference, LIBRARY_REPLACE } from './common/conflict.js';
export { MtuNotAppliedError } from './common/mtu.js';
export { ownerAlias, ownerFromAlias, validateOwner } from './common/ownership.js';
export * from './nftables/index.js';
export * from './masquerade/index.js';
// The DHCP server, its spec and errors; the module's helpers (validateSpec, preflight, ...) stay under vxnet/dnsmasq.
export {
  DnsmasqServer,
  type DnsmasqServerEvents,
  type DnsmasqServerOptions,
  type DnsmasqStatus,
  type HostsUpdate,
  type DhcpRange,
  type DnsmasqSpec,
  type DnsOptions,
  type LeaseTime,
  type StaticHost,
  type Lease,
  type LeaseChanges,
  type DnsmasqExit,
  DnsmasqGaveUpError,
  DnsmasqReloadError,
  DnsmasqStartError,
  PreflightError,
} from './dnsmasq/index.js';
export * from './overlay/index.js';
export { RTPROT_VXNET, type ResolvedRoutedSpec, type RoutedSpec, type RoutedStaticRoute } from './routed/index.js';
export * from './attach/index.js';
