/**
 * vxnet/overlay: one declarative spec per host; plan, apply, destroy, status;
 * containers attached to the network (attach, detach, checkAttachment, attachments);
 * OverlayAgent, which keeps a spec applied (docs/agent.md), with its peers from the
 * spec or from etcd (EtcdMembership, docs/membership.md); BGP EVPN as a VXLAN
 * network's membership (docs/routed.md).
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
  type OverlayMembership,
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
export type { EvpnMembership, EvpnStatus, ResolvedEvpn } from './evpn.js';
export { BgpNamespaceTakenError, type BgpPeerStatus, type FrrStatus } from '../frr/service.js';
export { FrrGaveUpError, FrrStartError } from '../frr/daemon.js';
export type { BgpSession, ResolvedBgpSession } from '../frr/spec.js';
export type { DhcpStatus } from '../network/dhcp-service.js';
export { type DhcpOwner, dhcpOwner, stopForeignDhcp } from '../network/dhcp-owner.js';
export type { IpForwardControl } from '../network/forwarding.js';
export {
  describeHolder,
  type LockHolder,
  type LockOptions,
  lockPort,
  NetworkLock,
  NetworkLockedError,
} from './lock.js';
export { type NetworkRecord, NetworkState } from '../network/state.js';
export { type AgentEvents, type AgentStarted, OverlayAgent, type OverlayAgentOptions } from '../agent/agent.js';
export { AgentRunningError } from '../agent/errors.js';
export type { AgentRecord, AgentRepair, AgentStatus } from '../agent/record.js';
export {
  describeHealth,
  type DesiredPeers,
  desiredPeers,
  diffPeers,
  EtcdMembership,
  type EtcdMembershipOptions,
  EtcdTlsError,
  EtcdUnavailableError,
  type Membership,
  type MembershipHealth,
  type MembershipSpec,
  type MembershipView,
  NetworkParameterError,
  type PeerDiff,
  StaticMembership,
  specInput,
  withPeers,
} from '../membership/index.js';
