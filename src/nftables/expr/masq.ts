/**
 * masq: source NAT to the address of the outgoing interface. Optional
 * flags (random, fully-random, persistent) and a port range taken from two
 * registers (loaded by immediate expressions before it).
 */
import { ValidationError } from '../../netlink/errors.js';
import { attr, type RequestOf } from '../../netlink/schema.js';
import {
  NF_NAT_RANGE_PERSISTENT,
  NF_NAT_RANGE_PROTO_RANDOM,
  NF_NAT_RANGE_PROTO_RANDOM_FULLY,
  NF_NAT_RANGE_PROTO_SPECIFIED,
} from '../constants.js';
import { uapiSet } from '../../netlink/uapi.js';
import { type ExpressionCodec, hasOnly, isU32, register } from './codec.js';

export type MasqFlag = 'random' | 'fully-random' | 'persistent';
const FLAG_BITS: Record<MasqFlag, number> = {
  random: NF_NAT_RANGE_PROTO_RANDOM,
  'fully-random': NF_NAT_RANGE_PROTO_RANDOM_FULLY,
  persistent: NF_NAT_RANGE_PERSISTENT,
};
const ORDER: MasqFlag[] = ['random', 'fully-random', 'persistent'];

export interface MasqExpression {
  type: 'masq';
  flags?: MasqFlag[];
  /** Registers holding the first and last source port (big-endian 16-bit); the kernel then sets PROTO_SPECIFIED. */
  regProtoMin?: number;
  regProtoMax?: number;
}

export const masqAttrs = uapiSet('masq', {
  flags: ['NFTA_MASQ_FLAGS', attr.be32(1)],
  reg_proto_min: ['NFTA_MASQ_REG_PROTO_MIN', attr.be32(2)],
  reg_proto_max: ['NFTA_MASQ_REG_PROTO_MAX', attr.be32(3)],
});

export const masq: ExpressionCodec<MasqExpression, typeof masqAttrs> = {
  name: 'masq',
  attrs: masqAttrs,
  toWire(e, field) {
    let flags = 0;
    for (const [i, flag] of (e.flags ?? []).entries()) {
      if (!Object.hasOwn(FLAG_BITS, flag))
        throw new ValidationError(`${field}.flags[${i}]`, `not a masquerade flag (${ORDER.join(', ')})`, flag);
      flags |= FLAG_BITS[flag];
    }
    if ((e.regProtoMin === undefined) !== (e.regProtoMax === undefined))
      throw new ValidationError(field, 'a port range needs both regProtoMin and regProtoMax');
    if (e.regProtoMin !== undefined) flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
    const out: RequestOf<typeof masqAttrs> = {};
    if (flags) out.flags = flags;
    if (e.regProtoMin !== undefined) {
      out.reg_proto_min = register(e.regProtoMin, `${field}.regProtoMin`);
      out.reg_proto_max = register(e.regProtoMax, `${field}.regProtoMax`);
    }
    return out;
  },
  fromWire(w) {
    if (!hasOnly(w, ['flags', 'reg_proto_min', 'reg_proto_max'])) return undefined;
    const e: MasqExpression = { type: 'masq' };
    const bits = isU32(w.flags) ? w.flags : 0;
    const flags = ORDER.filter((flag) => bits & FLAG_BITS[flag]);
    if (flags.length) e.flags = flags;
    if (isU32(w.reg_proto_min)) e.regProtoMin = w.reg_proto_min;
    if (isU32(w.reg_proto_max)) e.regProtoMax = w.reg_proto_max;
    // Anything else (another bit, PROTO_SPECIFIED without registers) stays raw: the round-trip check catches it.
    return e;
  },
  format(e) {
    const parts = ['masq'];
    if (e.regProtoMin !== undefined) parts.push(`proto_min reg ${e.regProtoMin} proto_max reg ${e.regProtoMax}`);
    const wire = masq.toWire(e, 'masq');
    if (wire.flags) parts.push(`flags 0x${(wire.flags as number).toString(16)}`);
    return parts.join(' ');
  },
};
