/**
 * Chains: base chains are attached to a hook (type, hook, priority, policy);
 * regular chains are reached by jump and goto.
 */
import { checkInt, type Decoded } from '../netlink/codec.js';
import { ValidationError } from '../netlink/errors.js';
import { encodeMessage, messageSchema, type MessageOf, type RequestMessageOf } from '../netlink/message.js';
import { attr } from '../netlink/schema.js';
import {
  NF_ACCEPT,
  NF_ARP_FORWARD,
  NF_ARP_IN,
  NF_ARP_OUT,
  NF_DROP,
  NF_INET_FORWARD,
  NF_INET_INGRESS,
  NF_INET_LOCAL_IN,
  NF_INET_LOCAL_OUT,
  NF_INET_POST_ROUTING,
  NF_INET_PRE_ROUTING,
  NF_NETDEV_EGRESS,
  NF_NETDEV_INGRESS,
  NFT_CHAIN_BASE,
  NFT_CHAIN_BINDING,
  NFT_CHAIN_HW_OFFLOAD,
  NFT_MSG_DELCHAIN,
  NFT_MSG_GETCHAIN,
  NFT_MSG_NEWCHAIN,
} from './constants.js';
import { flagsFromNumber, flagsToNumber } from './flags.js';
import { checkInterfaceName, checkName } from './names.js';
import { type Family, familyName, familyNumber, header, NFGENMSG_FIELDS, nfgenmsg, nftType } from './nfgenmsg.js';
import { uapiSet } from '../netlink/uapi.js';
import { hasUnknown, identity, refuseRaw } from './unmodeled.js';
import { userdataFromWire, userdataToWire } from './userdata.js';

export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';
export type Policy = 'accept' | 'drop';

/** Hook numbers depend on the family: netdev and arp number theirs differently. */
const INET_HOOKS: Partial<Record<Hook, number>> = {
  prerouting: NF_INET_PRE_ROUTING,
  input: NF_INET_LOCAL_IN,
  forward: NF_INET_FORWARD,
  output: NF_INET_LOCAL_OUT,
  postrouting: NF_INET_POST_ROUTING,
  ingress: NF_INET_INGRESS,
};
const HOOKS: Record<Family, Partial<Record<Hook, number>>> = {
  ip: INET_HOOKS,
  ip6: INET_HOOKS,
  inet: INET_HOOKS,
  bridge: INET_HOOKS,
  arp: { input: NF_ARP_IN, output: NF_ARP_OUT, forward: NF_ARP_FORWARD },
  netdev: { ingress: NF_NETDEV_INGRESS, egress: NF_NETDEV_EGRESS },
};
const POLICIES: Record<Policy, number> = { accept: NF_ACCEPT, drop: NF_DROP };

/** nft's names for the standard priorities of the ip/ip6/inet families. */
export const PRIORITY = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 } as const;

export const CHAIN_FLAGS = {
  base: NFT_CHAIN_BASE,
  'hw-offload': NFT_CHAIN_HW_OFFLOAD,
  binding: NFT_CHAIN_BINDING,
} as const;
export type ChainFlag = keyof typeof CHAIN_FLAGS;

export interface Chain {
  family: Family;
  table: string;
  name: string;
  /** Base chains: "filter", "nat" or "route". */
  type?: string;
  hook?: Hook | number;
  priority?: number;
  /** netdev (and inet ingress) base chains: the device(s). */
  device?: string;
  devices?: string[];
  /** Base chains: what happens to a packet no rule decided on. */
  policy?: Policy | number;
  flags?: (ChainFlag | number)[];
  comment?: string;
  userdata?: Uint8Array;
  /** Identifies a chain created in the same batch (for jumps to it). */
  id?: number;
  /** Listings only. */
  handle?: bigint;
  use?: number;
  counters?: { bytes: bigint; packets: bigint };
  /**
   * Listings only, and only when the fields above cannot say everything the
   * kernel sent (an unknown attribute or family, a hook without its number or
   * priority, counters without both values): the decoded message, whose
   * encoding is the bytes it came from. Not written back (see unmodeled.ts).
   */
  raw?: Decoded;
}

