/**
 * What refuses an attach before anything is written, each named for its
 * cause. (A container interface attached to another network is a
 * ConflictError, as any object of someone else's is.)
 */
import { ValidationError, VxnetError } from '../netlink/errors.js';

/** The container's namespace does not exist (or is not a network namespace): nothing can be attached to it. */
export class NetnsNotFoundError extends ValidationError {
  override name = 'NetnsNotFoundError';
  constructor(
    /** As the caller gave it. */
    readonly netns: string | number,
    /** The file looked for. */
    readonly path: string,
    why: string,
  ) {
    super('netns', why, netns);
  }
}

/** What holds an interface name inside the container. */
export interface IfnameHolder {
  kind?: string;
  alias?: string;
}

/** The interface name is taken inside the container by a device vxnet did not make for this attachment. */
export class IfnameTakenError extends VxnetError {
  override name = 'IfnameTakenError';
  constructor(
    /** The namespace, as the error names it ("ctr1", "pid 4242"). */
    readonly netns: string,
    readonly ifname: string,
    readonly holder: IfnameHolder,
  ) {
    const device = holder.kind ? `a ${holder.kind} device` : 'a device';
    const what = `${device}${holder.alias ? ` (alias "${holder.alias}")` : ''}`;
    super(
      `${ifname} is taken in namespace ${netns} by ${what} that vxnet did not make: pick another ifname, or remove ` +
        'that device (an attach interrupted between creating the veth pair and marking it leaves an unmarked pair: ' +
        'delete it with ip link del)',
    );
  }
}

/** A static address that is not inside the network's subnet (or of another family). */
export class AddressOutsideSubnetError extends ValidationError {
  override name = 'AddressOutsideSubnetError';
  constructor(
    readonly address: string,
    readonly subnet: string,
  ) {
    super('address', `is not inside the network's subnet ${subnet}`, address);
  }
}

/** The bridge to attach to is not there (or is not a bridge). */
export class BridgeNotFoundError extends VxnetError {
  override name = 'BridgeNotFoundError';
  constructor(
    readonly bridge: string,
    readonly where: string,
    why: string,
  ) {
    super(`cannot attach to bridge ${bridge} in ${where}: ${why}`);
  }
}

/** The overlay network has no bridge on this host: its spec was not applied here (or was destroyed). */
export class NetworkNotAppliedError extends VxnetError {
  override name = 'NetworkNotAppliedError';
  constructor(
    readonly network: string,
    readonly where: string,
  ) {
    super(
      `network ${network} is not applied in ${where} (no bridge of it is there): apply its spec on this host first`,
    );
  }
}
