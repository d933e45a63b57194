/**
 * An object exists but differs from its spec in a way that cannot be changed
 * in place (a VXLAN device's VNI or port), or belongs to someone else. The
 * error lists every difference, so a person can decide: fix the spec, or ask
 * for a replace.
 *
 * Whether a replace would resolve it is part of the error (`replaceable`), not
 * only of its text: the library asks for one with `{ replace: true }`, the
 * command line with `--replace`, and each caller says it in its own words
 * (`remedy(...)`, `messageFor(...)`). A conflict that a replace must not
 * resolve (a device of another kind, one marked by another network) never
 * suggests it.
 */
import { VxnetError } from '../netlink/errors.js';

export interface Difference {
  field: string;
  actual: unknown;
  wanted: unknown;
}

/** How the library asks for a replace; the CLI says `--replace`. */
export const LIBRARY_REPLACE = '{ replace: true }';

export interface ConflictOptions {
  /**
   * Recreating the object would resolve the conflict, and is allowed for it:
   * the remedy then offers a replace (in the caller's words) after `hint`.
   */
  replaceable?: boolean;
}

export class ConflictError extends VxnetError {
  override name = 'ConflictError';
  /** Whether asking for a replace resolves it. */
  readonly replaceable: boolean;
  /** What to do, in the library's words (a replaceable conflict's includes `{ replace: true }`). */
  readonly hint: string;

  constructor(
    readonly target: string,
    readonly differences: Difference[],
    /** What to do other than a replace: "change the spec", "pick another name". */
    readonly alternative: string,
    options: ConflictOptions = {},
  ) {
    const replaceable = options.replaceable ?? false;
    super(conflictMessage(target, differences, remedyText(alternative, replaceable, LIBRARY_REPLACE)));
    this.replaceable = replaceable;
    this.hint = remedyText(alternative, replaceable, LIBRARY_REPLACE);
  }

  /** The remedy, with a replace asked for as the caller asks for it (`--replace` on the command line). */
  remedy(replace: string = LIBRARY_REPLACE): string {
    return remedyText(this.alternative, this.replaceable, replace);
  }

  /** The whole message, in the caller's words. */
  messageFor(replace: string): string {
    return conflictMessage(this.target, this.differences, this.remedy(replace));
  }
}

function remedyText(alternative: string, replaceable: boolean, replace: string): string {
  return replaceable ? `${alternative}, or ask for ${replace} to recreate it (traffic stops briefly)` : alternative;
}

function conflictMessage(target: string, differences: Difference[], remedy: string): string {
  return `${target} exists but differs from the spec: ${differences.map(formatDifference).join(', ')}; ${remedy}`;
}

export function formatDifference(d: Difference): string {
  return `${d.field} is ${show(d.actual)}, wanted ${show(d.wanted)}`;
}

function show(value: unknown): string {
  return value === undefined ? 'unset' : typeof value === 'string' ? value : JSON.stringify(value);
}
