/**
 * nf_tables change events (NFNLGRP_NFTABLES) reduced to what the agent needs:
 * "something in table T changed". Every nf_tables object message (table,
 * chain, rule, set, set element, object, flowtable) carries the name of its
 * table as attribute 1 (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE,
 * ...); the generation message that closes each batch does not, and is
 * skipped. `nft flush ruleset` and `nft delete table` both arrive as
 * messages naming the table.
 *
 * The socket lives in a relay process like every subscription
 * (netlink/subscription.ts); lost events arrive as an overrun.
 */
import { NETLINK_NETFILTER } from '../netlink/constants.js';
import type { OverrunError } from '../netlink/errors.js';
import type { RawMessage } from '../netlink/message.js';
import { Subscription } from '../netlink/subscription.js';
import { NFNL_SUBSYS_NFTABLES, NFNLGRP_NFTABLES, NFT_MSG_NEWGEN } from '../nftables/constants.js';

export interface NftTableEvent {
  /** The table the message names. */
  table: string;
  /** NFT_MSG_* (low byte of the message type). */
  message: number;
}

/** The table a nf_tables event names, or undefined (another subsystem, the generation message, no name). */
export function tableOfEvent(message: RawMessage): NftTableEvent | undefined {
  if (message.type >> 8 !== NFNL_SUBSYS_NFTABLES) return undefined;
  const type = message.type & 0xff;
  if (type === NFT_MSG_NEWGEN) return undefined;
  const { buffer } = message;
  let offset = message.start + 4; // nfgenmsg
  while (offset + 4 <= message.end) {
    const length = buffer.readUInt16LE(offset);
    const attribute = buffer.readUInt16LE(offset + 2) & 0x3fff;
    if (length < 4 || offset + length > message.end) return undefined;
    if (attribute === 1) {
      let end = offset + length;
      while (end > offset + 4 && buffer[end - 1] === 0) end--;
      return { table: buffer.toString('utf8', offset + 4, end), message: type };
    }
    offset += (length + 3) & ~3;
  }
  return undefined;
}

export interface NftWatch {
  close(): void;
}

/** Calls `onTable` for every change in `table`, `onOverrun` when events were lost. */
export async function watchNftTable(
  namespace: string | undefined,
  table: string,
  handlers: {
    onTable: (event: NftTableEvent) => void;
    onOverrun: (error: OverrunError) => void;
    onError: (error: Error) => void;
  },
): Promise<NftWatch> {
  const subscription = await Subscription.open({
    protocol: NETLINK_NETFILTER,
    groups: [NFNLGRP_NFTABLES],
    ...(namespace ? { namespace } : {}),
  });
  subscription.on((event) => {
    if (event.kind === 'overrun') handlers.onOverrun(event.error);
    else if (event.kind === 'error') handlers.onError(event.error);
    else {
      const decoded = tableOfEvent(event.message);
      if (decoded?.table === table) handlers.onTable(decoded);
    }
  });
  return { close: () => subscription.close() };
}
