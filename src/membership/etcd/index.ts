/** Membership from etcd: the spec section, the source, its records and errors. */
export {
  EtcdTlsError,
  EtcdUnavailableError,
  NetworkParameterError,
  type ParameterMismatch,
  ProtobufDecodeError,
  ProtobufEncodeError,
} from './errors.js';
export { EtcdMembership, type EtcdMembershipOptions } from './membership.js';
export {
  compareShared,
  hostKey,
  hostsPrefix,
  networkKey,
  parseRegistration,
  parseShared,
  type Registration,
  type SharedParameters,
  sharedParameters,
} from './records.js';
export {
  DEFAULT_PREFIX,
  DEFAULT_TTL,
  type EtcdMembershipSpec,
  type EtcdTlsSpec,
  type MembershipSpec,
  type ResolvedMembership,
  resolveMembership,
} from './spec.js';
