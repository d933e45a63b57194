/**
 * The routed spec's validation: each mistake a ValidationError naming its
 * field, raised by resolveAnySpec before anything is sent.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/netlink/errors.js';
import { isRoutedSpec, resolveAnySpec, resolveSpec, toAnyResolvedSpec, toResolvedSpec } from '../../src/overlay/spec.js';
import type { RoutedSpec } from '../../src/routed/spec.js';

const base: RoutedSpec = {
  name: 'blue', mode: 'routed', underlay: { device: 'eth0', address: '192.168.100.1' },
  subnet: '10.20.1.0/24', gateway: '10.20.1.1', containerRange: '10.20.0.0/16',
  routes: { static: [{ subnet: '10.20.2.0/24', via: '192.168.100.2' }, { subnet: '10.20.3.0/24', via: '192.168.100.3' }] },
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
  assert.equal(spec.routes.static.map((r) => `${r.subnet.text} ${r.via}`), ['10.20.2.0/24 192.168.100.2', '10.20.3.0/24 192.168.100.3']);
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
  refuses({ ...base, routes: { static: [{ subnet: '10.20.1.0/24', via: '192.168.100.2' }] } }, 'routes.static[0].subnet', /overlaps this host's own subnet 10\.20\.1\.0\/24/);
  refuses({ ...base, routes: { static: [{ subnet: '10.20.0.0/20', via: '192.168.100.2' }] } }, 'routes.static[0].subnet', /own subnet/);
  refuses({ ...base, routes: { static: [{ subnet: '10.20.2.0/24', via: '192.168.100.2' }, { subnet: '10.20.2.128/25', via: '192.168.100.3' }] } },
    'routes.static[1].subnet', /overlaps routes\.static\[0\]\.subnet 10\.20\.2\.0\/24/);
});

test('addresses and networks: host bits, gateway, containerRange, via', () => {
  refuses({ ...base, subnet: '10.20.1.5/24' }, 'subnet', /host bits/);
  refuses({ ...base, subnet: 'fd00::/64' }, 'subnet', /IPv4/);
  refuses({ ...base, gateway: '10.20.2.1' }, 'gateway', /not inside/);
  refuses({ ...base, gateway: undefined }, 'gateway');
  refuses({ ...base, containerRange: '10.30.0.0/16' }, 'containerRange', /does not contain/);
  refuses({ ...base, routes: { static: [{ subnet: '10.30.2.0/24', via: '192.168.100.2' }] } }, 'routes.static[0].subnet', /outside containerRange/);
  refuses({ ...base, routes: { static: [{ subnet: '10.20.2.0/24', via: 'host2' }] } }, 'routes.static[0].via');
  refuses({ ...base, routes: { static: [{ subnet: '10.20.2.0/24', via: '192.168.100.1' }] } }, 'routes.static[0].via', /own underlay address/);
  refuses({ ...base, routes: { static: [{ subnet: '10.20.2.0/24' }] } }, 'routes.static[0].via');
  refuses({ ...base, routes: { bgp: {} } }, 'routes.bgp', /unknown field/);
  refuses({ ...base, vni: 42 }, 'vni', /unknown field/);
});

test.run();
