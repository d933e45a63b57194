/** lookup: is the register's value in a set? (Or, with dreg, what does the map say for it.) */
import { ValidationError } from '../../netlink/errors.js';
import { attr, type RequestOf } from '../../netlink/schema.js';
import { NFT_LOOKUP_F_INV } from '../constants.js';
import { uapiSet } from '../../netlink/uapi.js';
import { type ExpressionCodec, hasOnly, isU32, register } from './codec.js';

export interface LookupExpression {
  type: 'lookup';
  set: string;
  sreg: number;
  dreg?: number;
  /** The set's NFTA_SET_ID when it is created in the same batch (the kernel does not list it back). */
  setId?: number;
  /**
   * Matches when the value is NOT in the set (`!= @set`). Undefined writes
   * no flags attribute (as nft does); listings say false, because the kernel
   * always reports the flags.
   */
  invert?: boolean;
}

/** In the order our requests were recorded in (nft's, for expressions): requests follow declaration order. */
export const lookupAttrs = uapiSet('lookup', {
  sreg: ['NFTA_LOOKUP_SREG', attr.be32(2)],
  set: ['NFTA_LOOKUP_SET', attr.string(1)],
  set_id: ['NFTA_LOOKUP_SET_ID', attr.be32(4)],
  dreg: ['NFTA_LOOKUP_DREG', attr.be32(3)],
  flags: ['NFTA_LOOKUP_FLAGS', attr.be32(5)],
});

export const lookup: ExpressionCodec<LookupExpression, typeof lookupAttrs> = {
  name: 'lookup',
  attrs: lookupAttrs,
  toWire(e, field) {
    if (typeof e.set !== 'string' || e.set.length === 0) throw new ValidationError(`${field}.set`, 'a set name', e.set);
    const out: RequestOf<typeof lookupAttrs> = { sreg: register(e.sreg, `${field}.sreg`), set: e.set };
    if (e.setId !== undefined) out.set_id = e.setId;
    if (e.dreg !== undefined) out.dreg = register(e.dreg, `${field}.dreg`);
    if (e.invert !== undefined) out.flags = e.invert ? NFT_LOOKUP_F_INV : 0;
    return out;
  },
  fromWire(w) {
    if (!hasOnly(w, ['set', 'sreg', 'dreg', 'set_id', 'flags']) || typeof w.set !== 'string' || !isU32(w.sreg))
      return undefined;
    if (w.flags !== undefined && w.flags !== NFT_LOOKUP_F_INV && w.flags !== 0) return undefined;
    const e: LookupExpression = { type: 'lookup', set: w.set, sreg: w.sreg };
    if (isU32(w.dreg)) e.dreg = w.dreg;
    if (isU32(w.set_id)) e.setId = w.set_id;
    if (w.flags !== undefined) e.invert = w.flags === NFT_LOOKUP_F_INV;
    return e;
  },
  format(e) {
    return `lookup reg ${e.sreg} set ${e.set}${e.dreg !== undefined ? ` dreg ${e.dreg}` : ''}${e.invert ? ' 0x1' : ''}`;
  },
};
