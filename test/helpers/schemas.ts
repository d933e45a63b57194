/**
 * Which schema decodes a kernel message, by protocol and message type: used
 * by the tests that sweep every recorded fixture (round trips, mutations).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MessageSchema } from '../../src/netlink/message.js';
import { addressSchema } from '../../src/rtnetlink/schema/address.js';
import { linkSchema } from '../../src/rtnetlink/schema/link.js';
import { neighbourSchema } from '../../src/rtnetlink/schema/neighbour.js';
import { routeSchema } from '../../src/rtnetlink/schema/route.js';
import { batchSchema } from '../../src/nftables/batch.js';
import { chainSchema } from '../../src/nftables/chain.js';
import { NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END } from '../../src/nftables/constants.js';
import { generationSchema } from '../../src/nftables/generation.js';
import { nftType } from '../../src/nftables/nfgenmsg.js';
import { ruleSchema } from '../../src/nftables/rule.js';
import { setElementsSchema, setSchema } from '../../src/nftables/set.js';
import { tableSchema } from '../../src/nftables/table.js';
import { FIXTURES_DIR } from './fixtures.js';

const ROUTE_SCHEMAS: Record<number, MessageSchema> = {
  // NEW, DEL, GET (and SETLINK): requests and replies share a schema.
  16: linkSchema,
  17: linkSchema,
  18: linkSchema,
  19: linkSchema,
  20: addressSchema,
  21: addressSchema,
  22: addressSchema,
  24: routeSchema,
  25: routeSchema,
  26: routeSchema,
  28: neighbourSchema,
  29: neighbourSchema,
  30: neighbourSchema,
};

/** NETLINK_NETFILTER: the nf_tables messages (NEW/GET/DEL of each object share a schema) and the batch frame. */
const NETFILTER_SCHEMAS: Record<number, MessageSchema> = {
  [NFNL_MSG_BATCH_BEGIN]: batchSchema,
  [NFNL_MSG_BATCH_END]: batchSchema,
  [nftType(0)]: tableSchema,
  [nftType(1)]: tableSchema,
  [nftType(2)]: tableSchema,
  [nftType(3)]: chainSchema,
  [nftType(4)]: chainSchema,
  [nftType(5)]: chainSchema,
  [nftType(6)]: ruleSchema,
  [nftType(7)]: ruleSchema,
  [nftType(8)]: ruleSchema,
  [nftType(9)]: setSchema,
  [nftType(10)]: setSchema,
  [nftType(11)]: setSchema,
  [nftType(12)]: setElementsSchema,
  [nftType(13)]: setElementsSchema,
  [nftType(14)]: setElementsSchema,
  [nftType(15)]: generationSchema,
  [nftType(16)]: generationSchema,
};

/**
 * The schema of a message type; pass the message itself where requests are
 * swept too: an FDB dump filtered by device (RTM_GETNEIGH) is sent as an
 * AF_BRIDGE struct ifinfomsg, the legacy form the kernel reads (see Fdb.list).
 */
export function schemaFor(
  protocol: number,
  type: number,
  message?: { buffer: Buffer; start: number; end: number },
): MessageSchema | undefined {
  if (
    protocol === 0 &&
    type === 30 &&
    message &&
    message.end - message.start === 16 &&
    message.buffer[message.start] === 7
  )
    return linkSchema;
  if (protocol === 0) return ROUTE_SCHEMAS[type];
  if (protocol === 12) return NETFILTER_SCHEMAS[type];
  return undefined;
}

/** Every committed fixture file, as paths. */
export function allFixtureFiles(dir = FIXTURES_DIR): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...allFixtureFiles(path));
    else if (entry.name.endsWith('.nlfix')) out.push(path);
  }
  return out.sort();
}
