/**
 * Validation of dnsmasq specs and instance options: every field, every
 * injection attempt, each failure a ValidationError naming its field.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type DnsmasqSpec, parseLeaseTime, validateInstance, validateSpec } from '../../src/dnsmasq/spec.js';
import { ValidationError } from '../../src/netlink/errors.js';

const base = (): DnsmasqSpec => ({
  interface: 'br0',
  subnet: '10.42.0.0/24',
  gateway: '10.42.0.1',
  ranges: [{ start: '10.42.0.100', end: '10.42.0.199' }],
  mtu: 1450,
  dnsServers: ['10.42.0.1'],
  domain: 'overlay.test',
  hosts: [{ mac: '02:00:00:00:00:01', ip: '10.42.0.10', name: 'db', leaseTime: '12h' }],
  dns: { port: 53, upstream: ['9.9.9.9'] },
});

/** Sets a value at a path such as "hosts[0].mac" in a fresh base spec. */
function withValue(path: string, value: unknown): any {
  const spec: any = base();
  const keys = path.replace(/\[(\d+)\]/g, '.$1').split('.');
  let at = spec;
  for (const key of keys.slice(0, -1)) at = at[key];
  at[keys.at(-1)!] = value;
  return spec;
}

function rejects(run: () => unknown, field: string, reason?: RegExp): ValidationError {
  try {
    run();
  } catch (error) {
    assert.instance(error, ValidationError, `expected a ValidationError for ${field}, got ${error}`);
    const e = error as ValidationError;
    assert.is(e.field, field, `field of: ${e.message}`);
    if (reason) assert.match(e.reason, reason);
    assert.match(e.message, new RegExp(`^invalid ${field.replace(/[[\].]/g, '\\$&')}: `));
    return e;
  }
  assert.unreachable(`expected a ValidationError for ${field}`);
  throw new Error('unreachable');
}

test('a complete spec validates and is normalized', () => {
  const v = validateSpec({ ...base(), hosts: [{ mac: '02-00-00-00-00-AB', ip: '10.42.0.10' }] });
  assert.equal(v.subnet, {
    network: '10.42.0.0',
    prefixlen: 24,
    netmask: '255.255.255.0',
    broadcast: '10.42.0.255',
    first: 0x0a2a0000,
    last: 0x0a2a00ff,
  });
  assert.is(v.hosts[0]!.mac, '02:00:00:00:00:ab');
  assert.is(v.ranges[0]!.leaseTime, 3600);
  assert.equal(v.dns, { port: 53, upstream: ['9.9.9.9'] });
  assert.is(v.pingCheck, true);
  assert.is(v.authoritative, true);
  assert.is(v.logDhcp, false);
});

test('defaults: DNS off, one hour leases, no hosts', () => {
  const v = validateSpec({
    interface: 'br0',
    subnet: '10.1.0.0/16',
    gateway: '10.1.0.1',
    ranges: [{ start: '10.1.1.0', end: '10.1.255.254' }],
  });
  assert.is(v.dns, false);
  assert.is(v.leaseTime, 3600);
  assert.equal(v.hosts, []);
  assert.equal(v.dnsServers, []);
});

// Payloads that would add an option, a field or a comment to a dnsmasq line if they got through.
const INJECTIONS = [
  'x\nport=53',
  'x\rdhcp-range=1.2.3.4',
  'a=b',
  'a,b',
  '#c',
  '"q"',
  "'q'",
  'a b',
  'a\\b',
  '\0',
  '-x',
  '',
];

const STRING_FIELDS = [
  'interface',
  'subnet',
  'gateway',
  'ranges[0].start',
  'ranges[0].end',
  'ranges[0].leaseTime',
  'leaseTime',
  'dnsServers[0]',
  'domain',
  'hosts[0].mac',
  'hosts[0].ip',
  'hosts[0].name',
  'hosts[0].leaseTime',
  'dns.upstream[0]',
];

for (const field of STRING_FIELDS) {
  test(`${field}: no newline, "=", comma, comment, quote, space or option in it`, () => {
    for (const payload of INJECTIONS) rejects(() => validateSpec(withValue(field, payload)), field);
  });
}

