/**
 * Attribute sets whose every attribute names the uapi constant it models.
 *
 * The names in our sets are the ones `ip -j` prints, which rarely spell the
 * C constant; the number next to each is typed by hand. Recording the
 * constant lets a unit test read the installed uapi headers and check every
 * number, so a slip (or a header that moved) cannot go unnoticed.
 */
import type { Layout } from './layout.js';
import { type AttrDef, type AttrSet, attrSet, type DecodedAttrs, type RequestAttrs, type Simplify } from './schema.js';

/** An attribute definition and the constant it models, e.g. `['IFLA_VXLAN_ID', attr.u32(1)]`. */
export type UapiAttr = readonly [constant: string, def: AttrDef];

const constantsBySet = new WeakMap<AttrSet, ReadonlyMap<string, string>>();

/** The plain definitions of a uapi declaration (its constants dropped). */
type Defs<D extends Record<string, UapiAttr>> = { [K in keyof D]: D[K][1] };

/** Declares a set like `attrSet`, remembering each attribute's constant. */
export function uapiSet<const D extends Record<string, UapiAttr>>(
  name: string,
  defs: D,
  headerFields: readonly string[] = [],
): AttrSet<Simplify<DecodedAttrs<Defs<D>>>, Simplify<RequestAttrs<Defs<D>>>> {
  const plain: Record<string, AttrDef> = {};
  const constants = new Map<string, string>();
  for (const [attrName, [constant, def]] of Object.entries(defs)) {
    plain[attrName] = def;
    constants.set(attrName, constant);
  }
  const set = attrSet(name, plain, headerFields) as AttrSet;
  constantsBySet.set(set, constants);
  return set;
}

/** The constant an attribute models (`IFLA_VXLAN_ID`), if its set was declared with uapiSet. */
export function uapiConstant(set: AttrSet, attrName: string): string | undefined {
  return constantsBySet.get(set)?.get(attrName);
}

/** The data fields of a header layout: the decoded object's non-attribute keys. */
export function fieldsOf(header: Layout<unknown>): string[] {
  return header.fields.filter((field) => field.kind !== 'pad').map((field) => field.name);
}
