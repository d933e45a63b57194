/**
 * The CLI's commands (runCommand in src/cli/commands.ts) against the fake
 * kernel: each command gets an OverlayHost over FakeHost's clients through
 * runCommand's `openHost`, with the state in a temporary directory. What is
 * checked is what a person sees — the lines printed, the JSON documents, the
 * exit codes, the one-line error (errorMessage, which main prints) — and
 * that what must be refused is refused before the host is even opened.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify as toYaml } from 'yaml';
import { errorMessage, type OpenHost, runCommand, UsageError } from '../../src/cli/commands.js';
import { ConflictError } from '../../src/common/conflict.js';
import { ValidationError } from '../../src/netlink/errors.js';
import type { IpForwardControl } from '../../src/network/forwarding.js';
import { OverlayHost, type OverlayHostOptions } from '../../src/overlay/host.js';
import { NetworkLock } from '../../src/overlay/lock.js';
import type { OverlaySpec } from '../../src/overlay/spec.js';
import { ethernet, FakeHost, LOOPBACK } from '../helpers/fake-host.js';

const dir = mkdtempSync(join(tmpdir(), 'vxnet-cli-commands-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Cli {
  fake: FakeHost;
  /** Runs a command as `vxnet ARGS`, collecting what it prints. */
  run(args: string[], options?: Parameters<typeof runCommand>[1]): Promise<{ code: number; lines: string[] }>;
  /** The options of every host opened, in order. */
  opened: OverlayHostOptions[];
  openHost: OpenHost;
}

let scenes = 0;
function cli(): Cli {
  const fake = new FakeHost({ links: [LOOPBACK, ethernet('eth0', { mtu: 1500, addresses: ['192.168.100.1/24'] })] });
  let forwarding = false;
  const ipForward: IpForwardControl = { get: async () => forwarding, set: async (on) => void (forwarding = on) };
  const stateRoot = join(dir, `state-${++scenes}`);
  const opened: OverlayHostOptions[] = [];
  // Each command opens its own clients, as each `vxnet` process does.
  const openHost: OpenHost = async (options) => {
    opened.push(options);
    return OverlayHost.over(
      { rtnetlink: fake.rtnetlink(), nftables: fake.nftables(), ipForward },
      { ...options, stateRoot },
    );
  };
  const run = async (args: string[], options = {}) => {
    const lines: string[] = [];
    const code = await runCommand(args, options, (line) => lines.push(line), openHost);
    return { code, lines };
  };
  return { fake, run, opened, openHost };
}

let files = 0;
function specFile(spec: OverlaySpec | Record<string, unknown>, extension = 'yaml'): string {
  const path = join(dir, `spec-${++files}.${extension}`);
  writeFileSync(path, extension === 'json' ? JSON.stringify(spec) : toYaml(spec));
  return path;
}

const SPEC: OverlaySpec = {
  name: 'demo',
  vni: 42,
  underlay: { device: 'eth0', address: '192.168.100.1' },
  peers: ['192.168.100.1', '192.168.100.2'],
  subnet: '10.10.0.0/24',
  gateway: '10.10.0.1',
  firewall: true,
};
const STEPS = [
  'create link vx-demo (vxlan id 42 1 unicast peer(s) dev eth0 dstport 4789 mtu 1450)',
  'add peers of vx-demo (192.168.100.2)',
  'create link br-demo (bridge, stp off, forward delay 0s, mtu 1450)',
  'add address 10.10.0.1/24 on br-demo',
  'add port vx-demo on br-demo',
  'create nftables table vxnet-demo (udp 4789 open, 9 message(s))',
];

async function rejection(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  assert.unreachable('expected it to throw');
  throw new Error('unreachable');
}

// ------------------------------------------------------------------ plan and apply

test('plan: a "+" line per change and exit 2; nothing to change: one line and exit 0; nothing written', async () => {
  const { fake, run } = cli();
  const file = specFile(SPEC);
  assert.equal(await run(['plan', file]), { code: 2, lines: STEPS.map((step) => `+ ${step}`) });
  assert.is(fake.writes, 0);
  await run(['apply', file]);
  assert.equal(await run(['plan', file]), { code: 0, lines: ['demo: nothing to change'] });
});

test('plan --json: one document, { network, changes: [{ action, target, detail? }] }', async () => {
  const { run } = cli();
  const { code, lines } = await run(['plan', specFile(SPEC, 'json')], { json: true });
  assert.is(code, 2);
  assert.is(lines.length, 1);
  const document = JSON.parse(lines[0]!);
  assert.equal(Object.keys(document), ['network', 'changes']);
  assert.is(document.network, 'demo');
  assert.equal(document.changes[0], {
    action: 'create',
    target: 'link vx-demo',
    detail: 'vxlan id 42 1 unicast peer(s) dev eth0 dstport 4789 mtu 1450',
  });
  assert.equal(
    document.changes[4],
    { action: 'add', target: 'port vx-demo on br-demo' },
    'no detail key when there is none',
  );
  assert.is(document.changes.length, STEPS.length);
});

