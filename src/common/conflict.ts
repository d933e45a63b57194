/**
 * An object exists but differs from its spec in a way that cannot be changed
 * in place (a VXLAN device's VNI or port), or belongs to someone else. The
 * error lists every difference, so a person can decide: fix the spec, or ask
 * for a replace.
 */
import { VxnetError } from '../netlink/errors.js';

export interface Difference {
  field: string;
  actual: unknown;
  wanted: unknown;
}

export class ConflictError extends VxnetError {
  override name = 'ConflictError';
  constructor(
    readonly target: string,
    readonly differences: Difference[],
    readonly hint: string,
  ) {
    super(`${target} exists but differs from the spec: ${differences.map(formatDifference).join(', ')}; ${hint}`);
  }
}

export function formatDifference(d: Difference): string {
  return `${d.field} is ${show(d.actual)}, wanted ${show(d.wanted)}`;
}

function show(value: unknown): string {
  return value === undefined ? 'unset' : typeof value === 'string' ? value : JSON.stringify(value);
}
