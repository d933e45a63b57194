/**
 * The nf_tables half of the stateful fake kernel: tables, chains, rules,
 * sets and elements, changed only by batches (BEGIN … END in one datagram)
 * that apply whole or not at all, with the generation the kernel keeps.
 *
 * What the kernel answers, as recorded in test/fixtures/nftables: on
 * success, the echoes (NLM_F_ECHO: created rules with their handles) during
 * the commit, then an ack for BEGIN, for each message and for END; when a
 * message is refused, BEGIN's ack, every message's ack or error, and no END
 * ack; a stale NFNL_BATCH_GENID: ERESTART on BEGIN and nothing else.
 */
import type { Decoded } from '../../src/netlink/codec.js';
import {
  NLM_F_ACK,
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_ECHO,
  NLM_F_EXCL,
  NLM_F_MULTI,
  NLM_F_REPLACE,
} from '../../src/netlink/constants.js';
import { decodeMessage, type MessageSchema, type RawMessage } from '../../src/netlink/message.js';
import { batchSchema } from '../../src/nftables/batch.js';
import { chainSchema } from '../../src/nftables/chain.js';
import {
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFT_CHAIN_BASE,
  NFT_GOTO,
  NFT_JUMP,
  NFT_MSG_DELCHAIN,
  NFT_MSG_DELRULE,
  NFT_MSG_DELSET,
  NFT_MSG_DELSETELEM,
  NFT_MSG_DELTABLE,
  NFT_MSG_GETCHAIN,
  NFT_MSG_GETGEN,
  NFT_MSG_GETRULE,
  NFT_MSG_GETSET,
  NFT_MSG_GETSETELEM,
  NFT_MSG_GETTABLE,
  NFT_MSG_NEWCHAIN,
  NFT_MSG_NEWGEN,
  NFT_MSG_NEWRULE,
  NFT_MSG_NEWSET,
  NFT_MSG_NEWSETELEM,
  NFT_MSG_NEWTABLE,
  NFT_TABLE_F_OWNER,
} from '../../src/nftables/constants.js';
import { generationSchema } from '../../src/nftables/generation.js';
import { nftType } from '../../src/nftables/nfgenmsg.js';
import { ruleSchema } from '../../src/nftables/rule.js';
import { setElementsSchema, setSchema } from '../../src/nftables/set.js';
import { tableSchema } from '../../src/nftables/table.js';
import { ack, EBUSY, EEXIST, EINVAL, ENOENT, EOPNOTSUPP, ERESTART, fail, KernelError, reply } from './fake-wire.js';

export interface NftRuleState {
  handle: bigint;
  /** NFTA_RULE_EXPRESSIONS as the kernel lists them (lookups by set name, counters with their counts). */
  expressions: Decoded;
  userdata?: Uint8Array;
  compat?: Decoded;
}

export interface NftChainState {
  name: string;
  handle: bigint;
  type?: string;
  hook?: Decoded;
  policy?: number;
  flags: number;
  userdata?: Uint8Array;
  rules: NftRuleState[];
}

export interface NftSetState {
  name: string;
  handle: bigint;
  flags: number;
  keyType: number;
  keyLen: number;
  dataType?: number;
  dataLen?: number;
  timeout?: bigint;
  userdata?: Uint8Array;
  /** NFTA_LIST_ELEM contents, as sent (minus what the kernel does not keep). */
  elements: Decoded[];
}

export interface NftTableState {
  family: number;
  name: string;
  handle: bigint;
  flags: number;
  userdata?: Uint8Array;
  /** The netlink port of an owned table's owner. */
  owner?: number;
  /** The table's handle generator: chains, rules and sets are numbered from it. */
  lastHandle: bigint;
  chains: NftChainState[];
  sets: NftSetState[];
}

export interface NftState {
  generation: number;
  lastTableHandle: bigint;
  tables: NftTableState[];
}

