/**
 * vxnet: Linux container overlay networks from TypeScript.
 * Each layer is also available as a subpath: vxnet/netlink, vxnet/rtnetlink.
 */
export * from './netlink/index.js';
export * from './rtnetlink/index.js';
