/**
 * vxnet-cni run as a runtime runs it: the bundled plugin, installed as
 * `vxnet` in a plugin directory, exec'd inside a lab host's namespace with
 * CNI_* in the environment and the config on stdin; the reference IPAM
 * plugins (/usr/lib/cni host-local and static) and a failing fake one in
 * CNI_PATH. Every bad input returns the spec's error JSON with its code and
 * leaves the host, the container and the IPAM state as they were. `ip` is
 * the oracle.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayHost } from '../../src/overlay/host.js';
import type { OverlaySpec } from '../../src/overlay/spec.js';
import { buildPluginDir, type PluginDir, runPlugin } from '../helpers/cni.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, sh } from '../helpers/netns.js';

const REFERENCE = '/usr/lib/cni';
const ready = integrationReady(['ip', 'nsenter', 'ping']);
if (ready && !existsSync(`${REFERENCE}/host-local`)) {
  const message = `the CNI tests need the reference plugins in ${REFERENCE} (Debian containernetworking-plugins: bash scripts/setup.sh --test)`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`skipping: ${message}`);
}
const it = ready && existsSync(`${REFERENCE}/host-local`) ? test : test.skip;

let lab: Lab;
let host: LabHost;
let plugin: PluginDir;
let work: string;
let fakeDir: string;
let ipamDir: string;

function specFor(h: LabHost): OverlaySpec {
  return {
    name: 'cnit',
    vni: 43,
    port: 4789,
    underlay: { device: 'eth0', address: h.address },
    group: '239.1.1.3',
    subnet: '10.30.0.0/24',
    gateway: `10.30.0.${h.index}`,
    vxlan: 'vx0',
    bridge: 'br0',
  } as OverlaySpec;
}

const hostLocal = (version = '1.0.0', extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: version,
    name: 'cnit-net',
    type: 'vxnet',
    network: 'cnit',
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: '10.30.0.0/24', rangeStart: '10.30.0.50', rangeEnd: '10.30.0.59', gateway: '10.30.0.1' }]],
      dataDir: ipamDir,
    },
    ...extra,
  });

function env(
  ns: string,
  command: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    CNI_COMMAND: command,
    CNI_CONTAINERID: `ctr-${ns.replace(/.*-/, '')}`,
    CNI_NETNS: `/run/netns/${ns}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: `${REFERENCE}`,
    ...extra,
  };
}

/** What must not change when a command is refused: the host's and the container's links, and the IPAM reservations. */
function snapshot(container?: string): string {
  const links = (ns: string) =>
    JSON.parse(sh('ip', ['-n', ns, '-j', '-d', 'link', 'show']))
      .map((l: any) => `${l.ifname}:${l.ifalias ?? ''}:${l.flags.includes('UP')}`)
      .sort()
      .join(',');
  const reservations = existsSync(join(ipamDir, 'cnit-net'))
    ? readdirSync(join(ipamDir, 'cnit-net'))
        .filter((f) => /^\d/.test(f))
        .sort()
        .join(',')
    : '';
  return `${links(host.ns)} | ${container ? links(container) : ''} | ${reservations}`;
}

function containerAddresses(ns: string): string[] {
  return (JSON.parse(sh('ip', ['-n', ns, '-j', '-4', 'addr', 'show', 'dev', 'eth0']))[0]?.addr_info ?? []).map(
    (a: any) => `${a.local}/${a.prefixlen}`,
  );
}

test.before(async () => {
  if (!ready || !existsSync(`${REFERENCE}/host-local`)) return;
  lab = Lab.create({ hosts: 2 });
  host = lab.host(1);
  plugin = buildPluginDir();
  work = mkdtempSync(join(tmpdir(), 'vxnet-cni-test-'));
  ipamDir = join(work, 'ipam');
  fakeDir = join(work, 'fake');
  sh('mkdir', ['-p', fakeDir]);
  // An IPAM plugin that refuses ADD with its own code, and writes down every command it gets.
  writeFileSync(
    join(fakeDir, 'failing-ipam'),
    `#!/bin/sh\necho "$CNI_COMMAND" >> ${join(work, 'fake.log')}\ncat >/dev/null\nif [ "$CNI_COMMAND" = ADD ]; then\n  echo '{"cniVersion":"1.0.0","code":11,"msg":"address pool busy","details":"try again in a second"}'\n  exit 1\nfi\nexit 0\n`,
    { mode: 0o755 },
  );
  for (const h of lab.hosts) {
    await using overlay = await OverlayHost.open({ namespace: h.ns });
    await overlay.apply(specFor(h));
  }
});