test('each valid string field followed by a newline and an option is rejected for that field', () => {
  const good: Record<string, string> = {
    interface: 'br0',
    subnet: '10.42.0.0/24',
    gateway: '10.42.0.1',
    'ranges[0].start': '10.42.0.100',
    'ranges[0].end': '10.42.0.199',
    'ranges[0].leaseTime': '1h',
    leaseTime: '1h',
    'dnsServers[0]': '10.42.0.1',
    domain: 'overlay.test',
    'hosts[0].mac': '02:00:00:00:00:01',
    'hosts[0].ip': '10.42.0.10',
    'hosts[0].name': 'db',
    'hosts[0].leaseTime': '1h',
    'dns.upstream[0]': '9.9.9.9',
  };
  for (const [field, value] of Object.entries(good)) {
    validateSpec(withValue(field, value));
    rejects(() => validateSpec(withValue(field, `${value}\ndhcp-option=3,6.6.6.6`)), field, /newline|control/);
    rejects(() => validateSpec(withValue(field, `${value},6.6.6.6`)), field);
    rejects(() => validateSpec(withValue(field, `${value}=x`)), field);
  }
});

test('interface: a Linux name dnsmasq reads back as one name', () => {
  rejects(() => validateSpec(withValue('interface', 'a-very-long-bridge0')), 'interface', /15 bytes/);
  rejects(() => validateSpec(withValue('interface', 'br/0')), 'interface');
  rejects(() => validateSpec(withValue('interface', 'br:0')), 'interface');
  rejects(() => validateSpec(withValue('interface', 'br@0')), 'interface', /letters, digits/);
  rejects(() => validateSpec(withValue('interface', 42)), 'interface');
  assert.is(validateSpec(withValue('interface', 'vx_br.1-a')).interface, 'vx_br.1-a');
});

test('subnet: an IPv4 network with its host bits clear, room for hosts', () => {
  rejects(
    () => validateSpec(withValue('subnet', '10.42.0.1/24')),
    'subnet',
    /host bits are set: the network is 10\.42\.0\.0\/24/,
  );
  rejects(() => validateSpec(withValue('subnet', '10.42.0.0')), 'subnet', /IPv4 network/);
  rejects(() => validateSpec(withValue('subnet', '10.42.0.0/31')), 'subnet', /1 to 30/);
  rejects(() => validateSpec(withValue('subnet', '10.42.0.0/0')), 'subnet', /1 to 30/);
  rejects(() => validateSpec(withValue('subnet', '10.42.0.0/33')), 'subnet');
  rejects(() => validateSpec(withValue('subnet', '300.42.0.0/24')), 'subnet');
  rejects(() => validateSpec(withValue('subnet', '010.42.0.0/24')), 'subnet');
  rejects(() => validateSpec(withValue('subnet', 'fd00::/64')), 'subnet', /DHCPv4/);
});

test('gateway: a host address inside the subnet', () => {
  rejects(() => validateSpec(withValue('gateway', '10.43.0.1')), 'gateway', /outside the subnet 10\.42\.0\.0\/24/);
  rejects(() => validateSpec(withValue('gateway', '10.42.0.0')), 'gateway', /network address/);
  rejects(() => validateSpec(withValue('gateway', '10.42.0.255')), 'gateway', /broadcast address/);
  rejects(() => validateSpec(withValue('gateway', 'fd00::1')), 'gateway', /DHCPv4/);
  rejects(() => validateSpec(withValue('gateway', '10.42.0')), 'gateway', /dotted-quad/);
});

