/**
 * Routed mode with etcd membership, without etcd or a kernel: the spec
 * section (one source of reachability, validated before anything is sent),
 * the shared parameters and registrations of a routed network, the routes
 * made from the members (a bad member dropped with its reason), and the
 * stale rule (a stale view removes no route).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { desiredRoutes, type MembershipHealth } from '../../src/membership/membership.js';
import {
  compareShared,
  parseRegistration,
  parseShared,
  type RegistrationContext,
  sharedParameters,
} from '../../src/membership/etcd/records.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { loadAnySpec, resolveAnySpec, withStaticRoutes } from '../../src/overlay/spec.js';
import { ConflictError } from '../../src/common/conflict.js';
import { refusedRoute, routesFromMembers } from '../../src/routed/members.js';
import { ipv4Subnet, overlaps, type ResolvedRoutedSpec, type RoutedSpec } from '../../src/routed/spec.js';

const base: RoutedSpec = {
  name: 'blue',
  mode: 'routed',
  underlay: { device: 'eth0', address: '192.168.100.1' },
  subnet: '10.20.1.0/24',
  gateway: '10.20.1.1',
  containerRange: '10.20.0.0/16',
  membership: { etcd: { endpoints: ['http://192.168.100.1:2379'] } },
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

test('a routed spec takes membership.etcd instead of routes: resolved with its defaults, an empty static table', () => {
  const spec = resolveAnySpec(base) as ResolvedRoutedSpec;
  assert.is(spec.mode, 'routed');
  assert.equal(spec.routes, { static: [] });
  assert.equal(spec.membership, {
    etcd: {
      endpoints: [{ url: 'http://192.168.100.1:2379', target: '192.168.100.1:2379', secure: false }],
      prefix: '/vxnet',
      ttl: 10,
    },
  });
});

test('membership and routes together are refused naming membership, whichever routes', () => {
  refuses(
    { ...base, routes: { static: [{ subnet: '10.20.2.0/24', via: '192.168.100.2' }] } },
    'membership',
    /not both/,
  );
  refuses({ ...base, routes: { bgp: { asn: 65000 } } }, 'membership', /not both/);
  refuses({ ...base, routes: {} }, 'membership');
});

test('the membership section is checked like a VXLAN spec’s, with routed field paths', () => {
  refuses({ ...base, membership: { etcd: { endpoints: [] } } }, 'membership.etcd.endpoints');
  refuses({ ...base, membership: { etcd: { endpoints: ['ftp://x'] } } }, 'membership.etcd.endpoints[0]');
  refuses({ ...base, membership: { etcd: { endpoints: ['http://a:2379'], ttl: 1 } } }, 'membership.etcd.ttl');
  refuses({ ...base, membership: { evpn: { asn: 65000 } } }, 'membership.evpn');
  refuses({ ...base, membership: 'etcd' }, 'membership');
  refuses({ ...base, underlay: { device: 'eth0' } }, 'underlay.address', /registers this host/);
});

test('the example spec examples/specs/routed-etcd-host1.yaml is a routed spec with membership.etcd', async () => {
  const spec = (await loadAnySpec(
    new URL('../../examples/specs/routed-etcd-host1.yaml', import.meta.url).pathname,
  )) as ResolvedRoutedSpec;
  assert.is(spec.mode, 'routed');
  assert.equal(spec.routes.static, []);
  assert.equal(
    spec.membership?.etcd.endpoints.map((e) => e.target),
    ['192.168.100.1:2379', '192.168.100.2:2379', '192.168.100.3:2379'],
  );
  assert.is(spec.membership?.etcd.ttl, 10);
});

test('withStaticRoutes gives a resolved spec the plan accepts as it is', () => {
  const spec = resolveAnySpec(base) as ResolvedRoutedSpec;
  const effective = withStaticRoutes(spec, [{ subnet: '10.20.2.0/24', via: '192.168.100.2' }]);
  assert.equal(effective.routes.static, [
    { subnet: { text: '10.20.2.0/24', address: '10.20.2.0', prefixlen: 24 }, via: '192.168.100.2' },
  ]);
  assert.ok(Object.isFrozen(effective));
  assert.equal(spec.routes.static, [], 'the spec itself is unchanged');
});

test('shared parameters of a routed network: mode and containerRange; another range or mode is named', () => {
  const ours = sharedParameters(resolveAnySpec(base) as ResolvedRoutedSpec);
  assert.equal(ours, { mode: 'routed', containerRange: '10.20.0.0/16' });
  const text = JSON.stringify(ours);
  assert.equal(parseShared(text), ours);
  assert.equal(compareShared(ours, parseShared(text) as typeof ours), []);
  const other = sharedParameters(resolveAnySpec({ ...base, containerRange: '10.0.0.0/8' }) as ResolvedRoutedSpec);
  assert.equal(compareShared(other, ours), [{ field: 'containerRange', ours: '10.0.0.0/8', network: '10.20.0.0/16' }]);
  const none = sharedParameters(resolveAnySpec({ ...base, containerRange: undefined }) as ResolvedRoutedSpec);
  assert.equal(compareShared(none, ours), [{ field: 'containerRange', ours: 'none', network: '10.20.0.0/16' }]);
  const vxlan = { vni: 42, port: 4789, subnet: '10.10.0.0/24', mtu: 'default' as const, mode: 'unicast' as const };
  assert.equal(compareShared(ours, vxlan), [{ field: 'mode', ours: 'routed', network: 'unicast' }]);
  assert.equal(parseShared('{"mode":"routed","containerRange":7}'), {
    problem: 'has a containerRange that is not a string',
  });
});

test('a routed registration carries a canonical IPv4 subnet; anything else is not a member, with its reason', () => {
  const context: RegistrationContext = { hostsPrefix: '/vxnet/blue/hosts/', mode: 'routed', family: 4 };
  const key = '/vxnet/blue/hosts/192.168.100.2';
  const value = (extra: Record<string, unknown>) =>
    JSON.stringify({ address: '192.168.100.2', hostname: 'h2', version: '1', ...extra });
  assert.equal(parseRegistration(key, value({ subnet: '10.20.2.0/24' }), context), {
    registration: { address: '192.168.100.2', subnet: '10.20.2.0/24', hostname: 'h2', version: '1' },
  });
  const problem = (v: string) => (parseRegistration(key, v, context) as { problem: string }).problem;
  assert.match(problem(value({})), /has no subnet/);
  assert.match(problem(value({ subnet: 7 })), /has no subnet/);
  assert.match(problem(value({ subnet: '10.20.2.1/24' })), /not an IPv4 network/);
  assert.match(problem(value({ subnet: 'fd00::/64' })), /not an IPv4 network/);
  assert.match(problem(value({ subnet: '10.20.2.0' })), /not an IPv4 network/);
  assert.match(problem(JSON.stringify({ address: '192.168.100.3', subnet: '10.20.2.0/24' })), /claims address/);
  assert.match(
    (parseRegistration('/vxnet/blue/hosts/fd00::2', value({ subnet: '10.20.2.0/24' }), context) as any).problem,
    /IPv6 host in an IPv4 network/,
  );
});

const own = {
  address: '192.168.100.1',
  subnet: ipv4Subnet('10.20.1.0/24', 's'),
  containerRange: ipv4Subnet('10.20.0.0/16', 'r'),
};

test('routesFromMembers: every other member’s subnet through its address, in address order', () => {
  const { routes, dropped } = routesFromMembers(
    [
      { address: '192.168.100.10', subnet: '10.20.10.0/24' },
      { address: '192.168.100.1', subnet: '10.20.1.0/24' },
      { address: '192.168.100.2', subnet: '10.20.2.0/24' },
    ],
    own,
  );
  assert.equal(routes, [
    { subnet: '10.20.2.0/24', via: '192.168.100.2' },
    { subnet: '10.20.10.0/24', via: '192.168.100.10' },
  ]);
  assert.equal(dropped, [], 'this host itself is not a route, and not a dropped member');
});

test('routesFromMembers drops a member that cannot be routed, naming it and why; the others still route', () => {
  const { routes, dropped } = routesFromMembers(
    [
      { address: '192.168.100.2', subnet: '10.20.2.0/24' },
      { address: '192.168.100.3', subnet: '10.20.1.128/25' }, // inside this host's
      { address: '192.168.100.4', subnet: '10.20.2.0/23' }, // covers h2's
      { address: '192.168.100.5', subnet: '10.30.5.0/24' }, // outside containerRange
      { address: '192.168.100.6' }, // none
      { address: '192.168.100.7', subnet: '10.20.7.0/24' },
    ],
    own,
  );
  assert.equal(routes, [
    { subnet: '10.20.2.0/24', via: '192.168.100.2' },
    { subnet: '10.20.7.0/24', via: '192.168.100.7' },
  ]);
  assert.equal(
    dropped.map((d) => `${d.address} ${d.reason}`),
    [
      "192.168.100.3 its subnet overlaps this host's own 10.20.1.0/24",
      '192.168.100.4 its subnet overlaps 10.20.2.0/24 of member 192.168.100.2',
      '192.168.100.5 its subnet is outside containerRange 10.20.0.0/16',
      '192.168.100.6 registers no subnet',
    ],
  );
  // Which of two overlapping members keeps its route does not depend on the order they were listed in.
  const reversed = routesFromMembers(
    [
      { address: '192.168.100.4', subnet: '10.20.2.0/23' },
      { address: '192.168.100.2', subnet: '10.20.2.0/24' },
    ],
    own,
  );
  assert.equal(reversed.routes, [{ subnet: '10.20.2.0/24', via: '192.168.100.2' }]);
});

test('refusedRoute: the member route an apply error blames, and none for an error about anything else', () => {
  const spec = withStaticRoutes(resolveAnySpec(base) as ResolvedRoutedSpec, [
    { subnet: '10.20.2.0/24', via: '192.168.100.2' },
    { subnet: '10.20.9.0/24', via: '10.99.0.9' },
  ]);
  const offUnderlay = new ValidationError('routes.static[1].via', "is outside eth0's connected network", '10.99.0.9');
  assert.equal(refusedRoute(spec, offUnderlay), { subnet: '10.20.9.0/24', via: '10.99.0.9' });
  const connected = new ValidationError('routes.static[0].subnet', 'overlaps 10.20.2.0/24, connected here on br1');
  assert.equal(refusedRoute(spec, connected), { subnet: '10.20.2.0/24', via: '192.168.100.2' });
  const foreign = new ConflictError(
    'route 10.20.2.0/24',
    [{ field: 'protocol', actual: 'static', wanted: 'vxnet' }],
    'x',
  );
  assert.equal(refusedRoute(spec, foreign), { subnet: '10.20.2.0/24', via: '192.168.100.2' });
  assert.is(refusedRoute(spec, new ValidationError('subnet', 'already on br0')), undefined, "this host's own fault");
  assert.is(refusedRoute(spec, new ConflictError('route 10.30.0.0/24', [], 'x')), undefined);
  assert.is(refusedRoute(spec, new ValidationError('routes.static[7].via', 'x')), undefined);
  assert.is(refusedRoute(spec, new Error('ENOBUFS')), undefined);
});

const fresh: MembershipHealth = { state: 'fresh', since: '2026-01-01T00:00:00.000Z' };
const stale: MembershipHealth = { state: 'stale', since: '2026-01-01T00:00:01.000Z', cause: 'watch ended' };
const overlapping = (a: string, b: string) => overlaps(ipv4Subnet(a, 'a'), ipv4Subnet(b, 'b'));

test('desiredRoutes fresh: exactly the members’ routes (a route nobody lists is removed)', () => {
  const members = [{ subnet: '10.20.2.0/24', via: '192.168.100.2' }];
  const kernel = [
    { subnet: '10.20.2.0/24', via: '192.168.100.2' },
    { subnet: '10.20.3.0/24', via: '192.168.100.3' },
  ];
  assert.equal(desiredRoutes(fresh, members, kernel, overlapping), { routes: members, kept: [] });
  assert.equal(desiredRoutes(fresh, [], kernel, overlapping), { routes: [], kept: [] });
});

test('desiredRoutes stale: nothing is removed; members still listed are added; a listed subnet’s new hop wins', () => {
  const kernel = [
    { subnet: '10.20.2.0/24', via: '192.168.100.2' },
    { subnet: '10.20.3.0/24', via: '192.168.100.3' },
  ];
  // The view lost h3 (and lists h4, new): h3's route stays, h4's comes.
  const members = [
    { subnet: '10.20.2.0/24', via: '192.168.100.2' },
    { subnet: '10.20.4.0/24', via: '192.168.100.4' },
  ];
  assert.equal(desiredRoutes(stale, members, kernel, overlapping), {
    routes: [...members, { subnet: '10.20.3.0/24', via: '192.168.100.3' }],
    kept: [{ subnet: '10.20.3.0/24', via: '192.168.100.3' }],
  });
  // An empty stale view (etcd unreachable at start) keeps every route the kernel has.
  assert.equal(desiredRoutes(stale, [], kernel, overlapping), { routes: kernel, kept: kernel });
  // A member that moved to another address: its subnet is listed, so the old next hop is not kept beside it.
  const moved = [{ subnet: '10.20.3.0/24', via: '192.168.100.9' }];
  assert.equal(desiredRoutes(stale, moved, kernel, overlapping), {
    routes: [...moved, { subnet: '10.20.2.0/24', via: '192.168.100.2' }],
    kept: [{ subnet: '10.20.2.0/24', via: '192.168.100.2' }],
  });
  // A kept route that would overlap a listed one is not kept (the plan would refuse the pair): /23 covers both.
  const wider = [{ subnet: '10.20.2.0/23', via: '192.168.100.5' }];
  assert.equal(desiredRoutes(stale, wider, kernel, overlapping), { routes: wider, kept: [] });
});

test.run();
