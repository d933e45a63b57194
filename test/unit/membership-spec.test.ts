/**
 * The spec the agent converges to: a resolved spec written back as a spec
 * resolves to the same thing (every field the overlay resolves: DHCP,
 * masquerade, firewall, MTU, IPv6), and withPeers changes the peer list and
 * nothing else (this host dropped, multicast specs untouched).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { specInput, withPeers } from '../../src/membership/spec.js';
import { resolveSpec } from '../../src/overlay/spec.js';

const SPECS: Record<string, unknown>[] = [
  {
    name: 'seed',
    vni: 42,
    port: 4789,
    underlay: { device: 'eth0', address: '192.168.100.1' },
    peers: ['192.168.100.1', '192.168.100.2', '192.168.100.3'],
    subnet: '10.10.0.0/24',
    gateway: '10.10.0.1',
    vxlan: 'vx0',
    bridge: 'br0',
    mtu: 1400,
    dhcp: {
      ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }],
      hosts: [{ mac: '02:00:00:00:00:99', ip: '10.10.0.50', name: 'db' }],
      leaseTime: '2h',
      dnsServers: ['10.10.0.1'],
      domain: 'lab',
    },
    masquerade: { egress: 'up0' },
    firewall: { peersOnly: false },
  },
  {
    name: 'plain',
    vni: 7,
    underlay: { device: 'eth1', address: '192.0.2.1' },
    peers: [],
    subnet: '10.20.0.0/16',
    masquerade: false,
    firewall: false,
  },
  {
    name: 'six',
    vni: 8,
    underlay: { device: 'eth0', address: 'fd00:100::1' },
    peers: ['fd00:100::2'],
    subnet: '10.30.0.0/24',
    gateway: '10.30.0.1',
    masquerade: true,
    firewall: true,
  },
  {
    name: 'group',
    vni: 9,
    underlay: { device: 'eth0' },
    group: '239.1.1.1',
    subnet: '10.40.0.0/24',
    gateway: '10.40.0.1',
    dhcp: { serve: false, ranges: [{ start: '10.40.0.10', end: '10.40.0.20' }] },
  },
];

test('specInput: resolving it again gives the same resolved spec', () => {
  for (const input of SPECS) {
    const resolved = resolveSpec(input);
    assert.equal(resolveSpec(specInput(resolved)), resolved, String(input.name));
  }
});

test('withPeers: another peer list, everything else the same; this host dropped', () => {
  const resolved = resolveSpec(SPECS[0]);
  const next = withPeers(resolved, ['192.168.100.4', '192.168.100.1', '192.168.100.2']);
  assert.equal(next.peers, ['192.168.100.4', '192.168.100.2']);
  assert.equal({ ...next, peers: [] }, { ...resolved, peers: [] });
  assert.is(withPeers(resolved, resolved.peers), resolved, 'the same list: the same object');
  assert.equal(withPeers(resolved, []).peers, []);
});

test('withPeers: a multicast spec is returned as it is', () => {
  const resolved = resolveSpec(SPECS[3]);
  assert.is(withPeers(resolved, ['192.0.2.9']), resolved);
});

test.run();