const hookAttrs = uapiSet('hook', {
  hooknum: ['NFTA_HOOK_HOOKNUM', attr.be32(1)],
  /** Signed on the kernel's side (srcnat is 100, dstnat -100): carried as its unsigned pattern. */
  priority: ['NFTA_HOOK_PRIORITY', attr.be32(2)],
  dev: ['NFTA_HOOK_DEV', attr.string(3)],
  devs: [
    'NFTA_HOOK_DEVS',
    attr.nest(4, uapiSet('hook devices', { name: ['NFTA_DEVICE_NAME', attr.multi(attr.string(1))] })),
  ],
});

const countersAttrs = uapiSet('chain counters', {
  bytes: ['NFTA_COUNTER_BYTES', attr.be64(1)],
  packets: ['NFTA_COUNTER_PACKETS', attr.be64(2)],
  pad: ['NFTA_COUNTER_PAD', attr.binary(3)],
});

/** In the order our requests were recorded in (nft's, for expressions): requests follow declaration order. */
export const chainAttrs = uapiSet(
  'chain',
  {
    table: ['NFTA_CHAIN_TABLE', attr.string(1)],
    handle: ['NFTA_CHAIN_HANDLE', attr.be64(2)],
    name: ['NFTA_CHAIN_NAME', attr.string(3)],
    type: ['NFTA_CHAIN_TYPE', attr.string(7)],
    policy: ['NFTA_CHAIN_POLICY', attr.be32(5)],
    hook: ['NFTA_CHAIN_HOOK', attr.nest(4, hookAttrs)],
    use: ['NFTA_CHAIN_USE', attr.be32(6)],
    counters: ['NFTA_CHAIN_COUNTERS', attr.nest(8, countersAttrs)],
    pad: ['NFTA_CHAIN_PAD', attr.binary(9)],
    flags: ['NFTA_CHAIN_FLAGS', attr.be32(10)],
    id: ['NFTA_CHAIN_ID', attr.be32(11)],
    userdata: ['NFTA_CHAIN_USERDATA', attr.binary(12)],
  },
  NFGENMSG_FIELDS,
);

export const chainSchema = messageSchema('chain', nfgenmsg, chainAttrs);
/** A chain message as a request gives it. */
export type ChainWire = RequestMessageOf<typeof chainSchema>;

function hookNumber(family: Family, hook: Hook | number, field: string): number {
  if (typeof hook === 'number') return checkInt(hook, 0, 0xffffffff, field);
  const value = HOOKS[family]?.[hook];
  if (value === undefined)
    throw new ValidationError(
      field,
      `not a hook of the ${family} family (${Object.keys(HOOKS[family] ?? {}).join(', ')})`,
      hook,
    );
  return value;
}

function hookName(family: Family, value: number): Hook | number {
  const hooks = HOOKS[family] ?? {};
  for (const [name, n] of Object.entries(hooks)) if (n === value) return name as Hook;
  return value;
}

/** The wire object of a chain to create (or, for an existing base chain, to update: policy). */
export function chainToWire(c: Chain, field = 'chain'): ChainWire {
  refuseRaw(c, field, 'chain');
  const family = familyNumber(c.family, `${field}.family`);
  const out: ChainWire = {
    ...header(family),
    table: checkName(c.table, `${field}.table`),
    name: checkName(c.name, `${field}.name`),
  };
  const base = c.hook !== undefined || c.type !== undefined || c.priority !== undefined;
  if (base) {
    if (c.hook === undefined || c.type === undefined || c.priority === undefined) {
      throw new ValidationError(field, 'a base chain needs type, hook and priority');
    }
    out.type = checkName(c.type, `${field}.type`);
  } else if (c.policy !== undefined) {
    throw new ValidationError(`${field}.policy`, 'only base chains have a policy');
  }
  if (c.policy !== undefined) {
    out.policy =
      typeof c.policy === 'number' ? checkInt(c.policy, 0, 0xffffffff, `${field}.policy`) : POLICIES[c.policy];
    if (out.policy === undefined) throw new ValidationError(`${field}.policy`, 'accept or drop', c.policy);
  }
  if (c.hook !== undefined) {
    // a base chain (one without a hook was refused above)
    const hook: NonNullable<ChainWire['hook']> = {
      hooknum: hookNumber(c.family, c.hook, `${field}.hook`),
      priority: checkInt(c.priority, -0x80000000, 0x7fffffff, `${field}.priority`) >>> 0,
    };
    if (c.device !== undefined) hook.dev = checkInterfaceName(c.device, `${field}.device`);
    if (c.devices !== undefined)
      hook.devs = { name: c.devices.map((d, i) => checkInterfaceName(d, `${field}.devices[${i}]`)) };
    out.hook = hook;
  }
  if (c.flags !== undefined) out.flags = flagsToNumber(CHAIN_FLAGS, c.flags, `${field}.flags`);
  if (c.id !== undefined) out.id = checkInt(c.id, 1, 0xffffffff, `${field}.id`);
  const userdata = userdataToWire(c, field);
  if (userdata) out.userdata = userdata;
  return out;
}

