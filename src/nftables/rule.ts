/**
 * Rules: a list of expressions in a chain, identified by a handle the kernel
 * assigns. Position: appended by default, or placed after (or, with
 * `insert`, before) the rule whose handle is given.
 */
import { checkInt, type Decoded } from '../netlink/codec.js';
import { ValidationError } from '../netlink/errors.js';
import { encodeMessage, messageSchema, type MessageOf, type RequestMessageOf } from '../netlink/message.js';
import { attr } from '../netlink/schema.js';
import { NFT_MSG_DELRULE, NFT_MSG_GETRULE, NFT_MSG_NEWRULE } from './constants.js';
import {
  type Expression,
  expressionListAttrs,
  expressionsFromWire,
  expressionsToWire,
  formatExpression,
} from './expr/index.js';
import { checkName } from './names.js';
import { type Family, familyName, familyNumber, header, NFGENMSG_FIELDS, nfgenmsg, nftType } from './nfgenmsg.js';
import { uapiSet } from '../netlink/uapi.js';
import { hasUnknown, identity, refuseRaw } from './unmodeled.js';
import { userdataFromWire, userdataToWire } from './userdata.js';

export interface Rule {
  family: Family;
  table: string;
  chain: string;
  expressions: Expression[];
  comment?: string;
  userdata?: Uint8Array;
  /** Assigned by the kernel: listings, and echoed creations. */
  handle?: bigint;
  /** Creation: the handle of the rule to place this one after (before, with `insert`). */
  position?: bigint;
  /** Creation: the rule id (NFTA_RULE_ID) of a rule of the same batch to place this one after. */
  positionId?: number;
  /** Identifies the rule within a batch. */
  id?: number;
  /** The chain's NFTA_CHAIN_ID when the chain is created in the same batch. */
  chainId?: number;
  /** iptables-nft's compatibility data, kept as listed. */
  compat?: { proto?: number; flags?: number };
  /**
   * Listings only, and only when the fields above cannot say everything the
   * kernel sent (an unknown attribute or family; an expression vxnet does not
   * model is not that: it is a raw expression): the decoded message, whose
   * encoding is the bytes it came from. Not written back (see unmodeled.ts).
   */
  raw?: Decoded;
}

const compatAttrs = uapiSet('rule compat', {
  proto: ['NFTA_RULE_COMPAT_PROTO', attr.be32(1)],
  flags: ['NFTA_RULE_COMPAT_FLAGS', attr.be32(2)],
});

/** In the order our requests were recorded in (nft's, for expressions): requests follow declaration order. */
export const ruleAttrs = uapiSet(
  'rule',
  {
    table: ['NFTA_RULE_TABLE', attr.string(1)],
    chain: ['NFTA_RULE_CHAIN', attr.string(2)],
    handle: ['NFTA_RULE_HANDLE', attr.be64(3)],
    chain_id: ['NFTA_RULE_CHAIN_ID', attr.be32(11)],
    expressions: ['NFTA_RULE_EXPRESSIONS', attr.nest(4, expressionListAttrs)],
    compat: ['NFTA_RULE_COMPAT', attr.nest(5, compatAttrs)],
    position: ['NFTA_RULE_POSITION', attr.be64(6)],
    userdata: ['NFTA_RULE_USERDATA', attr.binary(7)],
    pad: ['NFTA_RULE_PAD', attr.binary(8)],
    id: ['NFTA_RULE_ID', attr.be32(9)],
    position_id: ['NFTA_RULE_POSITION_ID', attr.be32(10)],
  },
  NFGENMSG_FIELDS,
);

export const ruleSchema = messageSchema('rule', nfgenmsg, ruleAttrs);
/** A rule message as a request gives it. */
export type RuleWire = RequestMessageOf<typeof ruleSchema>;

