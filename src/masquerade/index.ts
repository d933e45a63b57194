/**
 * vxnet/masquerade: the overlay's way out (masquerade), its VXLAN port
 * opening and its forwarding, in one nf_tables table vxnet owns.
 */
export { DEFAULT_TABLE, type MasqueradeConfig, normalizeConfig, type NormalizedConfig } from './config.js';
export { type Desired, desiredState, OWNER_MARK, PEER_SET } from './desired.js';
export { NotOwnedError } from './errors.js';
export { enableIpForwarding, ipForwarding, setIpForwarding } from './forwarding.js';
export {
  type BlockingChain,
  type EnsureResult,
  Masquerade,
  type MasqueradeOptions,
  type MasqueradeStatus,
} from './masquerade.js';
