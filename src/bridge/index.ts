/**
 * vxnet/bridge: the overlay's bridge on each host: created or converged,
 * ports attached and detached, a gateway address.
 */
export { type BridgeSpec, validateBridgeSpec } from './spec.js';
export { attachPort, detachPort, ensureBridge, listPorts, planBridge, planPort } from './bridge.js';
export {
  type AdoptedBridge,
  type AdoptionStore,
  BridgeNotOwnedError,
  bridgeSettings,
  planBridgeRelease,
  planNetworkBridge,
} from './adopt.js';
