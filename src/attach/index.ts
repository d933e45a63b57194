/**
 * vxnet/attach: a container's network namespace on a bridge, through a veth
 * pair vxnet marks as its own: attach, detach, check, list. The overlay's
 * OverlayHost.attach is this with the network's bridge, MTU and gateway.
 */
export {
  attach,
  type AttachIo,
  type AttachmentCheck,
  type AttachOptions,
  AttachPlan,
  type AttachResult,
  checkAttachment,
  detach,
  detachAttachment,
  type DetachOptions,
  type DetachResult,
  planAttach,
  validateContainerId,
} from './attach.js';
export { type Attachment, listAttachments } from './list.js';
export { type Addressing, type AddressingInput, resolveAddressing } from './addressing.js';
export {
  AddressOutsideSubnetError,
  BridgeNotFoundError,
  type IfnameHolder,
  IfnameTakenError,
  NetnsNotFoundError,
  NetworkNotAppliedError,
} from './errors.js';
export {
  ALIAS_MAX_BYTES,
  type ContainerMark,
  containerMark,
  type HostMark,
  hostMark,
  parseContainerMark,
  parseHostMark,
} from './mark.js';
export { containerMac, HOST_VETH_ATTEMPTS, HOST_VETH_PREFIX, hostVethMac, hostVethName } from './names.js';
export { type ContainerNamespace, containerNamespace, namespacePaths } from './netns.js';
