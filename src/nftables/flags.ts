/** Bitmask attributes as lists of names; bits without a name stay numbers so nothing is lost. */
import { checkInt } from '../netlink/codec.js';
import { ValidationError } from '../netlink/errors.js';

export function flagsToNumber<N extends string>(
  names: Record<N, number>,
  list: readonly (N | number)[] | undefined,
  field: string,
): number {
  if (list === undefined) return 0;
  if (!Array.isArray(list)) throw new ValidationError(field, 'expected a list of flags', list);
  let bits = 0;
  list.forEach((flag, i) => {
    if (typeof flag === 'number') bits |= checkInt(flag, 0, 0xffffffff, `${field}[${i}]`);
    else if (typeof flag === 'string' && Object.hasOwn(names, flag)) bits |= names[flag as N];
    else throw new ValidationError(`${field}[${i}]`, `not a flag (${Object.keys(names).join(', ')})`, flag);
  });
  return bits >>> 0;
}

export function flagsFromNumber<N extends string>(names: Record<N, number>, bits: number): (N | number)[] {
  const out: (N | number)[] = [];
  let rest = bits >>> 0;
  for (const [name, bit] of Object.entries(names) as [N, number][]) {
    if (rest & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  for (let bit = 1; rest; bit <<= 1) {
    if (rest & bit) {
      out.push(bit >>> 0);
      rest &= ~bit;
    }
  }
  return out;
}
