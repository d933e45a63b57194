/**
 * CNI errors: the spec's reserved codes and vxnet's own (100+), and the
 * error JSON a plugin prints on stdout ({ cniVersion, code, msg, details }).
 */

/** The spec's reserved error codes (SPEC.md, Section 5, "Error"). */
export const CNI_ERRORS = {
  /** The config's cniVersion is not one the plugin speaks. */
  INCOMPATIBLE_VERSION: 1,
  /** A field the plugin does not support; the message names key and value. */
  UNSUPPORTED_FIELD: 2,
  /** The container (its namespace) does not exist: the runtime need not clean up. */
  UNKNOWN_CONTAINER: 3,
  /** A CNI_* variable is missing or invalid; the message names it. */
  INVALID_ENVIRONMENT: 4,
  /** Reading stdin failed. */
  IO_FAILURE: 5,
  /** stdin is not JSON (or not an object). */
  DECODE_FAILED: 6,
  /** The network config does not validate. */
  INVALID_CONFIG: 7,
  /** A transient condition (another writer holds the network): retry. */
  TRY_AGAIN_LATER: 11,
  /** STATUS: cannot service ADD. */
  NOT_AVAILABLE: 50,
  /** STATUS: cannot service ADD, and existing containers may have limited connectivity. */
  NOT_AVAILABLE_DEGRADED: 51,
} as const;

/** vxnet's own codes (100+). */
export const VXNET_CNI_ERRORS = {
  /** The overlay network named by `network` is not applied on this host (no bridge of it here). */
  NETWORK_NOT_APPLIED: 100,
  /** CNI_IFNAME is taken inside the container (by a device vxnet did not make, or by an attachment already there). */
  IFNAME_TAKEN: 101,
  /** CNI_IFNAME in the container is attached to another vxnet network. */
  ATTACHED_ELSEWHERE: 102,
  /** The IPAM plugin's address does not fit the overlay (outside its subnet, the gateway's own, …). */
  ADDRESS_REFUSED: 103,
  /** The IPAM plugin's result could not be used (unreadable, no address, more than one address). */
  IPAM_RESULT: 104,
  /** The kernel refused a change (a netlink error: the message names operation and errno). */
  KERNEL: 105,
  /** CHECK: the attachment is missing or differs from what ADD made. */
  CHECK_FAILED: 106,
  /** Anything else (a bug: please report it with the details). */
  INTERNAL: 110,
} as const;

export class CniError extends Error {
  override name = 'CniError';
  constructor(
    readonly code: number,
    /** Short: what failed. */
    readonly msg: string,
    /** Longer: why, and what to do. */
    readonly details?: string,
  ) {
    super(details ? `${msg}: ${details}` : msg);
  }

  toJSON(cniVersion: string): Record<string, unknown> {
    return { cniVersion, code: this.code, msg: this.msg, ...(this.details ? { details: this.details } : {}) };
  }
}