export function initialNftState(): NftState {
  return { generation: 1, lastTableHandle: 0n, tables: [] };
}

/** Decides whether a write of a batch fails on purpose (fake-host.ts's failure injection). */
export type WriteHook = (message: RawMessage, decoded: Decoded, name: string) => number | undefined;

const MSG = (type: number) => nftType(type);
const NAMES: Record<number, string> = {
  [MSG(NFT_MSG_NEWTABLE)]: 'NFT_MSG_NEWTABLE',
  [MSG(NFT_MSG_DELTABLE)]: 'NFT_MSG_DELTABLE',
  [MSG(NFT_MSG_NEWCHAIN)]: 'NFT_MSG_NEWCHAIN',
  [MSG(NFT_MSG_DELCHAIN)]: 'NFT_MSG_DELCHAIN',
  [MSG(NFT_MSG_NEWRULE)]: 'NFT_MSG_NEWRULE',
  [MSG(NFT_MSG_DELRULE)]: 'NFT_MSG_DELRULE',
  [MSG(NFT_MSG_NEWSET)]: 'NFT_MSG_NEWSET',
  [MSG(NFT_MSG_DELSET)]: 'NFT_MSG_DELSET',
  [MSG(NFT_MSG_NEWSETELEM)]: 'NFT_MSG_NEWSETELEM',
  [MSG(NFT_MSG_DELSETELEM)]: 'NFT_MSG_DELSETELEM',
};
const SCHEMAS: Record<string, MessageSchema> = {
  TABLE: tableSchema,
  CHAIN: chainSchema,
  RULE: ruleSchema,
  SET: setSchema,
  SETELEM: setElementsSchema,
};

function schemaOf(type: number): MessageSchema | undefined {
  const name = NAMES[type];
  return name ? SCHEMAS[name.replace(/^NFT_MSG_(NEW|DEL)/, '')] : undefined;
}

export function isNftWrite(type: number): boolean {
  return NAMES[type] !== undefined;
}

/** The decoded body of an nf_tables write (for failure-injection predicates). */
export function decodeNftWrite(m: RawMessage): Decoded {
  return decodeMessage(schemaOf(m.type)!, m);
}

/** Changes made within one batch, and what they let later messages of it refer to. */
interface BatchScope {
  state: NftState;
  port: number;
  chainIds: Map<number, NftChainState>;
  setIds: Map<number, NftSetState>;
  ruleIds: Map<number, NftRuleState>;
}

// ------------------------------------------------------------ lookups

function findTable(s: NftState, family: number, name: unknown): NftTableState {
  const table = s.tables.find((t) => t.family === family && t.name === name);
  if (!table) fail(ENOENT, `no table ${name}`);
  return table;
}

function ownerCheck(t: NftTableState, port: number): void {
  if (t.flags & NFT_TABLE_F_OWNER && t.owner !== port)
    fail(1 /* EPERM */, `table ${t.name} is owned by port ${t.owner}`);
}

function findChain(t: NftTableState, name: unknown, scope?: BatchScope, id?: unknown): NftChainState {
  const chain = typeof id === 'number' && scope ? scope.chainIds.get(id) : t.chains.find((c) => c.name === name);
  if (!chain || !t.chains.includes(chain)) fail(ENOENT, `no chain ${name ?? `id ${id}`} in table ${t.name}`);
  return chain;
}

function findSet(t: NftTableState, name: unknown, scope?: BatchScope, id?: unknown): NftSetState {
  const set =
    typeof id === 'number' && scope?.setIds.has(id) ? scope.setIds.get(id) : t.sets.find((x) => x.name === name);
  if (!set || !t.sets.includes(set)) fail(ENOENT, `no set ${name ?? `id ${id}`} in table ${t.name}`);
  return set;
}

function nextHandle(t: NftTableState): bigint {
  t.lastHandle += 1n;
  return t.lastHandle;
}

