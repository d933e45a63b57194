/** meta: loads packet metadata (interface names, l4 protocol, mark, ...) into a register, or sets it from one. */
import { ValidationError } from '../../netlink/errors.js';
import { attr, type RequestOf } from '../../netlink/schema.js';
import { uapiSet } from '../../netlink/uapi.js';
import { enumeration, type ExpressionCodec, hasOnly, isU32, register } from './codec.js';

/** enum nft_meta_keys, by the names nft prints. */
export const META_KEYS = {
  len: 0,
  protocol: 1,
  priority: 2,
  mark: 3,
  iif: 4,
  oif: 5,
  iifname: 6,
  oifname: 7,
  iiftype: 8,
  oiftype: 9,
  skuid: 10,
  skgid: 11,
  nftrace: 12,
  rtclassid: 13,
  secmark: 14,
  nfproto: 15,
  l4proto: 16,
  bri_iifname: 17,
  bri_oifname: 18,
  pkttype: 19,
  cpu: 20,
  iifgroup: 21,
  oifgroup: 22,
  cgroup: 23,
  prandom: 24,
  secpath: 25,
  iifkind: 26,
  oifkind: 27,
  bri_iifpvid: 28,
  bri_iifvproto: 29,
  time: 30,
  day: 31,
  hour: 32,
  sdif: 33,
  sdifname: 34,
} as const;
export type MetaKey = keyof typeof META_KEYS;
const keys = enumeration<MetaKey>(META_KEYS);

/** Either `dreg` (load) or `sreg` (set). */
export interface MetaExpression {
  type: 'meta';
  key: MetaKey | number;
  dreg?: number;
  sreg?: number;
}

/** In the order our requests were recorded in (nft's, for expressions): requests follow declaration order. */
export const metaAttrs = uapiSet('meta', {
  key: ['NFTA_META_KEY', attr.be32(2)],
  dreg: ['NFTA_META_DREG', attr.be32(1)],
  sreg: ['NFTA_META_SREG', attr.be32(3)],
});

export const meta: ExpressionCodec<MetaExpression, typeof metaAttrs> = {
  name: 'meta',
  attrs: metaAttrs,
  toWire(e, field) {
    if ((e.dreg === undefined) === (e.sreg === undefined))
      throw new ValidationError(field, 'a meta expression has either dreg (load) or sreg (set)');
    const out: RequestOf<typeof metaAttrs> = { key: keys.toNumber(e.key, `${field}.key`) };
    if (e.dreg !== undefined) out.dreg = register(e.dreg, `${field}.dreg`);
    if (e.sreg !== undefined) out.sreg = register(e.sreg, `${field}.sreg`);
    return out;
  },
  fromWire(w) {
    if (!hasOnly(w, ['dreg', 'key', 'sreg']) || !isU32(w.key) || (w.dreg === undefined) === (w.sreg === undefined))
      return undefined;
    const e: MetaExpression = { type: 'meta', key: keys.toName(w.key) };
    if (isU32(w.dreg)) e.dreg = w.dreg;
    if (isU32(w.sreg)) e.sreg = w.sreg;
    return e;
  },
  format(e) {
    return e.dreg !== undefined ? `meta load ${e.key} => reg ${e.dreg}` : `meta set ${e.key} with reg ${e.sreg}`;
  },
};
