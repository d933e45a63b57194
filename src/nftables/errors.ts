/**
 * nf_tables failures in words: what an errno means for the object and the
 * operation at hand, and the typed errors of batches.
 */
import { errnoCode, NetlinkError, VxnetError } from '../netlink/errors.js';

/** What a message of a batch does, for choosing the sentence. */
export type NftOperationKind =
  | 'create table'
  | 'delete table'
  | 'create chain'
  | 'delete chain'
  | 'create rule'
  | 'delete rule'
  | 'create set'
  | 'delete set'
  | 'add set elements'
  | 'delete set elements'
  | 'begin batch'
  | 'end batch'
  | string;

/** The kernel's ERESTART, answered to BATCH_BEGIN when NFNL_BATCH_GENID is not the current generation. */
export const ERESTART = 85;

/** A sentence naming the likely cause of `errno` for `operation`, or undefined for the generic one. */
export function explainNftables(operation: NftOperationKind, errno: number): string | undefined {
  const code = errnoCode(errno);
  const [verb, kind] = operation.split(' ', 2) as [string, string | undefined];
  switch (code) {
    case 'ENOENT':
      if (verb === 'delete') return `the ${kind ?? 'object'} does not exist (already deleted, or never created)`;
      if (kind === 'rule')
        return 'the table or chain of the rule does not exist, or a set it looks up, or a chain it jumps to';
      if (kind === 'chain' || kind === 'set')
        return `the table of the ${kind} does not exist (create the table first, in the same batch if need be)`;
      if (kind === 'set' || operation.includes('elements')) return 'the set (or its table) does not exist';
      return undefined;
    case 'EEXIST':
      return `a ${kind ?? 'object'} with this name exists already (exclusive create)`;
    case 'EBUSY':
      if (kind === 'chain') return 'the chain still holds rules or is the target of a jump: delete those first';
      if (kind === 'set') return 'a rule still looks the set up: delete that rule first';
      return 'the object is still in use by other objects';
    case 'EOPNOTSUPP':
      if (kind === 'rule')
        return (
          'this kernel lacks an expression of the rule (its nft_* module), ' +
          'or the expression is not allowed in this chain type or hook (masquerade needs a nat chain at postrouting)'
        );
      if (kind === 'chain')
        return (
          'this kernel lacks the chain type for this family and hook (nat chains need nf_nat), ' +
          "or a base chain's type, hook or priority cannot be changed once created"
        );
      return 'this kernel does not support the operation (missing nf_tables module or feature)';
    case 'EINVAL':
      if (kind === 'rule')
        return 'the kernel refused an expression of the rule: a register, a length or a value that does not fit';
      return undefined;
    case 'EPERM':
      return (
        'the process lacks CAP_NET_ADMIN in this network namespace, ' +
        "or the table is owned by another process's socket (NFT_TABLE_F_OWNER)"
      );
    case 'ELOOP':
      return 'the jumps between chains would form a loop';
    case 'ENOSPC':
      return 'the set is full (its size limit), or the kernel ran out of handles';
    case 'E2BIG':
    case 'EMSGSIZE':
      return 'a value or the batch is too large for the kernel';
    default:
      return undefined;
  }
}

/**
 * A batch the kernel refused. nf_tables batches are atomic: nothing of it
 * was applied. The message names the first failure; `failures` has them all,
 * each with the index of its message in the batch and the object it was about.
 */
export class NftBatchError extends NetlinkError {
  override name = 'NftBatchError';
  readonly failures: readonly NetlinkError[];

  constructor(failures: NetlinkError[]) {
    const first = failures[0]!; // the one caller passes at least one failure
    const others = failures.length > 1 ? `; ${failures.length - 1} more message(s) of the batch failed too` : '';
    super({
      ...first.toDetails(),
      cause: `${first.likelyCause ?? 'the kernel refused it'}${others}. The batch was rolled back: nothing was changed`,
    });
    this.failures = failures;
  }
}

/**
 * The ruleset changed after its generation was read (another program
 * committed a batch in between), so the batch prepared from that reading
 * was refused without being applied.
 */
export class GenerationChangedError extends VxnetError {
  override name = 'GenerationChangedError';
  constructor(
    readonly expected: number,
    readonly operation: string,
  ) {
    super(
      `${operation}: the ruleset changed since generation ${expected} was read (another program committed changes); ` +
        `nothing was applied. Read the ruleset again and retry, or pass { retries } to let vxnet do so`,
    );
  }
}
