/**
 * The nf_tables client: list, get, create and delete tables, chains, rules
 * and sets over a NETLINK_NETFILTER socket, in this network namespace or
 * another one. Every change is an atomic batch; several changes go in one
 * with `batch()` and `commit()`.
 */
import { Connection, type ConnectionOptions } from '../netlink/connection.js';
import { NETLINK_NETFILTER } from '../netlink/constants.js';
import { NetlinkError, VxnetError } from '../netlink/errors.js';
import { decodeMessage, type MessageSchema, type RawMessage } from '../netlink/message.js';
import { type Chain, chainFromWire, chainLabel, chainSchema, getChainMessage } from './chain.js';
import { commitBatch, type CommitOptions, type CommitResult, NftBatch, type RuleOptions } from './batch.js';
import {
  NFT_MSG_NEWCHAIN,
  NFT_MSG_NEWRULE,
  NFT_MSG_NEWSET,
  NFT_MSG_NEWSETELEM,
  NFT_MSG_NEWTABLE,
} from './constants.js';
import { explainNftables, GenerationChangedError } from './errors.js';
import { readGeneration } from './generation.js';
import { type Family, nftType } from './nfgenmsg.js';
import { getRuleMessage, type Rule, ruleFromWire, ruleLabel, ruleSchema } from './rule.js';
import {
  elementsFromWire,
  getSetElementsMessage,
  getSetMessage,
  type NftSet,
  type SetElement,
  type SetElementInput,
  setElementsSchema,
  setFromWire,
  setLabel,
  type SetRef,
  setSchema,
} from './set.js';
import { getTableMessage, type Table, tableFromWire, tableLabel, tableSchema } from './table.js';

export interface NftablesOptions extends Partial<Omit<ConnectionOptions, 'protocol'>> {
  /** A network namespace by name (/run/netns/NAME); omitted: this process's. */
  namespace?: string;
}

export interface ListOptions {
  family?: Family;
  table?: string;
}

/** Everything a listing found, each kind in kernel order. */
export interface Ruleset {
  generation: number;
  tables: Table[];
  chains: Chain[];
  sets: NftSet[];
  rules: Rule[];
}

export class Nftables implements AsyncDisposable {
  private constructor(
    readonly connection: Connection,
    private readonly owned: boolean,
  ) {}

  /** Opens a NETLINK_NETFILTER socket (inside `namespace` when given). */
  static async open(options: NftablesOptions = {}): Promise<Nftables> {
    return new Nftables(await Connection.open({ ...options, protocol: NETLINK_NETFILTER }), true);
  }

  /**
   * Uses an existing NETLINK_NETFILTER connection (the fixtures' recording and replay); closing is the caller's
   * business.
   */
  static over(connection: Connection): Nftables {
    return new Nftables(connection, false);
  }