test('apply: a "✓" line as each change is made, exit 0; again: "already up to date", no write', async () => {
  const { fake, run } = cli();
  const file = specFile(SPEC);
  assert.equal(await run(['apply', file]), { code: 0, lines: STEPS.map((step) => `✓ ${step}`) });
  const writes = fake.writes;
  assert.equal(await run(['apply', file]), { code: 0, lines: ['demo: already up to date'] });
  assert.is(fake.writes, writes);
});

test('apply --json: only the document (no progress lines), with the changes made', async () => {
  const { run } = cli();
  const file = specFile(SPEC);
  const first = await run(['apply', file], { json: true });
  assert.is(first.code, 0);
  assert.is(first.lines.length, 1);
  const document = JSON.parse(first.lines[0]!);
  assert.equal(Object.keys(document), ['network', 'changes']);
  assert.equal(
    document.changes.map((c: { action: string; target: string }) => `${c.action} ${c.target}`),
    [
      'create link vx-demo',
      'add peers of vx-demo',
      'create link br-demo',
      'add address 10.10.0.1/24 on br-demo',
      'add port vx-demo on br-demo',
      'create nftables table vxnet-demo',
    ],
  );
  assert.equal(JSON.parse((await run(['apply', file], { json: true })).lines[0]!), { network: 'demo', changes: [] });
});

test('a conflict a replace resolves: the error tells the command line to use --replace; --replace recreates the device', async () => {
  const { fake, run } = cli();
  await run(['apply', specFile(SPEC)]);
  const moved = specFile({ ...SPEC, port: 8472 });
  const before = fake.snapshot();
  const error = await rejection(() => run(['apply', moved]));
  assert.instance(error, ConflictError);
  assert.is(
    errorMessage(error),
    'link vx-demo exists but differs from the spec: port is 4789, wanted 8472; change the spec, or ask for --replace to recreate it (traffic stops briefly)',
  );
  assert.not.match(errorMessage(error), /replace: true/);
  assert.equal(fake.snapshot(), before, 'refused before any write');
  const replaced = await run(['apply', moved], { replace: true });
  assert.is(replaced.code, 0);
  assert.equal(replaced.lines.slice(0, 3), [
    '✓ delete link vx-demo (marked vxnet:demo, to recreate it: port is 4789, wanted 8472)',
    '✓ replace link vx-demo (vxlan id 42 1 unicast peer(s) dev eth0 dstport 8472 mtu 1450)',
    '✓ add peers of vx-demo (192.168.100.2)',
  ]);
  assert.ok(replaced.lines.includes('✓ add port vx-demo on br-demo'), 'the new device is a port of the bridge again');
  assert.equal(await run(['plan', moved]), { code: 0, lines: ['demo: nothing to change'] });
});

test('a conflict no replace resolves (a veth of that name): the error never suggests --replace', async () => {
  const { fake, run } = cli();
  await fake.rtnetlink().links.create({ ifname: 'vx-demo', kind: 'veth', peer: { ifname: 'vx-demo-peer' } });
  for (const options of [{}, { replace: true }]) {
    const error = await rejection(() => run(['apply', specFile(SPEC)], options));
    assert.instance(error, ConflictError);
    assert.match(
      errorMessage(error),
      /^link vx-demo exists but differs from the spec: kind is veth, wanted vxlan; pick another name/,
    );
    assert.not.match(errorMessage(error), /replace/);
  }
  assert.ok(fake.snapshot().links.some((l) => l.ifname === 'vx-demo' && l.kind === 'veth'));
});

test('errorMessage: any other error is its own message', () => {
  assert.is(errorMessage(new ValidationError('vni', 'too large', 1 << 24)), 'invalid vni: too large (got 16777216)');
  assert.is(errorMessage('plain'), 'plain');
});

// ------------------------------------------------------------------ spec files refused before anything

