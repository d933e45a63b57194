/**
 * The bridge spec: a standalone Linux bridge that the VXLAN device and the
 * containers' veths are enslaved to, with the overlay's gateway address.
 */
import { validateOwner } from '../common/ownership.js';
import { ValidationError } from '../netlink/errors.js';
import { parsePrefix, validateMtu, validatePortableIfname } from '../rtnetlink/validate.js';

export interface BridgeSpec {
  /** Device name, e.g. "br0". */
  name: string;
  /** Device MTU; the overlay's (the VXLAN device's) so containers' frames fit. */
  mtu?: number;
  /** Spanning tree; default off (one bridge per host, no loops to break). */
  stp?: boolean;
  /** Forward delay in seconds; default 0, so ports forward at once. */
  forwardDelay?: number;
  /** Gateway address on the bridge with its prefix, e.g. "10.10.0.1/24". */
  address?: string;
  /** Marks the bridge as vxnet's (alias "vxnet:<owner>"). */
  owner?: string;
}

export function validateBridgeSpec(spec: BridgeSpec): void {
  if (typeof spec !== 'object' || spec === null)
    throw new ValidationError('bridge', 'expected a bridge spec object', spec);
  validatePortableIfname(spec.name, 'name');
  if (spec.mtu !== undefined) validateMtu(spec.mtu);
  if (spec.stp !== undefined && typeof spec.stp !== 'boolean')
    throw new ValidationError('stp', 'true or false', spec.stp);
  if (
    spec.forwardDelay !== undefined &&
    (typeof spec.forwardDelay !== 'number' || spec.forwardDelay < 0 || spec.forwardDelay > 30)
  ) {
    throw new ValidationError('forwardDelay', 'seconds, 0 to 30', spec.forwardDelay);
  }
  if (spec.address !== undefined) {
    const prefix = parsePrefix(spec.address, 'address');
    if (!spec.address.includes('/'))
      throw new ValidationError('address', 'give the gateway with its prefix, e.g. 10.10.0.1/24', spec.address);
    if ((prefix.family === 4 && prefix.prefixlen > 30) || (prefix.family === 6 && prefix.prefixlen > 126)) {
      throw new ValidationError('address', 'the prefix leaves no room for containers', spec.address);
    }
  }
  if (spec.owner !== undefined) validateOwner(spec.owner);
}
