/**
 * The ruleset generation: a counter the kernel bumps on every committed
 * batch. Read it before reading the ruleset, pass it with the batch built
 * from that reading, and the kernel refuses the batch (ERESTART) if anything
 * was committed in between.
 */
import type { Connection } from '../netlink/connection.js';
import { VxnetError } from '../netlink/errors.js';
import { decodeMessage, encodeMessage, messageSchema, type MessageOf } from '../netlink/message.js';
import { attr } from '../netlink/schema.js';
import { NFT_MSG_GETGEN, NFT_MSG_NEWGEN } from './constants.js';
import { header, NFGENMSG_FIELDS, nfgenmsg, nftType } from './nfgenmsg.js';
import { uapiSet } from '../netlink/uapi.js';
import { required } from './unmodeled.js';

export const generationAttrs = uapiSet(
  'generation',
  {
    id: ['NFTA_GEN_ID', attr.be32(1)],
    /** In NEWGEN events: who committed. */
    proc_pid: ['NFTA_GEN_PROC_PID', attr.be32(2)],
    proc_name: ['NFTA_GEN_PROC_NAME', attr.string(3)],
  },
  NFGENMSG_FIELDS,
);

export const generationSchema = messageSchema('generation', nfgenmsg, generationAttrs);

export interface Generation {
  id: number;
  /** In events that follow a commit: the committing process. */
  pid?: number;
  process?: string;
}

export function generationFromWire(w: MessageOf<typeof generationSchema>): Generation {
  const g: Generation = { id: required(w, 'id', 'generation', 'NFTA_GEN_ID') };
  if (typeof w.proc_pid === 'number') g.pid = w.proc_pid;
  if (typeof w.proc_name === 'string') g.process = w.proc_name;
  return g;
}

export async function readGeneration(conn: Connection): Promise<number> {
  const replies = await conn.request(encodeMessage(nftType(NFT_MSG_GETGEN), 0, generationSchema, header(0)), {
    operation: 'read ruleset generation',
  });
  const reply = replies.find((m) => m.type === nftType(NFT_MSG_NEWGEN));
  if (!reply) throw new VxnetError('read ruleset generation: the kernel answered without NFT_MSG_NEWGEN');
  return generationFromWire(decodeMessage(generationSchema, reply)).id;
}
