/**
 * bitwise: dreg = (sreg & mask) ^ xor, or a shift. nft uses it for prefixes that do not end on a byte and for
 * flag tests (ct state).
 */
import { checkInt } from '../../netlink/codec.js';
import { ValidationError } from '../../netlink/errors.js';
import { attr, type RequestOf } from '../../netlink/schema.js';
import { uapiSet } from '../../netlink/uapi.js';
import { enumeration, type ExpressionCodec, hasOnly, isU32, register } from './codec.js';
import { dataAttrs, formatWords, valueFromWire, valueToWire } from './data.js';

export const BITWISE_OPS = { 'mask-xor': 0, lshift: 1, rshift: 2 } as const;
export type BitwiseOp = keyof typeof BITWISE_OPS;
const ops = enumeration<BitwiseOp>(BITWISE_OPS);

/**
 * `op` is omitted for mask-and-xor as nft writes it (the kernel's default);
 * shifts carry the shift amount in `data`.
 */
export interface BitwiseExpression {
  type: 'bitwise';
  sreg: number;
  dreg: number;
  len: number;
  op?: BitwiseOp | number;
  mask?: Uint8Array;
  xor?: Uint8Array;
  data?: Uint8Array;
}

export const bitwiseAttrs = uapiSet('bitwise', {
  sreg: ['NFTA_BITWISE_SREG', attr.be32(1)],
  dreg: ['NFTA_BITWISE_DREG', attr.be32(2)],
  len: ['NFTA_BITWISE_LEN', attr.be32(3)],
  mask: ['NFTA_BITWISE_MASK', attr.nest(4, dataAttrs)],
  xor: ['NFTA_BITWISE_XOR', attr.nest(5, dataAttrs)],
  op: ['NFTA_BITWISE_OP', attr.be32(6)],
  data: ['NFTA_BITWISE_DATA', attr.nest(7, dataAttrs)],
});

export const bitwise: ExpressionCodec<BitwiseExpression, typeof bitwiseAttrs> = {
  name: 'bitwise',
  attrs: bitwiseAttrs,
  toWire(e, field) {
    const len = checkInt(e.len, 1, 64, `${field}.len`);
    const out: RequestOf<typeof bitwiseAttrs> = {
      sreg: register(e.sreg, `${field}.sreg`),
      dreg: register(e.dreg, `${field}.dreg`),
      len,
    };
    for (const key of ['mask', 'xor'] as const) {
      const value = e[key];
      if (value === undefined) continue;
      if (value.length !== len)
        throw new ValidationError(`${field}.${key}`, `has ${value.length} bytes, len says ${len}`);
      out[key] = valueToWire(value, `${field}.${key}`);
    }
    if (e.op !== undefined) out.op = ops.toNumber(e.op, `${field}.op`);
    if (e.data !== undefined) out.data = valueToWire(e.data, `${field}.data`);
    return out;
  },
  fromWire(w) {
    if (
      !hasOnly(w, ['sreg', 'dreg', 'len', 'mask', 'xor', 'op', 'data']) ||
      !isU32(w.sreg) ||
      !isU32(w.dreg) ||
      !isU32(w.len)
    )
      return undefined;
    const e: BitwiseExpression = { type: 'bitwise', sreg: w.sreg, dreg: w.dreg, len: w.len };
    for (const key of ['mask', 'xor', 'data'] as const) {
      if (w[key] === undefined) continue;
      const value = valueFromWire(w[key]);
      if (!value) return undefined;
      e[key] = value;
    }
    if (w.op !== undefined) {
      if (!isU32(w.op)) return undefined;
      e.op = ops.toName(w.op);
    }
    return e;
  },
  format(e) {
    if (e.op === 'lshift' || e.op === 'rshift') {
      return (
        `bitwise reg ${e.dreg} = ( reg ${e.sreg} ${e.op === 'lshift' ? '<<' : '>>'} ` +
        `${formatWords(e.data ?? new Uint8Array(4))} )`
      );
    }
    return (
      `bitwise reg ${e.dreg} = ( reg ${e.sreg} & ` +
      `${formatWords(e.mask ?? new Uint8Array(e.len))} ) ^ ${formatWords(e.xor ?? new Uint8Array(e.len))}`
    );
  },
};
