/**
 * nf_tables batches: NFNL_MSG_BATCH_BEGIN, the changes, NFNL_MSG_BATCH_END,
 * in ONE datagram. The kernel applies all of it or none of it. Every message
 * asks for its own ack, so a failure is reported on the message (and the
 * object) that caused it; creations of rules ask for an echo, which carries
 * the handle the kernel gave the rule.
 */
import { type Decoded, encodeAttrs } from '../netlink/codec.js';
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants.js';
import type { Connection, GroupReply, RequestOptions } from '../netlink/connection.js';
import { type NetlinkError, VxnetError } from '../netlink/errors.js';
import { decodeMessage, finishMessage, messageSchema, type RawMessage } from '../netlink/message.js';
import { attr } from '../netlink/schema.js';
import { Writer } from '../netlink/writer.js';
import { NLMSG_HDRLEN } from '../netlink/align.js';
import { type Chain, chainLabel, deleteChainMessage, newChainMessage } from './chain.js';
import {
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  NFT_MSG_NEWRULE,
  NFPROTO_UNSPEC,
} from './constants.js';
import { ERESTART, explainNftables, GenerationChangedError, NftBatchError } from './errors.js';
import { type Family, header, NFGENMSG_FIELDS, nfgenmsg, nftType } from './nfgenmsg.js';
import { deleteRuleMessage, newRuleMessage, type Rule, ruleFromWire, ruleLabel, ruleSchema } from './rule.js';
import {
  deleteSetElementsMessage,
  deleteSetMessage,
  newSetElementsMessage,
  newSetMessage,
  type NftSet,
  type SetElementInput,
  setLabel,
  type SetRef,
} from './set.js';
import { deleteTableMessage, newTableMessage, type Table, tableLabel } from './table.js';
import { uapiSet } from '../netlink/uapi.js';

const batchAttrs = uapiSet('batch', { genid: ['NFNL_BATCH_GENID', attr.be32(1)] }, NFGENMSG_FIELDS);

/** BATCH_BEGIN and BATCH_END as messages: nfgenmsg, and the generation on BEGIN. */
export const batchSchema = messageSchema('batch', nfgenmsg, batchAttrs);

/** BATCH_BEGIN and BATCH_END: nfgenmsg with res_id = NFNL_SUBSYS_NFTABLES (big-endian), optionally the generation. */
export function batchControlMessage(
  type: typeof NFNL_MSG_BATCH_BEGIN | typeof NFNL_MSG_BATCH_END,
  generation?: number,
): Buffer {
  const w = new Writer(32);
  w.reserve(NLMSG_HDRLEN);
  const at = w.reserve(nfgenmsg.size);
  nfgenmsg.write(w.buf, at, header(NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES));
  if (generation !== undefined) encodeAttrs(batchAttrs, { genid: generation >>> 0 } as Decoded, w, '');
  return finishMessage(w, type, NLM_F_ACK);
}

interface Entry {
  message: Buffer;
  operation: string;
  object: string;
}

export interface RuleOptions {
  /** Place before `rule.position` (or at the start of the chain) instead of after it (or at the end). */
  insert?: boolean;
  /** Replace the rule whose handle `rule.handle` gives, in place. */
  replace?: boolean;
}

/**
 * The changes of one transaction, in order. Nothing is sent until
 * `commit`; every value is validated as it is added, so a mistake throws
 * a ValidationError here, before anything reaches the kernel.
 */
export class NftBatch {
  private readonly entries: Entry[] = [];
  private lastId = 0;

  get size(): number {
    return this.entries.length;
  }

  /** What the batch will do, one line per message ("create rule ip vxnet input"). */
  describe(): string[] {
    return this.entries.map((e) => `${e.operation} ${e.object}`);
  }

  /** A fresh id for NFTA_*_ID: lets later messages of the batch refer to an object it creates. */
  nextId(): number {
    return ++this.lastId;
  }

  private add(message: Buffer, operation: string, object: string): number {
    this.entries.push({ message, operation, object });
    return this.entries.length - 1;
  }

  /**
   * Creates the table; without `exclusive`, an existing table of that name is updated (flags, userdata are kept
   * as they are).
   */
  createTable(table: Table, options: { exclusive?: boolean } = {}): number {
    return this.add(
      newTableMessage(table, NLM_F_CREATE | (options.exclusive ? NLM_F_EXCL : 0)),
      'create table',
      tableLabel(table.family, table.name),
    );
  }

  deleteTable(family: Family, name: string): number {
    return this.add(deleteTableMessage(family, name), 'delete table', tableLabel(family, name));
  }

  /** Creates the chain, or updates an existing one (a base chain's policy). */
  createChain(chain: Chain, options: { exclusive?: boolean } = {}): number {
    return this.add(
      newChainMessage(chain, NLM_F_CREATE | (options.exclusive ? NLM_F_EXCL : 0)),
      'create chain',
      chainLabel(chain),
    );
  }

  deleteChain(family: Family, table: string, name: string): number {
    return this.add(deleteChainMessage(family, table, name), 'delete chain', chainLabel({ family, table, name }));
  }

  createRule(rule: Rule, options: RuleOptions = {}): number {
    let flags = NLM_F_CREATE | NLM_F_ECHO;
    if (options.replace) {
      if (rule.handle === undefined) throw new VxnetError('replace rule: the rule to replace needs its handle');
      flags |= NLM_F_REPLACE;
    } else if (!options.insert) flags |= NLM_F_APPEND;
    return this.add(newRuleMessage(rule, flags), options.replace ? 'replace rule' : 'create rule', ruleLabel(rule));
  }