/** Every jump/goto target and set lookup of a rule. */
function references(expressions: Decoded): { chains: string[]; sets: string[] } {
  const out = { chains: [] as string[], sets: [] as string[] };
  for (const e of (expressions.elem as Decoded[] | undefined) ?? []) {
    const data = e.data as Decoded | undefined;
    if (e.name === 'lookup' && typeof data?.set === 'string') out.sets.push(data.set);
    const verdict = (data?.data as Decoded | undefined)?.verdict as Decoded | undefined;
    if (
      e.name === 'immediate' &&
      verdict &&
      (verdict.code === NFT_JUMP >>> 0 || verdict.code === NFT_GOTO >>> 0) &&
      typeof verdict.chain === 'string'
    ) {
      out.chains.push(verdict.chain);
    }
  }
  return out;
}

function allRules(t: NftTableState): NftRuleState[] {
  return t.chains.flatMap((c) => c.rules);
}

// ------------------------------------------------------------ writes

function newTable(scope: BatchScope, w: Decoded, flags: number): void {
  const s = scope.state;
  const existing = s.tables.find((t) => t.family === w.family && t.name === w.name);
  if (existing) {
    if (flags & NLM_F_EXCL) fail(EEXIST, `table ${w.name} exists`);
    ownerCheck(existing, scope.port);
    if (typeof w.flags === 'number') {
      if ((w.flags & NFT_TABLE_F_OWNER) !== (existing.flags & NFT_TABLE_F_OWNER))
        fail(EOPNOTSUPP, 'the owner flag cannot change');
      existing.flags = w.flags;
    }
    return;
  }
  if (typeof w.name !== 'string') fail(EINVAL, 'a table needs NFTA_TABLE_NAME');
  s.lastTableHandle += 1n;
  const t: NftTableState = {
    family: w.family as number,
    name: w.name,
    handle: s.lastTableHandle,
    flags: (w.flags as number | undefined) ?? 0,
    lastHandle: 0n,
    chains: [],
    sets: [],
  };
  if (w.userdata instanceof Uint8Array) t.userdata = w.userdata;
  if (t.flags & NFT_TABLE_F_OWNER) t.owner = scope.port;
  s.tables.push(t);
}

function deleteTable(scope: BatchScope, w: Decoded): void {
  const t = findTable(scope.state, w.family as number, w.name);
  ownerCheck(t, scope.port);
  scope.state.tables = scope.state.tables.filter((x) => x !== t);
}

function newChain(scope: BatchScope, w: Decoded, flags: number): void {
  const t = findTable(scope.state, w.family as number, w.table);
  ownerCheck(t, scope.port);
  const existing = t.chains.find((c) => c.name === w.name);
  const hook = w.hook as Decoded | undefined;
  if (existing) {
    if (flags & NLM_F_EXCL) fail(EEXIST, `chain ${w.name} exists`);
    if (
      hook &&
      (!existing.hook || hook.hooknum !== existing.hook.hooknum || hook.priority !== existing.hook.priority)
    ) {
      fail(EEXIST, `chain ${w.name} exists with another hook or priority`);
    }
    if (typeof w.type === 'string' && w.type !== existing.type)
      fail(EEXIST, `chain ${w.name} exists with another type`);
    if (typeof w.policy === 'number') {
      if (!existing.hook) fail(EOPNOTSUPP, 'only base chains have a policy');
      existing.policy = w.policy;
    }
    if (typeof w.id === 'number') scope.chainIds.set(w.id, existing);
    return;
  }
  if (typeof w.name !== 'string') fail(EINVAL, 'a chain needs NFTA_CHAIN_NAME');
  if (hook && typeof w.type === 'string' && !['filter', 'nat', 'route'].includes(w.type))
    fail(ENOENT, `no chain type ${w.type}`);
  if (
    hook &&
    w.type === 'nat' &&
    (w.family as number) !== 2 &&
    (w.family as number) !== 10 &&
    (w.family as number) !== 1
  )
    fail(EOPNOTSUPP, 'nat chains are for ip, ip6 and inet');
  if (!hook && typeof w.policy === 'number') fail(EOPNOTSUPP, 'only base chains have a policy');
  const chain: NftChainState = {
    name: w.name,
    handle: nextHandle(t),
    flags: ((w.flags as number | undefined) ?? 0) | (hook ? NFT_CHAIN_BASE : 0),
    rules: [],
  };
  if (hook) {
    chain.type = (w.type as string | undefined) ?? 'filter';
    chain.hook = {
      hooknum: hook.hooknum,
      priority: hook.priority ?? 0,
      ...(hook.dev !== undefined ? { dev: hook.dev } : {}),
      ...(hook.devs !== undefined ? { devs: hook.devs } : {}),
    };
    chain.policy = (w.policy as number | undefined) ?? 1;
  }
  if (w.userdata instanceof Uint8Array) chain.userdata = w.userdata;
  t.chains.push(chain);
  if (typeof w.id === 'number') scope.chainIds.set(w.id, chain);
}

