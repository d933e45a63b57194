/**
 * The etcd membership's pure parts, without etcd: the spec section (every
 * refusal a ValidationError naming its field, raised before anything is
 * sent), the key layout and range ends, the shared-parameter comparison and
 * its error text, the registration parser (a malformed or foreign value is a
 * reason naming what is wrong, never a member), the TLS files (an error
 * naming the file), the protobuf codec against etcd's field numbers, and
 * the version written into registrations.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EtcdTlsError, NetworkParameterError } from '../../src/membership/etcd/errors.js';
import { codec } from '../../src/membership/etcd/proto.js';
import {
  compareShared,
  hostKey,
  parseRegistration,
  parseShared,
  prefixEnd,
  sharedParameters,
} from '../../src/membership/etcd/records.js';
import { resolveMembership } from '../../src/membership/etcd/spec.js';
import { loadCredentials } from '../../src/membership/etcd/tls.js';
import { specInput, withPeers } from '../../src/membership/spec.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { loadSpec, type OverlaySpec, resolveSpec } from '../../src/overlay/spec.js';
import { VXNET_VERSION } from '../../src/version.js';
import { stableVxlanMac } from '../../src/vxlan/spec.js';

const SPEC: OverlaySpec = {
  name: 'seed',
  vni: 42,
  underlay: { device: 'eth0', address: '192.168.100.1' },
  membership: { etcd: { endpoints: ['http://192.168.100.1:2379', 'http://192.168.100.2'] } },
  subnet: '10.10.0.0/24',
};

function refusal(input: unknown, resolve: (i: unknown) => unknown = resolveSpec): ValidationError {
  try {
    resolve(input);
  } catch (error) {
    assert.instance(error, ValidationError);
    return error as ValidationError;
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}

test('a spec with etcd membership resolves: unicast, no peers, defaults filled in', () => {
  const spec = resolveSpec(SPEC);
  assert.is(spec.mode, 'unicast');
  assert.equal(spec.peers, []);
  assert.equal(spec.membership, {
    etcd: {
      endpoints: [
        { url: 'http://192.168.100.1:2379', target: '192.168.100.1:2379', secure: false },
        { url: 'http://192.168.100.2', target: '192.168.100.2:2379', secure: false },
      ],
      prefix: '/vxnet',
      ttl: 10,
    },
  });
});

test('every refusal of the membership section names its field', () => {
  const etcd = (over: Record<string, unknown>) => ({
    ...SPEC,
    membership: { etcd: { ...SPEC.membership!.etcd, ...over } },
  });
  const cases: [string, unknown, string, RegExp][] = [
    ['peers and membership', { ...SPEC, peers: ['192.168.100.2'] }, 'membership', /not both/],
    ['group and membership', { ...SPEC, group: '239.1.1.1' }, 'membership', /multicast/],
    ['no underlay address', { ...SPEC, underlay: { device: 'eth0' } }, 'underlay.address', /registers/],
    ['not etcd', { ...SPEC, membership: { consul: {} } }, 'membership.consul', /unknown field/],
    ['no endpoints', etcd({ endpoints: [] }), 'membership.etcd.endpoints', /non-empty/],
    ['a bad URL', etcd({ endpoints: ['192.168.100.1:2379'] }), 'membership.etcd.endpoints[0]', /http/],
    ['a path', etcd({ endpoints: ['http://a:2379/v3'] }), 'membership.etcd.endpoints[0]', /no path/],
    ['twice', etcd({ endpoints: ['http://a:2379', 'http://a'] }), 'membership.etcd.endpoints[1]', /listed twice/],
    ['mixed', etcd({ endpoints: ['http://a', 'https://b'] }), 'membership.etcd.endpoints', /mixes/],
    ['ttl 1', etcd({ ttl: 1 }), 'membership.etcd.ttl', /whole seconds from 2/],
    ['ttl 2.5', etcd({ ttl: 2.5 }), 'membership.etcd.ttl', /whole seconds/],
    ['prefix', etcd({ prefix: 'vxnet' }), 'membership.etcd.prefix', /starting with/],
    ['prefix /', etcd({ prefix: '/' }), 'membership.etcd.prefix', /other than/],
    ['tls over http', etcd({ tls: { ca: '/ca.pem' } }), 'membership.etcd.tls', /https/],
    [
      'cert without key',
      etcd({ endpoints: ['https://a'], tls: { cert: '/c.pem' } }),
      'membership.etcd.tls.key',
      /together/,
    ],
    ['unknown', etcd({ lease: 3 }), 'membership.etcd.lease', /unknown field/],
  ];
  for (const [what, input, field, reason] of cases) {
    const error = refusal(input);
    assert.is(error.field, field, what);
    assert.match(error.reason, reason, what);
  }
});

test('specInput keeps the membership; withPeers turns the members into a static list', () => {
  const spec = resolveSpec(SPEC);
  assert.equal(resolveSpec(specInput(spec)), spec);
  const withMembers = withPeers(spec, ['192.168.100.2', '192.168.100.3']);
  assert.equal(withMembers.peers, ['192.168.100.2', '192.168.100.3']);
  assert.is(withMembers.membership, undefined);
  assert.is(withPeers(spec, []), spec, 'no members: the spec itself');
});

test('keys: the address is the key; a prefix range ends one past its last byte', () => {
  assert.is(hostKey('/vxnet', 'seed', 'fd00:100:0::1'), '/vxnet/seed/hosts/fd00:100::1');
  assert.equal([...prefixEnd(Buffer.from('/a/'))], [...Buffer.from('/a0')]);
  assert.equal([...prefixEnd(Buffer.from([0x61, 0xff]))], [0x62]);
});

test('shared parameters: each disagreeing field named with both values', () => {
  const ours = sharedParameters(resolveSpec({ ...SPEC, port: 8472, mtu: 1400 }));
  const network = parseShared(JSON.stringify(sharedParameters(resolveSpec(SPEC))));
  assert.not.ok('problem' in network);
  const mismatches = compareShared(ours, network as Exclude<typeof network, { problem: string }>);
  assert.equal(mismatches, [
    { field: 'port', ours: 8472, network: 4789 },
    { field: 'mtu', ours: 1400, network: 'default' },
  ]);
  const error = new NetworkParameterError('seed', '/vxnet/seed/network', mismatches);
  assert.match(error.message, /port is 8472 here, 4789 in the network; mtu is 1400 here, "default" in the network/);
  assert.match(error.message, /\/vxnet\/seed\/network/);
  assert.equal(parseShared('{"vni":1}'), { problem: 'has no port' });
  assert.equal(parseShared('nope'), { problem: 'is not JSON' });
});

test('registrations: a well-formed one is a member; anything else is a reason, never a member', () => {
  const context = {
    hostsPrefix: '/vxnet/seed/hosts/',
    mode: 'unicast' as const,
    vni: 42,
    port: 4789,
    family: 4 as const,
  };
  const good = { address: '192.168.100.2', port: 4789, vni: 42, mac: '02:aa:bb:cc:dd:ee', hostname: 'h', version: '1' };
  const key = '/vxnet/seed/hosts/192.168.100.2';
  assert.equal(parseRegistration(key, JSON.stringify(good), context), { registration: good });
  const problems: [string, string, RegExp][] = [
    [key, 'not json', /not JSON/],
    [key, '"text"', /not a JSON object/],
    [key, JSON.stringify({ ...good, address: '192.168.100.3' }), /claims address 192\.168\.100\.3/],
    [key, JSON.stringify({ ...good, port: 8472 }), /port 8472, the network's is 4789/],
    [key, JSON.stringify({ ...good, vni: 7 }), /vni 7/],
    [key, JSON.stringify({ ...good, mac: 'zz' }), /no valid mac/],
    [key, JSON.stringify({ ...good, address: 5 }), /no address/],
    ['/vxnet/seed/hosts/bogus', JSON.stringify(good), /does not end in an address/],
    ['/vxnet/seed/hosts/fd00::2', JSON.stringify({ ...good, address: 'fd00::2' }), /IPv6 host in an IPv4 network/],
    ['/vxnet/seed/hosts/192.168.100.02', JSON.stringify(good), /does not end in an address|not canonical/],
  ];
  for (const [k, value, reason] of problems) {
    const parsed = parseRegistration(k, value, context);
    assert.ok('problem' in parsed, `${k} ${value}`);
    assert.match((parsed as { problem: string }).problem, reason);
  }
});

test('TLS: a file that cannot be used is an error naming it', () => {
  const config = (tls: object) => resolveMembership({ etcd: { endpoints: ['https://10.0.0.1:2379'], tls } }).etcd;
  const missing = '/nonexistent/vxnet-test-ca.pem';
  assert.throws(
    () => loadCredentials(config({ ca: missing })),
    (e: Error) => e instanceof EtcdTlsError && e.message.includes(missing) && e.message.includes('ENOENT'),
  );
  const notPem = join(tmpdir(), `vxnet-unit-${process.pid}.pem`);
  writeFileSync(notPem, 'not a certificate\n');
  assert.throws(
    () => loadCredentials(config({ ca: notPem })),
    (e: Error) => e instanceof EtcdTlsError && /tls\.ca: cannot use .*: not a PEM file/.test(e.message),
  );
  rmSync(notPem, { force: true });
  assert.ok(loadCredentials(resolveMembership({ etcd: { endpoints: ['http://10.0.0.1'] } }).etcd));
});

test("the codec writes etcd's field numbers (RangeRequest key = 1, revision = 4; int64 as text)", () => {
  const range = codec<object>('RangeRequest');
  assert.equal([...range.serialize({ key: Buffer.from('a'), revision: '5' })], [0x0a, 0x01, 0x61, 0x20, 0x05]);
  // A lease ID above 2^53 survives the round trip (etcd's IDs are random 63-bit numbers).
  const grant = codec<{ ID: string }>('LeaseGrantResponse');
  const id = '7587885011757049616';
  assert.is(grant.deserialize(codec<object>('LeaseGrantResponse').serialize({ ID: id })).ID, id);
});

test('the example spec with etcd membership resolves', async () => {
  const spec = await loadSpec(new URL('../../examples/specs/etcd-host1.yaml', import.meta.url).pathname);
  assert.is(spec.membership?.etcd.endpoints.length, 3);
  assert.is(spec.membership?.etcd.ttl, 10);
  assert.equal(spec.peers, []);
});

test('the VXLAN MAC is derived from the network and the address: stable, unicast, locally administered', () => {
  const mac = stableVxlanMac('seed', '192.168.100.1');
  assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  const first = Number.parseInt(mac.slice(0, 2), 16);
  assert.is(first & 0x03, 0x02, 'locally administered (0x02), unicast (bit 0 clear)');
  assert.is(stableVxlanMac('seed', '192.168.100.1'), mac, 'the same every time');
  assert.is(stableVxlanMac('seed', 'fd00::1'), stableVxlanMac('seed', 'fd00:0::1'), 'from the canonical address');
  assert.is.not(stableVxlanMac('seed', '192.168.100.2'), mac);
  assert.is.not(stableVxlanMac('other', '192.168.100.1'), mac);
});

test("the version written into registrations is package.json's", () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.is(VXNET_VERSION, pkg.version);
});

test.run();
