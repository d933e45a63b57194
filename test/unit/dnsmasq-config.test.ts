/**
 * Rendering a validated spec into dnsmasq.conf and the hosts file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { instancePaths, leaseCapacity, renderConfig, renderHosts } from '../../src/dnsmasq/config.js';
import { validateHosts, validateSpec } from '../../src/dnsmasq/spec.js';

const paths = instancePaths('/run/vxnet/dnsmasq/host1.br0');

test('instance paths sit in the state directory', () => {
  assert.equal(paths, {
    dir: '/run/vxnet/dnsmasq/host1.br0',
    config: '/run/vxnet/dnsmasq/host1.br0/dnsmasq.conf',
    hosts: '/run/vxnet/dnsmasq/host1.br0/hosts',
    leases: '/run/vxnet/dnsmasq/host1.br0/leases',
    pid: '/run/vxnet/dnsmasq/host1.br0/dnsmasq.pid',
  });
});

test("a minimal spec: DHCP only (port=0), router option, lease file, hosts file, no pid file of dnsmasq's own", () => {
  const spec = validateSpec({
    interface: 'br0',
    subnet: '10.42.0.0/24',
    gateway: '10.42.0.1',
    ranges: [{ start: '10.42.0.100', end: '10.42.0.199' }],
  });
  assert.is(
    renderConfig(spec, paths, { instance: 'host1.br0' }),
    [
      '# dnsmasq configuration of vxnet instance host1.br0.',
      '# Written by vxnet at every start: edits here are lost.',
      'interface=br0',
      'bind-interfaces',
      'except-interface=lo',
      'log-facility=-',
      'pid-file=',
      'dhcp-leasefile=/run/vxnet/dnsmasq/host1.br0/leases',
      'dhcp-hostsfile=/run/vxnet/dnsmasq/host1.br0/hosts',
      'dhcp-lease-max=100',
      'dhcp-range=10.42.0.100,10.42.0.199,255.255.255.0,3600',
      'dhcp-option=option:router,10.42.0.1',
      'port=0',
      'dhcp-authoritative',
      '',
    ].join('\n'),
  );
});

test('a full spec: MTU forced, DNS servers, domain, DNS on with upstreams, accounts, flags', () => {
  const spec = validateSpec({
    interface: 'vxbr0',
    subnet: '172.20.0.0/16',
    gateway: '172.20.0.1',
    ranges: [
      { start: '172.20.1.0', end: '172.20.1.255', leaseTime: '12h' },
      { start: '172.20.2.10', end: '172.20.2.19', leaseTime: 'infinite' },
    ],
    leaseTime: '30m',
    mtu: 1450,
    dnsServers: ['172.20.0.1', '9.9.9.9'],
    domain: 'overlay.test',
    hosts: [{ mac: '02:00:00:00:00:01', ip: '172.20.0.10' }],
    dns: { port: 5353, upstream: ['9.9.9.9', '2620:fe::fe'] },
    pingCheck: false,
    authoritative: false,
    logDhcp: true,
  });
  assert.is(
    renderConfig(spec, paths, { instance: 'host1.br0', user: 'dnsmasq', group: 'nogroup' }),
    [
      '# dnsmasq configuration of vxnet instance host1.br0.',
      '# Written by vxnet at every start: edits here are lost.',
      'interface=vxbr0',
      'bind-interfaces',
      'except-interface=lo',
      'log-facility=-',
      'pid-file=',
      'dhcp-leasefile=/run/vxnet/dnsmasq/host1.br0/leases',
      'dhcp-hostsfile=/run/vxnet/dnsmasq/host1.br0/hosts',
      'dhcp-lease-max=267',
      'user=dnsmasq',
      'group=nogroup',
      'dhcp-range=172.20.1.0,172.20.1.255,255.255.0.0,43200',
      'dhcp-range=172.20.2.10,172.20.2.19,255.255.0.0,infinite',
      'dhcp-option=option:router,172.20.0.1',
      'dhcp-option-force=option:mtu,1450',
      'dhcp-option=option:dns-server,172.20.0.1,9.9.9.9',
      'domain=overlay.test',
      'port=5353',
      'no-hosts',
      'local=/overlay.test/',
      'no-resolv',
      'server=9.9.9.9',
      'server=2620:fe::fe',
      'no-ping',
      'log-dhcp',
      '',
    ].join('\n'),
  );
  assert.is(leaseCapacity(spec), 256 + 10 + 1);
});

test('DNS on without upstreams keeps /etc/resolv.conf (no no-resolv) and answers its domain locally', () => {
  const spec = validateSpec({
    interface: 'br0',
    subnet: '10.42.0.0/24',
    gateway: '10.42.0.1',
    ranges: [{ start: '10.42.0.100', end: '10.42.0.199' }],
    dns: true,
    domain: 'c.test',
  });
  const lines = renderConfig(spec, paths, { instance: 'i' }).split('\n');
  assert.ok(lines.includes('port=53'));
  assert.ok(lines.includes('no-hosts'));
  assert.ok(lines.includes('local=/c.test/'));
  assert.not.ok(lines.includes('no-resolv'));
  assert.not.ok(lines.some((l) => l.startsWith('server=')));
});

test('hosts file: one dhcp-host line each, name and lease time only when given', () => {
  const around = validateSpec({
    interface: 'br0',
    subnet: '10.42.0.0/24',
    gateway: '10.42.0.1',
    ranges: [{ start: '10.42.0.100', end: '10.42.0.199' }],
  });
  const hosts = validateHosts(
    [
      { mac: '02:00:00:00:00:01', ip: '10.42.0.10', name: 'db', leaseTime: '1h' },
      { mac: '02-00-00-00-00-0A', ip: '10.42.0.11' },
      { mac: '02:00:00:00:00:0b', ip: '10.42.0.12', leaseTime: 'infinite' },
      { mac: '02:00:00:00:00:0c', ip: '10.42.0.13', name: 'web' },
    ],
    around,
  );
  assert.is(
    renderHosts(hosts),
    '02:00:00:00:00:01,10.42.0.10,db,3600\n02:00:00:00:00:0a,10.42.0.11\n02:00:00:00:00:0b,10.42.0.12,infinite\n02:00:00:00:00:0c,10.42.0.13,web\n',
  );
  assert.is(renderHosts([]), '');
});

// Every option we may write, and the shape of its value: a rendered line is one of these or a comment.
const ALLOWED: Record<string, RegExp> = {
  interface: /^[A-Za-z0-9_.-]+$/,
  'bind-interfaces': /^$/,
  'except-interface': /^lo$/,
  'log-facility': /^-$/,
  'pid-file': /^$/,
  'dhcp-leasefile': /^\/[\w@+./-]+$/,
  'dhcp-hostsfile': /^\/[\w@+./-]+$/,
  'dhcp-lease-max': /^\d+$/,
  user: /^[\w.-]+$/,
  group: /^[\w.-]+$/,
  'dhcp-range': /^(\d+\.){3}\d+,(\d+\.){3}\d+,(\d+\.){3}\d+,(\d+|infinite)$/,
  'dhcp-option': /^option:(router|dns-server),(\d+\.){3}\d+(,(\d+\.){3}\d+)*$/,
  'dhcp-option-force': /^option:mtu,\d+$/,
  domain: /^[A-Za-z0-9.-]+$/,
  port: /^\d+$/,
  'no-hosts': /^$/,
  local: /^\/[A-Za-z0-9.-]+\/$/,
  'no-resolv': /^$/,
  server: /^[0-9a-f.:]+$/,
  'dhcp-authoritative': /^$/,
  'no-ping': /^$/,
  'log-dhcp': /^$/,
};

test('every rendered line is a known option with a value of its own shape (random valid specs)', () => {
  let seed = 7;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  for (let round = 0; round < 300; round++) {
    const third = rand(200) + 1;
    const spec = validateSpec({
      interface: ['br0', 'vx-br.1', 'b_2'][rand(3)]!,
      subnet: `10.${third}.0.0/16`,
      gateway: `10.${third}.0.1`,
      ranges: [
        {
          start: `10.${third}.1.${rand(100) + 1}`,
          end: `10.${third}.2.${rand(100) + 1}`,
          ...(rand(2) ? { leaseTime: ['1h', 'infinite', 600][rand(3)]! } : {}),
        },
      ],
      ...(rand(2) ? { mtu: 1280 + rand(300) } : {}),
      ...(rand(2) ? { dnsServers: [`10.${third}.0.1`] } : {}),
      ...(rand(2) ? { domain: 'overlay.test' } : {}),
      ...(rand(2) ? { dns: rand(2) ? true : { port: 1 + rand(65535), upstream: ['9.9.9.9'] } } : {}),
      hosts: rand(2) ? [{ mac: '02:00:00:00:00:01', ip: `10.${third}.0.10`, name: 'h1' }] : [],
      pingCheck: rand(2) === 0,
      authoritative: rand(2) === 0,
      logDhcp: rand(2) === 0,
    });
    for (const line of renderConfig(spec, paths, { instance: 'x', ...(rand(2) ? { user: 'nobody' } : {}) }).split(
      '\n',
    )) {
      if (line === '' || line.startsWith('# ')) continue;
      const at = line.indexOf('=');
      const [key, value] = at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1)];
      assert.ok(ALLOWED[key], `unexpected option ${key} in "${line}"`);
      assert.match(value, ALLOWED[key]!, `value of ${key}`);
    }
  }
});

test.run();