test.after(() => {
  lab?.destroy();
  plugin?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

it('VERSION lists the versions spoken, in the version asked', () => {
  const run = runPlugin(plugin, host.ns, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
  assert.is(run.code, 0);
  assert.equal(run.json, { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
});

it('ADD (host-local), CHECK, DEL, DEL again: the address, the route, the result, nothing left', () => {
  const c = lab.addNamespaceNamed('a1');
  const add = runPlugin(plugin, host.ns, env(c, 'ADD'), hostLocal('1.1.0'));
  assert.is(add.code, 0, add.stdout + add.stderr);
  const result = add.json;
  assert.is(result.cniVersion, '1.1.0');
  assert.is(result.interfaces.length, 2);
  assert.ok(/^vxc[0-9a-f]{12}$/.test(result.interfaces[0].name));
  assert.equal(
    { ...result.interfaces[1], mac: undefined },
    { name: 'eth0', mac: undefined, mtu: 1450, sandbox: `/run/netns/${c}` },
  );
  assert.equal(result.ips, [{ address: '10.30.0.50/24', gateway: '10.30.0.1', interface: 1 }]);
  assert.equal(result.routes, [{ dst: '0.0.0.0/0', gw: '10.30.0.1' }]);
  assert.equal(containerAddresses(c), ['10.30.0.50/24']);
  assert.match(sh('ip', ['-n', c, 'route', 'show', 'default']), 'via 10.30.0.1 dev eth0');
  const mac = JSON.parse(sh('ip', ['-n', c, '-j', 'link', 'show', 'eth0']))[0].address;
  assert.is(result.interfaces[1].mac, mac);
  assert.ok(lab.ping(c, '10.30.0.1'), 'the container reaches its gateway');
  assert.ok(existsSync(join(ipamDir, 'cnit-net', '10.30.0.50')), 'host-local reserved the address');

  const check = runPlugin(plugin, host.ns, env(c, 'CHECK'), hostLocal('1.1.0', { prevResult: result }));
  assert.is(check.code, 0, check.stdout + check.stderr);

  // CHECK notices a change behind its back.
  sh('ip', ['-n', c, 'addr', 'del', '10.30.0.50/24', 'dev', 'eth0']);
  const broken = runPlugin(plugin, host.ns, env(c, 'CHECK'), hostLocal('1.1.0', { prevResult: result }));
  assert.is(broken.code, 1);
  assert.is(broken.json.code, 106);
  assert.match(broken.json.details, '10.30.0.50/24');

  const del = runPlugin(plugin, host.ns, env(c, 'DEL'), hostLocal('1.1.0', { prevResult: result }));
  assert.is(del.code, 0, del.stdout + del.stderr);
  assert.is(del.stdout.trim(), '');
  assert.not.ok(JSON.parse(sh('ip', ['-n', c, '-j', 'link', 'show'])).some((l: any) => l.ifname === 'eth0'));
  assert.not.ok(
    JSON.parse(sh('ip', ['-n', host.ns, '-j', 'link', 'show'])).some(
      (l: any) => l.ifname === result.interfaces[0].name,
    ),
  );
  assert.not.ok(existsSync(join(ipamDir, 'cnit-net', '10.30.0.50')), 'the reservation is released');
  const again = runPlugin(plugin, host.ns, env(c, 'DEL'), hostLocal('1.1.0'));
  assert.is(again.code, 0, 'a second DEL succeeds');
  // DEL with the namespace gone, and without CNI_NETNS.
  const gone = runPlugin(plugin, host.ns, env(c, 'DEL', { CNI_NETNS: '/run/netns/no-such-ns' }), hostLocal('1.1.0'));
  assert.is(gone.code, 0, gone.stdout);
  assert.is(runPlugin(plugin, host.ns, env(c, 'DEL', { CNI_NETNS: undefined }), hostLocal('1.1.0')).code, 0);
});

it('0.4.0 and 1.0.0 configs get results of their version; static IPAM; prevResult of a chain is kept', () => {
  const c = lab.addNamespaceNamed('a2');
  const old = runPlugin(plugin, host.ns, env(c, 'ADD'), hostLocal('0.4.0'));
  assert.is(old.code, 0, old.stdout + old.stderr);
  assert.is(old.json.cniVersion, '0.4.0');
  assert.is(old.json.ips[0].version, '4');
  assert.is(old.json.interfaces[1].mtu, undefined);
  assert.is(runPlugin(plugin, host.ns, env(c, 'DEL'), hostLocal('0.4.0')).code, 0);

  const prevResult = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'other0' }],
    ips: [{ address: '192.0.2.7/24', interface: 0 }],
    dns: { nameservers: ['192.0.2.53'] },
  };
  const config = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'cnit-static',
    type: 'vxnet',
    network: 'cnit',
    ipam: { type: 'static', addresses: [{ address: '10.30.0.7/24', gateway: '10.30.0.1' }] },
    prevResult,
  });
  const add = runPlugin(plugin, host.ns, env(c, 'ADD'), config);
  assert.is(add.code, 0, add.stdout + add.stderr);
  assert.is(add.json.cniVersion, '1.0.0');
  assert.equal(add.json.interfaces.map((i: any) => i.name).slice(0, 1), ['other0']);
  assert.equal(add.json.ips, [
    { address: '192.0.2.7/24', interface: 0 },
    { address: '10.30.0.7/24', gateway: '10.30.0.1', interface: 2 },
  ]);
  assert.equal(add.json.dns, { nameservers: ['192.0.2.53'] });
  assert.equal(add.json.routes, [{ dst: '0.0.0.0/0', gw: '10.30.0.1' }], 'the default route vxnet set');
  assert.equal(containerAddresses(c), ['10.30.0.7/24']);
  assert.is(runPlugin(plugin, host.ns, env(c, 'DEL'), config).code, 0);
});