/** The wire object of a rule to create (a handle, if given, makes it a replacement). */
export function ruleToWire(r: Rule, field = 'rule'): RuleWire {
  refuseRaw(r, field, 'rule');
  const out: RuleWire = {
    ...header(familyNumber(r.family, `${field}.family`)),
    table: checkName(r.table, `${field}.table`),
    chain: checkName(r.chain, `${field}.chain`),
  };
  if (r.handle !== undefined) out.handle = checkHandle(r.handle, `${field}.handle`);
  if (r.chainId !== undefined) out.chain_id = checkInt(r.chainId, 1, 0xffffffff, `${field}.chainId`);
  out.expressions = expressionsToWire(r.expressions, `${field}.expressions`);
  if (r.compat !== undefined) out.compat = { ...r.compat };
  if (r.position !== undefined) out.position = checkHandle(r.position, `${field}.position`);
  const userdata = userdataToWire(r, field);
  if (userdata) out.userdata = userdata;
  if (r.id !== undefined) out.id = checkInt(r.id, 1, 0xffffffff, `${field}.id`);
  if (r.positionId !== undefined) out.position_id = checkInt(r.positionId, 1, 0xffffffff, `${field}.positionId`);
  return out;
}

export function ruleFromWire(w: MessageOf<typeof ruleSchema>): Rule {
  const family = familyName(w.family as number);
  const r: Rule = {
    family: family as Family,
    table: identity(w, 'table', 'rule', 'NFTA_RULE_TABLE'),
    chain: identity(w, 'chain', 'rule', 'NFTA_RULE_CHAIN'),
    expressions: expressionsFromWire(w.expressions),
  };
  if (typeof w.handle === 'bigint') r.handle = w.handle;
  Object.assign(r, userdataFromWire(w.userdata));
  if (w.compat) {
    const { unknown: _, ...compat } = w.compat as { proto?: number; flags?: number; unknown?: unknown };
    r.compat = compat;
  }
  if (typeof w.id === 'number') r.id = w.id;
  if (typeof w.position_id === 'number') r.positionId = w.position_id;
  if (typeof w.chain_id === 'number') r.chainId = w.chain_id;
  // Listings carry NFTA_RULE_POSITION as the handle of the rule before; it is not
  // kept: written back, it would place the rule relative to a rule that may be gone.
  // Each expression's data is judged by expressionFromWire (raw expressions); the list itself is looked at here.
  const expressions = w.expressions;
  if (typeof family === 'number' || hasUnknown(w, ['expressions']) || (expressions?.unknown?.length ?? 0) > 0)
    r.raw = w;
  return r;
}

function checkHandle(value: unknown, field: string): bigint {
  if (typeof value !== 'bigint' || value <= 0n || value > 0xffffffffffffffffn)
    throw new ValidationError(field, 'a handle is a positive bigint', value);
  return value;
}

export function ruleLabel(r: {
  family: Family | number;
  table: string;
  chain: string;
  handle?: bigint;
  comment?: string;
}): string {
  const what = r.handle !== undefined ? ` handle ${r.handle}` : r.comment !== undefined ? ` "${r.comment}"` : '';
  return `${r.family} ${r.table} ${r.chain}${what}`;
}

/**
 * NLM_F_APPEND places the rule after `position` (or at the end); without
 * it, before `position` (or at the start). NLM_F_REPLACE with a handle
 * replaces that rule in place.
 */
export function newRuleMessage(r: Rule, flags: number): Buffer {
  return encodeMessage(nftType(NFT_MSG_NEWRULE), flags, ruleSchema, ruleToWire(r));
}

export function deleteRuleMessage(family: Family, table: string, chain: string, handle: bigint): Buffer {
  return encodeMessage(nftType(NFT_MSG_DELRULE), 0, ruleSchema, {
    ...header(familyNumber(family)),
    table: checkName(table, 'rule.table'),
    chain: checkName(chain, 'rule.chain'),
    handle: checkHandle(handle, 'rule.handle'),
  });
}

/** A get by handle, or a dump filtered by table and chain. */
export function getRuleMessage(family?: Family, table?: string, chain?: string, handle?: bigint): Buffer {
  const w: RuleWire = { ...header(familyNumber(family)) };
  if (table !== undefined) w.table = checkName(table, 'rule.table');
  if (chain !== undefined) w.chain = checkName(chain, 'rule.chain');
  if (handle !== undefined) w.handle = checkHandle(handle, 'rule.handle');
  return encodeMessage(nftType(NFT_MSG_GETRULE), 0, ruleSchema, w);
}

/** The rule as `nft --debug=netlink` prints it: a heading, then one bracketed line per expression. */
export function formatRule(r: Rule): string {
  return [`${r.family} ${r.table} ${r.chain}`, ...r.expressions.map((e) => `  ${formatExpression(e)}`)].join('\n');
}
