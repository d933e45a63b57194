import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { align, NLMSG_HDRLEN } from '../../src/netlink/align.js';
import { NETLINK_ROUTE, NLMSG_ERROR } from '../../src/netlink/constants.js';
import { Connection } from '../../src/netlink/connection.js';
import { NetlinkError } from '../../src/netlink/errors.js';
import { splitDatagram } from '../../src/netlink/fixture-format.js';
import { DEFAULT_REPLAY_PORT, ReplayMismatchError, ReplayTransport } from '../../src/netlink/fixture-replay.js';
import { decodeMessage, encodeMessage, encodeRaw, parseMessages, stamp } from '../../src/netlink/message.js';
import { fixturePath, loadFixture, replayFixture } from '../helpers/fixtures.js';
import { AF_INET, coreSchemas, linkSchema, RT_TABLE_MAIN, RTM_GETLINK } from '../fixtures/recipes/core-schema.js';
import {
  BATCH_INDEXES,
  batchGetLinks,
  countRoutes,
  dumpLinks,
  MISSING_LINK,
  refusedRequests,
} from '../fixtures/recipes/core.js';
import { fixtureRecipes, ROUTE_COUNT } from '../fixtures/registry.js';

/** Runs `body` and returns what it threw (or fails the test if it did not throw). */
async function thrown(body: () => Promise<unknown> | unknown): Promise<Error> {
  try {
    await body();
  } catch (error) {
    return error as Error;
  }
  assert.unreachable('expected an error');
  throw new Error('unreachable');
}

// ---------------------------------------------------------------- the committed fixtures, through their recipes

