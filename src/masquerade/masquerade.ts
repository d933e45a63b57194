/**
 * The masquerade building block: one nf_tables table that vxnet owns, made
 * to match a configuration idempotently (only the differences are written,
 * in one atomic batch checked against the ruleset generation), a report of
 * other tables' chains that would drop the overlay's traffic anyway, and a
 * removal that deletes only vxnet's table.
 */
import { ipForwarding, enableIpForwarding } from './forwarding.js';
import type { NftBatch } from '../nftables/batch.js';
import type { Chain } from '../nftables/chain.js';
import { Nftables, type NftablesOptions } from '../nftables/client.js';
import { equivalentExpressions } from '../nftables/expr/index.js';
import type { Rule } from '../nftables/rule.js';
import type { NftSet, SetElement } from '../nftables/set.js';
import type { Table } from '../nftables/table.js';
import { addressKey, keyText, type PeerAddress, peerAddress } from './addresses.js';
import {
  checkTableName,
  DEFAULT_TABLE,
  type MasqueradeConfig,
  normalizeConfig,
  type NormalizedConfig,
} from './config.js';
import { type Desired, type DesiredTable, desiredState, OWNER_MARK, PEER_SET } from './desired.js';
import { NotOwnedError } from './errors.js';
import { DecodeError, ValidationError } from '../netlink/errors.js';

export interface MasqueradeOptions extends NftablesOptions {
  /** The table vxnet owns (family ip, and ip6 over an IPv6 underlay). Default "vxnet". */
  table?: string;
  /**
   * Also look after the ip6 table of the same name, whatever the config:
   * status() and remove() cover it, ensure() deletes it when the config's
   * underlay is not IPv6 (any more), a foreign one is refused. Without it,
   * the ip6 table is read only for a config with an IPv6 underlay and for
   * IPv6 peers (what works with an IPv4 underlay reads what it always did).
   */
  ip6?: boolean;
}

/**
 * A chain of another table that drops what vxnet's rules accept: nf_tables runs every base chain of a hook, and a drop
 * anywhere is final.
 */
export interface BlockingChain {
  family: string;
  table: string;
  chain: string;
  hook: 'input' | 'forward';
  priority: number;
  /** What it would drop, in words. */
  reason: string;
  /** An nft command the operator could run to let the traffic through there (vxnet never changes other tables). */
  suggestion: string;
}

export interface EnsureResult {
  /** False when the table already matched: nothing was sent but the reads. */
  changed: boolean;
  /** The batch's messages, in words ("create rule ip vxnet postrouting ..."). */
  changes: string[];
  blocking: BlockingChain[];
}

export interface MasqueradeStatus {
  /** vxnet's table exists (and carries vxnet's mark): the ip one, or (looked at with `ip6`) the ip6 one. */
  present: boolean;
  table?: Table;
  /** The ip6 table of the same name (an IPv6 underlay's VXLAN part), when looked at and present. */
  ip6Table?: Table;
  /** Both tables' chains and rules (each names its family). */
  chains: Chain[];
  rules: Rule[];
  /** The VXLAN peers in the peer set(s), if there is one: canonical text ("192.0.2.3", "fd00::3"). */
  peers?: string[];
}

type TableFamily = 'ip' | 'ip6';

export class Masquerade implements AsyncDisposable {
  readonly table: string;

  private constructor(
    readonly nft: Nftables,
    private readonly namespace: string | undefined,
    table: string,
    private readonly ownsClient: boolean,
    private readonly ip6: boolean,
  ) {
    this.table = table;
  }

  static async open(options: MasqueradeOptions = {}): Promise<Masquerade> {
    const table = checkTableName(options.table ?? DEFAULT_TABLE);
    const { ip6, ...nftOptions } = options;
    return new Masquerade(await Nftables.open(nftOptions), options.namespace, table, true, ip6 === true);
  }

  /** On an existing client (its connection's namespace is the one used). */
  static over(nft: Nftables, options: { table?: string; namespace?: string; ip6?: boolean } = {}): Masquerade {
    return new Masquerade(
      nft,
      options.namespace,
      checkTableName(options.table ?? DEFAULT_TABLE),
      false,
      options.ip6 === true,
    );
  }

