/** payload: loads bytes of a packet header into a register (or writes them back, with checksum fixes). */
import { checkInt } from '../../netlink/codec.js';
import { ValidationError } from '../../netlink/errors.js';
import { attr, type RequestOf } from '../../netlink/schema.js';
import { uapiSet } from '../../netlink/uapi.js';
import { enumeration, type ExpressionCodec, hasOnly, isU32, register } from './codec.js';

/** enum nft_payload_bases, by the words nft prints ("network header"). */
export const PAYLOAD_BASES = { link: 0, network: 1, transport: 2, inner: 3 } as const;
export type PayloadBase = keyof typeof PAYLOAD_BASES;
const bases = enumeration<PayloadBase>(PAYLOAD_BASES);

/** A load has `dreg`; a write has `sreg` and optionally the checksum to fix. */
export interface PayloadExpression {
  type: 'payload';
  base: PayloadBase | number;
  offset: number;
  len: number;
  dreg?: number;
  sreg?: number;
  csumType?: number;
  csumOffset?: number;
  csumFlags?: number;
}

/** In the order our requests were recorded in (nft's, for expressions): requests follow declaration order. */
export const payloadAttrs = uapiSet('payload', {
  sreg: ['NFTA_PAYLOAD_SREG', attr.be32(5)],
  dreg: ['NFTA_PAYLOAD_DREG', attr.be32(1)],
  base: ['NFTA_PAYLOAD_BASE', attr.be32(2)],
  offset: ['NFTA_PAYLOAD_OFFSET', attr.be32(3)],
  len: ['NFTA_PAYLOAD_LEN', attr.be32(4)],
  csum_type: ['NFTA_PAYLOAD_CSUM_TYPE', attr.be32(6)],
  csum_offset: ['NFTA_PAYLOAD_CSUM_OFFSET', attr.be32(7)],
  csum_flags: ['NFTA_PAYLOAD_CSUM_FLAGS', attr.be32(8)],
});

const OPTIONAL: [keyof PayloadExpression, 'csum_type' | 'csum_offset' | 'csum_flags'][] = [
  ['csumType', 'csum_type'],
  ['csumOffset', 'csum_offset'],
  ['csumFlags', 'csum_flags'],
];

export const payload: ExpressionCodec<PayloadExpression, typeof payloadAttrs> = {
  name: 'payload',
  attrs: payloadAttrs,
  toWire(e, field) {
    if ((e.dreg === undefined) === (e.sreg === undefined))
      throw new ValidationError(field, 'a payload expression has either dreg (load) or sreg (write)');
    const out: RequestOf<typeof payloadAttrs> = {};
    if (e.sreg !== undefined) out.sreg = register(e.sreg, `${field}.sreg`);
    if (e.dreg !== undefined) out.dreg = register(e.dreg, `${field}.dreg`);
    out.base = bases.toNumber(e.base, `${field}.base`);
    out.offset = checkInt(e.offset, 0, 0xffff, `${field}.offset`);
    out.len = checkInt(e.len, 1, 64, `${field}.len`);
    for (const [key, wire] of OPTIONAL)
      if (e[key] !== undefined) out[wire] = checkInt(e[key], 0, 0xffffffff, `${field}.${key}`);
    return out;
  },
  fromWire(w) {
    const all = ['dreg', 'base', 'offset', 'len', 'sreg', 'csum_type', 'csum_offset', 'csum_flags'];
    if (
      !hasOnly(w, all) ||
      !isU32(w.base) ||
      !isU32(w.offset) ||
      !isU32(w.len) ||
      (w.dreg === undefined) === (w.sreg === undefined)
    )
      return undefined;
    const e: PayloadExpression = { type: 'payload', base: bases.toName(w.base), offset: w.offset, len: w.len };
    if (isU32(w.dreg)) e.dreg = w.dreg;
    if (isU32(w.sreg)) e.sreg = w.sreg;
    for (const [key, wire] of OPTIONAL) if (isU32(w[wire])) (e as any)[key] = w[wire];
    return e;
  },
  format(e) {
    const at = `${e.len}b @ ${typeof e.base === 'number' ? `base ${e.base}` : `${e.base} header`} + ${e.offset}`;
    if (e.dreg !== undefined) return `payload load ${at} => reg ${e.dreg}`;
    return (
      `payload write reg ${e.sreg} => ${at} ` +
      `csum_type ${e.csumType ?? 0} csum_off ${e.csumOffset ?? 0} csum_flags 0x${(e.csumFlags ?? 0).toString(16)}`
    );
  },
};