/** A config for a plugin later in a chain: static IPAM (10.30.0.8), and the previous plugin's result. */
const chained = (prevResult: Record<string, unknown>) =>
  JSON.stringify({
    cniVersion: '1.1.0',
    name: 'cnit-chain',
    type: 'vxnet',
    network: 'cnit',
    ipam: { type: 'static', addresses: [{ address: '10.30.0.8/24', gateway: '10.30.0.1' }] },
    prevResult,
  });

function defaultRoutes(ns: string): string[] {
  return JSON.parse(sh('ip', ['-n', ns, '-j', '-4', 'route', 'show', 'default'])).map(
    (r: any) => `via ${r.gateway} dev ${r.dev}`,
  );
}

it('chained after a plugin that routes the container through its own device: that default route stays, and is listed', () => {
  const c = lab.addNamespaceNamed('ch1');
  // What the previous plugin in the chain did: other0 with 192.0.2.7/24, the default route via 192.0.2.1.
  sh('ip', ['-n', c, 'link', 'add', 'other0', 'type', 'veth', 'peer', 'name', 'other1']);
  sh('ip', ['-n', c, 'addr', 'add', '192.0.2.7/24', 'dev', 'other0']);
  sh('ip', ['-n', c, 'link', 'set', 'other0', 'up']);
  sh('ip', ['-n', c, 'link', 'set', 'other1', 'up']);
  sh('ip', ['-n', c, 'route', 'add', 'default', 'via', '192.0.2.1', 'dev', 'other0']);
  const prevResult = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'other0', sandbox: `/run/netns/${c}` }],
    ips: [{ address: '192.0.2.7/24', gateway: '192.0.2.1', interface: 0 }],
    routes: [
      { dst: '198.51.100.0/24', gw: '192.0.2.1' },
      { dst: '0.0.0.0/0', gw: '192.0.2.1' },
    ],
  };
  const add = runPlugin(plugin, host.ns, env(c, 'ADD'), chained(prevResult));
  assert.is(add.code, 0, add.stdout + add.stderr);
  assert.equal(
    add.json.interfaces.map((i: any) => i.name),
    ['other0', add.json.interfaces[1].name, 'eth0'],
  );
  assert.equal(add.json.ips, [
    { address: '192.0.2.7/24', gateway: '192.0.2.1', interface: 0 },
    { address: '10.30.0.8/24', gateway: '10.30.0.1', interface: 2 },
  ]);
  assert.equal(add.json.routes, prevResult.routes, "the previous plugin's routes, its default route among them");
  assert.equal(defaultRoutes(c), ['via 192.0.2.1 dev other0'], 'the container still routes through other0');
  assert.match(add.stderr, 'default route left alone');
  const check = runPlugin(plugin, host.ns, env(c, 'CHECK'), chained({ ...add.json }));
  assert.is(check.code, 0, check.stdout + check.stderr);
  assert.is(runPlugin(plugin, host.ns, env(c, 'DEL'), chained(add.json)).code, 0);
  assert.equal(defaultRoutes(c), ['via 192.0.2.1 dev other0'], 'DEL leaves the other default route alone');
});

