/**
 * Expressions: a closed union, one file per kind, plus the raw fallback.
 * Decoding picks the typed form only when it says everything the kernel
 * said (its re-encoding is the same set of attributes); anything else stays
 * raw, so a listed rule written back is the rule that was listed.
 */
import type { Decoded } from '../../netlink/codec.js';
import { ValidationError } from '../../netlink/errors.js';
import { attr } from '../../netlink/schema.js';
import { uapiSet } from '../../netlink/uapi.js';
import { bitwise, type BitwiseExpression } from './bitwise.js';
import { cmp, type CmpExpression } from './cmp.js';
import type { ExpressionCodec } from './codec.js';
import { counter, type CounterExpression } from './counter.js';
import { ct, type CtExpression } from './ct.js';
import { immediate, type ImmediateExpression } from './immediate.js';
import { lookup, type LookupExpression } from './lookup.js';
import { masq, type MasqExpression } from './masq.js';
import { meta, type MetaExpression } from './meta.js';
import { payload, type PayloadExpression } from './payload.js';
import { type RawExpression, rawFromWire, rawToWire } from './raw.js';

export type Expression =
  | MetaExpression
  | CmpExpression
  | PayloadExpression
  | BitwiseExpression
  | ImmediateExpression
  | MasqExpression
  | CounterExpression
  | CtExpression
  | LookupExpression
  | RawExpression;

export type ModeledExpression = Exclude<Expression, RawExpression>;

const CODECS: { [K in ModeledExpression['type']]: ExpressionCodec<Extract<ModeledExpression, { type: K }>> } = {
  meta,
  cmp,
  payload,
  bitwise,
  immediate,
  masq,
  counter,
  ct,
  lookup,
};

/** The expression names vxnet models (every other one is kept raw). */
export const MODELED_EXPRESSIONS = Object.keys(CODECS) as ModeledExpression['type'][];

/** One NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS: a name, and data whose set the name selects. */
export const expressionAttrs = uapiSet('expression', {
  name: ['NFTA_EXPR_NAME', attr.string(1)],
  data: [
    'NFTA_EXPR_DATA',
    attr.select(2, 'name', Object.fromEntries(Object.entries(CODECS).map(([name, codec]) => [name, codec.attrs]))),
  ],
});

export const expressionListAttrs = uapiSet('expressions', {
  elem: ['NFTA_LIST_ELEM', attr.multi(attr.nest(1, expressionAttrs))],
});

/** The list element for an expression. Validates it. */
export function expressionToWire(e: Expression, field: string): Decoded {
  if (typeof e !== 'object' || e === null || typeof e.type !== 'string')
    throw new ValidationError(field, 'expected an expression object with a type', e);
  if (e.type === 'raw') return rawToWire(e, field);
  if (!Object.hasOwn(CODECS, e.type))
    throw new ValidationError(
      `${field}.type`,
      `not an expression type (${[...MODELED_EXPRESSIONS, 'raw'].join(', ')})`,
      e.type,
    );
  const codec = CODECS[e.type] as ExpressionCodec<ModeledExpression>;
  return { name: codec.name, data: codec.toWire(e, field) };
}

/** The typed expression for a decoded list element, or raw when the typed form would lose something. */
export function expressionFromWire(element: Decoded): Expression {
  const name = element.name;
  const data = element.data;
  if (
    typeof name === 'string' &&
    Object.hasOwn(CODECS, name) &&
    element.unknown === undefined &&
    typeof data === 'object' &&
    data !== null
  ) {
    const codec = CODECS[name as ModeledExpression['type']] as ExpressionCodec<ModeledExpression>;
    const typed = codec.fromWire(data as Decoded);
    if (typed) {
      try {
        if (sameWire(codec.toWire(typed, 'expression'), data)) return typed;
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
      }
    }
  }
  return rawFromWire(expressionAttrs, element);
}

/** The list of a rule's expressions as NFTA_RULE_EXPRESSIONS contents. */
export function expressionsToWire(list: readonly Expression[], field = 'expressions'): Decoded {
  if (!Array.isArray(list)) throw new ValidationError(field, 'expected an array of expressions', list);
  return { elem: list.map((e, i) => expressionToWire(e, `${field}[${i}]`)) };
}

export function expressionsFromWire(wire: Decoded | undefined): Expression[] {
  const elements = (wire?.elem as Decoded[] | undefined) ?? [];
  return elements.map(expressionFromWire);
}

/** One expression as `nft --debug=netlink` prints it: `[ payload load 4b @ network header + 12 => reg 1 ]`. */
export function formatExpression(e: Expression): string {
  if (e.type === 'raw') return `[ ${e.name} (kept raw: ${e.data.length} bytes) ]`;
  const codec = CODECS[e.type] as ExpressionCodec<ModeledExpression>;
  return `[ ${codec.format(e)} ]`;
}

/**
 * Whether two expression lists do the same thing, as an idempotent manager
 * needs to know: counter values, a lookup's batch-local set id, and the
 * defaults the kernel lists back explicitly (a lookup's flags 0, a
 * bitwise's mask-xor op) do not count as differences.
 */
export function equivalentExpressions(a: readonly Expression[], b: readonly Expression[]): boolean {
  return a.length === b.length && sameWire(a.map(canonical), b.map(canonical));
}

function canonical(e: Expression): Expression {
  switch (e.type) {
    case 'counter':
      return { type: 'counter' };
    case 'lookup': {
      const { setId: _id, invert, ...rest } = e;
      return invert ? { ...rest, invert } : rest;
    }
    case 'bitwise': {
      const { op, ...rest } = e;
      return op === undefined || op === 'mask-xor' ? rest : e;
    }
    default:
      return e;
  }
}

/**
 * Same attributes and values, in any order; `pad` attributes (alignment
 * filler some architectures add) do not count.
 */
export function sameWire(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return (
      a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
    );
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameWire(x, b[i]));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const keys = (o: object) =>
      Object.keys(o)
        .filter((k) => k !== 'pad' && (o as any)[k] !== undefined)
        .sort();
    const ka = keys(a);
    const kb = keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameWire((a as any)[k], (b as any)[k]));
  }
  return a === b;
}

export type {
  BitwiseExpression,
  CmpExpression,
  CounterExpression,
  CtExpression,
  ImmediateExpression,
  LookupExpression,
  MasqExpression,
  MetaExpression,
  PayloadExpression,
  RawExpression,
};
export { BITWISE_OPS, type BitwiseOp } from './bitwise.js';
export { CMP_OPS, type CmpOp } from './cmp.js';
export { CT_KEYS, type CtKey } from './ct.js';
export { formatWords, type Verdict, type VerdictName } from './data.js';
export type { MasqFlag } from './masq.js';
export { META_KEYS, type MetaKey } from './meta.js';
export { PAYLOAD_BASES, type PayloadBase } from './payload.js';
