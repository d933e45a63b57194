/**
 * Reads the numbers the installed uapi headers define: enum members
 * (counting implicit values) and object-like #defines. Just enough C for
 * these headers: comments, `#define` lines inside enums, `A = B` aliases,
 * and expressions such as `(1 << 4)`, `0x80`, `NLMSG_MIN_TYPE+1` or `__X - 1`.
 */
import { readFileSync } from 'node:fs';
import type { AttrSet } from '../../src/netlink/schema.js';
import { uapiConstant } from '../../src/netlink/uapi.js';

export function readHeaders(
  paths: string[],
  seed: Record<string, number> = { NLMSG_MIN_TYPE: 0x10 },
): Map<string, number> {
  const values = new Map<string, number>(Object.entries(seed));
  const evaluate = (expression: string): number | undefined => {
    let known = true;
    const substituted = expression
      .replace(/\b(0x[0-9a-fA-F]+|\d+)[uUlL]*\b/g, '$1')
      .replace(/\b[A-Za-z_]\w*\b/g, (name) => {
        if (/^0x/.test(name)) return name;
        const value = values.get(name);
        if (value === undefined) known = false;
        return String(value);
      });
    if (!known || !/^[\s\dxa-fA-F+\-<>|()~]+$/.test(substituted)) return undefined;
    return Function(`"use strict"; return (${substituted});`)() as number;
  };
  const defines: [string, string][] = [];
  for (const path of paths) {
    const text = readFileSync(path, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, ' ')
      .replace(/\/\/.*$/gm, '');
    for (const match of text.matchAll(/\benum\s*\w*\s*\{([\s\S]*?)\}\s*;/g)) {
      let next: number | undefined = 0;
      const body = match[1]!
        .split('\n')
        .filter((line) => !line.trim().startsWith('#'))
        .join('\n');
      for (const entry of body.split(',')) {
        const member = entry.trim().match(/^([A-Za-z_]\w*)\s*(?:=\s*([\s\S]+))?$/);
        if (!member) continue;
        const value: number | undefined = member[2] !== undefined ? evaluate(member[2]) : next;
        if (value !== undefined) values.set(member[1]!, value);
        next = value === undefined ? undefined : value + 1;
      }
    }
    for (const match of text.matchAll(/^\s*#\s*define\s+([A-Za-z_]\w*)[ \t]+(.+?)\s*$/gm)) {
      if (match[1] !== match[2]) defines.push([match[1]!, match[2]!]);
    }
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, expression] of defines) {
      if (values.has(name)) continue;
      const value = evaluate(expression);
      if (value !== undefined) {
        values.set(name, value);
        changed = true;
      }
    }
  }
  return values;
}

/**
 * Checks every attribute of `sets` against the headers: each must record the
 * uapi constant it models (uapiSet), and its number must be that constant's.
 * Returns the problems found and how many attributes were checked.
 */
export function uapiMismatches(
  sets: Iterable<AttrSet>,
  headers: Map<string, number>,
): { problems: string[]; checked: number } {
  const problems: string[] = [];
  let checked = 0;
  for (const set of sets) {
    for (const [name, attr] of set.byName) {
      const constant = uapiConstant(set, name);
      if (constant === undefined) {
        problems.push(`${set.name}.${name}: no constant recorded`);
        continue;
      }
      const expected = headers.get(constant);
      if (expected === undefined) problems.push(`${set.name}.${name}: ${constant} is not in the headers`);
      else if (expected !== attr.type)
        problems.push(`${set.name}.${name}: ${attr.type}, but ${constant} = ${expected}`);
      checked++;
    }
  }
  return { problems, checked };
}