it("chained after a plugin whose result lists a default route the container lacks: vxnet's replaces it", () => {
  const c = lab.addNamespaceNamed('ch2');
  const prevResult = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'tap0' }],
    routes: [
      { dst: '198.51.100.0/24', gw: '192.0.2.1' },
      { dst: '0.0.0.0/0', gw: '192.0.2.1' },
    ],
  };
  const add = runPlugin(plugin, host.ns, env(c, 'ADD'), chained(prevResult));
  assert.is(add.code, 0, add.stdout + add.stderr);
  assert.equal(add.json.ips, [{ address: '10.30.0.8/24', gateway: '10.30.0.1', interface: 2 }]);
  assert.equal(add.json.routes, [
    { dst: '198.51.100.0/24', gw: '192.0.2.1' },
    { dst: '0.0.0.0/0', gw: '10.30.0.1' },
  ]);
  assert.equal(defaultRoutes(c), ['via 10.30.0.1 dev eth0']);
  assert.is(runPlugin(plugin, host.ns, env(c, 'DEL'), chained(add.json)).code, 0);
});

it('STATUS: 0 when the overlay is up here, 51 when its VXLAN device is down, 50 for a network not applied', () => {
  const ok = runPlugin(plugin, host.ns, { CNI_COMMAND: 'STATUS', CNI_PATH: REFERENCE }, hostLocal('1.1.0'));
  assert.is(ok.code, 0, ok.stdout + ok.stderr);
  sh('ip', ['-n', host.ns, 'link', 'set', 'vx0', 'down']);
  try {
    const down = runPlugin(plugin, host.ns, { CNI_COMMAND: 'STATUS', CNI_PATH: REFERENCE }, hostLocal('1.1.0'));
    assert.is(down.code, 1);
    assert.is(down.json.code, 51);
  } finally {
    sh('ip', ['-n', host.ns, 'link', 'set', 'vx0', 'up']);
  }
  const absent = runPlugin(
    plugin,
    host.ns,
    { CNI_COMMAND: 'STATUS' },
    JSON.stringify({ cniVersion: '1.1.0', name: 'x', type: 'vxnet', network: 'nosuch' }),
  );
  assert.is(absent.json.code, 50);
  assert.is(absent.json.cniVersion, '1.1.0');
  const old = runPlugin(plugin, host.ns, { CNI_COMMAND: 'STATUS' }, hostLocal('1.0.0'));
  assert.is(old.json.code, 1, 'STATUS is 1.1.0 only');
});

it('GC removes attachments whose container is not in cni.dev/valid-attachments, and their reservations', () => {
  const keep = lab.addNamespaceNamed('g1');
  const drop = lab.addNamespaceNamed('g2');
  const a = runPlugin(plugin, host.ns, env(keep, 'ADD'), hostLocal('1.1.0'));
  const b = runPlugin(plugin, host.ns, env(drop, 'ADD'), hostLocal('1.1.0'));
  assert.is(a.code, 0, a.stdout);
  assert.is(b.code, 0, b.stdout);
  const dropped = b.json.ips[0].address.split('/')[0];
  assert.ok(existsSync(join(ipamDir, 'cnit-net', dropped)));
  const gc = runPlugin(
    plugin,
    host.ns,
    { CNI_COMMAND: 'GC', CNI_PATH: REFERENCE },
    hostLocal('1.1.0', {
      'cni.dev/valid-attachments': [{ containerID: env(keep, 'ADD').CNI_CONTAINERID, ifname: 'eth0' }],
    }),
  );
  assert.is(gc.code, 0, gc.stdout + gc.stderr);
  const hostLinks = JSON.parse(sh('ip', ['-n', host.ns, '-j', 'link', 'show'])).map((l: any) => l.ifname);
  assert.ok(hostLinks.includes(a.json.interfaces[0].name), 'the valid attachment stays');
  assert.not.ok(hostLinks.includes(b.json.interfaces[0].name), 'the stale one is removed');
  assert.not.ok(existsSync(join(ipamDir, 'cnit-net', dropped)), 'and its reservation released');
  assert.ok(existsSync(join(ipamDir, 'cnit-net', a.json.ips[0].address.split('/')[0])));
  assert.is(runPlugin(plugin, host.ns, env(keep, 'DEL'), hostLocal('1.1.0')).code, 0);
  assert.is(runPlugin(plugin, host.ns, env(drop, 'DEL'), hostLocal('1.1.0')).code, 0, 'DEL after GC is fine');
});

