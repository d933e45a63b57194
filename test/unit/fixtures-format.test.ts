import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NLMSG_ERROR } from '../../src/netlink/constants.js';
import { hexDiff } from '../../src/netlink/fixture-diff.js';
import { FixtureParseError, formatFixture, parseFixture, type Recording } from '../../src/netlink/fixture-format.js';
import { encodeRaw, stamp } from '../../src/netlink/message.js';
import { fixturePath, FIXTURES_DIR, loadFixture } from '../helpers/fixtures.js';
import { fixtureRecipes } from '../fixtures/registry.js';

const META = {
  name: 'test/synthetic',
  recipe: 'written by test/unit/fixtures-format.test.ts',
  kernel: '6.0.0-test',
  date: '2026-01-02T03:04:05.000Z',
};

function message(type: number, flags: number, seq: number, pid: number, payload: number[] = []): Buffer {
  const m = encodeRaw(type, flags, Uint8Array.from(payload));
  stamp(m, seq, pid);
  return m;
}

/** Every shape the format has to carry: several messages per send, an ack, an openfd, raw tail bytes, an unpadded last message. */
function synthetic(): Recording {
  const request = Buffer.concat([
    message(18, 0x301, 7, 4242, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    message(1, 5, 8, 4242),
  ]);
  const ack = message(NLMSG_ERROR, 0x100, 8, 4242, [0, 0, 0, 0, ...request.subarray(32, 48)]);
  // A 21-byte message, not padded: the kernel may end a datagram like that.
  const unpadded = Buffer.alloc(21, 0xab);
  unpadded.writeUInt32LE(21, 0);
  unpadded.writeUInt16LE(24, 4);
  return {
    protocol: 0,
    port: 4242,
    entries: [
      { kind: 'send', datagram: request },
      { kind: 'recv', datagram: ack },
      { kind: 'openfd', fd: 23 },
      { kind: 'recv', datagram: Buffer.concat([message(16, 2, 9, 4242, [1, 2, 3, 4]), Buffer.from([1, 2, 3, 4, 5])]) },
      { kind: 'recv', datagram: unpadded },
    ],
  };
}

test('format then parse gives back every entry, byte for byte', () => {
  const recording = synthetic();
  const text = formatFixture(recording, { ...META, description: 'first line\nsecond line' });
  const parsed = parseFixture(text);
  assert.is(parsed.protocol, 0);
  assert.is(parsed.port, 4242);
  assert.equal(parsed.header, {
    ...META,
    format: 1,
    byteOrder: 'little-endian',
    description: 'first line\nsecond line',
  });
  assert.is(parsed.entries.length, recording.entries.length);
  parsed.entries.forEach((entry, i) => {
    const original = recording.entries[i]!;
    assert.is(entry.kind, original.kind);
    if (entry.kind === 'openfd' && original.kind === 'openfd') assert.is(entry.fd, original.fd);
    if (entry.kind !== 'openfd' && original.kind !== 'openfd')
      assert.ok(entry.datagram.equals(original.datagram), `entry ${i} bytes`);
  });
  assert.is(formatFixture(parsed, parsed.header), text, 'formatting a parsed fixture gives the same text');
});

test('the text looks as documented: summaries, 4-byte groups, 16 bytes a line, offsets', () => {
  const text = formatFixture(synthetic(), META, { typeName: (t) => (t === 18 ? 'RTM_GETLINK' : undefined) });
  const lines = text.split('\n');
  assert.is(
    lines[0],
    '# vxnet netlink fixture: recorded kernel bytes. Never edit by hand: re-record it (docs/fixtures.md).',
  );
  assert.ok(lines.includes('protocol: 0 NETLINK_ROUTE'));
  const send = lines.indexOf('send');
  assert.is(lines[send + 1], '  # len=32 type=18 RTM_GETLINK flags=0x0301 seq=7 pid=4242');
  assert.is(lines[send + 2], '  0000: 20000000 12000103 07000000 92100000');
  assert.is(lines[send + 3], '  0010: 00000000 01000000 00000000 00000000');
  assert.is(lines[send + 4], '  # len=16 type=1 NLMSG_NOOP flags=0x0005 seq=8 pid=4242');
  assert.ok(text.includes('  # len=36 type=2 NLMSG_ERROR flags=0x0100 seq=8 pid=4242 -- ack\n'));
  assert.ok(text.includes('\nopenfd 23\n'));
  assert.ok(text.includes('  # raw len=5 -- not a netlink message\n  0000: 01020304 05\n'));
  assert.ok(
    text.includes(
      '  # len=21 type=24 flags=0xabab seq=2880154539 pid=2880154539\n  0000: 15000000 1800abab abababab abababab\n  0010: abababab ab\n',
    ),
  );
});

test('offsets past 64 KiB take more digits and still round-trip', () => {
  const big = Buffer.alloc(0x10010, 0x5a);
  const recording: Recording = { protocol: 0, port: 1, entries: [{ kind: 'recv', datagram: big }] };
  const text = formatFixture(recording, META);
  assert.ok(text.includes('\n  fff0: 5a5a5a5a'));
  assert.ok(text.includes('\n  10000: 5a5a5a5a 5a5a5a5a 5a5a5a5a 5a5a5a5a\n'));
  const parsed = parseFixture(text);
  assert.ok(parsed.entries[0]!.kind === 'recv' && parsed.entries[0]!.datagram.equals(big));
});

test('every committed fixture parses, is listed in the registry, and re-formats to the same text', () => {
  const files = readdirSync(FIXTURES_DIR, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.nlfix'));
  assert.ok(files.length >= 4, 'the core fixtures are committed');
  for (const file of files) {
    const name = file.replace(/\.nlfix$/, '');
    const recipe = fixtureRecipes.find((r) => r.name === name);
    assert.ok(recipe, `${file} has a recipe in test/fixtures/registry.ts`);
    const text = readFileSync(fixturePath(name), 'utf8');
    const fixture = loadFixture(fixturePath(name));
    assert.is(fixture.header.name, name);
    assert.is(fixture.header.recipe, `npx tsx test/fixtures/record.ts ${name}`);
    assert.is(formatFixture(fixture, fixture.header, { typeName: recipe!.typeName }), text, `${file} round trip`);
  }
});

// ---------------------------------------------------------------- strictness

const GOOD = formatFixture(synthetic(), META);

/** Applies an edit to the good text and expects a parse error on `line` whose message contains `words`. */
function rejects(edit: (text: string) => string, line: number, words: string): void {
  let error: unknown;
  try {
    parseFixture(edit(GOOD), 'bad.nlfix');
  } catch (e) {
    error = e;
  }
  assert.instance(error, FixtureParseError, `expected a FixtureParseError mentioning "${words}"`);
  const failure = error as FixtureParseError;
  assert.ok(failure.message.includes(words), `"${failure.message}" should mention "${words}"`);
  assert.is(failure.line, line, `line of "${failure.message}"`);
  assert.ok(failure.message.startsWith(`bad.nlfix:${line}: `));
}

const lineOf = (needle: string): number => GOOD.split('\n').findIndex((l) => l.startsWith(needle)) + 1;
const replaceLine =
  (needle: string, by: string) =>
  (text: string): string =>
    text
      .split('\n')
      .map((l) => (l.startsWith(needle) ? by : l))
      .join('\n');

test('parse rejects a missing banner or a bad header, naming the line', () => {
  rejects((t) => t.replace(/^[^\n]*\n/, ''), 1, 'banner');
  rejects(replaceLine('port: ', 'port: -1'), lineOf('port: '), 'port is an unsigned 32-bit number');
  rejects(replaceLine('port: ', 'colour: blue'), lineOf('port: '), 'unknown header field "colour"');
  rejects(replaceLine('format: ', 'format: 2'), lineOf('format: '), 'format 2 is not supported');
  rejects(replaceLine('name: ', 'name:core'), lineOf('name: '), 'expected a header line');
  // Reported on the header's last line (port, moved up by one).
  rejects((t) => t.replace('kernel: 6.0.0-test\n', ''), lineOf('port: ') - 1, 'lacks "kernel"');
  rejects((t) => t.replace('port: 4242\n', 'port: 4242\nport: 4243\n'), lineOf('port: ') + 1, 'appears twice');
});

test('parse rejects bodies that do not follow the format, naming the line', () => {
  const send = lineOf('send');
  rejects(replaceLine('send', 'sent'), send, 'expected a block');
  // A summary whose numbers disagree with the bytes under it (a hand edit).
  rejects((t) => t.replace('seq=7 pid=4242', 'seq=9 pid=4242'), send + 1, 'the summary says seq=9 but the bytes say 7');
  rejects(
    (t) => t.replace('  0010: 00000000 01000000', '  0020: 00000000 01000000'),
    send + 3,
    'offset 0020 should be 0010',
  );
  rejects(
    (t) => t.replace('  0010: 00000000 01000000', '  0010: 00000000 0100000'),
    send + 3,
    'odd number of hex digits',
  );
  rejects(
    (t) => t.replace('  0000: 20000000 12000103 07000000 92100000', '  0000: 20000000 1200 0103 07000000'),
    send + 2,
    'only the last group',
  );
  rejects(
    (t) => t.replace('  0000: 20000000 12000103', '  0000: 20000000 12000103 junk'),
    send + 2,
    'expected a hex line',
  );
  rejects(
    (t) =>
      t.replace(
        '  0000: 20000000 12000103 07000000 92100000\n',
        '  0000: 20000000 12000103 07000000\n  000c: 92100000\n',
      ),
    send + 2,
    'fewer than 16 bytes must be the last',
  );
  // Bytes missing at the end of a message.
  rejects(
    (t) => t.replace('  0010: 00000000 01000000 00000000 00000000\n', '  0010: 00000000 01000000\n'),
    send + 1,
    'len=32 needs 32 bytes',
  );
  rejects((t) => t.replace('\nsend\n', '\nsend\n\n'), send, 'a send block needs at least one message');
  rejects((t) => t.replace('  # raw len=5', '  # raw len=6'), lineOf('  # raw'), 'raw len=6 but 5 bytes follow');
  const lastLine = GOOD.split('\n').length - 1;
  rejects((t) => `${t}\nrecv\n  hello\n`, lastLine + 3, 'expected a message summary');
});

test('hexDiff marks differing lines, masks seq and pid, and collapses distant equal lines', () => {
  const expected = message(
    18,
    0x301,
    1,
    2,
    Array.from({ length: 64 }, (_, i) => i),
  );
  const actual = Buffer.from(expected);
  stamp(actual, 99, 100);
  actual[70] = 0xff;
  const diff = hexDiff(expected, actual);
  const lines = diff.split('\n');
  assert.is(lines[0], '  offset  expected  actual');
  assert.ok(lines.includes('! 0044  34353637  3435ff37'), diff);
  assert.ok(lines.includes('  0038  28292a2b  28292a2b'), 'context before');
  assert.ok(!lines.some((l) => l.includes(' 0008 ')), 'lines far from the difference are collapsed');
  assert.is(lines[1], '  ...');
  // Masked words print as dots; bytes one side lacks as blanks. A 12-byte
  // fragment is no message, so nothing in it is masked.
  const short = hexDiff(expected, actual.subarray(0, 12)).split('\n');
  assert.ok(short.includes('  0008  ........  63000000'), short.join('\n'));
  assert.ok(short.includes('! 000c  ........'), short.join('\n'));
});

test.run();
