/**
 * The error model: one class per failure class, each carrying what a person
 * needs to act without reading code. The socket cannot ask the kernel for
 * extended acks (node-netlink has no setsockopt for NETLINK_EXT_ACK), so the
 * sentence that names the likely cause is ours; extended-ack text is shown
 * when a reply carries it all the same.
 */
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';

const ERRNO_NAMES = new Map<number, [code: string, message: string]>();
for (const [negative, entry] of getSystemErrorMap()) ERRNO_NAMES.set(-negative, entry);
// Where libuv picks a synonym (ENOTSUP, the same number on Linux), use the name the kernel's netlink code returns.
const { EOPNOTSUPP } = constants.errno;
const notSupported = ERRNO_NAMES.get(EOPNOTSUPP);
if (notSupported) ERRNO_NAMES.set(EOPNOTSUPP, ['EOPNOTSUPP', notSupported[1]]);

/** `EEXIST` for 17, `E123` for an errno this platform does not name. */
export function errnoCode(errno: number): string {
  return ERRNO_NAMES.get(errno)?.[0] ?? `E${errno}`;
}

/** The C library's sentence for an errno ("File exists"). */
export function errnoMessage(errno: number): string {
  return ERRNO_NAMES.get(errno)?.[1] ?? `errno ${errno}`;
}

/** Causes that hold for any netlink family; families add sharper ones. */
const GENERIC_CAUSES: Record<string, string> = {
  EPERM: 'the process lacks CAP_NET_ADMIN in this network namespace: run as root, or in a namespace the process owns',
  EACCES: 'the process lacks CAP_NET_ADMIN in this network namespace: run as root, or in a namespace the process owns',
  EEXIST: 'an object with the same identity already exists: delete it first, or ask for a replace',
  ENOENT: 'the object does not exist (already deleted, or never created)',
  ESRCH: 'the object does not exist (already deleted, or never created)',
  ENODEV: 'no network device matches (wrong name or index, or it lives in another namespace)',
  EINVAL: 'the kernel refused a value or a combination of attributes in the request',
  ERANGE: 'a value is outside the range the kernel accepts',
  EOPNOTSUPP: 'this kernel does not support the operation or the kind (missing module, or not built in)',
  EAFNOSUPPORT: 'the address family is not supported for this object (is the protocol module loaded?)',
  EPROTONOSUPPORT: 'the netlink protocol or subsystem is not available in this kernel',
  EBUSY: 'the object is in use, or another dump is still running on the same socket',
  ENETUNREACH: 'the gateway is not reachable through any configured route or device address',
  EADDRNOTAVAIL: 'the address is not configured on this host',
  ENOBUFS: 'the kernel ran out of buffer space for replies (too many requests in flight)',
  EMSGSIZE: 'a message or attribute is too large for the kernel to accept',
  ENOSPC: 'a kernel table is full',
  ENOTEMPTY: 'the object still has children (delete them first)',
};

export function genericCause(code: string): string | undefined {
  return GENERIC_CAUSES[code];
}

/** Base of every error vxnet throws, so callers can catch them as one. */
export class VxnetError extends Error {
  override name = 'VxnetError';
}

export interface NetlinkErrorDetails {
  /** Positive errno, e.g. 17. */
  errno: number;
  /** What we asked for, in words: "create link". */
  operation: string;
  /** The object it was about: "vx0 (vxlan id 42)". */
  object?: string;
  /** The likely cause, in a sentence; derived from the errno when not given. */
  cause?: string;
  /** Extended-ack text, when the kernel sent one. */
  kernelMessage?: string;
  /** Index of the failed message in a batch. */
  index?: number;
}

/** The kernel answered a request with a negative errno. */
export class NetlinkError extends VxnetError {
  override name = 'NetlinkError';
  readonly errno: number;
  readonly code: string;
  readonly operation: string;
  readonly object?: string;
  readonly likelyCause?: string;
  readonly kernelMessage?: string;
  readonly index?: number;

  constructor(details: NetlinkErrorDetails) {
    const code = errnoCode(details.errno);
    const cause = details.cause ?? genericCause(code);
    const parts = [
      `${details.operation}${details.object ? ` ${details.object}` : ''} failed: ` +
        `${code} (${errnoMessage(details.errno)})`,
    ];
    if (details.kernelMessage) parts.push(`kernel says: ${details.kernelMessage}`);
    if (cause) parts.push(`likely cause: ${cause}`);
    super(parts.join('; '));
    this.errno = details.errno;
    this.code = code;
    this.operation = details.operation;
    this.object = details.object;
    this.likelyCause = cause;
    this.kernelMessage = details.kernelMessage;
    this.index = details.index;
  }