test('core/link-dump: lo with mtu 65536, and the veth pair vxfa/vxfb', async () => {
  const links = await replayFixture(fixturePath('core/link-dump'), dumpLinks);
  const byName = new Map(links.map((l) => [l.ifname, l]));
  assert.equal([...byName.keys()].sort(), ['lo', 'vxfa', 'vxfb']);
  assert.is(byName.get('lo')!.ifindex, 1);
  assert.is(byName.get('lo')!.mtu, 65536);
  assert.is(byName.get('lo')!.link_type, 772, 'ARPHRD_LOOPBACK');
  assert.is(byName.get('lo')!.address, '00:00:00:00:00:00');
  for (const name of ['vxfa', 'vxfb']) {
    const veth = byName.get(name)!;
    assert.is(veth.mtu, 1500);
    assert.is(veth.link_type, 1, 'ARPHRD_ETHER');
    assert.ok(veth.flags & 1, `${name} is up (IFF_UP)`);
    assert.match(veth.address!, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  }
});

test('core/errors: a missing link is ENODEV, creating lo again is EEXIST', async () => {
  const result = await replayFixture(fixturePath('core/errors'), refusedRequests);
  assert.is.not(result.getMissing, 'accepted');
  assert.is.not(result.createExisting, 'accepted');
  if (result.getMissing === 'accepted' || result.createExisting === 'accepted') return;
  assert.is(result.getMissing.code, 'ENODEV');
  assert.ok(result.getMissing.message.startsWith(`get link ${MISSING_LINK} failed: ENODEV`), result.getMissing.message);
  assert.is(result.createExisting.code, 'EEXIST');
  assert.ok(result.createExisting.message.startsWith('create link lo failed: EEXIST'), result.createExisting.message);
});

test('core/batch: ifindex 1..3 exist, 4..20 fail with ENODEV at their own positions', async () => {
  const result = await replayFixture(fixturePath('core/batch'), batchGetLinks);
  assert.is(result.succeeded, 3);
  assert.equal(
    result.failed.map((f) => f.ifindex),
    BATCH_INDEXES.slice(3),
  );
  assert.equal(
    result.failed.map((f) => f.index),
    BATCH_INDEXES.slice(3).map((ifindex) => ifindex - 1),
  );
  assert.ok(result.failed.every((f) => f.code === 'ENODEV'));
});

test('core/route-dump: the 50 routes added with ip are in the main table, via 10.77.0.2', async () => {
  const result = await replayFixture(fixturePath('core/route-dump'), countRoutes);
  const ours = result.routes.filter((r) => r.dst?.startsWith('10.78.'));
  assert.is(ours.length, ROUTE_COUNT);
  assert.equal(ours.map((r) => r.dst).sort(), Array.from({ length: ROUTE_COUNT }, (_, n) => `10.78.${n}.0`).sort());
  for (const route of ours) {
    assert.is(route.family, AF_INET);
    assert.is(route.dst_len, 24);
    assert.is(route.table, RT_TABLE_MAIN);
    assert.is(route.gateway, '10.77.0.2');
  }
  // Plus the connected 10.77.0.0/24 in main; the rest are local-table routes (255).
  assert.is(result.byTable[RT_TABLE_MAIN], ROUTE_COUNT + 1);
  assert.is(
    result.total,
    Object.values(result.byTable).reduce((a, b) => a + b, 0),
  );
});

test('every registered fixture replays through its recipe and is consumed', async () => {
  for (const fixture of fixtureRecipes) await replayFixture(fixturePath(fixture.name), fixture.recipe);
});

test('every received message with a known schema decodes and re-encodes to the same bytes', async () => {
  let checked = 0;
  for (const { name } of fixtureRecipes) {
    const fixture = loadFixture(fixturePath(name));
    if (fixture.protocol !== NETLINK_ROUTE) continue;
    for (const entry of fixture.entries) {
      if (entry.kind !== 'recv') continue;
      for (const message of parseMessages(entry.datagram)) {
        const schema = coreSchemas[message.type];
        if (!schema) continue;
        const decoded = decodeMessage(schema, message);
        const encoded = encodeMessage(message.type, message.flags, schema, decoded);
        const original = message.buffer.subarray(message.start, message.end);
        const payload = encoded.subarray(NLMSG_HDRLEN, NLMSG_HDRLEN + original.length);
        assert.ok(
          payload.equals(original),
          `${name} (line ${entry.line}): ${schema.name} message of seq ${message.seq} re-encodes differently`,
        );
        assert.is(encoded.length, align(message.end - message.start + NLMSG_HDRLEN), `${name}: padded length`);
        checked++;
      }
    }
  }
  // 3 links + 3 links (batch) + every route of the dump.
  assert.ok(checked >= 6 + ROUTE_COUNT, `${checked} messages checked`);
});

// ---------------------------------------------------------------- going off the recording

test('a request that differs from the recording fails with a readable hex diff', async () => {
  const error = await thrown(() =>
    replayFixture(fixturePath('core/link-dump'), (conn) =>
      // The recording asked for AF_UNSPEC; ask for AF_INET instead: byte 16 differs.
      conn.dumpAll(() => encodeMessage(RTM_GETLINK, 0, linkSchema, { family: AF_INET }), { operation: 'dump links' }),
    ),
  );
  assert.instance(error, ReplayMismatchError);
  const lines = error.message.split('\n');
  assert.ok(
    lines[0]!.startsWith(
      'replay of test/fixtures/core/link-dump.nlfix: request 1 differs from the recording (send block at line 12; 32 bytes; first difference at byte 16',
    ),
    lines[0],
  );
  assert.ok(lines.includes('  offset  recorded  ours'), error.message);
  assert.ok(lines.includes('  0008  ........  ........'), 'seq and pid are masked');
  assert.ok(lines.includes('! 0010  00000000  02000000'), error.message);
  assert.ok(lines.includes('  0014  00000000  00000000'), 'context after the difference');
});

test('a recipe that leaves recorded datagrams unreplayed fails', async () => {
  const error = await thrown(() =>
    replayFixture(fixturePath('core/errors'), async (conn) => {
      // Only the first of the two recorded requests.
      await conn
        .request(encodeMessage(RTM_GETLINK, 0, linkSchema, { ifname: MISSING_LINK }), { operation: 'get link' })
        .catch(() => {});
    }),
  );
  assert.instance(error, ReplayMismatchError);
  assert.match(
    error.message,
    /2 recorded entries were not replayed \(1 request never sent\), starting with a send at line 2\d/,
  );
});

test('a request beyond the end of the recording fails', async () => {
  const error = await thrown(() =>
    replayFixture(fixturePath('core/errors'), async (conn) => {
      await refusedRequests(conn);
      await conn.request(encodeMessage(RTM_GETLINK, 0, linkSchema, { ifindex: 1 }), { operation: 'get link' });
    }),
  );
  assert.instance(error, ReplayMismatchError);
  assert.match(error.message, /request 3 was not recorded: the recording has ended/);
});

// ---------------------------------------------------------------- the transport itself

function message(
  type: number,
  flags: number,
  seq: number,
  pid: number,
  payload: Uint8Array = new Uint8Array(0),
): Buffer {
  const m = encodeRaw(type, flags, payload);
  stamp(m, seq, pid);
  return m;
}

test('replies get our seq and port, in the header and in the echoed request of an error', async () => {
  const RECORDED_PORT = 777;
  const request = encodeMessage(RTM_GETLINK, 0, linkSchema, { ifname: 'nope' });
  request.writeUInt16LE(0x5, 6); // as the connection will send it: NLM_F_REQUEST | NLM_F_ACK
  stamp(request, 40, RECORDED_PORT);
  const errno = Buffer.alloc(4);
  errno.writeInt32LE(-19);
  const reply = message(NLMSG_ERROR, 0, 40, RECORDED_PORT, Buffer.concat([errno, request]));
  const transport = new ReplayTransport({
    protocol: NETLINK_ROUTE,
    port: RECORDED_PORT,
    entries: [
      { kind: 'send', datagram: request },
      { kind: 'recv', datagram: reply },
    ],
  });
  assert.is(transport.port, DEFAULT_REPLAY_PORT);

  const seen: Buffer[] = [];
  transport.attach({ datagram: (d) => seen.push(d), error: () => {} });
  const ours = Buffer.from(request);
  stamp(ours, 123456, DEFAULT_REPLAY_PORT);
  await transport.send([ours]);
  assert.is(seen.length, 0, 'replies arrive asynchronously');
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(seen.length, 1);
  const [m] = parseMessages(seen[0]!);
  assert.is(m!.seq, 123456);
  assert.is(m!.pid, DEFAULT_REPLAY_PORT);
  assert.is(seen[0]!.readUInt32LE(NLMSG_HDRLEN + 4 + 8), 123456, 'echoed seq');
  assert.is(seen[0]!.readUInt32LE(NLMSG_HDRLEN + 4 + 12), DEFAULT_REPLAY_PORT, 'echoed pid');
  assert.ok(reply.readUInt32LE(8) === 40, 'the recording itself is not modified');
  transport.assertConsumed();
});

test('a connection over a hand-made recording: a fake kernel for any test', async () => {
  const request = encodeMessage(RTM_GETLINK, 0x5, linkSchema, { ifname: 'eth9' });
  const errno = Buffer.alloc(4);
  errno.writeInt32LE(-19);
  const transport = new ReplayTransport({
    protocol: NETLINK_ROUTE,
    port: 1,
    entries: [
      { kind: 'send', datagram: request },
      { kind: 'recv', datagram: message(NLMSG_ERROR, 0, 0, 1, Buffer.concat([errno, request])) },
    ],
  });
  const conn = Connection.over(transport);
  const error = await thrown(() =>
    conn.request(encodeMessage(RTM_GETLINK, 0, linkSchema, { ifname: 'eth9' }), {
      operation: 'get link',
      object: 'eth9',
    }),
  );
  conn.close();
  assert.instance(error, NetlinkError);
  assert.is((error as NetlinkError).code, 'ENODEV');
  assert.is(conn.unmatched, 0, 'the reply matched the request after rewriting');
  transport.assertConsumed();
});

test('recorded descriptors are handed out again; a datagram recorded before any send arrives on attach', async () => {
  const event = message(16, 0, 0, 0, new Uint8Array(16));
  const transport = new ReplayTransport({
    protocol: NETLINK_ROUTE,
    port: 5,
    entries: [
      { kind: 'recv', datagram: event },
      { kind: 'openfd', fd: 31 },
    ],
  });
  const seen: Buffer[] = [];
  transport.attach({ datagram: (d) => seen.push(d), error: () => {} });
  assert.is(await transport.openFd('/run/netns/anything'), 31);
  assert.is(await transport.openFd('/run/netns/other'), 1000, 'unrecorded: a made-up number');
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(seen.length, 1);
  assert.is(splitDatagram(seen[0]!)[0]!.header!.seq, 0, 'seq 0 (an event) stays 0');
  transport.assertConsumed();
});

test('after a mismatch, later sends and assertConsumed report the same failure', async () => {
  const request = message(RTM_GETLINK, 5, 1, 1, new Uint8Array(16));
  const transport = new ReplayTransport({
    protocol: NETLINK_ROUTE,
    port: 1,
    entries: [{ kind: 'send', datagram: request }],
  });
  transport.attach({ datagram: () => {}, error: () => {} });
  const first = await thrown(() => transport.send([message(RTM_GETLINK, 5, 1, 1, new Uint8Array(20))]));
  assert.match(first.message, /recorded 32 bytes, ours 36/);
  const again = await thrown(() => transport.send([request]));
  assert.is(again, first);
  assert.is(await thrown(() => transport.assertConsumed()), first);
});

test('the recorded fixtures carry their provenance', () => {
  for (const { name } of fixtureRecipes) {
    const { header } = loadFixture(fixturePath(name));
    assert.ok(header.kernel.length > 0 && header.description.length > 0, name);
    assert.ok(!Number.isNaN(Date.parse(header.date)), `${name}: date`);
  }
});

test.run();