function deleteChain(scope: BatchScope, w: Decoded): void {
  const t = findTable(scope.state, w.family as number, w.table);
  ownerCheck(t, scope.port);
  const chain = findChain(t, w.name);
  const users = allRules(t).filter(
    (r) => !chain.rules.includes(r) && references(r.expressions).chains.includes(chain.name),
  );
  if (users.length) fail(EBUSY, `chain ${chain.name} is the target of ${users.length} jump(s)`);
  t.chains = t.chains.filter((c) => c !== chain);
}

/** The rule's expressions as the kernel keeps them: lookups bound to a set by name, counters counting from zero. */
function bindExpressions(
  scope: BatchScope,
  t: NftTableState,
  chain: NftChainState,
  expressions: Decoded | undefined,
): Decoded {
  const elem = ((expressions?.elem as Decoded[] | undefined) ?? []).map((e) => {
    const data = { ...((e.data as Decoded | undefined) ?? {}) };
    switch (e.name) {
      case 'counter':
        return {
          name: e.name,
          data: {
            bytes: (data.bytes as bigint | undefined) ?? 0n,
            packets: (data.packets as bigint | undefined) ?? 0n,
          },
        };
      case 'lookup': {
        const set = findSet(t, data.set, scope, data.set_id);
        const { set_id: _id, ...rest } = data;
        return { name: e.name, data: { ...rest, set: set.name, flags: (data.flags as number | undefined) ?? 0 } };
      }
      case 'masq':
      case 'nat':
        if (chain.hook && chain.type !== 'nat') fail(EOPNOTSUPP, `${e.name} needs a nat chain`);
        return { ...e, data };
      case 'immediate': {
        const verdict = (data.data as Decoded | undefined)?.verdict as Decoded | undefined;
        if (verdict && typeof verdict.chain_id === 'number') {
          const target = findChain(t, undefined, scope, verdict.chain_id);
          const { chain_id: _c, ...v } = verdict;
          return { name: e.name, data: { ...data, data: { verdict: { ...v, chain: target.name } } } };
        }
        if (verdict && typeof verdict.chain === 'string') findChain(t, verdict.chain);
        return { ...e, data };
      }
      default:
        return { ...e, data };
    }
  });
  return { elem };
}

