/**
 * vxnet-cni's input and output, without a kernel: CNI_* and the config
 * checked in the spec's order with the spec's codes, results shaped per
 * version, prevResult kept. (The commands on the real kernel, run through the
 * plugin binary: test/integration/cni.test.ts.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readConfig, readEnv } from '../../src/cni/config.js';
import { CniError } from '../../src/cni/errors.js';
import { runPlugin } from '../../src/cni/plugin.js';
import { buildResult } from '../../src/cni/result.js';
import { checkVersion } from '../../src/cni/version.js';

const added = {
  host: { name: 'vxc000000000001', mac: 'fe:00:00:00:00:01' },
  container: { name: 'eth0', mac: '02:00:00:00:00:02', mtu: 1450, sandbox: '/run/netns/c' },
  ip: { address: '10.10.0.5/24', gateway: '10.10.0.1' },
  defaultRoute: { dst: '0.0.0.0/0', gw: '10.10.0.1' },
};

const code = (fn: () => unknown): number => {
  try {
    fn();
  } catch (error) {
    if (error instanceof CniError) return error.code;
    throw error;
  }
  return 0;
};

test('VERSION answers whatever the config, in the version asked', async () => {
  const out = await runPlugin({ CNI_COMMAND: 'VERSION' }, Buffer.from('{"cniVersion":"0.4.0"}'));
  assert.equal(JSON.parse(out.stdout), {
    cniVersion: '0.4.0',
    supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
  });
  assert.is(out.exitCode, 0);
});

test("errors are the spec JSON, in the config's version when it is spoken", async () => {
  const out = await runPlugin({}, Buffer.from('{"cniVersion":"0.4.0"}'));
  assert.is(out.exitCode, 1);
  const json = JSON.parse(out.stdout);
  assert.equal(Object.keys(json), ['cniVersion', 'code', 'msg', 'details']);
  assert.is(json.cniVersion, '0.4.0');
  assert.is(json.code, 4);
  const unknown = JSON.parse((await runPlugin({ CNI_COMMAND: 'ADD' }, Buffer.from('{"cniVersion":"7.0.0"}'))).stdout);
  assert.is(unknown.cniVersion, '1.1.0', 'a version not spoken is not echoed');
});

test('environment: what each command requires', () => {
  assert.is(
    code(() => readEnv({}, 'ADD')),
    4,
  );
  assert.is(
    code(() => readEnv({ CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0' }, 'DEL')),
    0,
    'DEL without CNI_NETNS',
  );
  assert.is(
    code(() => readEnv({ CNI_CONTAINERID: 'a', CNI_NETNS: 'relative', CNI_IFNAME: 'eth0' }, 'ADD')),
    4,
  );
  assert.is(
    code(() =>
      readEnv({ CNI_CONTAINERID: 'a', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'a-name-longer-than-15' }, 'ADD'),
    ),
    4,
  );
  assert.is(
    code(() => readEnv({}, 'GC')),
    4,
    'GC needs CNI_PATH',
  );
  assert.is(
    code(() => readEnv({}, 'STATUS')),
    0,
  );
  assert.equal(readEnv({ CNI_PATH: '/a::/b' }, 'STATUS').path, ['/a', '/b']);
});

test('config: decode (6), version (1), validation (7), unsupported field (2)', () => {
  const raw = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o));
  const ok = { cniVersion: '1.0.0', name: 'n', type: 'vxnet', network: 'demo' };
  assert.is(
    code(() => readConfig(raw('{'), 'ADD')),
    6,
  );
  assert.is(
    code(() => readConfig(raw('[]'), 'ADD')),
    6,
  );
  assert.is(
    code(() => readConfig(raw({ ...ok, cniVersion: '2.0.0' }), 'ADD')),
    1,
  );
  assert.is(
    code(() => readConfig(raw({ ...ok, cniVersion: '0.3.1' }), 'CHECK')),
    1,
  );
  assert.is(
    code(() => readConfig(raw(ok), 'GC')),
    1,
  );
  assert.is(
    code(() => readConfig(raw({ ...ok, network: undefined }), 'ADD')),
    7,
  );
  assert.is(
    code(() => readConfig(raw({ ...ok, network: 'bad name' }), 'ADD')),
    7,
  );
  assert.is(
    code(() => readConfig(raw({ ...ok, ipam: { ranges: [] } }), 'ADD')),
    7,
  );
  assert.is(
    code(() => readConfig(raw({ ...ok, address: '10.0.0.1/24' }), 'ADD')),
    2,
  );
  assert.is(
    code(() => readConfig(raw({ ...ok, address: 'dhcp', ipam: { type: 'static' } }), 'ADD')),
    2,
  );
  assert.is(readConfig(raw({ ...ok, ipam: {} }), 'ADD').ipam, undefined, 'an empty ipam is no IPAM');
  assert.equal(
    readConfig(
      raw({ ...ok, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'a', ifname: 'eth0' }] }),
      'GC',
    ).validAttachments,
    [{ containerID: 'a', ifname: 'eth0' }],
  );
  assert.is(checkVersion('1.1.0', 'STATUS'), '1.1.0');
});

test('results: 1.1.0 with interface MTU, 1.0.0 without, 0.4.0 with IP versions', () => {
  const r11 = buildResult('1.1.0', added);
  assert.equal(r11.interfaces, [
    { name: 'vxc000000000001', mac: 'fe:00:00:00:00:01' },
    { name: 'eth0', mac: '02:00:00:00:00:02', mtu: 1450, sandbox: '/run/netns/c' },
  ]);
  assert.equal(r11.ips, [{ address: '10.10.0.5/24', gateway: '10.10.0.1', interface: 1 }]);
  assert.equal(r11.routes, [{ dst: '0.0.0.0/0', gw: '10.10.0.1' }]);
  assert.is(buildResult('1.0.0', added).interfaces![1]!.mtu, undefined);
  assert.equal(buildResult('0.4.0', added).ips, [
    { version: '4', address: '10.10.0.5/24', gateway: '10.10.0.1', interface: 1 },
  ]);
});

test('results: a prevResult is kept, this attachment appended, indexes shifted', () => {
  const prev = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'x0' }],
    ips: [{ address: '192.0.2.1/24', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', gw: '192.0.2.254' }],
    dns: { nameservers: ['192.0.2.53'] },
  };
  const r = buildResult('1.0.0', added, prev);
  assert.equal(
    r.interfaces!.map((i) => i.name),
    ['x0', 'vxc000000000001', 'eth0'],
  );
  assert.equal(
    r.ips!.map((i) => i.interface),
    [0, 2],
  );
  assert.equal(
    r.routes,
    [{ dst: '0.0.0.0/0', gw: '10.10.0.1' }],
    'vxnet set the default route (so the container had none): it replaces the earlier entry',
  );
  assert.equal(r.dns, { nameservers: ['192.0.2.53'] });
  const { defaultRoute: _, ...leftAlone } = added;
  assert.equal(
    buildResult('1.0.0', leftAlone, prev).routes,
    [{ dst: '0.0.0.0/0', gw: '192.0.2.254' }],
    "attach left the container's default route through another device alone: the earlier entry stays",
  );
});

test.run();
