/**
 * validate.ts, and validation through the API: every refusal is a typed
 * ValidationError that names the field as the caller wrote it, and the
 * connection's transport is never used (MustNotSend fails the test if it is).
 * Device references are given as indexes, so not even a lookup is needed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Connection } from '../../src/netlink/connection.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import {
  addressFamily,
  isLinkLocal6,
  isMulticast,
  parsePrefix,
  sameFamily,
  validateIfname,
  validateMtu,
  validatePort,
  validatePortableIfname,
  validatePortRange,
  validateUnicastMac,
  validateVni,
  validateVxlanOptions,
} from '../../src/rtnetlink/validate.js';
import { MustNotSend } from '../helpers/fake-rtnetlink.js';

function refused(body: () => unknown): ValidationError {
  try {
    body();
  } catch (error) {
    assert.instance(error, ValidationError, String(error));
    return error as ValidationError;
  }
  assert.unreachable('expected a ValidationError');
  throw new Error('unreachable');
}

// ---------------------------------------------------------------- validate.ts

test('validateIfname: 1 to 15 bytes, no "/", ":", whitespace or NUL, not "." or ".."', () => {
  for (const good of ['eth0', 'vx-42', 'a', 'x'.repeat(15), 'é'.repeat(7), 'br_0.1', 'p1@x'])
    assert.is(validateIfname(good), good);
  for (const bad of [
    '',
    'x'.repeat(16),
    'é'.repeat(8),
    'br/0',
    'br:0',
    'br 0',
    'br\t0',
    'br\n0',
    'br\u00a00',
    'a\0b',
    '.',
    '..',
    42,
    undefined,
    null,
  ]) {
    const error = refused(() => validateIfname(bad));
    assert.is(error.field, 'ifname');
    assert.is(error.value, bad);
  }
  assert.match(
    refused(() => validateIfname('x'.repeat(16))).message,
    /^invalid ifname: an interface name has at most 15 bytes \(got "x{16}"\)$/,
  );
  assert.match(refused(() => validateIfname('é'.repeat(8))).message, /at most 15 bytes/, 'bytes, not characters');
  assert.is(refused(() => validateIfname('a b', 'peer.ifname')).field, 'peer.ifname');
});

test('validateIfname is the kernel\'s byte rule: 0xA0 is a space to the kernel ("à" is C3 A0), U+2028 is not; lone surrogates refused', () => {
  // Checked against the kernel (6.18, in a throwaway user+net namespace): `ip link add à type veth` is EINVAL,
  // a name with U+2028 (E2 80 A8) or a raw 0xE9 byte is created.
  assert.match(refused(() => validateIfname('à')).message, /0xA0/);
  refused(() => validateIfname('vx\u00e0'));
  for (const good of ['a\u2028b', 'a\u3000b', 'caf\u00e9']) assert.is(validateIfname(good), good);
  for (const bad of ['a\ud800', '\udc00b']) assert.match(refused(() => validateIfname(bad)).message, /surrogate/);
});

test('validatePortableIfname: printable ASCII without "/" or ":", 1 to 15 bytes; the error names the character and its position', () => {
  for (const good of ['eth0', 'vx-42', 'br_0.1', 'p1@x', 'x'.repeat(15), '!~', '.a', 'a..'])
    assert.is(validatePortableIfname(good, 'bridge'), good);
  const cases: [unknown, RegExp][] = [
    ['br\u00e9', /refuses "é" \(U\+00E9\) at position 3/],
    ['br\ufffd', /U\+FFFD\)? at position 3/],
    ['a b', /refuses U\+0020 at position 2/],
    ['br\t0', /refuses U\+0009 at position 3/],
    ['\u0001x', /refuses U\+0001 at position 1/],
    ['x\u007f', /refuses U\+007F at position 2/],
    ['x\u00a0', /refuses U\+00A0 at position 2/],
    ['a\u2028b', /refuses U\+2028 at position 2/],
    ['\u{1F600}z', /refuses "\u{1F600}" \(U\+1F600\) at position 1/u],
    ['z\u{1F600}z\u00e9', /at position 2/],
    ['a\ud800', /refuses U\+D800 at position 2/],
    ['br/0', /refuses "\/" \(U\+002F\) at position 3/],
    ['br:0', /refuses ":" \(U\+003A\) at position 3/],
    ['a\0', /refuses U\+0000 at position 2/],
    ['', /non-empty string/],
    [42, /non-empty string/],
    ['x'.repeat(16), /at most 15 bytes/],
    ['.', /not "\." or "\.\."/],
    ['..', /not "\." or "\.\."/],
  ];
  for (const [bad, why] of cases) {
    const error = refused(() => validatePortableIfname(bad, 'bridge'));
    assert.is(error.field, 'bridge');
    assert.is(error.value, bad);
    assert.match(error.message, why, String(bad));
  }
  // Every byte value: exactly 0x21-0x7E minus "/" and ":" is accepted.
  for (let code = 0; code < 0x100; code++) {
    const name = `a${String.fromCharCode(code)}`;
    const accepted = code >= 0x21 && code <= 0x7e && code !== 0x2f && code !== 0x3a;
    let ok = true;
    try {
      validatePortableIfname(name);
    } catch {
      ok = false;
    }
    assert.is(ok, accepted, `0x${code.toString(16)}`);
  }
});

test('validateVni: 0 to 2^24 - 1; validatePort: 1 to 65535; validatePortRange: 0 to 65535, low <= high; validateMtu: 68 to 65535', () => {
  for (const good of [0, 1, 42, 2 ** 24 - 1]) assert.is(validateVni(good), good);
  for (const bad of [-1, 2 ** 24, 1.5, '42', NaN, undefined])
    assert.is(refused(() => validateVni(bad, 'vxlan.id')).field, 'vxlan.id');
  for (const good of [1, 4789, 65535]) assert.is(validatePort(good), good);
  for (const bad of [0, 65536, -1, 4789.5, '4789']) assert.is(refused(() => validatePort(bad)).field, 'port');
  assert.equal(validatePortRange({ low: 0, high: 0 }), { low: 0, high: 0 });
  assert.equal(validatePortRange({ low: 5000, high: 5000 }), { low: 5000, high: 5000 });
  assert.is(refused(() => validatePortRange({ low: 6000, high: 5000 }, 'vxlan.port_range')).field, 'vxlan.port_range');
  assert.is(refused(() => validatePortRange({ low: 1, high: 70000 }, 'r')).field, 'r.high');
  assert.is(refused(() => validatePortRange({ low: -1, high: 7 }, 'r')).field, 'r.low');
  assert.is(refused(() => validatePortRange(5000, 'r')).field, 'r');
  for (const good of [68, 1500, 9000, 65535]) assert.is(validateMtu(good), good);
  for (const bad of [67, 65536, 1500.5, '1500']) assert.is(refused(() => validateMtu(bad)).field, 'mtu');
});

test('addresses: family, multicast, link-local, prefixes, one family per group of fields', () => {
  assert.is(addressFamily('192.0.2.1', 'x'), 4);
  assert.is(addressFamily('2001:db8::1', 'x'), 6);
  assert.is(addressFamily('::ffff:192.0.2.1', 'x'), 6);
  for (const bad of ['192.0.2', '192.0.2.1.5', '10.0.0.1/24', 'fe80::1%eth0', 'nonsense', '', 7])
    assert.is(refused(() => addressFamily(bad, 'dst')).field, 'dst');
  assert.ok(
    isMulticast('239.1.1.1') && isMulticast('ff05::1') && !isMulticast('192.0.2.1') && !isMulticast('2001:db8::1'),
  );
  // IPv4's fast path agrees with ipaddr at the edges of 224.0.0.0/4.
  for (const [address, multicast] of [
    ['223.255.255.255', false],
    ['224.0.0.0', true],
    ['239.255.255.255', true],
    ['240.0.0.0', false],
    ['0.0.0.0', false],
    ['::ffff:224.0.0.1', false],
  ] as const)
    assert.is(isMulticast(address), multicast, address);
  assert.ok(
    isLinkLocal6('fe80::1') && isLinkLocal6('febf::1') && !isLinkLocal6('2001:db8::1') && !isLinkLocal6('fec0::1'),
  );
  assert.equal(parsePrefix('10.0.0.0/8', 'dst'), { address: '10.0.0.0', prefixlen: 8, family: 4 });
  assert.equal(parsePrefix('10.0.0.1', 'dst'), { address: '10.0.0.1', prefixlen: 32, family: 4 });
  assert.equal(parsePrefix('2001:db8::/32', 'dst'), { address: '2001:db8::', prefixlen: 32, family: 6 });
  assert.equal(parsePrefix('2001:db8::1', 'dst'), { address: '2001:db8::1', prefixlen: 128, family: 6 });
  for (const bad of [
    '10.0.0.0/33',
    '2001:db8::/129',
    '10.0.0.0/8/8',
    '10.0.0.0/',
    '10.0.0.0/x',
    '10.0.0.0/-1',
    'default',
    8,
  ]) {
    assert.is(refused(() => parsePrefix(bad, 'dst')).field, 'dst');
  }
  assert.is(
    sameFamily([
      ['a', '192.0.2.1'],
      ['b', undefined],
      ['c', '10.0.0.1'],
    ]),
    4,
  );
  assert.is(sameFamily([['a', undefined]]), undefined);
  const mixed = refused(() =>
    sameFamily([
      ['gateway', '192.0.2.1'],
      ['prefsrc', '2001:db8::1'],
    ]),
  );
  assert.is(mixed.field, 'prefsrc');
  assert.match(mixed.message, /is IPv6 but gateway is IPv4/);
});

test('validateUnicastMac: six bytes, unicast, not all zeros', () => {
  assert.is(validateUnicastMac('02:00:00:00:00:01'), '02:00:00:00:00:01');
  assert.is(validateUnicastMac('0A:1b:2C:3d:4E:5f'), '0A:1b:2C:3d:4E:5f');
  for (const [bad, reason] of [
    ['02:00:00:00:00', /6 bytes/],
    ['02:00:00:00:00:00:00', /6 bytes/],
    ['01:00:5e:00:00:01', /unicast/],
    ['ff:ff:ff:ff:ff:ff', /unicast/],
    ['00:00:00:00:00:00', /all zeros/],
    ['02-00-00-00-00-01', /link-layer address/],
    ['0200.0000.0001', /link-layer address/],
    [42, /link-layer address/],
  ] as const) {
    const error = refused(() => validateUnicastMac(bad, 'peer.address'));
    assert.is(error.field, 'peer.address');
    assert.match(error.message, reason);
  }
});

test('validateVxlanOptions: each rule names its field', () => {
  validateVxlanOptions({
    id: 42,
    group: '239.1.1.1',
    link: 2,
    port: 4789,
    port_range: { low: 5000, high: 6000 },
    ttl: 10,
    tos: 1,
    df: 2,
    label: 0xfffff,
    ageing: 1,
  });
  validateVxlanOptions({ id: 43, group6: '2001:db8::2', local6: '2001:db8::1' });
  validateVxlanOptions({ id: 44, group6: 'fe80::2', local6: 'fe80::1', link: 'eth0' });
  validateVxlanOptions({ id: 0, external: 1, vnifilter: 1 });
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{}, 'vxlan.id', /a VNI/],
    [{ id: 2 ** 24 }, 'vxlan.id', /24 bits/],
    [{ id: 1, port: 0 }, 'vxlan.port', /UDP port/],
    [{ id: 1, port_range: { low: 6000, high: 5000 } }, 'vxlan.port_range', /cannot exceed/],
    [{ id: 1, ttl: 256 }, 'vxlan.ttl', /0 to 255/],
    [{ id: 1, tos: -1 }, 'vxlan.tos', /0 to 255/],
    [{ id: 1, df: 3 }, 'vxlan.df', /unset.*set.*inherit/],
    [{ id: 1, label: 0x100000 }, 'vxlan.label', /20 bits/],
    [{ id: 1, ageing: 0 }, 'vxlan.ageing', /turns 0 into its default/],
    [{ id: 1, group: '2001:db8::2' }, 'vxlan.group', /expected an IPv4 address \(use group6 for IPv6\)/],
    [{ id: 1, local6: '192.0.2.1' }, 'vxlan.local6', /expected an IPv6 address \(use local for IPv4\)/],
    [{ id: 1, group: '192.0.2.2', group6: '2001:db8::2' }, 'vxlan.group6', /one remote/],
    [{ id: 1, local: '192.0.2.1', local6: '2001:db8::1' }, 'vxlan.local6', /one local address/],
    [{ id: 1, group: '192.0.2.2', local6: '2001:db8::1' }, 'vxlan.local6', /is IPv6 but vxlan.group is IPv4/],
    [{ id: 1, group6: '2001:db8::2', local: '192.0.2.1' }, 'vxlan.local', /is IPv4 but vxlan.group6 is IPv6/],
    [{ id: 1, group: '239.1.1.1' }, 'vxlan.link', /multicast group \(239\.1\.1\.1\) needs the underlay device/],
    [{ id: 1, group6: 'ff05::1' }, 'vxlan.link', /multicast group/],
    [{ id: 1, local6: 'fe80::1' }, 'vxlan.link', /link-local local6/],
    [{ id: 1, group6: 'fe80::2' }, 'vxlan.link', /link-local group6/],
    [{ id: 1, vnifilter: 1 }, 'vxlan.vnifilter', /external/],
    [{ id: 1, group: 'nonsense' }, 'vxlan.group', /IPv4 or IPv6 address/],
  ];
  for (const [options, field, reason] of cases) {
    const error = refused(() => validateVxlanOptions(options as never));
    assert.is(error.field, field, `${JSON.stringify(options)}: ${error.message}`);
    assert.match(error.message, reason);
  }
  assert.is(refused(() => validateVxlanOptions(undefined as never)).field, 'vxlan');
});

// ---------------------------------------------------------------- through the API: nothing sent

/** Runs each request against a transport that must not be used; each must fail with a ValidationError naming `field`. */
async function assertRefusedBeforeSending(
  cases: [field: string, request: (rt: Rtnetlink) => Promise<unknown>][],
): Promise<void> {
  for (const [field, request] of cases) {
    const transport = new MustNotSend();
    const rt = Rtnetlink.over(Connection.over(transport), 'test');
    let error: unknown;
    try {
      await request(rt);
    } catch (caught) {
      error = caught;
    }
    rt.close();
    assert.instance(error, ValidationError, `${field}: expected a ValidationError, got ${String(error)}`);
    assert.is((error as ValidationError).field, field, (error as Error).message);
    assert.is(transport.sends, 0, `${field}: nothing was sent`);
  }
}

