/**
 * EVPN membership, without privileges: the spec's checks (exclusive of group
 * and peers, underlay address required, the BGP fields' own checks under
 * membership.evpn), FRR's generated configuration, and how status tells
 * FRR's FDB entries from anything else.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/netlink/errors.js';
import { evpnFrr, evpnStatus, remoteVteps } from '../../src/overlay/evpn.js';
import { resolveSpec } from '../../src/overlay/spec.js';
import { NTF_EXT_LEARNED, NTF_SELF } from '../../src/rtnetlink/constants.js';
import type { FdbEntry } from '../../src/rtnetlink/neighbours.js';

const base = {
  name: 'ev',
  vni: 42,
  underlay: { device: 'eth0', address: '192.168.100.1' },
  subnet: '10.40.0.0/24',
  membership: { evpn: { asn: 65000, neighbors: ['192.168.100.2'] } },
};

function refusal(spec: unknown): ValidationError {
  try {
    resolveSpec(spec);
  } catch (error) {
    assert.instance(error, ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

test('spec: mode evpn, router ID from the underlay, hold time defaulted', () => {
  const spec = resolveSpec(base);
  assert.is(spec.mode, 'evpn');
  assert.equal(spec.peers, []);
  assert.is(spec.evpn?.routerId, '192.168.100.1');
  assert.is(spec.evpn?.holdTime, 9);
});

test('spec: refusals name the field', () => {
  assert.is(refusal({ ...base, group: '239.1.1.1' }).field, 'membership.evpn');
  assert.is(refusal({ ...base, peers: ['192.168.100.2'] }).field, 'membership.evpn');
  assert.is(refusal({ ...base, underlay: { device: 'eth0' } }).field, 'underlay.address');
  assert.match(
    refusal({ ...base, underlay: { device: 'eth0', address: 'fd00::1' } }).reason,
    /EVPN runs over an IPv4 underlay/,
  );
  assert.is(
    refusal({ ...base, membership: { evpn: { asn: 0, neighbors: ['192.168.100.2'] } } }).field,
    'membership.evpn.asn',
  );
  assert.is(
    refusal({ ...base, membership: { evpn: { asn: 4294967296, neighbors: ['192.168.100.2'] } } }).field,
    'membership.evpn.asn',
  );
  assert.is(refusal({ ...base, membership: { evpn: { asn: 1 } } }).field, 'membership.evpn.neighbors');
  assert.is(
    refusal({ ...base, membership: { evpn: { asn: 1, neighbors: ['192.168.100.1'] } } }).field,
    'membership.evpn.neighbors[0]',
  );
  assert.is(
    refusal({ ...base, membership: { evpn: { asn: 1, listen: '10.0.0.1/8' } } }).field,
    'membership.evpn.listen',
  );
  assert.is(refusal({ ...base, membership: { bogus: 1 } }).field, 'membership.bogus');
  assert.is(refusal({ ...base, membership: {} }).field, 'membership', 'an empty membership names no source');
  assert.is(
    refusal({ ...base, membership: { evpn: base.membership!.evpn, etcd: { endpoints: ['http://192.168.100.1'] } } })
      .field,
    'membership',
    'two sources at once',
  );
});

test('FRR configuration: l2vpn evpn only, advertise-all-vni, peer group with listen range', () => {
  const spec = resolveSpec({
    ...base,
    membership: { evpn: { asn: 65000, neighbors: ['192.168.100.2'], listen: '192.168.100.0/24', holdTime: 3 } },
  });
  const { config, detail } = evpnFrr(spec.name, spec.evpn!, spec.vni);
  assert.match(config.bgpd, /router bgp 65000\n bgp router-id 192.168.100.1\n/);
  assert.match(config.bgpd, / no bgp default ipv4-unicast\n/);
  assert.match(config.bgpd, / timers bgp 1 3\n/);
  assert.match(config.bgpd, / neighbor 192.168.100.2 peer-group vxnet\n/);
  assert.match(config.bgpd, / bgp listen range 192.168.100.0\/24 peer-group vxnet\n/);
  assert.match(
    config.bgpd,
    / address-family l2vpn evpn\n {2}neighbor vxnet activate\n {2}neighbor vxnet route-reflector-client\n {2}advertise-all-vni\n/,
  );
  assert.not.match(config.bgpd, /ipv4 unicast/);
  assert.not.match(config.zebra, /router|route-map/);
  assert.match(detail, /^zebra \+ bgpd, EVPN VNI 42, AS 65000/);
});

const entry = (lladdr: string, dst: string | undefined, flags: number): FdbEntry =>
  ({ family: 7, ifindex: 3, state: 0x80, flags, type: 0, lladdr, ...(dst ? { dst } : {}) }) as unknown as FdbEntry;

test('status: flood entries FRR lists are from BGP; extern_learn MACs are; anything else is other', () => {
  const entries = [
    entry('00:00:00:00:00:00', '192.168.100.3', NTF_SELF),
    entry('00:00:00:00:00:00', '192.168.100.2', NTF_SELF),
    entry('00:00:00:00:00:00', '192.168.100.9', NTF_SELF), // by hand: FRR does not list it
    entry('aa:bb:cc:00:00:02', '192.168.100.2', NTF_SELF | NTF_EXT_LEARNED),
    entry('aa:bb:cc:00:00:09', '192.168.100.9', NTF_SELF), // learned or by hand, not BGP
  ];
  const status = evpnStatus(entries, 42, remoteVteps({ numRemoteVteps: ['192.168.100.3', '192.168.100.2'] }));
  assert.equal(status.vteps, ['192.168.100.2', '192.168.100.3']);
  assert.equal(status.macs, [{ mac: 'aa:bb:cc:00:00:02', vtep: '192.168.100.2' }]);
  assert.equal(status.other, [
    { mac: '00:00:00:00:00:00', dst: '192.168.100.9' },
    { mac: 'aa:bb:cc:00:00:09', dst: '192.168.100.9' },
  ]);
  assert.equal(remoteVteps({ remoteVteps: [{ ip: '10.0.0.1' }] }), ['10.0.0.1']);
  assert.is(remoteVteps(undefined), undefined);
});

test.run();
