/** ct: loads conntrack data (state, mark, ...) into a register, or sets it from one. */
import { ValidationError } from '../../netlink/errors.js';
import { attr, type RequestOf } from '../../netlink/schema.js';
import { uapiSet } from '../../netlink/uapi.js';
import { enumeration, type ExpressionCodec, hasOnly, isU32, register } from './codec.js';

/** enum nft_ct_keys, by the names nft prints. */
export const CT_KEYS = {
  state: 0,
  direction: 1,
  status: 2,
  mark: 3,
  secmark: 4,
  expiration: 5,
  helper: 6,
  l3protocol: 7,
  src: 8,
  dst: 9,
  protocol: 10,
  proto_src: 11,
  proto_dst: 12,
  label: 13,
  packets: 14,
  bytes: 15,
  avgpkt: 16,
  zone: 17,
  eventmask: 18,
  src_ip: 19,
  dst_ip: 20,
  src_ip6: 21,
  dst_ip6: 22,
  id: 23,
} as const;
export type CtKey = keyof typeof CT_KEYS;
const keys = enumeration<CtKey>(CT_KEYS);

export interface CtExpression {
  type: 'ct';
  key: CtKey | number;
  dreg?: number;
  sreg?: number;
  /** For the keys that have one direction per tuple (addresses, ports). */
  direction?: 'original' | 'reply';
}

/** In the order our requests were recorded in (nft's, for expressions): requests follow declaration order. */
export const ctAttrs = uapiSet('ct', {
  key: ['NFTA_CT_KEY', attr.be32(2)],
  dreg: ['NFTA_CT_DREG', attr.be32(1)],
  direction: ['NFTA_CT_DIRECTION', attr.u8(3)],
  sreg: ['NFTA_CT_SREG', attr.be32(4)],
});

const DIRECTIONS = ['original', 'reply'] as const;

export const ct: ExpressionCodec<CtExpression, typeof ctAttrs> = {
  name: 'ct',
  attrs: ctAttrs,
  toWire(e, field) {
    if ((e.dreg === undefined) === (e.sreg === undefined))
      throw new ValidationError(field, 'a ct expression has either dreg (load) or sreg (set)');
    const out: RequestOf<typeof ctAttrs> = { key: keys.toNumber(e.key, `${field}.key`) };
    if (e.dreg !== undefined) out.dreg = register(e.dreg, `${field}.dreg`);
    if (e.direction !== undefined) {
      const direction = DIRECTIONS.indexOf(e.direction);
      if (direction < 0) throw new ValidationError(`${field}.direction`, 'original or reply', e.direction);
      out.direction = direction;
    }
    if (e.sreg !== undefined) out.sreg = register(e.sreg, `${field}.sreg`);
    return out;
  },
  fromWire(w) {
    if (
      !hasOnly(w, ['dreg', 'key', 'direction', 'sreg']) ||
      !isU32(w.key) ||
      (w.dreg === undefined) === (w.sreg === undefined)
    )
      return undefined;
    const e: CtExpression = { type: 'ct', key: keys.toName(w.key) };
    if (isU32(w.dreg)) e.dreg = w.dreg;
    if (isU32(w.sreg)) e.sreg = w.sreg;
    if (w.direction !== undefined) {
      const direction = DIRECTIONS[w.direction as number];
      if (!direction) return undefined;
      e.direction = direction;
    }
    return e;
  },
  format(e) {
    const dir = e.direction ? ` , dir ${e.direction}` : '';
    return e.dreg !== undefined ? `ct load ${e.key} => reg ${e.dreg}${dir}` : `ct set ${e.key} with reg ${e.sreg}`;
  },
};
