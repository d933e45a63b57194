/**
 * vxnet: Linux container overlay networks from TypeScript.
 * Each layer is also available as a subpath: vxnet/netlink, vxnet/rtnetlink.
 */
export * from './netlink/index.js';
export * from './rtnetlink/index.js';
export * from './vxlan/index.js';
export * from './bridge/index.js';
export { type Change, type ChangeAction, applyChanges, describeChange } from './common/plan.js';
export { ConflictError, type Difference } from './common/conflict.js';
export { ownerAlias, ownerFromAlias, validateOwner } from './common/ownership.js';
export * from './nftables/index.js';
export * from './masquerade/index.js';
export * from './dnsmasq/index.js';
export * from './overlay/index.js';
