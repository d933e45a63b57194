/** cmp: compares a register with a value; false ends the rule. */
import { attr } from '../../netlink/schema.js';
import { uapiSet } from '../../netlink/uapi.js';
import { enumeration, type ExpressionCodec, hasOnly, isU32, register } from './codec.js';
import { dataAttrs, formatWords, valueFromWire, valueToWire } from './data.js';

export const CMP_OPS = { eq: 0, neq: 1, lt: 2, lte: 3, gt: 4, gte: 5 } as const;
export type CmpOp = keyof typeof CMP_OPS;
const ops = enumeration<CmpOp>(CMP_OPS);

export interface CmpExpression {
  type: 'cmp';
  sreg: number;
  op: CmpOp | number;
  /** As the register holds it (network order for packet fields, host order for most meta keys). */
  data: Uint8Array;
}

export const cmpAttrs = uapiSet('cmp', {
  sreg: ['NFTA_CMP_SREG', attr.be32(1)],
  op: ['NFTA_CMP_OP', attr.be32(2)],
  data: ['NFTA_CMP_DATA', attr.nest(3, dataAttrs)],
});

export const cmp: ExpressionCodec<CmpExpression, typeof cmpAttrs> = {
  name: 'cmp',
  attrs: cmpAttrs,
  toWire(e, field) {
    return {
      sreg: register(e.sreg, `${field}.sreg`),
      op: ops.toNumber(e.op, `${field}.op`),
      data: valueToWire(e.data, `${field}.data`),
    };
  },
  fromWire(w) {
    const data = valueFromWire(w.data);
    if (!hasOnly(w, ['sreg', 'op', 'data']) || !isU32(w.sreg) || !isU32(w.op) || !data) return undefined;
    return { type: 'cmp', sreg: w.sreg, op: ops.toName(w.op), data };
  },
  format: (e) => `cmp ${e.op} reg ${e.sreg} ${formatWords(e.data)}`,
};
