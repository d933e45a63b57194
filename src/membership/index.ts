/** Sources of an overlay's members, for the agent: static (the spec's peers) today. */
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