function newRule(
  scope: BatchScope,
  w: Decoded,
  flags: number,
  echo: (type: number, flags: number, schema: MessageSchema, value: object) => void,
): void {
  const t = findTable(scope.state, w.family as number, w.table);
  ownerCheck(t, scope.port);
  const chain = findChain(t, w.chain, scope, w.chain_id);
  const rule: NftRuleState = {
    handle: 0n,
    expressions: bindExpressions(scope, t, chain, w.expressions as Decoded | undefined),
  };
  if (w.userdata instanceof Uint8Array) rule.userdata = w.userdata;
  if (w.compat !== undefined) rule.compat = w.compat as Decoded;
  let at: number;
  if (flags & NLM_F_REPLACE) {
    if (typeof w.handle !== 'bigint') fail(EINVAL, 'replace needs NFTA_RULE_HANDLE');
    at = chain.rules.findIndex((r) => r.handle === w.handle);
    if (at < 0) fail(ENOENT, `no rule with handle ${w.handle}`);
  } else {
    let anchor = -1;
    if (typeof w.position === 'bigint') {
      anchor = chain.rules.findIndex((r) => r.handle === w.position);
      if (anchor < 0) fail(ENOENT, `no rule with handle ${w.position} to place the rule by`);
    } else if (typeof w.position_id === 'number') {
      const target = scope.ruleIds.get(w.position_id);
      anchor = target ? chain.rules.indexOf(target) : -1;
      if (anchor < 0) fail(ENOENT, `no rule with id ${w.position_id} in this batch`);
    }
    if (anchor >= 0) at = flags & NLM_F_APPEND ? anchor + 1 : anchor;
    else at = flags & NLM_F_APPEND ? chain.rules.length : 0;
  }
  rule.handle = nextHandle(t);
  if (flags & NLM_F_REPLACE) chain.rules.splice(at, 1, rule);
  else chain.rules.splice(at, 0, rule);
  if (typeof w.id === 'number') scope.ruleIds.set(w.id, rule);
  if (flags & NLM_F_ECHO) {
    echo(
      MSG(NFT_MSG_NEWRULE),
      flags & (NLM_F_CREATE | NLM_F_EXCL | NLM_F_APPEND | NLM_F_REPLACE),
      ruleSchema,
      ruleWire(t, chain, rule),
    );
  }
}

function deleteRule(scope: BatchScope, w: Decoded): void {
  const t = findTable(scope.state, w.family as number, w.table);
  ownerCheck(t, scope.port);
  const chain = findChain(t, w.chain);
  if (typeof w.handle !== 'bigint') {
    chain.rules = []; // no handle: flush the chain
    return;
  }
  const at = chain.rules.findIndex((r) => r.handle === w.handle);
  if (at < 0) fail(ENOENT, `no rule with handle ${w.handle} in chain ${chain.name}`);
  chain.rules.splice(at, 1);
}

function newSet(scope: BatchScope, w: Decoded, flags: number): void {
  const t = findTable(scope.state, w.family as number, w.table);
  ownerCheck(t, scope.port);
  const existing = t.sets.find((x) => x.name === w.name);
  if (existing) {
    if (flags & NLM_F_EXCL) fail(EEXIST, `set ${w.name} exists`);
    if (
      existing.keyType !== w.key_type ||
      existing.keyLen !== w.key_len ||
      existing.flags !== ((w.flags as number | undefined) ?? 0)
    ) {
      fail(EEXIST, `set ${w.name} exists with another type`);
    }
    if (typeof w.id === 'number') scope.setIds.set(w.id, existing);
    return;
  }
  if (typeof w.name !== 'string') fail(EINVAL, 'a set needs NFTA_SET_NAME');
  if (typeof w.key_len !== 'number' || w.key_len === 0) fail(EINVAL, 'a set needs NFTA_SET_KEY_LEN');
  if (typeof w.id !== 'number') fail(EINVAL, 'a new set needs NFTA_SET_ID');
  const set: NftSetState = {
    name: w.name,
    handle: nextHandle(t),
    flags: (w.flags as number | undefined) ?? 0,
    keyType: (w.key_type as number | undefined) ?? 0,
    keyLen: w.key_len,
    elements: [],
  };
  if (typeof w.data_type === 'number') set.dataType = w.data_type;
  if (typeof w.data_len === 'number') set.dataLen = w.data_len;
  if (typeof w.timeout === 'bigint') set.timeout = w.timeout;
  if (w.userdata instanceof Uint8Array) set.userdata = w.userdata;
  t.sets.push(set);
  scope.setIds.set(w.id, set);
}

