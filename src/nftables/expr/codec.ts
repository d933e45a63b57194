/**
 * What each expression file provides: its attribute set (the contents of
 * NFTA_EXPR_DATA for its name), the typed form and the conversions between
 * the two, and the line `nft --debug=netlink` prints for it.
 */
import type { Decoded } from '../../netlink/codec.js';
import { checkInt } from '../../netlink/codec.js';
import { ValidationError } from '../../netlink/errors.js';
import type { AnySet, DecodedOf, RequestOf } from '../../netlink/schema.js';
import { NFT_REG32_15 } from '../constants.js';

export interface ExpressionCodec<E extends { type: string }, S extends AnySet = AnySet> {
  /** NFTA_EXPR_NAME. */
  readonly name: E['type'];
  readonly attrs: S;
  /** The typed expression as NFTA_EXPR_DATA contents. Validates. */
  toWire(expression: E, field: string): RequestOf<S>;
  /** The typed form, or undefined when the data holds something the typed form cannot say. */
  fromWire(data: DecodedOf<S>): E | undefined;
  /** As `nft --debug=netlink` prints it, without the brackets. */
  format(expression: E): string;
}

/** A register number: 0 (verdict), 1-4 (16 bytes), 8-23 (4 bytes). */
export function register(value: unknown, field: string): number {
  const n = checkInt(value, 0, NFT_REG32_15, field);
  if (n > 4 && n < 8) throw new ValidationError(field, 'registers are 0-4 and 8-23', value);
  return n;
}

/** Maps between names and numbers of an enum; numbers without a name stay numbers. */
export function enumeration<N extends string>(
  names: Record<N, number>,
): {
  toNumber(value: N | number, field: string): number;
  toName(value: number): N | number;
  names: readonly N[];
} {
  const byNumber = new Map<number, N>();
  for (const [name, value] of Object.entries(names) as [N, number][])
    if (!byNumber.has(value)) byNumber.set(value, name);
  return {
    names: Object.keys(names) as N[],
    toNumber(value, field) {
      if (typeof value === 'number') return checkInt(value, 0, 0xffffffff, field);
      if (typeof value === 'string' && Object.hasOwn(names, value)) return names[value];
      throw new ValidationError(field, `expected one of ${Object.keys(names).join(', ')} (or a number)`, value);
    },
    toName: (value) => byNumber.get(value) ?? value,
  };
}

/** Keys of a wire object that are set, for the exact-shape checks of fromWire. */
export function hasOnly(data: Decoded, allowed: readonly string[]): boolean {
  for (const key of Object.keys(data)) if (!allowed.includes(key)) return false;
  return true;
}

export const isU32 = (v: unknown): v is number => typeof v === 'number';
