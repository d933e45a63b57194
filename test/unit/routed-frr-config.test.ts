/**
 * FRR's generated configuration and launch line for a routed BGP spec: what
 * zebra and bgpd are told, and that every path is the network's own.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveAnySpec } from '../../src/overlay/spec.js';
import { frrConfig } from '../../src/routed/bgp-config.js';
import { daemonArgs, frrLaunchCommand, frrPaths, type FrrTools } from '../../src/frr/daemon.js';
import type { ResolvedRoutedSpec } from '../../src/routed/spec.js';

const spec = resolveAnySpec({
  name: 'blue',
  mode: 'routed',
  underlay: { device: 'eth0', address: '192.168.100.1' },
  subnet: '10.20.1.0/24',
  gateway: '10.20.1.1',
  routes: { bgp: { asn: 65000, neighbors: ['192.168.100.2'], listen: '192.168.100.0/24', holdTime: 3 } },
}) as unknown as ResolvedRoutedSpec;

test('bgpd: iBGP peer group, neighbours, listen range, own subnet, reflection, timers', () => {
  const { bgpd } = frrConfig(spec);
  for (const line of [
    'router bgp 65000',
    ' bgp router-id 192.168.100.1',
    ' timers bgp 1 3',
    ' neighbor vxnet peer-group',
    ' neighbor vxnet remote-as internal',
    ' neighbor 192.168.100.2 peer-group vxnet',
    ' bgp listen range 192.168.100.0/24 peer-group vxnet',
    '  network 10.20.1.0/24',
    '  neighbor vxnet route-reflector-client',
    ' no bgp ebgp-requires-policy',
  ])
    assert.ok(bgpd.split('\n').includes(line), `missing "${line}" in:\n${bgpd}`);
  assert.not.match(bgpd, /ip protocol/);
});

test('zebra: the own subnet and everything inside it never reaches the kernel from BGP', () => {
  const { zebra } = frrConfig(spec);
  assert.match(zebra, /ip prefix-list vxnet-own-subnet seq 5 permit 10\.20\.1\.0\/24 le 32/);
  assert.match(zebra, /route-map vxnet-fib deny 10\n match ip address prefix-list vxnet-own-subnet/);
  assert.match(zebra, /route-map vxnet-fib permit 20/);
  assert.match(zebra, /ip protocol bgp route-map vxnet-fib/);
  assert.not.match(zebra, /router bgp/);
});

test('launch: private paths, no vty port, the never-orphaned chain', () => {
  const paths = frrPaths('/run/vxnet/ns-1-2/blue/frr');
  assert.equal(daemonArgs('bgpd', paths), [
    '-f',
    '/run/vxnet/ns-1-2/blue/frr/bgpd.conf',
    '-i',
    '/run/vxnet/ns-1-2/blue/frr/bgpd.pid',
    '-z',
    '/run/vxnet/ns-1-2/blue/frr/zserv.api',
    '--vty_socket',
    '/run/vxnet/ns-1-2/blue/frr',
    '-P',
    '0',
    '--log',
    'stdout',
  ]);
  const tools: FrrTools = {
    zebra: '/z',
    bgpd: '/b',
    vtysh: '/v',
    setpriv: 'setpriv',
    unshare: 'unshare',
    sh: 'sh',
    nsenter: 'nsenter',
    uid: 1,
    gid: 1,
  };
  const { command, args } = frrLaunchCommand('zebra', tools, paths, '/run/netns/h1');
  assert.is(command, 'setpriv');
  assert.equal(args.slice(0, 7), ['--pdeathsig', 'SIGKILL', '--', 'nsenter', '--net=/run/netns/h1', '--', 'unshare']);
  assert.ok(args.includes('--kill-child=SIGKILL') && args.includes('--mount'));
  assert.ok(args.includes('/run/vxnet/ns-1-2/blue/frr/tmp') && args.includes('/z'));
});

test.run();
