/**
 * Spec files: strict UTF-8 (the offset of the first bad byte in the error,
 * checked against TextDecoder { fatal: true } as the oracle), byte order
 * marks, UTF-16 without one, and YAML / JSON syntax errors on one line with
 * FILE:LINE:COLUMN. loadSpec on temporary files; nothing is sent anywhere.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/netlink/errors.js';
import { loadSpec, resolveSpec } from '../../src/overlay/spec.js';
import { firstInvalidUtf8, jsonErrorIndex, lineColumn } from '../../src/overlay/spec-file.js';
import { prng } from '../helpers/prng.js';

const dir = mkdtempSync(join(tmpdir(), 'vxnet-spec-file-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const SPEC = 'name: demo\nvni: 42\nunderlay: { device: eth0 }\ngroup: 239.1.1.1\nsubnet: 10.10.0.0/24\n';
const SPEC_JSON =
  '{"name": "demo", "vni": 42, "underlay": {"device": "eth0"}, "group": "239.1.1.1", "subnet": "10.10.0.0/24"}\n';

let counter = 0;
function file(content: Uint8Array | string, ext = '.yaml'): string {
  const path = join(dir, `spec${counter++}${ext}`);
  writeFileSync(path, content);
  return path;
}

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

async function refused(path: string): Promise<ValidationError> {
  try {
    const spec = await loadSpec(path);
    assert.unreachable(`expected a ValidationError, got ${JSON.stringify(spec)}`);
  } catch (error) {
    assert.instance(error, ValidationError, String(error));
    const e = error as ValidationError;
    assert.is(e.field, 'spec');
    assert.not.match(e.message, /\n/, 'one line');
    return e;
  }
  throw new Error('unreachable');
}

/** The oracle: the longest prefix TextDecoder { fatal: true } accepts (bytes.length when all of it is UTF-8). */
function oracleOffset(data: Uint8Array): number {
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  for (let k = data.length; k >= 0; k--) {
    try {
      strict.decode(data.subarray(0, k));
      return k === data.length ? -1 : k;
    } catch {
      // a longer prefix is never valid once one is not: keep shortening
    }
  }
  return 0;
}

// ------------------------------------------------------------ the case

test('a Latin-1 byte in the bridge name: refused with its byte offset, line and column (not a bridge named "br\\ufffd")', async () => {
  const content = bytes(SPEC, 'vxlan: vx0\nbridge: br', [0xe9], '\n');
  const path = file(content);
  const error = await refused(path);
  const offset = content.indexOf(0xe9);
  assert.ok(error.message.includes(`${path}:7:11: wrong encoding: not UTF-8 at byte offset ${offset}:`), error.message);
  assert.match(error.message, /byte 0xE9/);
  assert.match(error.message, /iconv -f WINDOWS-1252 -t UTF-8/);
  // Nothing else happened: the file is as it was and nothing was written next to it.
  assert.equal(readFileSync(path), content);
  assert.equal(
    readdirSync(dir).filter((name) => !/^spec\d+\.yaml$/.test(name)),
    [],
  );
});

test('a Latin-1 byte anywhere (here in a comment) is refused too: the file is not UTF-8', async () => {
  const content = bytes('# caf', [0xe9], '\n', SPEC);
  const error = await refused(file(content));
  assert.match(error.message, /:1:6: wrong encoding: not UTF-8 at byte offset 5: /);
});

