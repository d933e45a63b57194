/**
 * The fake kernel answers like the recorded one: each fixture that starts
 * from an empty namespace is replayed into a FakeHost (its requests, byte for
 * byte), and the answers must be the same messages, in the same order, with
 * the same types, flags, sequence numbers and errnos (payloads differ where
 * the kernel's counters do: handles, generation, timestamps).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NLMSG_ERROR } from '../../src/netlink/constants.js';
import { parseAck, parseMessages } from '../../src/netlink/message.js';
import { NFT_MSG_NEWGEN } from '../../src/nftables/constants.js';
import { generationSchema } from '../../src/nftables/generation.js';
import { decodeMessage } from '../../src/netlink/message.js';
import { nftType } from '../../src/nftables/nfgenmsg.js';
import { FakeHost, FakeSocket } from '../helpers/fake-host.js';
import { fixturePath, loadFixture } from '../helpers/fixtures.js';

function summary(datagrams: Buffer[]): string[] {
  return datagrams
    .flatMap((d) => parseMessages(d))
    .map((m) => {
      const errno = m.type === NLMSG_ERROR ? ` errno ${parseAck(m).errno}` : '';
      return `type ${m.type} flags 0x${m.flags.toString(16)} seq ${m.seq} pid ${m.pid}${errno}`;
    });
}

for (const name of ['nftables/tables', 'nftables/chains', 'nftables/sets', 'nftables/generation', 'nftables/errors']) {
  test(`${name}: the fake answers with the recorded kernel's messages`, () => {
    const fixture = loadFixture(fixturePath(name));
    const recorded = fixture.entries.filter((e) => e.kind === 'recv').map((e) => e.datagram);
    // Start at the recorded generation, so requests that carry it (NFNL_BATCH_GENID) mean the same.
    const first = recorded.flatMap((d) => parseMessages(d)).find((m) => m.type === nftType(NFT_MSG_NEWGEN));
    const generation = first ? decodeMessage(generationSchema, first).id : undefined;
    const host = new FakeHost({ links: [], ...(generation !== undefined ? { generation } : {}) });
    const socket = new FakeSocket(host, fixture.protocol, fixture.port);
    const answered = fixture.entries.filter((e) => e.kind === 'send').flatMap((e) => host.receive(socket, e.datagram));
    assert.equal(summary(answered), summary(recorded));
  });
}

test.run();