  deleteRule(family: Family, table: string, chain: string, handle: bigint): number {
    return this.add(
      deleteRuleMessage(family, table, chain, handle),
      'delete rule',
      ruleLabel({ family, table, chain, handle }),
    );
  }

  /** The kernel wants every new set to carry an id (NFTA_SET_ID); one is assigned when `set.id` is not given. */
  createSet(set: NftSet, options: { exclusive?: boolean } = {}): number {
    return this.add(
      newSetMessage({ ...set, id: set.id ?? this.nextId() }, NLM_F_CREATE | (options.exclusive ? NLM_F_EXCL : 0)),
      'create set',
      setLabel(set),
    );
  }

  deleteSet(family: Family, table: string, name: string): number {
    return this.add(deleteSetMessage(family, table, name), 'delete set', setLabel({ family, table, name }));
  }

  addElements(ref: SetRef, elements: readonly SetElementInput[]): number {
    return this.add(
      newSetElementsMessage(ref, elements, NLM_F_CREATE),
      'add set elements',
      `${setLabel({ ...ref, name: ref.set })} (${elements.length})`,
    );
  }

  deleteElements(ref: SetRef, elements: readonly SetElementInput[]): number {
    return this.add(
      deleteSetElementsMessage(ref, elements),
      'delete set elements',
      `${setLabel({ ...ref, name: ref.set })} (${elements.length})`,
    );
  }

  /**
   * The messages and their descriptions, framed by BEGIN and END. Fresh buffers on every call (the connection
   * stamps them).
   */
  frame(generation?: number): { messages: Buffer[]; entries: Entry[] } {
    const entries: Entry[] = [
      {
        message: batchControlMessage(NFNL_MSG_BATCH_BEGIN, generation),
        operation: 'begin batch',
        object: `of ${this.entries.length} change(s)`,
      },
      ...this.entries.map((e) => ({ ...e, message: Buffer.from(e.message) })),
      { message: batchControlMessage(NFNL_MSG_BATCH_END), operation: 'end batch', object: '' },
    ];
    for (const entry of entries) entry.message.writeUInt16LE(entry.message.readUInt16LE(6) | NLM_F_ACK, 6);
    return { messages: entries.map((e) => e.message), entries };
  }
}

export interface CommitOptions extends RequestOptions {
  /** Refuse the batch if the ruleset is no longer at this generation (see readGeneration). */
  generation?: number;
}

export interface CommitResult {
  /** Per change, in the order added: what the kernel echoed (created rules, with their handles). */
  echoes: RawMessage[][];
  /** Rules created by the batch, as echoed, with the index of their message. */
  rules: { index: number; rule: Rule }[];
}

/**
 * Sends the batch in one datagram and waits for every answer. Resolves when
 * the kernel committed it; rejects with NftBatchError (nothing applied) if
 * any message was refused, with GenerationChangedError if `generation` is
 * stale. An empty batch sends nothing.
 */
export async function commitBatch(
  conn: Connection,
  batch: NftBatch,
  options: CommitOptions = {},
): Promise<CommitResult> {
  if (batch.size === 0) return { echoes: [], rules: [] };
  const { messages, entries } = batch.frame(options.generation);
  let replies: GroupReply[];
  try {
    replies = await conn.sendGroup(
      messages,
      (index) => {
        // entries and messages are framed together: one entry per message
        const operation = entries[index]?.operation ?? `message ${index} of the batch`;
        const object = entries[index]?.object;
        return { operation, object, explain: (errno: number) => explainNftables(operation, errno) };
      },
      options,
    );
  } catch (error) {
    // The transports report a refused sendmsg by its errno in words.
    if (error instanceof VxnetError && /EMSGSIZE/.test(error.message)) {
      const bytes = messages.reduce((sum, m) => sum + m.length, 0);
      throw new VxnetError(
        `commit ${batch.size} change(s): the batch (${bytes} bytes) ` +
          `is larger than the socket's send buffer allows for one datagram ` +
          '(net.core.wmem_max); the kernel received nothing. ' +
          'A batch must travel in one datagram to be atomic: commit fewer changes at a time',
      );
    }
    throw error;
  }
  const [begin] = replies;
  if (begin === undefined) throw new VxnetError(`commit ${batch.size} change(s): no reply to the batch`);
  if (begin.errno === ERESTART && options.generation !== undefined)
    throw new GenerationChangedError(options.generation, `commit ${batch.describe().join(', ')}`);
  const failures = replies.map((r) => r.error).filter((e): e is NetlinkError => e !== undefined);
  if (failures.length > 0) throw new NftBatchError(failures);
  const work = replies.slice(1, -1);
  const unanswered = work.findIndex((r: GroupReply) => r.errno === undefined);
  if (unanswered >= 0) {
    const entry = entries[unanswered + 1]; // work starts at message 1, after the batch begin
    throw new VxnetError(
      `${entry ? `${entry.operation} ${entry.object}` : `message ${unanswered + 1} of the batch`}: ` +
        `the kernel did not answer this message of the batch; ` +
        `the ruleset may or may not have changed (list it)`,
    );
  }
  const rules: CommitResult['rules'] = [];
  work.forEach((reply, index) => {
    for (const m of reply.replies)
      if (m.type === nftType(NFT_MSG_NEWRULE)) rules.push({ index, rule: ruleFromWire(decodeMessage(ruleSchema, m)) });
  });
  return { echoes: work.map((r) => r.replies), rules };
}
