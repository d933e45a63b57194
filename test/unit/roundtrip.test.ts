/**
 * For every message in every recorded fixture (what the kernel sent, and what
 * we sent), decoding and re-encoding gives the same bytes. This is what makes
 * read-modify-write safe: nothing the kernel said is lost or altered. The
 * control messages (NLMSG_ERROR, NLMSG_DONE, our NLMSG_NOOP barriers) have no
 * schema: they are rebuilt from what parseAck / doneErrno read and the
 * request they answer, which holds those readers to every byte too.
 */
import { basename } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NLMSG_HDRLEN } from '../../src/netlink/align.js';
import { NLM_F_CAPPED, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP } from '../../src/netlink/constants.js';
import {
  decodeMessage,
  doneErrno,
  encodeMessage,
  encodeRaw,
  forEachMessage,
  parseAck,
  type RawMessage,
} from '../../src/netlink/message.js';
import { hexDiff } from '../../src/netlink/fixture-diff.js';
import { loadFixture } from '../helpers/fixtures.js';
import { allFixtureFiles, schemaFor } from '../helpers/schemas.js';

for (const file of allFixtureFiles()) {
  test(`decode → encode is byte-identical: ${basename(file)}`, () => {
    const fixture = loadFixture(file);
    let checked = 0;
    for (const entry of fixture.entries) {
      if (entry.kind === 'openfd') continue;
      forEachMessage(entry.datagram, (m) => {
        const schema = schemaFor(fixture.protocol, m.type, m);
        if (!schema) return;
        const original = m.buffer.subarray(m.start - 16, m.end);
        const again = encodeMessage(m.type, m.flags, schema, decodeMessage(schema, m));
        // seq and pid are the connection's to stamp; everything else must match.
        original.copy(again, 8, 8, 16);
        if (
          !again.subarray(0, original.length).equals(original) ||
          again.length !== original.length + ((4 - (original.length % 4)) % 4)
        ) {
          assert.unreachable(
            `${entry.kind} message type ${m.type} at line ${entry.line}:\n${hexDiff(original, again.subarray(0, Math.max(original.length, again.length)))}`,
          );
        }
        checked++;
      });
    }
    assert.ok(checked > 0, 'the fixture has messages we can decode');
  });
}

/** The bytes of one message (header included) within its datagram. */
const bytesOf = (m: RawMessage): Buffer => m.buffer.subarray(m.start - NLMSG_HDRLEN, m.end);

/** A message with this header and payload, as the kernel lays it out (length without padding). */
function message(type: number, flags: number, seq: number, pid: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(NLMSG_HDRLEN);
  head.writeUInt32LE(NLMSG_HDRLEN + payload.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq, 8);
  head.writeUInt32LE(pid, 12);
  return Buffer.concat([head, payload]);
}

function errnoBytes(errno: number): Buffer {
  const code = Buffer.alloc(4);
  code.writeInt32LE(-errno, 0);
  return code;
}

for (const file of allFixtureFiles()) {
  test(`control messages are rebuilt byte for byte from what parseAck and doneErrno read: ${basename(file)}`, () => {
    const fixture = loadFixture(file);
    // The latest request sent with each seq (a fixture may reuse one), in the order of the recording.
    const sent = new Map<number, RawMessage>();
    const counts = { error: 0, done: 0, noop: 0 };
    for (const entry of fixture.entries) {
      if (entry.kind === 'openfd') continue;
      forEachMessage(entry.datagram, (m) => {
        if (entry.kind === 'send') sent.set(m.seq, m);
        const original = bytesOf(m);
        const where = `${entry.kind} at line ${entry.line}`;
        if (m.type === NLMSG_ERROR) {
          const ack = parseAck(m);
          const request = sent.get(ack.request.seq);
          assert.ok(request, `${where}: answers a request we sent (seq ${ack.request.seq})`);
          assert.equal([ack.request.type, ack.request.pid], [request.type, request.pid]);
          // An ack echoes the request's header (NLM_F_CAPPED), an error the whole request; both as the
          // kernel left it: its flags may differ from ours (an IPv6 multipath add clears NLM_F_EXCL in place).
          const echoed = Buffer.from(
            m.flags & NLM_F_CAPPED ? bytesOf(request).subarray(0, NLMSG_HDRLEN) : bytesOf(request),
          );
          echoed.writeUInt16LE(ack.request.flags, 6);
          const again = message(m.type, m.flags, m.seq, m.pid, Buffer.concat([errnoBytes(ack.errno), echoed]));
          if (!again.equals(original)) assert.unreachable(`${where}:\n${hexDiff(original, again)}`);
          counts.error++;
        } else if (m.type === NLMSG_DONE) {
          const again = message(m.type, m.flags, m.seq, m.pid, errnoBytes(doneErrno(m)));
          if (!again.equals(original)) assert.unreachable(`${where}:\n${hexDiff(original, again)}`);
          counts.done++;
        } else if (m.type === NLMSG_NOOP && entry.kind === 'send') {
          const again = encodeRaw(NLMSG_NOOP, m.flags);
          original.copy(again, 8, 8, 16);
          if (!again.equals(original)) assert.unreachable(`${where}:\n${hexDiff(original, again)}`);
          counts.noop++;
        }
      });
    }
    // Every exchange ends in an ack, an error or a DONE: a fixture without one was not read.
    assert.ok(counts.error + counts.done > 0, JSON.stringify(counts));
  });
}

test.run();