test('ranges: inside the subnet, ordered, not covering the gateway, not overlapping', () => {
  rejects(() => validateSpec(withValue('ranges', [])), 'ranges', /at least one/);
  rejects(() => validateSpec(withValue('ranges', undefined)), 'ranges');
  rejects(() => validateSpec(withValue('ranges[0].start', '10.43.0.100')), 'ranges[0].start', /outside the subnet/);
  rejects(() => validateSpec(withValue('ranges[0].end', '10.42.1.10')), 'ranges[0].end', /outside the subnet/);
  rejects(() => validateSpec(withValue('ranges[0].end', '10.42.0.255')), 'ranges[0].end', /broadcast/);
  rejects(() => validateSpec(withValue('ranges[0].start', '10.42.0.0')), 'ranges[0].start', /network address/);
  rejects(() => validateSpec(withValue('ranges[0].end', '10.42.0.50')), 'ranges[0].end', /ends before it starts/);
  rejects(
    () => validateSpec(withValue('ranges', [{ start: '10.42.0.1', end: '10.42.0.20' }])),
    'ranges[0]',
    /covers the gateway 10\.42\.0\.1/,
  );
  rejects(() => validateSpec(withValue('ranges', [{ start: '10.42.0.2', end: '10.42.0.1' }])), 'ranges[0].end');
  rejects(
    () =>
      validateSpec(
        withValue('ranges', [
          { start: '10.42.0.100', end: '10.42.0.150' },
          { start: '10.42.0.150', end: '10.42.0.160' },
        ]),
      ),
    'ranges[1]',
    /overlaps ranges\[0\]/,
  );
  rejects(() => validateSpec(withValue('ranges[0].stop', '10.42.0.150')), 'ranges[0].stop', /unknown field/);
  const two = validateSpec(
    withValue('ranges', [
      { start: '10.42.0.100', end: '10.42.0.149', leaseTime: 'infinite' },
      { start: '10.42.0.2', end: '10.42.0.9' },
    ]),
  );
  assert.equal(
    two.ranges.map((r) => [r.start, r.end, r.leaseTime]),
    [
      ['10.42.0.100', '10.42.0.149', 'infinite'],
      ['10.42.0.2', '10.42.0.9', 3600],
    ],
  );
});

test('lease times: seconds, units, infinite; at least two minutes', () => {
  assert.is(parseLeaseTime(120, 'x'), 120);
  assert.is(parseLeaseTime('45m', 'x'), 2700);
  assert.is(parseLeaseTime('12h', 'x'), 43200);
  assert.is(parseLeaseTime('2d', 'x'), 172800);
  assert.is(parseLeaseTime('1w', 'x'), 604800);
  assert.is(parseLeaseTime('600s', 'x'), 600);
  assert.is(parseLeaseTime('600', 'x'), 600);
  assert.is(parseLeaseTime('infinite', 'x'), 'infinite');
  rejects(() => parseLeaseTime(119, 'leaseTime'), 'leaseTime', /120/);
  rejects(() => parseLeaseTime('1m', 'leaseTime'), 'leaseTime', /120/);
  rejects(() => parseLeaseTime(1.5e3 + 0.5, 'leaseTime'), 'leaseTime');
  rejects(() => parseLeaseTime('1y', 'leaseTime'), 'leaseTime');
  rejects(() => parseLeaseTime('Infinite', 'leaseTime'), 'leaseTime');
  rejects(() => parseLeaseTime(2 ** 32, 'leaseTime'), 'leaseTime');
  rejects(() => validateSpec(withValue('leaseTime', -5)), 'leaseTime');
});

test('mtu: option 26 range', () => {
  rejects(() => validateSpec(withValue('mtu', 67)), 'mtu', /68 to 65535/);
  rejects(() => validateSpec(withValue('mtu', 1450.5)), 'mtu');
  rejects(() => validateSpec(withValue('mtu', '1450')), 'mtu');
  assert.is(validateSpec(withValue('mtu', 68)).mtu, 68);
});

