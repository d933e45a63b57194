/**
 * The CLI on a spec file it cannot read as a spec: exit 1, exactly one line
 * on stderr, nothing on stdout; --debug adds the parser's excerpt. No root
 * needed: loadSpec fails before the host is opened. Every run names a
 * network namespace that does not exist, so that had anything got as far as
 * opening the host, the error would be about the namespace (and nothing on
 * this machine could be touched).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'vxnet-cli-spec-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const NO_NAMESPACE = `vxnet-no-such-namespace-${process.pid}`;

function vxnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', ...args, '--namespace', NO_NAMESPACE],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const SPEC = 'name: demo\nvni: 42\nunderlay: { device: eth0 }\ngroup: 239.1.1.1\nsubnet: 10.10.0.0/24\n';

const BAD: [name: string, content: Buffer, expected: RegExp][] = [
  [
    'latin1.yaml',
    Buffer.concat([Buffer.from(`${SPEC}bridge: br`), Buffer.of(0xe9), Buffer.from('\n')]),
    /latin1\.yaml:6:11: wrong encoding: not UTF-8 at byte offset 94: /,
  ],
  [
    'syntax.yaml',
    Buffer.from(`${SPEC}dhcp:\n  ranges: [{ start: 10.10.0.100\nbridge: br0\n`),
    /syntax\.yaml:8:1: not valid YAML: Flow map in block collection/,
  ],
  [
    'syntax.json',
    Buffer.from('{"name": "demo",\n "vni": }\n'),
    /syntax\.json:2:9: not valid JSON: Unexpected token "}"$/,
  ],
  [
    'utf16.yaml',
    Buffer.from(`\ufeff${SPEC}`, 'utf16le'),
    /utf16\.yaml: wrong encoding: the file starts with a UTF-16 LE byte order mark/,
  ],
];

test('vxnet plan on a bad spec file: exit 1, one line on stderr, nothing on stdout, never as far as opening the host', () => {
  for (const [name, content, expected] of BAD) {
    const path = join(dir, name);
    writeFileSync(path, content);
    const { status, stdout, stderr } = vxnet('plan', path);
    assert.is(status, 1, `${name}: ${stderr}`);
    assert.is(stdout, '', name);
    const lines = stderr.split('\n');
    assert.is(lines.length, 2, `${name}: one line and its newline: ${JSON.stringify(stderr)}`);
    assert.is(lines[1], '');
    assert.ok(lines[0]!.startsWith(`vxnet: invalid spec: ${path}:`), `${name}: ${lines[0]}`);
    assert.match(lines[0]!, expected, name);
    assert.not.match(stderr, new RegExp(NO_NAMESPACE), 'failed before the host was opened');
  }
});

test('--debug: the stack, then the yaml error with its excerpt of the file', () => {
  const path = join(dir, 'debug.yaml');
  writeFileSync(path, 'a: b: c\n');
  const { status, stdout, stderr } = vxnet('plan', path, '--debug');
  assert.is(status, 1);
  assert.is(stdout, '');
  assert.match(
    stderr,
    /^ValidationError: invalid spec: .*debug\.yaml:1:4: not valid YAML: Nested mappings are not allowed in compact mappings\n\s+at /,
  );
  assert.match(
    stderr,
    /\ncaused by: YAMLParseError: Nested mappings are not allowed in compact mappings at line 1, column 4:\n\na: b: c\n {3}\^\n/,
  );
});

test.run();