test('each class of ill-formed UTF-8 is refused at the offset of its first byte', async () => {
  const classes: [string, number[], RegExp][] = [
    ['stray continuation byte', [0x80], /continuation byte/],
    ['overlong 2-byte (C0)', [0xc0, 0xaf], /overlong/],
    ['overlong 2-byte (C1)', [0xc1, 0xbf], /overlong/],
    ['overlong 3-byte (E0 80–9F)', [0xe0, 0x80, 0xaf], /overlong/],
    ['overlong 4-byte (F0 80–8F)', [0xf0, 0x80, 0x80, 0xaf], /overlong/],
    ['surrogate D800 (ED A0 80)', [0xed, 0xa0, 0x80], /surrogate/],
    ['surrogate DFFF (ED BF BF)', [0xed, 0xbf, 0xbf], /surrogate/],
    ['above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80], /above U\+10FFFF/],
    ['F5 lead', [0xf5, 0x80, 0x80, 0x80], /never occurs/],
    ['FF', [0xff], /never occurs/],
    ['truncated 2-byte', [0xc3, 0x41], /starts a 2-byte character but byte 0x41 follows/],
    ['truncated 3-byte', [0xe2, 0x82, 0x41], /starts a 3-byte character but byte 0x41 follows/],
    ['truncated 4-byte', [0xf0, 0x9f, 0x98, 0x41], /starts a 4-byte character but byte 0x41 follows/],
  ];
  for (const [name, sequence, why] of classes) {
    const content = bytes(SPEC, '# x', sequence, '\n');
    const oracle = oracleOffset(content);
    assert.is(oracle, SPEC.length + 3, name);
    assert.is(firstInvalidUtf8(content), oracle, name);
    const error = await refused(file(content));
    assert.ok(
      error.message.includes(`:6:4: wrong encoding: not UTF-8 at byte offset ${oracle}: `),
      `${name}: ${error.message}`,
    );
    assert.match(error.message, why, name);
  }
  // Cut short by the end of the file.
  for (const tail of [[0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98]]) {
    const content = bytes(SPEC, '# x', tail);
    assert.is(firstInvalidUtf8(content), oracleOffset(content));
    assert.match((await refused(file(content))).message, /the file ends inside the \d-byte character/);
  }
});

test('firstInvalidUtf8 agrees with TextDecoder fatal on every 1- and 2-byte input and every lead/second-byte pair', () => {
  for (let a = 0; a < 256; a++) {
    assert.is(firstInvalidUtf8(Uint8Array.of(a)), oracleOffset(Uint8Array.of(a)), `${a}`);
    for (let b = 0; b < 256; b++) {
      const two = Uint8Array.of(a, b);
      assert.is(firstInvalidUtf8(two), oracleOffset(two), `${a} ${b}`);
      // Lead and second byte followed by good continuations: the limits of E0, ED, F0, F4 and friends.
      const four = Uint8Array.of(a, b, 0x80, 0xbf, 0x41);
      assert.is(firstInvalidUtf8(four), oracleOffset(four), `${a} ${b} 80 BF 41`);
    }
  }
});

test('firstInvalidUtf8 agrees with TextDecoder fatal on PRNG-made UTF-8 with mutations (seeded, reproducible)', () => {
  const boundaries = [
    0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
  ];
  for (let seed = 1; seed <= 3000; seed++) {
    const random = prng(seed);
    const pick = (n: number): number => Math.floor(random() * n);
    // Valid text first: ASCII, 2-, 3- and 4-byte characters (no surrogates).
    let text = '';
    const length = 1 + pick(12);
    for (let i = 0; i < length; i++) {
      const kind = pick(4);
      const code =
        kind === 0
          ? pick(0x80)
          : kind === 1
            ? 0x80 + pick(0x780)
            : kind === 2
              ? 0x800 + pick(0xf800)
              : 0x10000 + pick(0x100000);
      text += String.fromCodePoint(code >= 0xd800 && code <= 0xdfff ? 0x41 : code);
    }
    const data = Buffer.from(text, 'utf8');
    // Then 0–3 mutations: a byte replaced (often by a boundary value), removed, or the end cut.
    const mutated = [...data];
    for (let m = pick(4); m > 0 && mutated.length > 0; m--) {
      const at = pick(mutated.length);
      const action = pick(4);
      if (action === 0) mutated[at] = pick(256);
      else if (action === 1) mutated[at] = boundaries[pick(boundaries.length)]!;
      else if (action === 2) mutated.splice(at, 1);
      else mutated.length = at;
    }
    const input = Uint8Array.from(mutated);
    assert.is(firstInvalidUtf8(input), oracleOffset(input), `seed ${seed}: ${Buffer.from(input).toString('hex')}`);
  }
});

// ------------------------------------------------------------ byte order marks, UTF-16

test('a UTF-8 byte order mark is accepted and dropped (YAML and JSON)', async () => {
  const fromYaml = await loadSpec(file(bytes([0xef, 0xbb, 0xbf], SPEC)));
  assert.equal(
    fromYaml,
    resolveSpec({ name: 'demo', vni: 42, underlay: { device: 'eth0' }, group: '239.1.1.1', subnet: '10.10.0.0/24' }),
  );
  const fromJson = await loadSpec(file(bytes([0xef, 0xbb, 0xbf], SPEC_JSON), '.json'));
  assert.equal(fromJson, fromYaml);
});

test('UTF-16 and UTF-32 byte order marks are refused: "encoding", which mark, and the iconv to convert', async () => {
  const utf16le = Buffer.from(`\ufeff${SPEC}`, 'utf16le');
  const utf16be = Buffer.from(utf16le).swap16();
  const utf32le = Buffer.alloc(4 * (SPEC.length + 1));
  for (const [i, c] of [...`\ufeff${SPEC}`].entries()) utf32le.writeUInt32LE(c.codePointAt(0)!, 4 * i);
  const utf32be = Buffer.from(utf32le).swap32();
  const cases: [Buffer, string, string][] = [
    [utf16le, 'UTF-16 LE', 'UTF-16'],
    [utf16be, 'UTF-16 BE', 'UTF-16'],
    [utf32le, 'UTF-32 LE', 'UTF-32'],
    [utf32be, 'UTF-32 BE', 'UTF-32'],
  ];
  for (const [content, name, iconv] of cases) {
    for (const ext of ['.yaml', '.json']) {
      const path = file(content, ext);
      const error = await refused(path);
      assert.is(
        error.message,
        `invalid spec: ${path}: wrong encoding: the file starts with a ${name} byte order mark: vxnet reads spec files as UTF-8 — convert it with iconv -f ${iconv} -t UTF-8`,
      );
    }
  }
});

test('UTF-16 without a byte order mark (NUL bytes) is refused with "encoding" and the likely byte order; other NULs too', async () => {
  const le = Buffer.from(SPEC, 'utf16le');
  let error = await refused(file(le));
  assert.match(
    error.message,
    /:1:2: wrong encoding: NUL bytes \(the first at byte offset 1\): this looks like UTF-16 LE text without a byte order mark: .* iconv -f UTF-16LE -t UTF-8$/,
  );
  error = await refused(file(Buffer.from(le).swap16()));
  assert.match(
    error.message,
    /:1:1: wrong encoding: NUL bytes \(the first at byte offset 0\): this looks like UTF-16 BE text without a byte order mark: .* iconv -f UTF-16BE -t UTF-8$/,
  );
  error = await refused(file(bytes(SPEC, '# a', [0], '\n')));
  assert.match(error.message, /:6:4: wrong encoding: a NUL byte at byte offset \d+: a spec file is YAML or JSON text/);
});

// ------------------------------------------------------------ syntax errors

test('YAML syntax errors: one line, FILE:LINE:COLUMN and the first line of the reason; the yaml error (with its excerpt) is the cause', async () => {
  const path = file(`${SPEC}dhcp:\n  ranges: [{ start: 10.10.0.100\nbridge: br0\n`);
  const error = await refused(path);
  assert.match(
    error.message,
    new RegExp(
      `^invalid spec: ${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:8:1: not valid YAML: Flow map in block collection must be sufficiently indented and end with a }$`,
    ),
  );
  assert.not.match(error.message, /at line \d+, column/, 'the position is given once');
  const cause = (error as Error & { cause?: Error }).cause;
  assert.ok(cause instanceof Error);
  assert.match(cause!.message, /\n/, 'the excerpt stays in the cause');

  assert.match(
    (await refused(file('a: b: c\n'))).message,
    /:1:4: not valid YAML: Nested mappings are not allowed in compact mappings$/,
  );
  assert.match((await refused(file('a: 1\na: 2\n'))).message, /:2:1: not valid YAML: Map keys must be unique$/);
  assert.match(
    (await refused(file('\tname: demo\n'))).message,
    /:1:1: not valid YAML: Tabs are not allowed as indentation$/,
  );
  assert.match(
    (await refused(file('a: 1\n---\nb: 2\n'))).message,
    /:2:1: not valid YAML: Source contains multiple documents/,
  );
  // An alias without its anchor fails while building the value: no position, still one line.
  assert.match((await refused(file('a: *x\n'))).message, /spec\d+\.yaml: not valid YAML: Unresolved alias/);
});

test('JSON syntax errors: one line, FILE:LINE:COLUMN, whether or not JSON.parse names a position', async () => {
  const cases: [string, string][] = [
    ['{"name": "demo",\n "vni": }\n', ':2:9: not valid JSON: Unexpected token "}"'], // V8 gives no position here
    ['{"name": "demo",\n "vni" 42}\n', ':2:8: not valid JSON: Unexpected number'],
    ['{"name":\n', ':2:1: not valid JSON: Unexpected end of JSON input'], // no position from V8: the end
    ['', ':1:1: not valid JSON: Unexpected end of JSON input'],
    ['{"name": "dé\tmo"}', ':1:13: not valid JSON: Bad control character in string literal'],
    ['{"a": 1}\n\n  x', ':3:3: not valid JSON: Unexpected non-whitespace character after JSON'],
    ['\n\n    {"a": tru}', ':3:14: not valid JSON: Unexpected token "}"'],
  ];
  for (const [text, expected] of cases) {
    const error = await refused(file(text, '.json'));
    assert.ok(error.message.endsWith(expected), `${JSON.stringify(text)}: ${error.message}`);
    assert.match(error.message, /\.json:\d+:\d+: not valid JSON: /);
    assert.instance((error as Error & { cause?: unknown }).cause, SyntaxError);
  }
});

test('jsonErrorIndex agrees with JSON.parse: valid or not, and the position wherever V8 names one (PRNG-mutated JSON)', () => {
  const alphabet = [
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '"',
    '\\',
    'u',
    '0',
    '1',
    '-',
    '.',
    'e',
    '+',
    't',
    'n',
    'f',
    ' ',
    '\n',
    '\t',
    'a',
    'é',
    '\u0001',
  ];
  const seeds = [
    SPEC_JSON,
    '{"a": [1, -2.5e+3, true, false, null, "x\\u00e9\\n"], "b": {}}',
    '[]',
    '"s"',
    '0',
    '-0.0E-0',
    '[{"k": [[]]}]',
  ];
  for (let seed = 1; seed <= 5000; seed++) {
    const random = prng(seed);
    const pick = (n: number): number => Math.floor(random() * n);
    const chars = [...seeds[pick(seeds.length)]!];
    for (let m = pick(3); m > 0 && chars.length > 0; m--) {
      const at = pick(chars.length);
      const action = pick(3);
      if (action === 0) chars[at] = alphabet[pick(alphabet.length)]!;
      else if (action === 1) chars.splice(at, 1);
      else chars.splice(at, 0, alphabet[pick(alphabet.length)]!);
    }
    const text = chars.join('');
    let message: string | undefined;
    try {
      JSON.parse(text);
    } catch (error) {
      message = (error as Error).message;
    }
    const index = jsonErrorIndex(text);
    const what = `seed ${seed}: ${JSON.stringify(text)} (${message})`;
    assert.is(index >= 0, message !== undefined, what);
    const reported = message && /JSON at position (\d+)/.exec(message);
    if (reported) assert.is(index, Number(reported[1]), what);
    if (message?.startsWith('Unexpected end of JSON input')) assert.is(index, text.length, what);
  }
});

test('lineColumn: 1-based, columns count characters (a surrogate pair is one)', () => {
  assert.equal(lineColumn('abc', 0), { line: 1, column: 1 });
  assert.equal(lineColumn('ab\ncd', 4), { line: 2, column: 2 });
  assert.equal(lineColumn('ab\n', 3), { line: 2, column: 1 });
  assert.equal(lineColumn('\u{1F600}x', 2), { line: 1, column: 2 });
  assert.equal(lineColumn('é\r\nx', 3), { line: 2, column: 1 });
});

test.run();
