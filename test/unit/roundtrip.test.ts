/**
 * For every message in every recorded fixture (what the kernel sent, and what
 * we sent), decoding and re-encoding gives the same bytes. This is what makes
 * read-modify-write safe: nothing the kernel said is lost or altered.
 */
import { basename } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeMessage, encodeMessage, forEachMessage } from '../../src/netlink/message.js';
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

test.run();