test('links: names, kinds and their options, addresses, namespaces — refused before anything is sent', async () => {
  await assertRefusedBeforeSending([
    ['ifname', (rt) => rt.links.create({ ifname: 'a-name-of-16-byt', kind: 'bridge' })],
    ['ifname', (rt) => rt.links.create({ ifname: 'vx 0', kind: 'vxlan', vxlan: { id: 1 } })],
    ['ifname', (rt) => rt.links.create({ ifname: 'vx/0', kind: 'vxlan', vxlan: { id: 1 } })],
    ['vxlan.id', (rt) => rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 16777216 } })],
    ['vxlan.port', (rt) => rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, port: 70000 } })],
    [
      'vxlan.port_range.high',
      (rt) => rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, port_range: { low: 1, high: 70000 } } }),
    ],
    [
      'vxlan.local',
      (rt) =>
        rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, group6: '2001:db8::1', local: '192.0.2.1' } }),
    ],
    ['vxlan.link', (rt) => rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, group: '239.1.1.1' } })],
    [
      'vxlan.label',
      (rt) =>
        rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, group6: '2001:db8::2', label: 2 ** 20 } }),
    ],
    // A typo in the options is not dropped: the codec names it where the caller wrote it.
    ['vxlan.tll', (rt) => rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, tll: 4 } as never })],
    ['vxlan.proxy', (rt) => rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, proxy: 2 ** 9 } })],
    ['bridge.stp_state', (rt) => rt.links.create({ ifname: 'br0', kind: 'bridge', bridge: { stp_state: -1 } })],
    [
      'macvlan.mode',
      (rt) => rt.links.create({ ifname: 'mv0', kind: 'macvlan', link: 2, macvlan: { mode: 'bridge' as never } }),
    ],
    ['mode', (rt) => rt.links.create({ ifname: 'mv0', kind: 'macvlan', link: 2, mode: 'bogus' as never })],
    ['peer.ifname', (rt) => rt.links.create({ ifname: 've0', kind: 'veth', peer: { ifname: 've:1' } })],
    ['peer.mtu', (rt) => rt.links.create({ ifname: 've0', kind: 'veth', peer: { ifname: 've1', mtu: 10 } })],
    [
      'peer.address',
      (rt) => rt.links.create({ ifname: 've0', kind: 'veth', peer: { ifname: 've1', address: '01:00:00:00:00:01' } }),
    ],
    [
      'peer.namespace',
      (rt) => rt.links.create({ ifname: 've0', kind: 'veth', peer: { ifname: 've1', namespace: 'no/such' } }),
    ],
    [
      'peer.namespace',
      (rt) => rt.links.create({ ifname: 've0', kind: 'veth', peer: { ifname: 've1', namespace: 'missing' } }),
    ],
    ['address', (rt) => rt.links.create({ ifname: 'br0', kind: 'bridge', address: '02:00:00:00:00' })],
    ['address', (rt) => rt.links.create({ ifname: 'br0', kind: 'bridge', address: '00:00:00:00:00:00' })],
    ['mtu', (rt) => rt.links.create({ ifname: 'br0', kind: 'bridge', mtu: 67 })],
    ['master', (rt) => rt.links.create({ ifname: 'br0', kind: 'bridge', master: 0 })],
    ['namespace', (rt) => rt.links.create({ ifname: 'br0', kind: 'bridge', namespace: 'missing' })],
    ['link', (rt) => rt.links.set(-1, { mtu: 1400 })],
    ['ifname', (rt) => rt.links.set(2, { ifname: 'way-too-long-name' })],
    ['mtu', (rt) => rt.links.set(2, { mtu: 70000 })],
    ['address', (rt) => rt.links.set(2, { address: 'zz:00:00:00:00:00' })],
    ['namespace', (rt) => rt.links.set(2, { namespace: '..' })],
    [
      'linkinfo.info_data.stp_state',
      (rt) => rt.links.set(4, { linkinfo: { info_kind: 'bridge', info_data: { stp_state: 'on' as never } } }),
    ],
    ['linkinfo.info_slave_data.cost', (rt) => rt.links.setBridgePort(2, { cost: -5 })],
    ['ifname', (rt) => rt.links.delete('bad name')],
    ['ifname', (rt) => rt.links.get('')],
  ]);
});