function deleteSet(scope: BatchScope, w: Decoded): void {
  const t = findTable(scope.state, w.family as number, w.table);
  ownerCheck(t, scope.port);
  const set = findSet(t, w.name);
  if (allRules(t).some((r) => references(r.expressions).sets.includes(set.name)))
    fail(EBUSY, `set ${set.name} is used by a rule`);
  t.sets = t.sets.filter((x) => x !== set);
}

function hex(value: unknown): string {
  return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : '';
}

function elementKey(e: Decoded): string {
  return `${hex((e.key as Decoded | undefined)?.value)}-${hex((e.key_end as Decoded | undefined)?.value)}`;
}

function editElements(scope: BatchScope, w: Decoded, flags: number, add: boolean): void {
  const t = findTable(scope.state, w.family as number, w.table);
  ownerCheck(t, scope.port);
  const set = findSet(t, w.set, scope, w.set_id);
  const list = ((w.elements as Decoded | undefined)?.elem as Decoded[] | undefined) ?? [];
  for (const e of list) {
    const key = (e.key as Decoded | undefined)?.value;
    if (!(key instanceof Uint8Array) || key.length !== set.keyLen)
      fail(EINVAL, `an element key of set ${set.name} has ${set.keyLen} bytes`);
    const at = set.elements.findIndex((x) => elementKey(x) === elementKey(e));
    if (add) {
      if (at >= 0) {
        if (flags & NLM_F_EXCL) fail(EEXIST, `the element is in set ${set.name}`);
        continue;
      }
      const { expiration: _x, ...kept } = e;
      set.elements.push(kept);
    } else {
      if (at < 0) fail(ENOENT, `the element is not in set ${set.name}`);
      set.elements.splice(at, 1);
    }
  }
}

// ------------------------------------------------------------ replies

function genHeader(s: NftState, family: number): Decoded {
  return { family, version: 0, res_id: s.generation & 0xffff };
}

function tableWire(s: NftState, t: NftTableState): Decoded {
  const w: Decoded = {
    ...genHeader(s, t.family),
    name: t.name,
    flags: t.flags,
    use: t.chains.length,
    handle: t.handle,
  };
  if (t.userdata) w.userdata = t.userdata;
  if (t.owner !== undefined) w.owner = t.owner;
  return w;
}

function chainWire(s: NftState, t: NftTableState, c: NftChainState): Decoded {
  const use = c.rules.length + allRules(t).filter((r) => references(r.expressions).chains.includes(c.name)).length;
  const w: Decoded = { ...genHeader(s, t.family), table: t.name, name: c.name, handle: c.handle };
  if (c.hook) {
    w.hook = c.hook;
    w.policy = c.policy;
    w.type = c.type;
  }
  w.flags = c.flags;
  w.use = use;
  if (c.userdata) w.userdata = c.userdata;
  return w;
}

function ruleWire(t: NftTableState, c: NftChainState, r: NftRuleState, generation = 0): Decoded {
  const w: Decoded = {
    family: t.family,
    version: 0,
    res_id: generation & 0xffff,
    table: t.name,
    chain: c.name,
    handle: r.handle,
    expressions: r.expressions,
  };
  const before = c.rules[c.rules.indexOf(r) - 1];
  if (before) w.position = before.handle;
  if (r.compat) w.compat = r.compat;
  if (r.userdata) w.userdata = r.userdata;
  return w;
}

function setWire(s: NftState, t: NftTableState, x: NftSetState): Decoded {
  const w: Decoded = {
    ...genHeader(s, t.family),
    table: t.name,
    name: x.name,
    handle: x.handle,
    flags: x.flags,
    key_type: x.keyType,
    key_len: x.keyLen,
  };
  if (x.dataType !== undefined) w.data_type = x.dataType;
  if (x.dataLen !== undefined) w.data_len = x.dataLen;
  if (x.timeout !== undefined) w.timeout = x.timeout;
  if (x.userdata) w.userdata = x.userdata;
  return w;
}