export function chainFromWire(w: MessageOf<typeof chainSchema>): Chain {
  const family = familyName(w.family as number);
  const c: Chain = {
    family: family as Family,
    table: identity(w, 'table', 'chain', 'NFTA_CHAIN_TABLE'),
    name: identity(w, 'name', 'chain', 'NFTA_CHAIN_NAME'),
  };
  let complete = typeof family === 'string' && !hasUnknown(w);
  if (typeof w.type === 'string') c.type = w.type;
  const hook = w.hook;
  if (hook) {
    // A base chain's hook always has both; without them the typed form would write another chain.
    if (typeof hook.hooknum === 'number')
      c.hook = typeof family === 'string' ? hookName(family, hook.hooknum) : hook.hooknum;
    else complete = false;
    if (typeof hook.priority === 'number') c.priority = hook.priority | 0;
    else complete = false;
    if (typeof hook.dev === 'string') c.device = hook.dev;
    if (hook.devs) c.devices = hook.devs.name ?? [];
  }
  if (typeof w.policy === 'number')
    c.policy = w.policy === NF_ACCEPT ? 'accept' : w.policy === NF_DROP ? 'drop' : w.policy;
  // The kernel reports NFT_CHAIN_BASE on base chains; it follows from the hook, so it is not repeated here.
  if (typeof w.flags === 'number' && (w.flags & ~NFT_CHAIN_BASE) !== 0)
    c.flags = flagsFromNumber(CHAIN_FLAGS, w.flags & ~NFT_CHAIN_BASE);
  Object.assign(c, userdataFromWire(w.userdata));
  if (typeof w.handle === 'bigint') c.handle = w.handle;
  if (typeof w.use === 'number') c.use = w.use;
  if (typeof w.id === 'number') c.id = w.id;
  const counters = w.counters;
  if (counters && typeof counters.bytes === 'bigint' && typeof counters.packets === 'bigint')
    c.counters = { bytes: counters.bytes, packets: counters.packets };
  else if (counters) complete = false;
  if (!complete) c.raw = w;
  return c;
}

export function isBaseChain(c: Chain): boolean {
  return c.hook !== undefined;
}

export function chainLabel(c: { family: Family | number; table: string; name: string }): string {
  return `${c.family} ${c.table} ${c.name}`;
}

export function newChainMessage(c: Chain, flags: number): Buffer {
  return encodeMessage(nftType(NFT_MSG_NEWCHAIN), flags, chainSchema, chainToWire(c));
}

export function deleteChainMessage(family: Family, table: string, name: string): Buffer {
  return encodeMessage(nftType(NFT_MSG_DELCHAIN), 0, chainSchema, {
    ...header(familyNumber(family)),
    table: checkName(table, 'chain.table'),
    name: checkName(name, 'chain.name'),
  });
}

export function getChainMessage(family?: Family, table?: string, name?: string): Buffer {
  const w: ChainWire = { ...header(familyNumber(family)) };
  if (table !== undefined) w.table = checkName(table, 'chain.table');
  if (name !== undefined) w.name = checkName(name, 'chain.name');
  return encodeMessage(nftType(NFT_MSG_GETCHAIN), 0, chainSchema, w);
}
