/**
 * The routed spec's validation: each mistake a ValidationError naming its
 * field, raised by resolveAnySpec before anything is sent.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/netlink/errors.js';
import {
  isRoutedSpec,
  resolveAnySpec,
  resolveSpec,
  toAnyResolvedSpec,
  toResolvedSpec,
} from '../../src/overlay/spec.js';
import type { RoutedSpec } from '../../src/routed/spec.js';

const base: RoutedSpec = {
  name: 'blue',
  mode: 'routed',
  underlay: { device: 'eth0', address: '192.168.100.1' },
  subnet: '10.20.1.0/24',
  gateway: '10.20.1.1',
  containerRange: '10.20.0.0/16',
  routes: {
    static: [
      { subnet: '10.20.2.0/24', via: '192.168.100.2' },
      { subnet: '10.20.3.0/24', via: '192.168.100.3' },
    ],
  },
};

function refuses(spec: unknown, field: string, pattern?: RegExp): void {
  try {
    resolveAnySpec(spec);
  } catch (error) {
    assert.instance(error, ValidationError);
    assert.is((error as ValidationError).field, field, (error as Error).message);
    if (pattern) assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable(`accepted: ${JSON.stringify(spec)}`);
}

test('a routed spec resolves with its defaults, branded and frozen', () => {
  const spec = resolveAnySpec(base);
  assert.ok(isRoutedSpec(spec));
  if (!isRoutedSpec(spec)) return;
  assert.is(spec.bridge, 'br-blue');
  assert.equal(spec.subnet, { text: '10.20.1.0/24', address: '10.20.1.0', prefixlen: 24 });
  assert.equal(
    spec.routes.static.map((r) => `${r.subnet.text} ${r.via}`),
    ['10.20.2.0/24 192.168.100.2', '10.20.3.0/24 192.168.100.3'],
  );
  assert.ok(Object.isFrozen(spec));
  assert.is(toAnyResolvedSpec(spec), spec, 'a resolved spec is used as it is');
  // The VXLAN-only entry points refuse it rather than mistake it for a VXLAN spec.
  assert.throws(() => toResolvedSpec(spec), /resolveAnySpec/);
  assert.throws(() => resolveSpec(base), /resolveAnySpec/);
});

test('VXLAN specs still resolve through resolveAnySpec, with or without mode: vxlan', () => {
  const vxlan = { name: 'seed', vni: 42, underlay: { device: 'eth0' }, group: '239.1.1.1', subnet: '10.10.0.0/24' };
  assert.is(resolveAnySpec(vxlan).mode, 'multicast');
  assert.is(resolveAnySpec({ ...vxlan, mode: 'vxlan' }).mode, 'multicast');
  refuses({ ...vxlan, mode: 'bgp' }, 'mode');
});

test('overlapping subnets: own vs a static entry, entries among themselves', () => {
  refuses(
    { ...base, routes: { static: [{ subnet: '10.20.1.0/24', via: '192.168.100.2' }] } },
    'routes.static[0].subnet',
    /overlaps this host's own subnet 10\.20\.1\.0\/24/,
  );
  refuses(
    { ...base, routes: { static: [{ subnet: '10.20.0.0/20', via: '192.168.100.2' }] } },
    'routes.static[0].subnet',
    /own subnet/,
  );
  refuses(
    {
      ...base,
      routes: {
        static: [
          { subnet: '10.20.2.0/24', via: '192.168.100.2' },
          { subnet: '10.20.2.128/25', via: '192.168.100.3' },
        ],
      },
    },
    'routes.static[1].subnet',
    /overlaps routes\.static\[0\]\.subnet 10\.20\.2\.0\/24/,
  );
});

test('addresses and networks: host bits, gateway, containerRange, via', () => {
  refuses({ ...base, subnet: '10.20.1.5/24' }, 'subnet', /host bits/);
  refuses({ ...base, subnet: 'fd00::/64' }, 'subnet', /IPv4/);
  refuses({ ...base, gateway: '10.20.2.1' }, 'gateway', /not inside/);
  refuses({ ...base, gateway: undefined }, 'gateway');
  refuses({ ...base, containerRange: '10.30.0.0/16' }, 'containerRange', /does not contain/);
  refuses(
    { ...base, routes: { static: [{ subnet: '10.30.2.0/24', via: '192.168.100.2' }] } },
    'routes.static[0].subnet',
    /outside containerRange/,
  );
  refuses({ ...base, routes: { static: [{ subnet: '10.20.2.0/24', via: 'host2' }] } }, 'routes.static[0].via');
  refuses(
    { ...base, routes: { static: [{ subnet: '10.20.2.0/24', via: '192.168.100.1' }] } },
    'routes.static[0].via',
    /own underlay address/,
  );
  refuses({ ...base, routes: { static: [{ subnet: '10.20.2.0/24' }] } }, 'routes.static[0].via');
  refuses({ ...base, routes: { ...base.routes, bgp: {} } }, 'routes', /static or bgp, not both/);
  refuses({ ...base, vni: 42 }, 'vni', /unknown field/);
});

const bgp = (b: unknown, extra: Record<string, unknown> = {}) => ({ ...base, ...extra, routes: { bgp: b } });

test('routes.bgp: defaults (router ID the underlay address, hold time 9 s, keepalive 3 s)', () => {
  const spec = resolveAnySpec(
    bgp({ asn: 65000, neighbors: ['192.168.100.2', '192.168.100.3'], listen: '192.168.100.0/24' }),
  );
  assert.ok(spec.mode === 'routed');
  if (spec.mode !== 'routed') return;
  assert.equal(spec.routes.static, []);
  assert.equal(spec.routes.bgp, {
    asn: 65000,
    routerId: '192.168.100.1',
    neighbors: ['192.168.100.2', '192.168.100.3'],
    listen: { text: '192.168.100.0/24', address: '192.168.100.0', prefixlen: 24 },
    holdTime: 9,
    keepalive: 3,
  });
  const other = resolveAnySpec(
    bgp(
      { asn: 4294967295, routerId: '10.0.0.1', listen: '192.168.100.0/24', holdTime: 3 },
      { underlay: { device: 'eth0' } },
    ),
  );
  assert.equal(other.mode === 'routed' && other.routes.bgp, {
    asn: 4294967295,
    routerId: '10.0.0.1',
    neighbors: [],
    listen: { text: '192.168.100.0/24', address: '192.168.100.0', prefixlen: 24 },
    holdTime: 3,
    keepalive: 1,
  });
});

test('routes.bgp: each mistake names its field', () => {
  refuses(bgp({ asn: 0, neighbors: ['192.168.100.2'] }), 'routes.bgp.asn', /1 to 4294967295/);
  refuses(bgp({ asn: 4294967296, neighbors: ['192.168.100.2'] }), 'routes.bgp.asn', /1 to 4294967295/);
  refuses(bgp({ asn: 65000.5, neighbors: ['192.168.100.2'] }), 'routes.bgp.asn');
  refuses(bgp({ asn: '65000', neighbors: ['192.168.100.2'] }), 'routes.bgp.asn');
  refuses(bgp({ neighbors: ['192.168.100.2'] }), 'routes.bgp.asn');
  refuses(bgp({ asn: 65000, neighbors: ['fd00::2'] }), 'routes.bgp.neighbors[0]', /IPv4/);
  refuses(bgp({ asn: 65000, neighbors: ['host2'] }), 'routes.bgp.neighbors[0]');
  refuses(bgp({ asn: 65000, neighbors: ['192.168.100.1'] }), 'routes.bgp.neighbors[0]', /own underlay address/);
  refuses(bgp({ asn: 65000, neighbors: ['192.168.100.2', '192.168.100.2'] }), 'routes.bgp.neighbors[1]', /repeats/);
  refuses(bgp({ asn: 65000, neighbors: '192.168.100.2' }), 'routes.bgp.neighbors');
  refuses(bgp({ asn: 65000 }), 'routes.bgp.neighbors', /neighbors .* or listen/);
  refuses(bgp({ asn: 65000, listen: '192.168.100.1/24' }), 'routes.bgp.listen', /host bits/);
  refuses(bgp({ asn: 65000, listen: '192.168.100.7' }), 'routes.bgp.listen');
  refuses(bgp({ asn: 65000, listen: 'fd00::/64' }), 'routes.bgp.listen');
  refuses(bgp({ asn: 65000, listen: '192.168.100.0/24', routerId: 'fd00::1' }), 'routes.bgp.routerId', /IPv4/);
  refuses(bgp({ asn: 65000, listen: '192.168.100.0/24', routerId: '0.0.0.0' }), 'routes.bgp.routerId');
  refuses(
    bgp({ asn: 65000, listen: '192.168.100.0/24' }, { underlay: { device: 'eth0' } }),
    'routes.bgp.routerId',
    /underlay\.address/,
  );
  refuses(bgp({ asn: 65000, listen: '192.168.100.0/24', holdTime: 2 }), 'routes.bgp.holdTime');
  refuses(bgp({ asn: 65000, listen: '192.168.100.0/24', holdTime: 70000 }), 'routes.bgp.holdTime');
  refuses(bgp({ asn: 65000, listen: '192.168.100.0/24', password: 'x' }), 'routes.bgp.password', /unknown field/);
  refuses(bgp('65000'), 'routes.bgp');
  refuses({ ...base, routes: { static: [], bgp: { asn: 65000, listen: '192.168.100.0/24' } } }, 'routes', /not both/);
});

test.run();