/** Answers a GET (or a dump) outside a batch. Returns the replies, without the ack. */
export function handleNftRead(s: NftState, m: RawMessage, port: number): Buffer[] {
  const dump = (m.flags & NLM_F_DUMP) === NLM_F_DUMP;
  const flags = dump ? NLM_F_MULTI : 0;
  const out = (type: number, schema: MessageSchema, value: object, extra = 0) =>
    reply(MSG(type), flags | (dump ? extra : 0), schema, value, m, port);
  const family = m.buffer[m.start]!;
  const tables = s.tables.filter((t) => family === 0 || t.family === family);
  switch (m.type) {
    case MSG(NFT_MSG_GETGEN):
      return [
        reply(
          MSG(NFT_MSG_NEWGEN),
          0,
          generationSchema,
          { ...genHeader(s, 0), id: s.generation, proc_pid: 4242, proc_name: 'node' },
          m,
          port,
        ),
      ];
    case MSG(NFT_MSG_GETTABLE): {
      const w = decodeMessage(tableSchema, m);
      if (!dump) return [out(NFT_MSG_NEWTABLE, tableSchema, tableWire(s, findTable(s, family, w.name)))];
      return tables.map((t) => out(NFT_MSG_NEWTABLE, tableSchema, tableWire(s, t)));
    }
    case MSG(NFT_MSG_GETCHAIN): {
      const w = decodeMessage(chainSchema, m);
      if (!dump) {
        const t = findTable(s, family, w.table);
        return [out(NFT_MSG_NEWCHAIN, chainSchema, chainWire(s, t, findChain(t, w.name)))];
      }
      return tables.flatMap((t) => t.chains.map((c) => out(NFT_MSG_NEWCHAIN, chainSchema, chainWire(s, t, c))));
    }
    case MSG(NFT_MSG_GETRULE): {
      const w = decodeMessage(ruleSchema, m);
      if (!dump) {
        const t = findTable(s, family, w.table);
        const c = findChain(t, w.chain);
        const r = c.rules.find((x) => x.handle === w.handle);
        if (!r) fail(ENOENT, `no rule with handle ${w.handle}`);
        return [out(NFT_MSG_NEWRULE, ruleSchema, ruleWire(t, c, r, s.generation))];
      }
      return tables
        .filter((t) => w.table === undefined || t.name === w.table)
        .flatMap((t) =>
          t.chains
            .filter((c) => w.chain === undefined || c.name === w.chain)
            .flatMap((c) =>
              c.rules.map((r) => out(NFT_MSG_NEWRULE, ruleSchema, ruleWire(t, c, r, s.generation), NLM_F_APPEND)),
            ),
        );
    }
    case MSG(NFT_MSG_GETSET): {
      const w = decodeMessage(setSchema, m);
      if (!dump) {
        const t = findTable(s, family, w.table);
        return [out(NFT_MSG_NEWSET, setSchema, setWire(s, t, findSet(t, w.name)))];
      }
      return tables
        .filter((t) => w.table === undefined || t.name === w.table)
        .flatMap((t) => t.sets.map((x) => out(NFT_MSG_NEWSET, setSchema, setWire(s, t, x))));
    }
    case MSG(NFT_MSG_GETSETELEM): {
      const w = decodeMessage(setElementsSchema, m);
      const t = findTable(s, family, w.table);
      const set = findSet(t, w.set);
      // As recorded: the elements, then a message with an empty list (the dump's second pass finding nothing more).
      const message = (elem: Decoded[]) =>
        out(NFT_MSG_NEWSETELEM, setElementsSchema, {
          ...genHeader(s, t.family),
          table: t.name,
          set: set.name,
          elements: { elem },
        });
      return set.elements.length ? [message(set.elements), message([])] : [message([])];
    }
    default:
      return fail(EOPNOTSUPP, `nf_tables message ${m.type} outside a batch`);
  }
}

