/**
 * vxnet/dnsmasq: DHCP for an overlay network, served by a supervised dnsmasq
 * on the overlay's bridge. See docs/dnsmasq.md.
 */
export {
  DnsmasqServer,
  type DnsmasqServerEvents,
  type DnsmasqServerOptions,
  type DnsmasqStatus,
  type HostsUpdate,
} from './server.js';
export {
  type DhcpRange,
  type DnsmasqSpec,
  type DnsOptions,
  type InstanceOptions,
  type LeaseTime,
  type StaticHost,
  type ValidHost,
  type ValidRange,
  type ValidSpec,
  DEFAULT_STATE_ROOT,
  parseLeaseTime,
  validateHosts,
  validateSpec,
} from './spec.js';
export { instancePaths, type InstancePaths, renderConfig, renderHosts } from './config.js';
export {
  diffLeases,
  type Lease,
  type Lease6,
  type LeaseChanges,
  type LeaseFile,
  LeaseWatcher,
  parseLeaseFile,
  parseLeases,
  pruneLeaseText,
  readLeases,
  type StaleLease,
  staleLeases,
} from './leases.js';
export {
  checkInterface,
  checkPorts,
  findTools,
  type InterfaceFacts,
  INSTALL_DNSMASQ,
  preflight,
  type PreflightResult,
} from './preflight.js';
export { type BoundSocket, type SocketOwner, socketOwners, socketsOnPorts } from './sockets.js';
export {
  DEFAULT_RESTART_POLICY,
  type RestartInfo,
  type RestartPolicy,
  type SupervisorState,
  type SupervisorStatus,
} from './supervisor.js';
export {
  type DnsmasqExit,
  DnsmasqGaveUpError,
  DnsmasqReloadError,
  DnsmasqStartError,
  type PreflightCheck,
  PreflightError,
} from './errors.js';