test('dnsServers and dns.upstream: addresses only', () => {
  rejects(() => validateSpec(withValue('dnsServers', '10.42.0.1')), 'dnsServers', /array/);
  rejects(() => validateSpec(withValue('dnsServers[0]', 'dns.example')), 'dnsServers[0]');
  rejects(() => validateSpec(withValue('dnsServers[0]', '2001:db8::1')), 'dnsServers[0]', /DHCPv4/);
  rejects(() => validateSpec(withValue('dns.upstream[0]', '9.9.9.9#53')), 'dns.upstream[0]');
  rejects(() => validateSpec(withValue('dns.upstream[0]', 'fe80::1%eth0')), 'dns.upstream[0]');
  assert.equal(validateSpec(withValue('dns.upstream', ['2001:db8:0:0::1', '9.9.9.9'])).dns, {
    port: 53,
    upstream: ['2001:db8::1', '9.9.9.9'],
  });
  rejects(() => validateSpec(withValue('dns.port', 0)), 'dns.port');
  rejects(() => validateSpec(withValue('dns.port', 70000)), 'dns.port');
  rejects(() => validateSpec(withValue('dns.port', 67)), 'dns.port', /DHCP port/);
  rejects(() => validateSpec(withValue('dns.cache', 10)), 'dns.cache', /unknown field/);
  rejects(() => validateSpec(withValue('dns', 'yes')), 'dns', /object/);
  assert.equal(validateSpec(withValue('dns', true)).dns, { port: 53, upstream: [] });
  assert.is(validateSpec(withValue('dns', false)).dns, false);
});

test('domain: dot-separated labels', () => {
  rejects(() => validateSpec(withValue('domain', 'overlay..test')), 'domain');
  rejects(() => validateSpec(withValue('domain', '-overlay.test')), 'domain');
  rejects(() => validateSpec(withValue('domain', 'overlay.test.')), 'domain');
  rejects(() => validateSpec(withValue('domain', 'over_lay.test')), 'domain');
  rejects(() => validateSpec(withValue('domain', `${'a'.repeat(64)}.test`)), 'domain');
  assert.is(validateSpec(withValue('domain', 'cluster.local')).domain, 'cluster.local');
});

test('hosts: MACs, addresses, names, each used once', () => {
  rejects(() => validateSpec(withValue('hosts[0].mac', '02:00:00:00:00')), 'hosts[0].mac', /six hex bytes/);
  rejects(() => validateSpec(withValue('hosts[0].mac', '02:00:00:00:00:0g')), 'hosts[0].mac');
  rejects(() => validateSpec(withValue('hosts[0].mac', '02:00-00:00:00:01')), 'hosts[0].mac');
  rejects(() => validateSpec(withValue('hosts[0].mac', '0200.0000.0001')), 'hosts[0].mac');
  rejects(() => validateSpec(withValue('hosts[0].mac', '00:00:00:00:00:00')), 'hosts[0].mac', /all-zero/);
  rejects(() => validateSpec(withValue('hosts[0].mac', '01:00:5e:00:00:01')), 'hosts[0].mac', /multicast/);
  rejects(() => validateSpec(withValue('hosts[0].mac', 'ff:ff:ff:ff:ff:ff')), 'hosts[0].mac', /multicast/);
  rejects(() => validateSpec(withValue('hosts[0].mac', '*:*:*:*:*:*')), 'hosts[0].mac');
  rejects(() => validateSpec(withValue('hosts[0].ip', '10.43.0.10')), 'hosts[0].ip', /outside the subnet/);
  rejects(() => validateSpec(withValue('hosts[0].ip', '10.42.0.1')), 'hosts[0].ip', /gateway/);
  rejects(() => validateSpec(withValue('hosts[0].ip', '10.42.0.255')), 'hosts[0].ip', /broadcast/);
  for (const name of ['1h', '45m', '3600', 'infinite', 'IGNORE', 'deprecated']) {
    rejects(() => validateSpec(withValue('hosts[0].name', name)), 'hosts[0].name', /lease time or a keyword/);
  }
  for (const name of ['db.example', '-db', 'db-', 'd_b', 'a'.repeat(64), 'id:01', 'set:x', 'tag:x']) {
    rejects(() => validateSpec(withValue('hosts[0].name', name)), 'hosts[0].name');
  }
  rejects(() => validateSpec(withValue('hosts[0].address', '10.42.0.9')), 'hosts[0].address', /unknown field/);
  rejects(() => validateSpec(withValue('hosts', {})), 'hosts', /array/);
  rejects(() => validateSpec(withValue('hosts[0]', 'db')), 'hosts[0]', /object/);
  const two = (a: object, b: object) =>
    withValue('hosts', [
      { mac: '02:00:00:00:00:01', ip: '10.42.0.10', name: 'db', ...a },
      { mac: '02:00:00:00:00:02', ip: '10.42.0.11', name: 'web', ...b },
    ]);
  rejects(() => validateSpec(two({}, { mac: '02:00:00:00:00:01' })), 'hosts[1].mac', /already used by hosts\[0\]/);
  rejects(() => validateSpec(two({}, { mac: '02-00-00-00-00-01' })), 'hosts[1].mac', /already used/);
  rejects(() => validateSpec(two({}, { ip: '10.42.0.10' })), 'hosts[1].ip', /already used/);
  rejects(() => validateSpec(two({}, { name: 'DB' })), 'hosts[1].name', /already used/);
  // A fixed address inside a dynamic range is allowed: dnsmasq then keeps it for its MAC.
  assert.is(validateSpec(withValue('hosts[0].ip', '10.42.0.150')).hosts[0]!.ip, '10.42.0.150');
});

