import { VxnetError } from '../../netlink/errors.js';

/** One field of the network's shared parameters on which this host's spec and the network's record disagree. */
export interface ParameterMismatch {
  field: string;
  ours: unknown;
  network: unknown;
}

/**
 * The spec disagrees with the parameters the network recorded in etcd when
 * its first host joined. Raised before anything is created: a host on port
 * 8472 among hosts on 4789 is refused here, not found later by lost pings.
 */
export class NetworkParameterError extends VxnetError {
  override name = 'NetworkParameterError';
  constructor(
    readonly network: string,
    readonly key: string,
    readonly mismatches: ParameterMismatch[],
  ) {
    super(
      `network ${network} refuses this host: its spec disagrees with the network's parameters (etcd key ${key}): ` +
        mismatches
          .map((m) => `${m.field} is ${JSON.stringify(m.ours)} here, ${JSON.stringify(m.network)} in the network`)
          .join('; ') +
        '. Fix the spec (every host of a network must agree), or remove the record if the whole network changes.',
    );
  }
}

/** No etcd endpoint answered (at start, with --require-membership). */
export class EtcdUnavailableError extends VxnetError {
  override name = 'EtcdUnavailableError';
  constructor(
    readonly endpoints: string[],
    readonly causes: string[],
  ) {
    super(`no etcd endpoint answered (${endpoints.map((e, i) => `${e}: ${causes[i] ?? '?'}`).join('; ')})`);
  }
}

/** A TLS file of membership.etcd.tls cannot be used: the file and why are named. */
export class EtcdTlsError extends VxnetError {
  override name = 'EtcdTlsError';
  constructor(
    readonly field: string,
    readonly file: string,
    readonly reason: string,
  ) {
    super(`membership.etcd.tls.${field}: cannot use ${file}: ${reason}`);
  }
}

/**
 * A message from etcd (or a test server) that is not valid protobuf for its type: truncated, a varint
 * longer than ten bytes, a field number 0, or a known field with the wrong wire type. Named with the
 * innermost message being read and the byte offset in the whole message, so a capture can be checked by hand.
 */
export class ProtobufDecodeError extends VxnetError {
  override name = 'ProtobufDecodeError';
  constructor(
    readonly messageType: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`cannot decode ${messageType}: ${reason} at byte ${offset}`);
  }
}

/** A value that cannot be written as its field's type (an int64 that is not an integer or out of range, …). */
export class ProtobufEncodeError extends VxnetError {
  override name = 'ProtobufEncodeError';
  constructor(
    readonly messageType: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`cannot encode ${messageType}.${field}: ${reason}`);
  }
}