  /** The same failure with a sharper cause, found by the family after the fact. */
  withCause(cause: string): NetlinkError {
    return new NetlinkError({ ...this.toDetails(), cause });
  }

  /**
   * The constructor's argument that makes this error again. (Not called
   * `details`: test runners such as uvu read `err.details` as diff text, and
   * a function there makes uvu drop the failure without a word.)
   */
  toDetails(): NetlinkErrorDetails {
    const { errno, operation, object, likelyCause: cause, kernelMessage, index } = this;
    return { errno, operation, object, cause, kernelMessage, index };
  }
}

/** Bytes that do not form a valid message: where, and inside what. */
export class DecodeError extends VxnetError {
  override name = 'DecodeError';
  /** Attribute path from the outermost set inward, e.g. ["linkinfo", "data", "port"]. */
  readonly path: string[];
  /** Byte offset in the buffer being decoded; -1 when the fault is an absence (a required attribute missing). */
  readonly offset: number;
  readonly reason: string;
  /** What was being decoded ("RTM_NEWLINK", "nlmsghdr"). */
  what: string;

  constructor(what: string, reason: string, offset: number, path: string[] = []) {
    super('');
    this.what = what;
    this.reason = reason;
    this.offset = offset;
    this.path = path;
    this.refresh();
  }

  /** Called while unwinding, to prepend the enclosing attribute's name. */
  within(name: string): this {
    this.path.unshift(name);
    this.refresh();
    return this;
  }

  /** Names the message being decoded, once the caller knows it. */
  decoding(what: string): this {
    this.what = what;
    this.refresh();
    return this;
  }

  private refresh(): void {
    const at = this.path.length ? ` at ${this.path.join('.')}` : '';
    // -1: found after decoding, in the decoded object (a required attribute missing), where no one byte is at fault.
    const byte = this.offset >= 0 ? ` (byte ${this.offset})` : '';
    this.message = `cannot decode ${this.what}${at}${byte}: ${this.reason}`;
  }
}

/** A value we were asked to send is invalid; raised before anything is sent. */
export class ValidationError extends VxnetError {
  override name = 'ValidationError';
  /** The field at fault, as a path ("peers[2]", "linkinfo.data.port"). */
  readonly field: string;
  readonly reason: string;
  readonly value: unknown;

  constructor(field: string, reason: string, value?: unknown) {
    super(`invalid ${field}: ${reason}${value === undefined ? '' : ` (got ${describeValue(value)})`}`);
    this.field = field;
    this.reason = reason;
    this.value = value;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  try {
    const text = JSON.stringify(value);
    if (text !== undefined) return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    // fall through: circular or otherwise not serialisable
  }
  return String(value);
}

/** The kernel flagged a dump as inconsistent (NLM_F_DUMP_INTR): the data changed while it was read. */
export class DumpInterruptedError extends VxnetError {
  override name = 'DumpInterruptedError';
  constructor(
    readonly operation: string,
    readonly attempts: number,
  ) {
    super(
      `${operation}: the kernel reported the dump as interrupted (NLM_F_DUMP_INTR) ${attempts} time(s): ` +
        'the objects changed while they were being listed; retry, or pass { retries } to let vxnet retry',
    );
  }
}

/** No answer within the time allowed. */
export class TimeoutError extends VxnetError {
  override name = 'TimeoutError';
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation}: no answer from the kernel within ${timeoutMs} ms`);
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends VxnetError {
  override name = 'AbortError';
  constructor(
    readonly operation: string,
    readonly reason?: unknown,
  ) {
    super(`${operation}: aborted${reason instanceof Error ? ` (${reason.message})` : ''}`);
  }
}

/** The connection was closed (by the caller, or because its transport died) before an answer came. */
export class ClosedError extends VxnetError {
  override name = 'ClosedError';
  constructor(
    readonly operation: string,
    why = 'the connection is closed',
  ) {
    super(`${operation}: ${why}`);
  }
}

/**
 * Messages were lost: the kernel's socket buffer overflowed (ENOBUFS), or a
 * subscriber fell too far behind. State seen through this socket may be stale:
 * list again (resync) before trusting it.
 */
export class OverrunError extends VxnetError {
  override name = 'OverrunError';
  constructor(
    readonly where: string,
    detail: string,
  ) {
    super(`${where}: messages were lost (${detail}); list the objects again to resync`);
  }
}
