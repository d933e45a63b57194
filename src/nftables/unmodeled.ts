/**
 * What the `*FromWire` conversions do with what their typed form cannot say.
 *
 * Decoding real kernel data throws nothing but DecodeError. A table, chain,
 * set, rule or set element whose message holds something its typed form
 * cannot say (an attribute this code does not know, a family it has no name
 * for, an element without a key that is not the catch-all, a nest missing a
 * part) is returned with the fields that could be read and `raw`: the
 * decoded attribute message itself, which the codec re-encodes to the bytes
 * it came from. Writing such an object back from its typed fields would
 * drop what `raw` holds, so the `*ToWire` conversions refuse it.
 *
 * The one thing that is a DecodeError: a message without the attribute that
 * names its object (a table's NFTA_TABLE_NAME, a rule's table and chain).
 * Every object the kernel lists has it; without it there is nothing to call
 * the object by, and the typed form requires it.
 */
import type { Decoded } from '../netlink/codec.js';
import { DecodeError, ValidationError } from '../netlink/errors.js';

/** The string attribute that names the object; DecodeError when it is missing. */
export function identity(w: Decoded, key: string, what: string, attribute: string): string {
  const value = w[key];
  if (typeof value !== 'string')
    throw new DecodeError(what, `no ${attribute}: every ${what} the kernel sends names it`, -1);
  return value;
}

/** A number attribute the typed form requires (a set's key length); DecodeError when it is missing. */
export function required(w: Decoded, key: string, what: string, attribute: string): number {
  const value = w[key];
  if (typeof value !== 'number')
    throw new DecodeError(what, `no ${attribute}: every ${what} the kernel sends has it`, -1);
  return value;
}

/**
 * Whether a decoded object, or a nest inside it, holds attributes the schema
 * does not know (kept raw by the codec under `unknown`). `opaque` names keys
 * whose contents are looked at elsewhere (a rule's expressions).
 */
export function hasUnknown(w: unknown, opaque: readonly string[] = []): boolean {
  if (Array.isArray(w)) return w.some((x) => hasUnknown(x));
  if (typeof w !== 'object' || w === null || w instanceof Uint8Array) return false;
  const o = w as Decoded;
  if (o.unknown !== undefined && o.unknown.length > 0) return true;
  for (const key of Object.keys(o)) if (key !== 'unknown' && !opaque.includes(key) && hasUnknown(o[key])) return true;
  return false;
}

/** The `*ToWire` side: an object listed with `raw` cannot be written from its typed fields without losing that. */
export function refuseRaw(o: { raw?: unknown }, field: string, what: string): void {
  if (o.raw !== undefined) {
    throw new ValidationError(
      `${field}.raw`,
      `this ${what} was listed with data its typed fields cannot say (kept in raw); ` +
        `writing the typed fields would drop it. Remove raw to write them anyway`,
    );
  }
}
