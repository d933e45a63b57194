/**
 * The kernel may set another MTU than the one asked for without refusing the
 * request (the vxlan driver clamps a new device's MTU to what its underlay
 * can carry). A change is reported as made only once the device, read back,
 * shows it; otherwise this error says what happened.
 */
import { VxnetError } from '../netlink/errors.js';

/** Ethernet's MTU (ETH_DATA_LEN): what a device whose MTU cannot be read is taken to carry. */
export const ETHERNET_MTU = 1500;

export class MtuNotAppliedError extends VxnetError {
  override name = 'MtuNotAppliedError';
  constructor(
    /** The device's name. */
    readonly device: string,
    readonly requested: number,
    /** What the kernel set instead (read back after the write). */
    readonly applied: number | undefined,
    /** Why, when it could be told: "its underlay eth0 has mtu 1400: 1350 at most over IPv4". */
    readonly reason?: string,
  ) {
    super(
      `${device}: asked for mtu ${requested}, the kernel set ${applied ?? 'none'}${reason ? ` (${reason})` : ''}; ` +
        'the MTU change was not made as asked',
    );
  }
}
