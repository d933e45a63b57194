/**
 * nft_data: what cmp compares against, what immediate loads and what
 * bitwise masks with. A value (bytes, in the order the register holds them)
 * or a verdict (a code, and a chain for jump and goto).
 */
import type { Decoded } from '../../netlink/codec.js';
import { ValidationError } from '../../netlink/errors.js';
import { attr, type DecodedOf, type RequestOf } from '../../netlink/schema.js';
import {
  NF_ACCEPT,
  NF_DROP,
  NF_QUEUE,
  NF_REPEAT,
  NF_STOLEN,
  NFT_BREAK,
  NFT_CONTINUE,
  NFT_DATA_VALUE_MAXLEN,
  NFT_GOTO,
  NFT_JUMP,
  NFT_RETURN,
} from '../constants.js';
import { uapiSet } from '../../netlink/uapi.js';

export const verdictAttrs = uapiSet('verdict', {
  /** Signed on the kernel's side (NFT_JUMP is -3): carried as its unsigned 32-bit pattern. */
  code: ['NFTA_VERDICT_CODE', attr.be32(1)],
  chain: ['NFTA_VERDICT_CHAIN', attr.string(2)],
  chain_id: ['NFTA_VERDICT_CHAIN_ID', attr.be32(3)],
});

export const dataAttrs = uapiSet('data', {
  value: ['NFTA_DATA_VALUE', attr.binary(1)],
  verdict: ['NFTA_DATA_VERDICT', attr.nest(2, verdictAttrs)],
});

export type VerdictName =
  | 'accept'
  | 'drop'
  | 'stolen'
  | 'queue'
  | 'repeat'
  | 'continue'
  | 'break'
  | 'jump'
  | 'goto'
  | 'return';

const VERDICT_CODES: Record<VerdictName, number> = {
  accept: NF_ACCEPT,
  drop: NF_DROP,
  stolen: NF_STOLEN,
  queue: NF_QUEUE,
  repeat: NF_REPEAT,
  continue: NFT_CONTINUE,
  break: NFT_BREAK,
  jump: NFT_JUMP,
  goto: NFT_GOTO,
  return: NFT_RETURN,
};
const VERDICT_NAMES = new Map<number, VerdictName>(
  Object.entries(VERDICT_CODES).map(([name, code]) => [code, name as VerdictName]),
);

/** A verdict: a name (or a code this code has no name for) and, for jump and goto, the target chain. */
export interface Verdict {
  verdict: VerdictName | number;
  /** Target of jump and goto, by name. */
  chain?: string;
  /** Target of jump and goto created in the same batch, by its NFTA_CHAIN_ID. */
  chainId?: number;
}

export function verdictToWire(v: Verdict, field: string): RequestOf<typeof verdictAttrs> {
  let code: number;
  if (typeof v.verdict === 'number') code = v.verdict;
  else if (Object.hasOwn(VERDICT_CODES, v.verdict)) code = VERDICT_CODES[v.verdict];
  else throw new ValidationError(field, `not a verdict (${Object.keys(VERDICT_CODES).join(', ')})`, v.verdict);
  const jumps = code === NFT_JUMP || code === NFT_GOTO;
  if (jumps && v.chain === undefined && v.chainId === undefined)
    throw new ValidationError(field, `${v.verdict} needs a target chain`);
  if (!jumps && (v.chain !== undefined || v.chainId !== undefined))
    throw new ValidationError(field, `only jump and goto take a chain`, v.verdict);
  const out: RequestOf<typeof verdictAttrs> = { code: code >>> 0 };
  if (v.chain !== undefined) out.chain = v.chain;
  if (v.chainId !== undefined) out.chain_id = v.chainId;
  return out;
}

export function verdictFromWire(w: DecodedOf<typeof verdictAttrs>): Verdict | undefined {
  if (typeof w.code !== 'number') return undefined;
  const code = w.code | 0;
  const out: Verdict = { verdict: VERDICT_NAMES.get(code) ?? code };
  if (typeof w.chain === 'string') out.chain = w.chain;
  if (typeof w.chain_id === 'number') out.chainId = w.chain_id;
  return out;
}

/** A register value as nft_data. */
export function valueToWire(bytes: Uint8Array, field: string): RequestOf<typeof dataAttrs> {
  if (!(bytes instanceof Uint8Array)) throw new ValidationError(field, 'expected bytes (Uint8Array)', bytes);
  if (bytes.length === 0 || bytes.length > NFT_DATA_VALUE_MAXLEN) {
    throw new ValidationError(field, `a value has 1 to ${NFT_DATA_VALUE_MAXLEN} bytes`, bytes.length);
  }
  return { value: bytes };
}

export function valueFromWire(w: unknown): Uint8Array | undefined {
  if (typeof w !== 'object' || w === null) return undefined;
  const keys = Object.keys(w);
  const value = (w as Decoded).value;
  return keys.length === 1 && value instanceof Uint8Array ? value : undefined;
}

/**
 * A value as `nft --debug=netlink` prints it: 32-bit words read in host
 * order (the register is a u32 array), the last one zero-filled.
 */
export function formatWords(bytes: Uint8Array): string {
  const words: string[] = [];
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (let i = 0; i < bytes.length; i += 4) {
    const b0 = bytes[i] ?? 0;
    const b1 = bytes[i + 1] ?? 0;
    const b2 = bytes[i + 2] ?? 0;
    const b3 = bytes[i + 3] ?? 0;
    const word = le ? b0 | (b1 << 8) | (b2 << 16) | (b3 << 24) : (b0 << 24) | (b1 << 16) | (b2 << 8) | b3;
    words.push(`0x${(word >>> 0).toString(16).padStart(8, '0')}`);
  }
  return words.join(' ');
}

export function formatVerdict(v: Verdict): string {
  const name = typeof v.verdict === 'number' ? `verdict ${v.verdict}` : v.verdict;
  return v.chain !== undefined ? `${name} -> ${v.chain}` : name;
}