test('a spec file that is not UTF-8 (or not a spec) is refused before the host is opened: nothing written', async () => {
  const { fake, run, opened } = cli();
  const latin1 = join(dir, 'latin1.yaml');
  writeFileSync(
    latin1,
    Buffer.concat([Buffer.from(toYaml({ ...SPEC, bridge: 'br' })).subarray(0, -1), Buffer.of(0xe9, 0x0a)]),
  );
  const utf16 = join(dir, 'utf16.yaml');
  writeFileSync(utf16, Buffer.from(`\ufeff${toYaml(SPEC)}`, 'utf16le'));
  const invalid = specFile({ ...SPEC, gateway: '10.11.0.1' });
  const cases: [args: string[], options: Record<string, unknown>, message: RegExp][] = [
    [['plan', latin1], {}, /latin1\.yaml:\d+:\d+: wrong encoding: not UTF-8 at byte offset \d+/],
    [['apply', latin1], {}, /latin1\.yaml:\d+:\d+: wrong encoding: not UTF-8/],
    [
      ['apply', utf16],
      { replace: true },
      /utf16\.yaml: wrong encoding: the file starts with a UTF-16 LE byte order mark/,
    ],
    [['status', 'demo'], { spec: latin1 }, /latin1\.yaml:\d+:\d+: wrong encoding/],
    [['apply', invalid], {}, /invalid gateway: is not inside the subnet/],
  ];
  for (const [args, options, message] of cases) {
    const error = await rejection(() => run(args, options));
    assert.instance(error, ValidationError, String(error));
    assert.match(errorMessage(error), message);
    assert.not.match(errorMessage(error), /\n/, 'one line');
  }
  assert.equal(opened, [], 'no host was opened');
  assert.is(fake.writes, 0);
  assert.is(fake.sends, 0, 'not even a read');
});

test('usage errors: unknown command, missing arguments, peers without add/rm, a --spec of another network', async () => {
  const { run, opened } = cli();
  for (const [args, message] of [
    [['launch'], /unknown command launch/],
    [['plan'], /missing FILE/],
    [['destroy'], /missing NAME/],
    [['peers', 'list', 'demo'], /peers takes add or rm, not list/],
    [['peers', 'add', 'demo'], /missing ADDRESS/],
  ] as const) {
    const error = await rejection(() => run([...args]));
    assert.instance(error, UsageError);
    assert.match(error.message, message);
  }
  const other = await rejection(() => run(['status', 'other'], { spec: specFile(SPEC) }));
  assert.instance(other, UsageError);
  assert.match(other.message, /describes network demo, not other/);
  assert.equal(opened, []);
});

// ------------------------------------------------------------------ status

test('status: the readout, "ok" and exit 0 when it matches the spec', async () => {
  const { run } = cli();
  const file = specFile(SPEC);
  await run(['apply', file]);
  assert.equal(await run(['status', 'demo'], { spec: file }), {
    code: 0,
    lines: [
      'network demo',
      '  link vx-demo (vxlan) mtu 1450 up',
      '  link br-demo (bridge) mtu 1450 up',
      '  vxlan vni 42 port 4789 peers 192.168.100.2 local 192.168.100.1 dev eth0',
      '  remote MACs known: 0',
      '  bridge br-demo: ports vx-demo; addresses 10.10.0.1/24',
      '  nftables table vxnet-demo: 4 rule(s), peers 192.168.100.2',
      '  ok',
    ],
  });
});

test('status: drift is exit 2, a refusal said with --replace; problems are exit 2; nf_tables unreadable is "unknown", not drift', async () => {
  const { fake, run } = cli();
  await run(['apply', specFile(SPEC)]);
  const drift = await run(['status', 'demo'], { spec: specFile({ ...SPEC, port: 8472 }) });
  assert.is(drift.code, 2);
  assert.ok(
    drift.lines.includes(
      '  drift: apply would refuse: link vx-demo exists but differs from the spec: port is 4789, wanted 8472; change the spec, or ask for --replace to recreate it (traffic stops briefly)',
    ),
    drift.lines.join('\n'),
  );
  assert.not.ok(drift.lines.includes('  ok'));

  await fake.rtnetlink().links.set('vx-demo', { up: false });
  const down = await run(['status', 'demo']);
  assert.is(down.code, 2, 'a problem');
  assert.ok(down.lines.includes('  link vx-demo (vxlan) mtu 1450 DOWN'));
  assert.ok(down.lines.includes('  problem: vx-demo is down'));

  const ghost = await run(['status', 'ghost']);
  assert.equal(ghost, {
    code: 2,
    lines: ['network ghost', '  problem: nothing of network ghost exists in namespace fake'],
  });

  await fake.rtnetlink().links.set('vx-demo', { up: true });
  fake.failRead({ errno: 'EPERM', when: (r) => r.protocol === 'nftables', times: Infinity });
  const blind = await run(['status', 'demo'], { spec: specFile(SPEC) });
  assert.is(blind.code, 0, 'nothing known to be wrong');
  assert.equal(blind.lines.slice(-3), [
    '  unknown: firewall: reading nf_tables needs CAP_NET_ADMIN (EPERM)',
    '  unknown: drift: planning reads nf_tables, which needs CAP_NET_ADMIN',
    '  ok in what could be read (2 part(s) unknown)',
  ]);
});

