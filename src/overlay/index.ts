/**
 * vxnet/overlay: one declarative spec per host; plan, apply, destroy, status;
 * containers attached to the network (attach, detach, checkAttachment, attachments);
 * OverlayAgent, which keeps a spec applied (docs/agent.md).
 */
export {
  type AnyResolvedSpec,
  type AnySpec,
  isRoutedSpec,
  loadAnySpec,
  resolveAnySpec,
  toAnyResolvedSpec,
} from './spec.js';
export {
  isResolvedSpec,
  loadSpec,
  type OverlayDhcp,
  type OverlayFirewall,
  type OverlayMasquerade,
  type OverlaySpec,
  resolveSpec,
  type ResolvedSpec,
  toResolvedSpec,
  within,
} from './spec.js';
export {
  type ApplyOptions,
  type OverlayAttachment,
  type OverlayAttachOptions,
  type OverlayClients,
  type OverlayDetachOptions,
  OverlayHost,
  type OverlayHostEvents,
  type OverlayHostOptions,
  type OverlayStatus,
  type PlanOptions,
  type StatusOptions,
} from './host.js';
export { BridgeNotOwnedError } from '../bridge/adopt.js';
export {
  type AttachmentCheck,
  type AttachResult,
  type DetachResult,
  AddressOutsideSubnetError,
  BridgeNotFoundError,
  IfnameTakenError,
  NetnsNotFoundError,
  NetworkNotAppliedError,
} from '../attach/index.js';
export type { DhcpStatus } from './dhcp-service.js';
export { type DhcpOwner, dhcpOwner, stopForeignDhcp } from './dhcp-owner.js';
export type { IpForwardControl } from './forwarding.js';
export {
  describeHolder,
  type LockHolder,
  type LockOptions,
  lockPort,
  NetworkLock,
  NetworkLockedError,
} from './lock.js';
export { type NetworkRecord, NetworkState } from './state.js';
export { type AgentEvents, type AgentStarted, OverlayAgent, type OverlayAgentOptions } from '../agent/agent.js';
export { AgentRunningError } from '../agent/errors.js';
export type { AgentRecord, AgentRepair, AgentStatus } from '../agent/record.js';
export {
  describeHealth,
  type DesiredPeers,
  desiredPeers,
  diffPeers,
  type Membership,
  type MembershipHealth,
  type MembershipView,
  type PeerDiff,
  StaticMembership,
  specInput,
  withPeers,
} from '../membership/index.js';