test('flags are booleans; unknown spec fields are refused', () => {
  for (const field of ['pingCheck', 'authoritative', 'logDhcp'])
    rejects(() => validateSpec(withValue(field, 'yes')), field, /true or false/);
  rejects(() => validateSpec({ ...base(), router: '10.42.0.1' }), 'router', /unknown field/);
  rejects(() => validateSpec(null), 'spec', /object/);
  rejects(() => validateSpec([]), 'spec', /object/);
});

test('instance options: names, paths and accounts that cannot inject anything', () => {
  const spec = validateSpec(base());
  assert.equal(validateInstance({}, spec), { instance: 'br0', stateDir: '/run/vxnet/dnsmasq/br0' });
  assert.equal(validateInstance({ namespace: 'host1' }, spec), {
    instance: 'host1.br0',
    namespace: 'host1',
    stateDir: '/run/vxnet/dnsmasq/host1.br0',
  });
  assert.is(validateInstance({ stateDir: '/var/lib/vxnet/dhcp/' }, spec).stateDir, '/var/lib/vxnet/dhcp');
  for (const payload of INJECTIONS) {
    rejects(() => validateInstance({ instance: payload }, spec), 'instance');
    // In a path, "" and "-x" only name a directory; everything else must go.
    if (payload !== '' && payload !== '-x') {
      rejects(() => validateInstance({ stateDir: `/tmp/${payload}` }, spec), 'stateDir');
      rejects(() => validateInstance({ dnsmasqPath: `/usr/sbin/${payload}` }, spec), 'dnsmasqPath');
    }
    rejects(() => validateInstance({ user: payload }, spec), 'user');
    rejects(() => validateInstance({ group: payload }, spec), 'group');
  }
  rejects(() => validateInstance({ instance: '..' }, spec), 'instance');
  rejects(() => validateInstance({ instance: 'a/b' }, spec), 'instance');
  rejects(() => validateInstance({ stateDir: 'relative/dir' }, spec), 'stateDir', /absolute/);
  rejects(() => validateInstance({ stateDir: '/run/../etc' }, spec), 'stateDir');
  rejects(() => validateInstance({ namespace: 'a b' }, spec), 'namespace');
  rejects(() => validateInstance({ namespace: 'a/b' }, spec), 'namespace');
  // A namespace file's path works, with an explicit instance name.
  assert.is(validateInstance({ namespace: '/proc/1/ns/net', instance: 'init' }, spec).namespace, '/proc/1/ns/net');
  rejects(() => validateInstance({ namespace: '/proc/1/ns/net' }, spec), 'instance', /give an instance name/);
  rejects(() => validateInstance({ namespace: '/proc/1/ns/net\nx', instance: 'i' }, spec), 'namespace');
  // A namespace name that is legal but unsafe as a file name needs an explicit instance.
  rejects(() => validateInstance({ namespace: 'ns,1' }, spec), 'instance', /give an instance name/);
  assert.is(validateInstance({ namespace: 'ns,1', instance: 'ns1' }, spec).instance, 'ns1');
});

test.run();
