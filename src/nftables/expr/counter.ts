/** counter: packets and bytes that reached it. nft creates it empty (zeroes); listings carry the counts. */
import { attr, type RequestOf } from '../../netlink/schema.js';
import { uapiSet } from '../../netlink/uapi.js';
import { type ExpressionCodec, hasOnly } from './codec.js';

export interface CounterExpression {
  type: 'counter';
  bytes?: bigint;
  packets?: bigint;
}

export const counterAttrs = uapiSet('counter', {
  bytes: ['NFTA_COUNTER_BYTES', attr.be64(1)],
  packets: ['NFTA_COUNTER_PACKETS', attr.be64(2)],
  /** Alignment filler some architectures put before a 64-bit value. */
  pad: ['NFTA_COUNTER_PAD', attr.binary(3)],
});

export const counter: ExpressionCodec<CounterExpression, typeof counterAttrs> = {
  name: 'counter',
  attrs: counterAttrs,
  toWire(e) {
    const out: RequestOf<typeof counterAttrs> = {};
    if (e.bytes !== undefined) out.bytes = e.bytes;
    if (e.packets !== undefined) out.packets = e.packets;
    return out;
  },
  fromWire(w) {
    if (!hasOnly(w, ['bytes', 'packets', 'pad'])) return undefined;
    const e: CounterExpression = { type: 'counter' };
    if (typeof w.bytes === 'bigint') e.bytes = w.bytes;
    if (typeof w.packets === 'bigint') e.packets = w.packets;
    return e;
  },
  format: (e) => `counter pkts ${e.packets ?? 0n} bytes ${e.bytes ?? 0n}`,
};
