/** immediate: loads a constant into a register; into register 0 it is the rule's verdict (accept, drop, jump ...). */
import { ValidationError } from '../../netlink/errors.js';
import { attr } from '../../netlink/schema.js';
import { NFT_REG_VERDICT } from '../constants.js';
import { uapiSet } from '../../netlink/uapi.js';
import { type ExpressionCodec, hasOnly, isU32, register } from './codec.js';
import {
  dataAttrs,
  formatVerdict,
  formatWords,
  valueFromWire,
  valueToWire,
  type Verdict,
  verdictFromWire,
  verdictToWire,
} from './data.js';

/** Register 0 takes a verdict; registers 1-23 take a value. */
export type ImmediateExpression =
  | ({ type: 'immediate'; dreg: 0 } & Verdict)
  | { type: 'immediate'; dreg: number; data: Uint8Array };

export const immediateAttrs = uapiSet('immediate', {
  dreg: ['NFTA_IMMEDIATE_DREG', attr.be32(1)],
  data: ['NFTA_IMMEDIATE_DATA', attr.nest(2, dataAttrs)],
});

export const immediate: ExpressionCodec<ImmediateExpression, typeof immediateAttrs> = {
  name: 'immediate',
  attrs: immediateAttrs,
  toWire(e, field) {
    const dreg = register(e.dreg, `${field}.dreg`);
    if (dreg === NFT_REG_VERDICT) {
      if (!('verdict' in e)) throw new ValidationError(field, 'register 0 takes a verdict');
      return { dreg, data: { verdict: verdictToWire(e, `${field}.verdict`) } };
    }
    if (!('data' in e)) throw new ValidationError(field, `register ${dreg} takes data, not a verdict`);
    return { dreg, data: valueToWire(e.data, `${field}.data`) };
  },
  fromWire(w) {
    if (!hasOnly(w, ['dreg', 'data']) || !isU32(w.dreg) || typeof w.data !== 'object' || w.data === null)
      return undefined;
    const data = w.data;
    if (w.dreg === NFT_REG_VERDICT) {
      if (Object.keys(data).length !== 1 || typeof data.verdict !== 'object' || data.verdict === null) return undefined;
      const verdict = verdictFromWire(data.verdict);
      return verdict && hasOnly(data.verdict, ['code', 'chain', 'chain_id'])
        ? { type: 'immediate', dreg: NFT_REG_VERDICT, ...verdict }
        : undefined;
    }
    const value = valueFromWire(data);
    return value ? { type: 'immediate', dreg: w.dreg, data: value } : undefined;
  },
  format: (e) => `immediate reg ${e.dreg} ${'verdict' in e ? formatVerdict(e) : formatWords(e.data)}`,
};