it('examples/cni/run-by-hand.sh with examples/cni/vxnet.conflist: ADD, CHECK, VERSION, DEL twice, nothing left', async () => {
  // The conflist's network as it is shipped: "demo", 10.10.0.0/24 via 10.10.0.1, applied beside cnit on host 2.
  const h = lab.host(2);
  const demo = {
    ...specFor(h),
    name: 'demo',
    vni: 44,
    group: '239.1.1.4',
    subnet: '10.10.0.0/24',
    gateway: '10.10.0.1',
    vxlan: 'vx1',
    bridge: 'br1',
  } as OverlaySpec;
  const dataDir = join(work, 'byhand-ipam');
  {
    await using overlay = await OverlayHost.open({ namespace: h.ns });
    await overlay.apply(demo);
  }
  try {
    // The script's own namespaces (others' tests add and delete theirs meanwhile).
    const byHand = () => sh('ip', ['netns', 'list']).match(/^vxnet-cni-byhand-\S+/gm) ?? [];
    const namespacesBefore = byHand();
    const run = spawnSync('ip', ['netns', 'exec', h.ns, 'sh', 'examples/cni/run-by-hand.sh'], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, VXNET_CNI: join(plugin.dir, 'vxnet'), CNI_PATH: REFERENCE, IPAM_DATA_DIR: dataDir },
    });
    const output = `${run.stdout}${run.stderr}`;
    assert.is(run.status, 0, output);
    const added = JSON.parse(run.stdout.split('== ADD\n')[1]!.split('\n')[0]!);
    assert.equal(added.ips, [{ address: '10.10.0.20/24', gateway: '10.10.0.1', interface: 1 }]);
    assert.equal(added.routes, [{ dst: '0.0.0.0/0', gw: '10.10.0.1' }]);
    assert.match(run.stdout, /^eth0@\S+\s+UP\s+10\.10\.0\.20\/24/m);
    assert.match(run.stdout, /^default via 10\.10\.0\.1 dev eth0/m);
    assert.match(run.stdout, '== CHECK\nok\n');
    assert.match(run.stdout, /== VERSION\n\{"cniVersion":"1\.0\.0","supportedVersions":\[/);
    assert.match(run.stdout, /== DEL \(twice[^\n]*\nok\nok\n$/);
    // Nothing left: the script's namespace, the host end on br1, the reservation.
    assert.equal(byHand(), namespacesBefore);
    assert.equal(
      JSON.parse(sh('ip', ['-n', h.ns, '-j', 'link', 'show', 'master', 'br1'])).map((l: any) => l.ifname),
      ['vx1'],
    );
    assert.equal(
      readdirSync(join(dataDir, 'demo')).filter((f) => /^\d/.test(f)),
      [],
    );
  } finally {
    await using overlay = await OverlayHost.open({ namespace: h.ns });
    await overlay.destroy('demo');
  }
});

// ---------------------------------------------------------------- bad input: the spec's error, nothing changed

let refusals = 0;
function refused(
  name: string,
  code: number,
  make: (c: string) => { env: Record<string, string | undefined>; stdin: string },
  match?: RegExp,
): void {
  it(`bad input: ${name} → code ${code}, nothing changed`, () => {
    const c = lab.addNamespaceNamed(`bad${++refusals}`);
    const input = make(c);
    const before = snapshot(c);
    const run = runPlugin(plugin, host.ns, input.env, input.stdin);
    assert.is(run.code, 1, `exit status (stdout: ${run.stdout}, stderr: ${run.stderr})`);
    assert.ok(run.json, `error JSON on stdout: ${run.stdout}`);
    assert.is(run.json.code, code, run.stdout);
    assert.type(run.json.msg, 'string');
    assert.type(run.json.cniVersion, 'string');
    if (match) assert.match(`${run.json.msg} ${run.json.details ?? ''}`, match);
    assert.is(snapshot(c), before);
  });
}

refused(
  'missing network',
  7,
  (c) => ({
    env: env(c, 'ADD'),
    stdin: JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'vxnet', ipam: { type: 'host-local' } }),
  }),
  /network/,
);
refused(
  'unknown network',
  100,
  (c) => ({ env: env(c, 'ADD'), stdin: hostLocal('1.0.0').replace('"network":"cnit"', '"network":"nosuch"') }),
  /nosuch/,
);
refused('unsupported cniVersion', 1, (c) => ({ env: env(c, 'ADD'), stdin: hostLocal('9.9.9') }), /9\.9\.9/);
refused('malformed JSON', 6, (c) => ({ env: env(c, 'ADD'), stdin: '{"cniVersion": "1.0.0", "name": ' }));
refused('empty stdin', 6, (c) => ({ env: env(c, 'ADD'), stdin: '' }));
refused(
  'missing CNI_COMMAND',
  4,
  (c) => ({ env: env(c, 'ADD', { CNI_COMMAND: undefined }), stdin: hostLocal() }),
  /CNI_COMMAND/,
);
refused(
  'missing CNI_NETNS and CNI_IFNAME',
  4,
  (c) => ({ env: env(c, 'ADD', { CNI_NETNS: undefined, CNI_IFNAME: undefined }), stdin: hostLocal() }),
  /CNI_NETNS, CNI_IFNAME/,
);
refused(
  'bad CNI_CONTAINERID',
  4,
  (c) => ({ env: env(c, 'ADD', { CNI_CONTAINERID: '-bad id' }), stdin: hostLocal() }),
  /CNI_CONTAINERID/,
);
refused(
  'netns that does not exist',
  3,
  (c) => ({ env: env(c, 'ADD', { CNI_NETNS: '/run/netns/vxnet-no-such-namespace' }), stdin: hostLocal() }),
  /does not exist/,
);
refused(
  'CHECK on a 0.3.1 config',
  1,
  (c) => ({ env: env(c, 'CHECK'), stdin: hostLocal('0.3.1', { prevResult: {} }) }),
  /CHECK/,
);
refused(
  'IPAM plugin not in CNI_PATH',
  7,
  (c) => ({ env: env(c, 'ADD', { CNI_PATH: fakeDir }), stdin: hostLocal() }),
  /host-local/,
);
refused(
  'address with ipam',
  2,
  (c) => ({ env: env(c, 'ADD'), stdin: hostLocal('1.0.0', { address: 'dhcp' }) }),
  /address/,
);