  close(): void {
    if (this.owned) this.connection.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  // ------------------------------------------------------------ generation and batches

  /** The ruleset's generation; pass it to commit() to refuse the batch if anything changed since. */
  generation(): Promise<number> {
    return readGeneration(this.connection);
  }

  batch(): NftBatch {
    return new NftBatch();
  }

  commit(batch: NftBatch, options: CommitOptions = {}): Promise<CommitResult> {
    return commitBatch(this.connection, batch, options);
  }

  /**
   * Read, decide, write, atomically with respect to other writers: `plan`
   * gets the current generation, reads what it needs and fills a batch; the
   * batch is committed only if the ruleset is still at that generation. On a
   * concurrent change it runs again, up to `retries` times, then throws
   * GenerationChangedError.
   */
  async transaction<T>(
    plan: (batch: NftBatch, generation: number) => Promise<T>,
    options: { retries?: number } = {},
  ): Promise<{ value: T; result: CommitResult }> {
    const attempts = (options.retries ?? 3) + 1;
    for (let attempt = 1; ; attempt++) {
      const generation = await this.generation();
      const batch = this.batch();
      const value = await plan(batch, generation);
      try {
        return { value, result: await this.commit(batch, { generation }) };
      } catch (error) {
        if (!(error instanceof GenerationChangedError) || attempt >= attempts) throw error;
      }
    }
  }

  // ------------------------------------------------------------ tables

  async listTables(options: { family?: Family } = {}): Promise<Table[]> {
    return this.dumpObjects(
      () => getTableMessage(options.family),
      'list tables',
      tableSchema,
      NFT_MSG_NEWTABLE,
      tableFromWire,
    );
  }

  /** The table, or undefined if there is none of that name. */
  async getTable(family: Family, name: string): Promise<Table | undefined> {
    return this.getObject(
      getTableMessage(family, name),
      'get table',
      tableLabel(family, name),
      tableSchema,
      NFT_MSG_NEWTABLE,
      tableFromWire,
    );
  }

  async createTable(table: Table, options: { exclusive?: boolean } = {}): Promise<void> {
    await this.single((b) => b.createTable(table, options));
  }

  async deleteTable(family: Family, name: string): Promise<void> {
    await this.single((b) => b.deleteTable(family, name));
  }

  // ------------------------------------------------------------ chains

  /** Chains (the kernel dumps all of a family; `table` filters here). */
  async listChains(options: ListOptions = {}): Promise<Chain[]> {
    const chains = await this.dumpObjects(
      () => getChainMessage(options.family),
      'list chains',
      chainSchema,
      NFT_MSG_NEWCHAIN,
      chainFromWire,
    );
    return options.table === undefined ? chains : chains.filter((c) => c.table === options.table);
  }

  async getChain(family: Family, table: string, name: string): Promise<Chain | undefined> {
    return this.getObject(
      getChainMessage(family, table, name),
      'get chain',
      chainLabel({ family, table, name }),
      chainSchema,
      NFT_MSG_NEWCHAIN,
      chainFromWire,
    );
  }

  async createChain(chain: Chain, options: { exclusive?: boolean } = {}): Promise<void> {
    await this.single((b) => b.createChain(chain, options));
  }

  async deleteChain(family: Family, table: string, name: string): Promise<void> {
    await this.single((b) => b.deleteChain(family, table, name));
  }

  // ------------------------------------------------------------ rules

  /** Rules with their expressions decoded (unmodeled ones kept raw). The kernel filters by table and chain. */
  async listRules(options: ListOptions & { chain?: string } = {}): Promise<Rule[]> {
    if (options.chain !== undefined && options.table === undefined) {
      return (await this.listRules({ family: options.family, table: options.table })).filter(
        (r) => r.chain === options.chain,
      );
    }
    return this.dumpObjects(
      () => getRuleMessage(options.family, options.table, options.chain),
      'list rules',
      ruleSchema,
      NFT_MSG_NEWRULE,
      ruleFromWire,
    );
  }

  async getRule(family: Family, table: string, chain: string, handle: bigint): Promise<Rule | undefined> {
    return this.getObject(
      getRuleMessage(family, table, chain, handle),
      'get rule',
      ruleLabel({ family, table, chain, handle }),
      ruleSchema,
      NFT_MSG_NEWRULE,
      ruleFromWire,
    );
  }

  /** Creates the rule and returns it as the kernel echoed it: with its handle. */
  async createRule(rule: Rule, options: RuleOptions = {}): Promise<Rule> {
    const result = await this.single((b) => b.createRule(rule, options));
    const echoed = result.rules[0];
    if (!echoed) throw new VxnetError(`create rule ${ruleLabel(rule)}: the kernel did not echo the rule`);
    return echoed.rule;
  }

  async deleteRule(family: Family, table: string, chain: string, handle: bigint): Promise<void> {
    await this.single((b) => b.deleteRule(family, table, chain, handle));
  }

  // ------------------------------------------------------------ sets

  async listSets(options: ListOptions = {}): Promise<NftSet[]> {
    return this.dumpObjects(
      () => getSetMessage(options.family, options.table),
      'list sets',
      setSchema,
      NFT_MSG_NEWSET,
      setFromWire,
    );
  }

  async getSet(family: Family, table: string, name: string): Promise<NftSet | undefined> {
    return this.getObject(
      getSetMessage(family, table, name),
      'get set',
      setLabel({ family, table, name }),
      setSchema,
      NFT_MSG_NEWSET,
      setFromWire,
    );
  }

  async createSet(set: NftSet, options: { exclusive?: boolean } = {}): Promise<void> {
    await this.single((b) => b.createSet(set, options));
  }

  async deleteSet(family: Family, table: string, name: string): Promise<void> {
    await this.single((b) => b.deleteSet(family, table, name));
  }

  async listElements(ref: SetRef): Promise<SetElement[]> {
    const lists = await this.dumpObjects(
      () => getSetElementsMessage(ref),
      'list set elements',
      setElementsSchema,
      NFT_MSG_NEWSETELEM,
      elementsFromWire,
    );
    return lists.flat();
  }

  async addElements(ref: SetRef, elements: readonly SetElementInput[]): Promise<void> {
    await this.single((b) => b.addElements(ref, elements));
  }

  async deleteElements(ref: SetRef, elements: readonly SetElementInput[]): Promise<void> {
    await this.single((b) => b.deleteElements(ref, elements));
  }

  // ------------------------------------------------------------ everything

  /**
   * Tables, chains, sets and rules of a family (or all). The generation is
   * read first: a change during the listing makes the kernel flag the dump
   * (NLM_F_DUMP_INTR), which is retried.
   */
  async listRuleset(options: { family?: Family } = {}): Promise<Ruleset> {
    const generation = await this.generation();
    const [tables, chains, sets, rules] = [
      await this.listTables(options),
      await this.listChains(options),
      await this.listSets(options),
      await this.listRules(options),
    ];
    return { generation, tables, chains, sets, rules };
  }

  // ------------------------------------------------------------ plumbing

  private async single(fill: (batch: NftBatch) => void): Promise<CommitResult> {
    const batch = this.batch();
    fill(batch);
    return this.commit(batch);
  }

  private async dumpObjects<T>(
    build: () => Buffer,
    operation: string,
    schema: MessageSchema,
    type: number,
    convert: (w: any) => T,
  ): Promise<T[]> {
    const wanted = nftType(type);
    const found = await this.connection.dumpAll(
      build,
      { operation },
      {
        retries: 3,
        decode: (m: RawMessage) => (m.type === wanted ? convert(decodeMessage(schema, m)) : undefined),
      },
    );
    return found.filter((x): x is Awaited<T> => x !== undefined) as T[];
  }

  private async getObject<T>(
    message: Buffer,
    operation: string,
    object: string,
    schema: MessageSchema,
    type: number,
    convert: (w: any) => T,
  ): Promise<T | undefined> {
    try {
      const replies = await this.connection.request(message, {
        operation,
        object,
        explain: (errno) => explainNftables(operation, errno),
      });
      const reply = replies.find((m) => m.type === nftType(type));
      return reply ? convert(decodeMessage(schema, reply)) : undefined;
    } catch (error) {
      if (error instanceof NetlinkError && error.code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
