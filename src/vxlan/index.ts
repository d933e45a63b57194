/**
 * vxnet/vxlan: a VXLAN device from a spec (multicast group or unicast
 * peers), converged idempotently, with a status that names likely problems.
 */
export {
  canonicalAddress,
  LINUX_DEFAULT_VXLAN_PORT,
  validateVxlanSpec,
  VXLAN_OVERHEAD,
  VXLAN_PORT,
  type VxlanSpec,
} from './spec.js';
export {
  ensureVxlan,
  planVxlan,
  resolveVxlan,
  type ResolvedVxlan,
  structuralDifferences,
  type VxlanPlanOptions,
} from './device.js';
export {
  addPeer,
  FLOOD_MAC,
  isFloodEntry,
  listPeers,
  type PeerChanges,
  planPeers,
  removePeer,
  setPeers,
} from './peers.js';
export { type LearnedEntry, type StatusExpectations, vxlanStatus, type VxlanStatus } from './status.js';