test('addresses, routes, neighbours, FDB and events — refused before anything is sent', async () => {
  await assertRefusedBeforeSending([
    ['address', (rt) => rt.addresses.add({ dev: 2, address: '10.0.0.1/33' })],
    ['address', (rt) => rt.addresses.add({ dev: 2, address: 'ten.zero.zero.one' })],
    ['peer', (rt) => rt.addresses.add({ dev: 2, address: '10.0.0.1/32', peer: '2001:db8::1' })],
    ['broadcast', (rt) => rt.addresses.add({ dev: 2, address: '2001:db8::1/64', broadcast: '10.0.0.255' })],
    ['label', (rt) => rt.addresses.add({ dev: 2, address: '2001:db8::1/64', label: 'eth0:v6' })],
    ['scope', (rt) => rt.addresses.add({ dev: 2, address: '10.0.0.1/8', scope: 'galaxy' as never })],
    [
      'preferredLifetime',
      (rt) => rt.addresses.add({ dev: 2, address: '10.0.0.1/8', validLifetime: 10, preferredLifetime: 20 }),
    ],
    ['label', (rt) => rt.addresses.add({ dev: 2, address: '10.0.0.1/8', label: 'a\0b' })],
    ['dst', (rt) => rt.routes.add({ dst: '10.0.0.1/8', dev: 2 })],
    ['dst', (rt) => rt.routes.add({ dst: '2001:db8::1/32', dev: 2 })],
    ['dst', (rt) => rt.routes.delete({ dst: '10.0.0.1/8' })],
    ['dev', (rt) => rt.routes.add({ dst: '10.0.0.0/8' })],
    ['gateway', (rt) => rt.routes.add({ dst: '10.0.0.0/8', gateway: '2001:db8::1' })],
    ['prefsrc', (rt) => rt.routes.add({ dst: '10.0.0.0/8', dev: 2, prefsrc: '2001:db8::1' })],
    ['family', (rt) => rt.routes.add({ dst: '10.0.0.0/8', dev: 2, family: 6 })],
    ['type', (rt) => rt.routes.add({ dst: '10.0.0.0/8', dev: 2, type: 'wormhole' as never })],
    ['table', (rt) => rt.routes.add({ dst: '10.0.0.0/8', dev: 2, table: -1 })],
    ['scope', (rt) => rt.routes.add({ dst: '10.0.0.0/8', dev: 2, scope: 256 })],
    ['nexthops', (rt) => rt.routes.add({ dst: '10.0.0.0/8', nexthops: [] })],
    [
      'nexthops[1].weight',
      (rt) =>
        rt.routes.add({
          dst: '10.0.0.0/8',
          nexthops: [
            { gateway: '192.0.2.1', dev: 2 },
            { gateway: '192.0.2.2', dev: 2, weight: 257 },
          ],
        }),
    ],
    [
      'nexthops[0].gateway',
      (rt) => rt.routes.add({ dst: '10.0.0.0/8', nexthops: [{ gateway: '2001:db8::1', dev: 2 }] }),
    ],
    [
      'routes[1].dst',
      (rt) =>
        rt.routes.addMany([
          { dst: '10.1.0.0/16', dev: 2 },
          { dst: '10.2.0.1/16', dev: 2 },
        ]),
    ],
    ['dst', (rt) => rt.neighbours.add({ dev: 2, dst: '10.0.0.300', lladdr: '02:00:00:00:00:01' })],
    ['lladdr', (rt) => rt.neighbours.add({ dev: 2, dst: '10.0.0.3', lladdr: '02-00-00-00-00-01' })],
    [
      'state',
      (rt) => rt.neighbours.add({ dev: 2, dst: '10.0.0.3', lladdr: '02:00:00:00:00:01', state: 'sleepy' as never }),
    ],
    ['mac', (rt) => rt.fdb.append({ dev: 2, mac: '00:00:00:00:00', dst: '192.0.2.1' })],
    ['mac', (rt) => rt.fdb.append({ dev: 2, mac: 'flood', dst: '192.0.2.1' })],
    ['dst', (rt) => rt.fdb.append({ dev: 2, mac: '00:00:00:00:00:00', dst: 'peer-1' })],
    ['port', (rt) => rt.fdb.append({ dev: 2, mac: '00:00:00:00:00:00', dst: '192.0.2.1', port: 0 })],
    ['vni', (rt) => rt.fdb.append({ dev: 2, mac: '00:00:00:00:00:00', dst: '192.0.2.1', vni: 2 ** 24 })],
    ['src_vni', (rt) => rt.fdb.add({ dev: 2, mac: '02:00:00:00:00:01', dst: '192.0.2.1', src_vni: -1 })],
    ['state', (rt) => rt.fdb.add({ dev: 2, mac: '02:00:00:00:00:01', state: 'forever' as never })],
    ['sticky', (rt) => rt.fdb.add({ dev: 2, mac: '02:00:00:00:00:01', master: true, sticky: true })],
    [
      'fdb[2].dst',
      (rt) =>
        rt.fdb.appendMany(
          [1, 2, 3].map((n) => ({ dev: 2, mac: '00:00:00:00:00:00', dst: n === 3 ? '192.0.2' : `192.0.2.${n}` })),
        ),
    ],
    [
      'fdb[0].mac',
      (rt) =>
        rt.fdb.deleteMany([
          { dev: 2, mac: '0:0:0:0:0:0' },
          { dev: 2, mac: '02:00:00:00:00:01' },
        ]),
    ],
    ['dev', (rt) => rt.fdb.list({ dev: 'not a name' })],
    ['groups', (rt) => rt.events({ groups: ['links' as never] }).next()],
  ]);
});

test.run();
