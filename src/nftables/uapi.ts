/**
 * Attribute sets whose every attribute names the NFTA_* constant it models,
 * so a unit test can check each number against the installed uapi headers.
 * (The same idea as rtnetlink's sets; kept here so the families stay
 * independent of each other.)
 */
import { type AttrDef, type AttrSet, attrSet } from '../netlink/schema.js';

export type UapiAttr = readonly [constant: string, def: AttrDef];

const constantsBySet = new WeakMap<AttrSet, ReadonlyMap<string, string>>();

/** Declares a set like `attrSet`, remembering each attribute's constant. */
export function uapiSet(name: string, defs: Record<string, UapiAttr>, headerFields: readonly string[] = []): AttrSet {
  const plain: Record<string, AttrDef> = {};
  const constants = new Map<string, string>();
  for (const [attrName, [constant, def]] of Object.entries(defs)) {
    plain[attrName] = def;
    constants.set(attrName, constant);
  }
  const set = attrSet(name, plain, headerFields);
  constantsBySet.set(set, constants);
  return set;
}

/** The constant an attribute models (`NFTA_TABLE_NAME`), if its set was declared with uapiSet. */
export function uapiConstant(set: AttrSet, attrName: string): string | undefined {
  return constantsBySet.get(set)?.get(attrName);
}