/**
 * Processes a batch (the messages from BEGIN to END of one datagram):
 * returns the new state (the same object if nothing was committed) and the
 * replies in the kernel's order.
 */
export function handleNftBatch(
  s: NftState,
  messages: RawMessage[],
  port: number,
  hook: WriteHook,
): { state: NftState; replies: Buffer[] } {
  const begin = messages[0]!;
  const b = decodeMessage(batchSchema, begin);
  if (typeof b.genid === 'number' && b.genid !== s.generation >>> 0)
    return { state: s, replies: [ack(begin, port, ERESTART)] };
  const end = messages[messages.length - 1]!;
  const complete = end.type === NFNL_MSG_BATCH_END;
  const scope: BatchScope = {
    state: structuredClone(s),
    port,
    chainIds: new Map(),
    setIds: new Map(),
    ruleIds: new Map(),
  };
  const acks: Buffer[] = [];
  const echoes: Buffer[] = [];
  let failed = !complete;
  if (begin.flags & NLM_F_ACK) acks.push(ack(begin, port));
  for (const m of messages.slice(1, complete ? -1 : undefined)) {
    let errno = 0;
    try {
      if (!isNftWrite(m.type)) fail(EOPNOTSUPP, `message type ${m.type} in a batch`);
      const w = decodeNftWrite(m);
      const injected = hook(m, w, NAMES[m.type]!);
      if (injected) throw new KernelError(injected, 'injected failure');
      const echo = (type: number, flags: number, schema: MessageSchema, value: object) =>
        echoes.push(reply(type, flags, schema, value, m, port));
      switch (m.type) {
        case MSG(NFT_MSG_NEWTABLE):
          newTable(scope, w, m.flags);
          break;
        case MSG(NFT_MSG_DELTABLE):
          deleteTable(scope, w);
          break;
        case MSG(NFT_MSG_NEWCHAIN):
          newChain(scope, w, m.flags);
          break;
        case MSG(NFT_MSG_DELCHAIN):
          deleteChain(scope, w);
          break;
        case MSG(NFT_MSG_NEWRULE):
          newRule(scope, w, m.flags, echo);
          break;
        case MSG(NFT_MSG_DELRULE):
          deleteRule(scope, w);
          break;
        case MSG(NFT_MSG_NEWSET):
          newSet(scope, w, m.flags);
          break;
        case MSG(NFT_MSG_DELSET):
          deleteSet(scope, w);
          break;
        case MSG(NFT_MSG_NEWSETELEM):
          editElements(scope, w, m.flags, true);
          break;
        case MSG(NFT_MSG_DELSETELEM):
          editElements(scope, w, m.flags, false);
          break;
      }
    } catch (error) {
      if (!(error instanceof KernelError)) throw error;
      errno = error.errno;
      failed = true;
    }
    if (errno || m.flags & NLM_F_ACK) acks.push(ack(m, port, errno));
  }
  if (failed) return { state: s, replies: acks };
  if (end.flags & NLM_F_ACK) acks.push(ack(end, port));
  scope.state.generation = (s.generation + 1) >>> 0;
  // Echoes carry the generation of the commit that made them. The kernel reports the new generation to
  // the sender too when the batch's first change asked for an echo (it reads NLM_F_ECHO off that message).
  const first = messages[1];
  if (first && first !== end && first.flags & NLM_F_ECHO) {
    echoes.push(
      reply(
        MSG(NFT_MSG_NEWGEN),
        0,
        generationSchema,
        { ...genHeader(scope.state, 0), id: scope.state.generation, proc_pid: 4242, proc_name: 'node' },
        first,
        port,
      ),
    );
  }
  return { state: scope.state, replies: [...echoes.map((e) => withGeneration(e, scope.state.generation)), ...acks] };
}

function withGeneration(message: Buffer, generation: number): Buffer {
  message.writeUInt16BE(generation & 0xffff, 18);
  return message;
}

export { NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END };