it('bad input: an IPAM plugin that fails → its code, msg and details passed through, IPAM DEL called, nothing changed', () => {
  const c = lab.addNamespaceNamed('bipam');
  const config = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'cnit-net',
    type: 'vxnet',
    network: 'cnit',
    ipam: { type: 'failing-ipam' },
  });
  const before = snapshot(c);
  const run = runPlugin(plugin, host.ns, env(c, 'ADD', { CNI_PATH: `${fakeDir}:${REFERENCE}` }), config);
  assert.is(run.code, 1);
  assert.equal(run.json, { cniVersion: '1.0.0', code: 11, msg: 'address pool busy', details: 'try again in a second' });
  assert.equal(readFileSync(join(work, 'fake.log'), 'utf8').trim().split('\n'), ['ADD', 'DEL']);
  assert.is(snapshot(c), before);
});

it('bad input: ifname already present in the container → 101, IPAM never asked, nothing changed', () => {
  const c = lab.addNamespaceNamed('btaken');
  sh('ip', ['-n', c, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'other']);
  const before = snapshot(c);
  const run = runPlugin(plugin, host.ns, env(c, 'ADD'), hostLocal());
  assert.is(run.code, 1);
  assert.is(run.json.code, 101, run.stdout);
  assert.match(run.json.details, 'eth0');
  assert.is(snapshot(c), before);
});

it('bad input: an address outside the overlay subnet from IPAM → 103, the reservation released, nothing changed', () => {
  const c = lab.addNamespaceNamed('bout');
  const config = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'cnit-net',
    type: 'vxnet',
    network: 'cnit',
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.99.0.0/24' }]], dataDir: ipamDir },
  });
  const before = snapshot(c);
  const run = runPlugin(plugin, host.ns, env(c, 'ADD'), config);
  assert.is(run.code, 1);
  assert.is(run.json.code, 103, run.stdout);
  assert.is(snapshot(c), before);
  assert.is(readdirSync(join(ipamDir, 'cnit-net')).filter((f) => f.startsWith('10.99.')).length, 0);
});

test.run();