test('status --json: the OverlayStatus document, drift and problems included', async () => {
  const { run } = cli();
  await run(['apply', specFile(SPEC)]);
  const { code, lines } = await run(['status', 'demo'], { json: true, spec: specFile({ ...SPEC, port: 8472 }) });
  assert.is(code, 2);
  assert.is(lines.length, 1);
  const document = JSON.parse(lines[0]!);
  assert.equal(Object.keys(document).sort(), [
    'attachments',
    'bridge',
    'drift',
    'firewall',
    'links',
    'name',
    'problems',
    'unknown',
    'vxlan',
  ]);
  assert.equal(
    document.links.map((l: { name: string }) => l.name),
    ['vx-demo', 'br-demo'],
  );
  assert.equal(document.bridge, { name: 'br-demo', ports: ['vx-demo'], addresses: ['10.10.0.1/24'] });
  assert.is(document.drift.length, 1);
  assert.match(document.drift[0], /^refuse: .*port is 4789, wanted 8472; .*--replace/);
  assert.ok(
    document.problems.some((p: string) =>
      p.startsWith('port mismatch: vx-demo uses UDP port 4789 but the overlay expects 8472'),
    ),
  );
});

// ------------------------------------------------------------------ destroy and peers

test('destroy: a "-" line per removal, exit 0; again: "nothing of it exists here"; --json: { network, removed }', async () => {
  const { fake, run } = cli();
  await run(['apply', specFile(SPEC)]);
  assert.equal(await run(['destroy', 'demo']), {
    code: 0,
    lines: ['- delete link br-demo (bridge)', '- delete link vx-demo (vxlan)', '- delete nftables table vxnet-demo'],
  });
  assert.equal(
    fake.snapshot().links.map((l) => l.ifname),
    ['lo', 'eth0'],
  );
  assert.equal(await run(['destroy', 'demo']), { code: 0, lines: ['demo: nothing of it exists here'] });
  assert.equal(JSON.parse((await run(['destroy', 'demo'], { json: true })).lines[0]!), {
    network: 'demo',
    removed: [],
  });
});

test('peers add / rm: a line each, "(no change …)" when it was already so; --json: { network, peer, action, changed }', async () => {
  const { fake, run } = cli();
  await run(['apply', specFile(SPEC)]);
  assert.equal(await run(['peers', 'add', 'demo', '192.168.100.3']), {
    code: 0,
    lines: ['demo: added peer 192.168.100.3'],
  });
  assert.equal(await run(['peers', 'add', 'demo', '192.168.100.3']), {
    code: 0,
    lines: ['demo: added peer 192.168.100.3 (no change: it was already so)'],
  });
  assert.ok(fake.snapshot().fdb.some((e) => e.dev === 'vx-demo' && e.dst === '192.168.100.3'));
  const removed = await run(['peers', 'rm', 'demo', '192.168.100.3'], { json: true });
  assert.equal(removed.code, 0);
  assert.equal(JSON.parse(removed.lines[0]!), { network: 'demo', peer: '192.168.100.3', action: 'rm', changed: true });
  assert.equal(
    JSON.parse((await run(['peers', 'rm', 'demo', '192.168.100.3'], { json: true })).lines[0]!).changed,
    false,
  );
  const writes = fake.writes;
  const bad = await rejection(() => run(['peers', 'add', 'demo', '2001:db8::3']));
  assert.instance(bad, ValidationError);
  assert.is(fake.writes, writes, 'an address of the other family changes nothing');
});

// ------------------------------------------------------------------ the lock

test('a write waits for another writer of the network and says so once (not under --json), then goes ahead', async () => {
  const { run, openHost } = cli();
  const file = specFile(SPEC);
  // The holder's note where the commands' hosts look for it: the same state root and namespace.
  const probe = await openHost({});
  const lock = await NetworkLock.acquire('demo', undefined, probe.state('demo').lockNote, { timeoutMs: 0 });
  await probe.close();
  setTimeout(() => lock.release(), 300);
  const { code, lines } = await run(['apply', file]);
  assert.is(code, 0);
  assert.match(
    lines[0]!,
    new RegExp(`^waiting: network demo is being changed by pid ${process.pid} \\(.*, since \\d{4}-\\d\\d-\\d\\dT`),
  );
  assert.equal(
    lines.slice(1),
    STEPS.map((step) => `✓ ${step}`),
  );

  const again = await NetworkLock.acquire('demo', undefined, probe.state('demo').lockNote, { timeoutMs: 0 });
  setTimeout(() => again.release(), 300);
  const quiet = await run(['destroy', 'demo'], { json: true });
  assert.is(quiet.lines.length, 1, 'only the document');
  assert.is(JSON.parse(quiet.lines[0]!).network, 'demo');
});

test.run();