  close(): void {
    if (this.ownsClient) this.nft.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /**
   * Makes vxnet's table match `config`: creates what is missing, rewrites
   * what differs, deletes what is no longer asked for, in one atomic batch.
   * Refuses (NotOwnedError) if a table of that name exists without vxnet's
   * mark. A concurrent change of the ruleset makes it read and plan again.
   */
  async ensure(config: MasqueradeConfig, options: { retries?: number } = {}): Promise<EnsureResult> {
    const normalized = normalizeConfig(config);
    const desired = desiredState(this.table, normalized);
    const { result, value } = await this.nft.transaction(async (batch) => {
      await this.plan(batch, desired, normalized);
      return batch.describe();
    }, options);
    return { changed: result.echoes.length > 0, changes: value, blocking: await this.blocking(normalized) };
  }

  /** What ensure() would change, without changing it. */
  async diff(config: MasqueradeConfig): Promise<string[]> {
    const batch = this.nft.batch();
    const normalized = normalizeConfig(config);
    await this.plan(batch, desiredState(this.table, normalized), normalized);
    return batch.describe();
  }

  /**
   * Deletes vxnet's table (and so all it holds), with `ip6` (option here or
   * at open) the ip6 one of the same name too, in one batch; nothing else.
   * False if there was none. A foreign table of either family: NotOwnedError, nothing deleted.
   */
  async remove(options: { retries?: number; ip6?: boolean } = {}): Promise<{ removed: boolean }> {
    const ip6 = options.ip6 ?? this.ip6;
    const { value } = await this.nft.transaction(async (batch) => {
      const table = await this.ownedTable('ip');
      const table6 = ip6 ? await this.ownedTable('ip6') : undefined;
      if (table) batch.deleteTable('ip', this.table);
      if (table6) batch.deleteTable('ip6', this.table);
      return table !== undefined || table6 !== undefined;
    }, options);
    return { removed: value };
  }

  /**
   * Adds VXLAN peers to the peer set of their family (IPv4: the ip table's,
   * IPv6: the ip6 table's), if the table has one (unicast mode with peers
   * only); false when there is no set to edit. Already present: no-op.
   * Every address is checked before anything is sent; the writes are one batch.
   */
  async addPeers(addresses: string[]): Promise<boolean> {
    return this.editPeers(addresses, 'add');
  }

  async removePeers(addresses: string[]): Promise<boolean> {
    return this.editPeers(addresses, 'delete');
  }

  private async editPeers(addresses: string[], how: 'add' | 'delete'): Promise<boolean> {
    if (!Array.isArray(addresses)) throw new ValidationError('peers', 'expected a list of addresses', addresses);
    const parsed = addresses.map((a, i) => peerAddress(a, `peers[${i}]`));
    const byFamily = new Map<TableFamily, PeerAddress[]>();
    for (const p of parsed) {
      const family: TableFamily = p.family === 4 ? 'ip' : 'ip6';
      byFamily.set(family, [...(byFamily.get(family) ?? []), p]);
    }
    // Ownership of both tables first (a foreign one: nothing written), then the sets.
    const owned = new Map<TableFamily, Table | undefined>();
    for (const family of byFamily.keys()) owned.set(family, await this.ownedTable(family));
    if (byFamily.has('ip6') && !byFamily.has('ip')) await this.ownedTable('ip');
    const edits: { ref: { family: TableFamily; table: string; set: string }; keys: Uint8Array[] }[] = [];
    for (const [family, peers] of byFamily) {
      if (!owned.get(family)) return false;
      if (!(await this.nft.getSet(family, this.table, PEER_SET))) return false;
      const ref = { family, table: this.table, set: PEER_SET };
      const present = new Set((await this.nft.listElements(ref)).map((e) => keyText(e.key)));
      const chosen = [...new Map(peers.map((p) => [p.text, p.bytes])).entries()].filter(
        ([text]) => present.has(text) === (how === 'delete'),
      );
      if (chosen.length) edits.push({ ref, keys: chosen.map(([, key]) => key) });
    }
    if (edits.length === 0) return true;
    const [only] = edits;
    if (edits.length === 1 && only) {
      const { ref, keys } = only;
      if (how === 'add')
        await this.nft.addElements(
          ref,
          keys.map((key) => ({ key })),
        );
      else
        await this.nft.deleteElements(
          ref,
          keys.map((key) => ({ key })),
        );
      return true;
    }
    await this.nft.transaction(async (batch) => {
      for (const { ref, keys } of edits) {
        if (how === 'add')
          batch.addElements(
            ref,
            keys.map((key) => ({ key })),
          );
        else
          batch.deleteElements(
            ref,
            keys.map((key) => ({ key })),
          );
      }
    });
    return true;
  }

  /** The table(s) and their content; with `ip6` (option here or at open) the ip6 table of the same name too. */
  async status(options: { ip6?: boolean } = {}): Promise<MasqueradeStatus> {
    const table = await this.ownedTable('ip');
    const table6 = (options.ip6 ?? this.ip6) ? await this.ownedTable('ip6') : undefined;
    if (!table && !table6) return { present: false, chains: [], rules: [] };
    const status: MasqueradeStatus = { present: true, chains: [], rules: [] };
    if (table) status.table = table;
    if (table6) status.ip6Table = table6;
    for (const [family, present] of [
      ['ip', table],
      ['ip6', table6],
    ] as const) {
      if (!present) continue;
      const [chains, rules, sets] = [
        await this.nft.listChains({ family, table: this.table }),
        await this.nft.listRules({ family, table: this.table }),
        await this.nft.listSets({ family, table: this.table }),
      ];
      status.chains.push(...chains);
      status.rules.push(...rules);
      if (sets.some((s) => s.name === PEER_SET)) {
        const peers = (await this.nft.listElements({ family, table: this.table, set: PEER_SET }))
          .map((e) => keyText(e.key))
          .sort();
        status.peers = [...(status.peers ?? []), ...peers];
      }
    }
    return status;
  }

  /**
   * Base chains of other tables at the hooks vxnet's rules accept on, whose
   * policy is drop: their drop wins over vxnet's accept unless a rule of
   * theirs accepts the traffic first.
   */
  blockingChains(config: MasqueradeConfig): Promise<BlockingChain[]> {
    return this.blocking(normalizeConfig(config));
  }

  private async blocking(normalized: NormalizedConfig): Promise<BlockingChain[]> {
    const chains = await this.nft.listChains();
    const out: BlockingChain[] = [];
    // The overlay (forwarded) is IPv4; VXLAN (input) is of the underlay's family.
    const underlay: TableFamily = normalized.vxlan?.family === 6 ? 'ip6' : 'ip';
    for (const c of chains) {
      if (
        ((c.family === 'ip' || c.family === 'ip6') && c.table === this.table) ||
        (c.family !== 'ip' && c.family !== 'ip6' && c.family !== 'inet') ||
        c.policy !== 'drop'
      )
        continue;
      const where = `${c.family} ${c.table} ${c.name}`;
      if (c.hook === 'forward' && normalized.bridge && c.family !== 'ip6') {
        out.push({
          family: c.family,
          table: c.table,
          chain: c.name,
          hook: 'forward',
          priority: c.priority ?? 0,
          reason:
            `chain ${where} drops forwarded packets by default: the overlay's traffic through ` +
            `${normalized.bridge} is dropped there unless one of its rules accepts it`,
          suggestion:
            `nft insert rule ${where} iifname "${normalized.bridge}" accept; nft insert rule ${where} ` +
            `oifname "${normalized.bridge}" ct state established,related accept`,
        });
      }
      if (c.hook === 'input' && normalized.vxlan && (c.family === 'inet' || c.family === underlay)) {
        const from = normalized.vxlan.peers ? `${underlay} saddr { ${normalized.vxlan.peers.join(', ')} } ` : '';
        out.push({
          family: c.family,
          table: c.table,
          chain: c.name,
          hook: 'input',
          priority: c.priority ?? 0,
          reason:
            `chain ${where} drops incoming packets by default: VXLAN (UDP ${normalized.vxlan.port}) is dropped ` +
            'there unless one of its rules accepts it',
          suggestion: `nft insert rule ${where} ${from}udp dport ${normalized.vxlan.port} accept`,
        });
      }
    }
    return out;
  }

  /** IPv4 forwarding in this block's namespace. */
  forwarding(): Promise<boolean> {
    return ipForwarding(this.namespace);
  }

  enableForwarding(): Promise<void> {
    return enableIpForwarding(this.namespace);
  }

  // ------------------------------------------------------------ planning

  /** vxnet's table of a family, undefined if absent; NotOwnedError if someone else's holds the name. */
  private async ownedTable(family: TableFamily): Promise<Table | undefined> {
    const table = await this.nft.getTable(family, this.table);
    if (!table) return undefined;
    if (table.comment === undefined || !table.comment.startsWith(OWNER_MARK.slice(0, OWNER_MARK.indexOf(' ')))) {
      throw new NotOwnedError(
        family,
        this.table,
        table.comment === undefined ? 'it carries no vxnet mark' : `its comment is "${table.comment}"`,
      );
    }
    return table;
  }

  /**
   * Fills the batch with what makes the ip table (and, over an IPv6 underlay
   * or with `ip6`, the ip6 table) match. Both tables are read, and their
   * ownership checked, before anything is planned.
   */
  private async plan(batch: NftBatch, desired: Desired, config: NormalizedConfig): Promise<void> {
    const table = await this.ownedTable('ip');
    const withIp6 = this.ip6 || config.vxlan?.family === 6;
    const table6 = withIp6 ? await this.ownedTable('ip6') : undefined;
    await this.planTable(batch, 'ip', table, desired);
    if (withIp6) await this.planTable(batch, 'ip6', table6, desired.ip6);
  }

  private async planTable(
    batch: NftBatch,
    family: TableFamily,
    table: Table | undefined,
    desired: DesiredTable | undefined,
  ): Promise<void> {
    if (!desired) {
      if (table) batch.deleteTable(family, this.table);
      return;
    }
    if (!table) {
      batch.createTable(desired.table);
      const setId = desired.peers ? this.createPeers(batch, desired.peers) : undefined;
      for (const { chain, rules } of desired.chains) {
        batch.createChain(chain);
        for (const rule of rules) batch.createRule(withSetId(rule, setId));
      }
      return;
    }
    const [chains, rules, sets] = [
      await this.nft.listChains({ family, table: this.table }),
      await this.nft.listRules({ family, table: this.table }),
      await this.nft.listSets({ family, table: this.table }),
    ];
    const rulesOf = (chain: string) => rules.filter((r) => r.chain === chain);
    const wanted = new Map(desired.chains.map((d) => [d.chain.name, d]));

    // 1. Rules that go, chains that go or must be recreated (type, hook and priority cannot change in place).
    const recreate = new Set<string>();
    const rewrite = new Set<string>();
    for (const existing of chains) {
      const want = wanted.get(existing.name);
      if (!want || !sameHook(existing, want.chain)) {
        for (const r of rulesOf(existing.name)) batch.deleteRule(family, this.table, existing.name, ruleHandle(r));
        batch.deleteChain(family, this.table, existing.name);
        if (want) recreate.add(existing.name);
      } else if (!sameRules(rulesOf(existing.name), want.rules)) {
        for (const r of rulesOf(existing.name)) batch.deleteRule(family, this.table, existing.name, ruleHandle(r));
        rewrite.add(existing.name);
      }
    }
    // 2. The peer set: created, updated element by element, or deleted (after the rules that looked it up).
    const existingSet = sets.find((s) => s.name === PEER_SET);
    let setId: number | undefined;
    if (desired.peers && (!existingSet || !sameSet(existingSet, desired.peers.set))) {
      if (existingSet) batch.deleteSet(family, this.table, PEER_SET);
      setId = this.createPeers(batch, desired.peers);
    } else if (desired.peers && existingSet) {
      const wantedAddresses = desired.peers.addresses;
      const current = (await this.nft.listElements({ family, table: this.table, set: PEER_SET })).map((e) =>
        keyText(e.key),
      );
      const add = desired.peers.addresses.filter((a) => !current.includes(a));
      const drop = current.filter((a) => !wantedAddresses.includes(a));
      const ref = { family, table: this.table, set: PEER_SET };
      if (drop.length) batch.deleteElements(ref, drop.map(element));
      if (add.length) batch.addElements(ref, add.map(element));
    } else if (!desired.peers && existingSet) {
      batch.deleteSet(family, this.table, PEER_SET);
    }
    // 3. Chains and rules to (re)create, policies to update.
    for (const { chain, rules: wantRules } of desired.chains) {
      const existing = chains.find((c) => c.name === chain.name);
      if (!existing || recreate.has(chain.name)) {
        batch.createChain(chain);
      } else if (existing.policy !== chain.policy) {
        batch.createChain(chain);
      }
      if (!existing || recreate.has(chain.name) || rewrite.has(chain.name)) {
        for (const rule of wantRules) batch.createRule(withSetId(rule, setId));
      }
    }
  }

  private createPeers(batch: NftBatch, peers: NonNullable<Desired['peers']>): number {
    const id = batch.nextId();
    batch.createSet({ ...peers.set, id });
    batch.addElements(
      { family: peers.set.family as TableFamily, table: this.table, set: PEER_SET, setId: id },
      peers.addresses.map(element),
    );
    return id;
  }
}

function element(address: string): SetElement {
  return { key: addressKey(address) };
}

/** A set created in the same batch is looked up by its id, as nft does. */
function withSetId(rule: Rule, setId: number | undefined): Rule {
  if (setId === undefined) return rule;
  return {
    ...rule,
    expressions: rule.expressions.map((e) => (e.type === 'lookup' && e.set === PEER_SET ? { ...e, setId } : e)),
  };
}

function sameHook(a: Chain, b: Chain): boolean {
  return a.type === b.type && a.hook === b.hook && a.priority === b.priority;
}

/** A listed rule's handle: the kernel sends NFTA_RULE_HANDLE with every rule it lists. */
function ruleHandle(rule: Rule): bigint {
  if (rule.handle !== undefined) return rule.handle;
  throw new DecodeError('NFT_MSG_NEWRULE', `a rule in chain ${rule.chain} has no handle (no NFTA_RULE_HANDLE)`, -1, [
    'handle',
  ]);
}

function sameSet(a: NftSet, b: NftSet): boolean {
  return a.keyType === b.keyType && a.keyLen === b.keyLen && (a.flags ?? []).length === 0;
}

function sameRules(existing: Rule[], wanted: Rule[]): boolean {
  return (
    existing.length === wanted.length &&
    existing.every((r, i) => {
      const w = wanted[i];
      return (
        w !== undefined &&
        r.comment === w.comment &&
        r.userdata === undefined &&
        equivalentExpressions(r.expressions, w.expressions)
      );
    })
  );
}
