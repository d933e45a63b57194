/** Sources of an overlay's members, for the agent: static (the spec's peers) and etcd. */
export {
  describeHealth,
  type DesiredPeers,
  desiredPeers,
  diffPeers,
  type Membership,
  type MembershipHealth,
  type MembershipView,
  type PeerDiff,
} from './membership.js';
export { specInput, withPeers } from './spec.js';
export { StaticMembership } from './static.js';
export {
  EtcdMembership,
  type EtcdMembershipOptions,
  EtcdTlsError,
  EtcdUnavailableError,
  type MembershipSpec,
  NetworkParameterError,
} from './etcd/index.js';
