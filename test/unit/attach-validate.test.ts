/**
 * What attach checks before it writes, without privileges: namespace
 * references (name, path, pid), addresses against the subnet and gateway,
 * the marks on both veth ends, and each refusal of planAttach — named by its
 * own error class, with nothing written to either side. The host and the
 * container are two fake kernels (test/helpers/fake-host.ts); the container's
 * namespace is this process's own (/proc/self/ns/net) and the "host" is
 * named by another nsfs file, so no root is needed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveAddressing } from '../../src/attach/addressing.js';
import { checkAttachment, detach, detachAttachment, planAttach, validateContainerId } from '../../src/attach/attach.js';
import {
  AddressOutsideSubnetError,
  BridgeNotFoundError,
  IfnameTakenError,
  NetnsNotFoundError,
} from '../../src/attach/errors.js';
import { containerMark, hostMark, parseContainerMark, parseHostMark } from '../../src/attach/mark.js';
import { hostVethName } from '../../src/attach/names.js';
import { containerNamespace } from '../../src/attach/netns.js';
import { ConflictError } from '../../src/common/conflict.js';
import { ownerFromAlias } from '../../src/common/ownership.js';
import { Connection } from '../../src/netlink/connection.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { namespaceIdentity, namespaceRef } from '../../src/netlink/namespace.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import { ethernet, FakeHost, type InitialLink, LOOPBACK } from '../helpers/fake-host.js';

async function refusal<T extends Error>(kind: new (...args: any[]) => T, body: () => unknown): Promise<T> {
  try {
    await body();
  } catch (error) {
    assert.instance(error, kind, `${(error as Error).name}: ${(error as Error).message}`);
    return error as T;
  }
  assert.unreachable(`expected a ${kind.name}`);
  throw new Error('unreachable');
}

test('namespace references: a pid (number or digits), /proc/PID/ns/net, /run/netns and /var/run/netns paths, a name', () => {
  assert.equal(namespaceRef(4242), { path: '/proc/4242/ns/net', pid: 4242 });
  assert.equal(namespaceRef('4242'), { path: '/proc/4242/ns/net', pid: 4242 });
  assert.equal(namespaceRef('/proc/4242/ns/net'), { path: '/proc/4242/ns/net', pid: 4242 });
  assert.equal(namespaceRef('/var/run/netns/web'), { path: '/run/netns/web', name: 'web' });
  assert.equal(namespaceRef('/run/netns/web'), { path: '/run/netns/web', name: 'web' });
  assert.equal(namespaceRef('web'), { path: '/run/netns/web', name: 'web' });
  assert.equal(namespaceRef('/var/lib/cni/ns1'), { path: '/var/lib/cni/ns1' });
  for (const bad of [0, -1, 1.5, '', 'a/b', 'a b', '..'])
    assert.throws(
      () => namespaceRef(bad as never),
      (e: unknown) => e instanceof ValidationError,
      String(bad),
    );
});

test('a missing namespace is a NetnsNotFoundError that says what was looked for', async () => {
  const missing = await refusal(NetnsNotFoundError, () => containerNamespace(`vxnet-no-such-${process.pid}`));
  assert.match(
    missing.message,
    /no network namespace vxnet-no-such-\d+ \(\/run\/netns\/vxnet-no-such-\d+ does not exist/,
  );
  assert.is(missing.field, 'netns');
  const gonePid = await refusal(NetnsNotFoundError, () => containerNamespace(2 ** 30));
  assert.match(gonePid.message, /no process 1073741824/);
  const notNs = await refusal(NetnsNotFoundError, () => containerNamespace('/etc/hostname'));
  assert.match(notNs.message, /is not a namespace file/);
});

test("this process's namespace by path: identity as namespaceIdentity computes it, key and label from the path", () => {
  const ns = containerNamespace('/proc/self/ns/net');
  assert.equal(ns.identity, namespaceIdentity());
  assert.is(ns.key, 'path:/proc/self/ns/net');
  const byPid = containerNamespace(process.pid);
  assert.is(byPid.identity.id, ns.identity.id, 'the same namespace by pid has the same identity');
  assert.is(byPid.key, `pid:${process.pid}`);
  assert.is(byPid.label, `pid ${process.pid}`);
});

test('static addresses: inside the subnet, its prefix length, not the network, broadcast or gateway; a bare address takes the prefix', async () => {
  const subnet = '10.10.0.0/24';
  assert.equal(resolveAddressing({ address: '10.10.0.5', subnet, gateway: '10.10.0.1' }), {
    mode: 'static',
    address: '10.10.0.5/24',
    ip: '10.10.0.5',
    prefixlen: 24,
    family: 4,
    gateway: '10.10.0.1',
  });
  assert.equal(
    resolveAddressing({ address: '10.10.0.5/24', subnet: '10.10.0.1/24' }),
    { mode: 'static', address: '10.10.0.5/24', ip: '10.10.0.5', prefixlen: 24, family: 4 },
    "a gateway's CIDR will do as subnet",
  );
  assert.equal(resolveAddressing({ address: 'dhcp', subnet }), { mode: 'dhcp' });
  assert.equal(resolveAddressing({}), { mode: 'none' });
  assert.is(
    (resolveAddressing({ address: '10.10.0.5/24', gateway: '10.10.0.1', defaultRoute: false }) as { gateway?: string })
      .gateway,
    undefined,
  );
  const v6 = resolveAddressing({ address: 'fd00:10:0:0::5', subnet: 'fd00:10::/64', gateway: 'fd00:10::1' });
  assert.equal(v6, {
    mode: 'static',
    address: 'fd00:10::5/64',
    ip: 'fd00:10::5',
    prefixlen: 64,
    family: 6,
    gateway: 'fd00:10::1',
  });

  const outside = await refusal(AddressOutsideSubnetError, () =>
    resolveAddressing({ address: '10.20.0.5/24', subnet }),
  );
  assert.match(
    outside.message,
    /invalid address: is not inside the network's subnet 10\.10\.0\.0\/24 \(got "10\.20\.0\.5\/24"\)/,
  );
  await refusal(AddressOutsideSubnetError, () => resolveAddressing({ address: 'fd00::5/64', subnet }));
  assert.match(
    (await refusal(ValidationError, () => resolveAddressing({ address: '10.10.0.5/16', subnet }))).message,
    /is a \/24: give 10\.10\.0\.5\/24/,
  );
  assert.match(
    (await refusal(ValidationError, () => resolveAddressing({ address: '10.10.0.0', subnet }))).message,
    /network address/,
  );
  assert.match(
    (await refusal(ValidationError, () => resolveAddressing({ address: '10.10.0.255', subnet }))).message,
    /broadcast address/,
  );
  assert.match(
    (await refusal(ValidationError, () => resolveAddressing({ address: '10.10.0.1', subnet, gateway: '10.10.0.1' })))
      .message,
    /gateway's address/,
  );
  assert.match(
    (await refusal(ValidationError, () => resolveAddressing({ address: '10.10.0.5/24', gateway: '10.10.1.1' })))
      .message,
    /invalid gateway: is not inside 10\.10\.0\.0\/24/,
  );
  assert.match(
    (await refusal(ValidationError, () => resolveAddressing({ address: '10.10.0.5' }))).message,
    /give the prefix length/,
  );
  assert.match((await refusal(ValidationError, () => resolveAddressing({ address: 'dhcp4' }))).field, /address/);
});

test('marks: both ends round-trip; the owner of an attach mark is the network; other aliases are not marks', () => {
  const host = hostMark({ network: 'demo', netnsId: 'ns-4-4026532384', ifname: 'eth0', containerId: 'abc123' });
  assert.is(host, 'vxnet:demo attach netns=ns-4-4026532384 ifname=eth0 container=abc123');
  assert.equal(parseHostMark(host), {
    network: 'demo',
    netnsId: 'ns-4-4026532384',
    ifname: 'eth0',
    containerId: 'abc123',
  });
  assert.is(ownerFromAlias(host), 'demo');
  const inside = containerMark({ network: 'demo', address: '10.10.0.5/24', gateway: '10.10.0.1' });
  assert.equal(parseContainerMark(inside), { network: 'demo', address: '10.10.0.5/24', gateway: '10.10.0.1' });
  assert.equal(parseContainerMark(containerMark({ network: 'demo' })), { network: 'demo' });
  assert.is(parseHostMark(inside), undefined, 'a container mark is not a host mark');
  assert.is(parseContainerMark(host), undefined, 'nor the other way round');
  for (const alias of [
    undefined,
    '',
    'vxnet:demo',
    'vxnet:demo attach',
    'eth0 uplink',
    'vxnet:demo other netns=x ifname=y',
  ]) {
    assert.is(parseHostMark(alias), undefined, String(alias));
  }
  assert.is(ownerFromAlias('vxnet:demo'), 'demo', 'a plain mark is unchanged');
  assert.throws(
    () =>
      hostMark({
        network: 'n'.repeat(64),
        netnsId: `ns-${'9'.repeat(20)}-${'9'.repeat(20)}`,
        ifname: 'e'.repeat(15),
        containerId: 'c'.repeat(100),
      }),
    /255 bytes/,
  );
  assert.is(validateContainerId('a'.repeat(100)), 'a'.repeat(100));
  for (const bad of ['', '-a', 'a b', 'a/b', 'a'.repeat(101), 42])
    assert.throws(
      () => validateContainerId(bad),
      (e: unknown) => e instanceof ValidationError,
      String(bad),
    );
});

// ---------------------------------------------------------------- planAttach over fake kernels

const CONTAINER_NS = '/proc/self/ns/net';
const NS_ID = namespaceIdentity(CONTAINER_NS).id;

function bridgeHost(extra: InitialLink[] = []): FakeHost {
  return new FakeHost({ links: [LOOPBACK, ethernet('eth0'), { ifname: 'br0', type: 'bridge', mtu: 1450 }, ...extra] });
}

/** The host's client, "in" another nsfs file than the container's, so the two namespaces differ. */
const hostClient = (host: FakeHost): Rtnetlink =>
  Rtnetlink.over(Connection.over(host.rtnetlinkSocket()), '/proc/self/ns/uts');

function containerSide(links: InitialLink[] = [{ ...LOOPBACK, up: false }]): {
  fake: FakeHost;
  opened: () => number;
  io: { openNamespace: () => Promise<Rtnetlink> };
} {
  const fake = new FakeHost({ links });
  let opened = 0;
  return { fake, opened: () => opened, io: { openNamespace: async () => (opened++, fake.rtnetlink()) } };
}

const base = {
  network: 'demo',
  bridge: 'br0',
  netns: CONTAINER_NS,
  address: '10.10.0.5/24',
  subnet: '10.10.0.0/24',
  gateway: '10.10.0.1',
};

test('a new attach plans: the pair (host end marked, on the bridge, up, MTU of the bridge), the container end marked and up, lo up, address, route', async () => {
  const host = bridgeHost();
  const container = containerSide();
  await using plan = await planAttach(hostClient(host), base, container.io);
  const name = hostVethName(NS_ID, 'eth0');
  assert.equal(
    plan.changes.map((c) => `${c.action} ${c.target}`),
    [
      `create veth ${name} on br0`,
      'update link eth0 in /proc/self/ns/net',
      'update link lo in /proc/self/ns/net',
      'add address 10.10.0.5/24 on eth0 in /proc/self/ns/net',
      'add default route via 10.10.0.1 on eth0 in /proc/self/ns/net',
    ],
  );
  assert.is(plan.exists, false);
  assert.is(plan.result.container.mtu, 1450, "the bridge's MTU");
  assert.is(plan.result.host.ifname, name);
  assert.match(plan.result.host.mac, /^fe:/);
  assert.is(plan.result.address, '10.10.0.5/24');
  assert.is(plan.result.gateway, '10.10.0.1');
  assert.is(host.writes + container.fake.writes, 0, 'planning writes nothing');
});

test('a device with the would-be host name that is not ours makes attach take the next name, and is left alone', async () => {
  const first = hostVethName(NS_ID, 'eth0');
  const host = bridgeHost([{ ifname: first, type: 'veth' }]);
  const container = containerSide();
  await using plan = await planAttach(hostClient(host), base, container.io);
  assert.is(plan.result.host.ifname, hostVethName(NS_ID, 'eth0', 1));
  assert.ok(
    plan.changes.every((c) => !c.target.includes(first)),
    'nothing planned on the foreign device',
  );
  assert.equal(
    await detach(hostClient(host), { network: 'demo', netns: CONTAINER_NS }),
    {
      detached: false,
      reason: 'eth0 in /proc/self/ns/net is not attached to demo in namespace /proc/self/ns/uts',
      changes: [],
    },
    'detach does not take the foreign device for ours',
  );
  assert.ok(
    host.snapshot().links.some((l) => l.ifname === first),
    'still there',
  );
  assert.is(host.writes, 0);
});

const REFUSALS: [
  what: string,
  setup: () => { host: FakeHost; container: ReturnType<typeof containerSide>; options: Record<string, unknown> },
  kind: new (...args: any[]) => Error,
  message: RegExp,
  opensContainer: boolean,
][] = [
  [
    'a missing namespace',
    () => ({ host: bridgeHost(), container: containerSide(), options: { netns: `vxnet-no-such-${process.pid}` } }),
    NetnsNotFoundError,
    /no network namespace vxnet-no-such/,
    false,
  ],
  [
    "the bridge's own namespace",
    () => ({ host: bridgeHost(), container: containerSide(), options: { netns: '/proc/self/ns/uts' } }),
    ValidationError,
    /is the namespace the bridge is in/,
    false,
  ],
  [
    'a missing bridge',
    () => ({ host: new FakeHost(), container: containerSide(), options: {} }),
    BridgeNotFoundError,
    /cannot attach to bridge br0 in namespace \/proc\/self\/ns\/uts: there is no device of that name/,
    false,
  ],
  [
    'a bridge that is not one',
    () => ({ host: new FakeHost(), container: containerSide(), options: { bridge: 'eth0' } }),
    BridgeNotFoundError,
    /it is a plain device, not a bridge/,
    false,
  ],
  [
    'an address outside the subnet',
    () => ({ host: bridgeHost(), container: containerSide(), options: { address: '10.99.0.5/24' } }),
    AddressOutsideSubnetError,
    /not inside the network's subnet 10\.10\.0\.0\/24/,
    false,
  ],
  [
    "an MTU above the bridge's",
    () => ({ host: bridgeHost(), container: containerSide(), options: { mtu: 1500 } }),
    ValidationError,
    /carries at most 1450 bytes/,
    false,
  ],
  [
    'a bad MAC',
    () => ({ host: bridgeHost(), container: containerSide(), options: { mac: '01:00:5e:00:00:01' } }),
    ValidationError,
    /invalid mac: a device address must be unicast/,
    false,
  ],
  [
    'ifname lo',
    () => ({ host: bridgeHost(), container: containerSide(), options: { ifname: 'lo' } }),
    ValidationError,
    /loopback/,
    false,
  ],
  [
    'an ifname taken by a device vxnet did not make',
    () => ({ host: bridgeHost(), container: containerSide([LOOPBACK, ethernet('eth0')]), options: {} }),
    IfnameTakenError,
    /eth0 is taken in namespace \/proc\/self\/ns\/net by a device that vxnet did not make/,
    true,
  ],
  [
    'an ifname taken by a veth marked by someone else',
    () => ({
      host: bridgeHost(),
      container: containerSide([LOOPBACK, { ifname: 'eth0', type: 'veth', ifalias: 'mine, hands off' }]),
      options: {},
    }),
    IfnameTakenError,
    /a veth device \(alias "mine, hands off"\)/,
    true,
  ],
  [
    'an ifname attached to another network (container side)',
    () => ({
      host: bridgeHost(),
      container: containerSide([
        LOOPBACK,
        { ifname: 'eth0', type: 'veth', ifalias: containerMark({ network: 'other' }) },
      ]),
      options: {},
    }),
    ConflictError,
    /network is other, wanted demo; detach it from other first/,
    true,
  ],
  [
    'an ifname attached to another network (host side)',
    () => ({
      host: bridgeHost([
        { ifname: 'vxcother', type: 'veth', ifalias: hostMark({ network: 'other', netnsId: NS_ID, ifname: 'eth0' }) },
      ]),
      container: containerSide(),
      options: {},
    }),
    ConflictError,
    /attachment of eth0 in namespace \/proc\/self\/ns\/net exists but differs from the spec: network is other, wanted demo/,
    false,
  ],
];

for (const [what, setup, kind, message, opensContainer] of REFUSALS) {
  test(`refused before any write: ${what}`, async () => {
    const { host, container, options } = setup();
    const error = await refusal(kind, () =>
      planAttach(hostClient(host), { ...base, ...options } as never, container.io),
    );
    assert.match(error.message, message);
    assert.is(error.name, kind.name);
    assert.is(host.writes, 0, 'nothing written in the host');
    assert.is(container.fake.writes, 0, 'nothing written in the container');
    assert.is(
      container.opened() > 0,
      opensContainer,
      opensContainer ? 'found by reading the container' : 'found before the container is opened',
    );
  });
}

test('check of a container that is not attached says so, and writes nothing', async () => {
  const host = bridgeHost();
  const container = containerSide();
  const check = await checkAttachment(hostClient(host), base, container.io);
  assert.is(check.attached, false);
  assert.equal(check.problems, ['eth0 in /proc/self/ns/net is not attached to demo']);
  assert.is(host.writes + container.fake.writes, 0);
});

test('detach of a namespace that is gone is not an error: the kernel took the pair with it', async () => {
  const result = await detach(hostClient(bridgeHost()), { network: 'demo', netns: `vxnet-gone-${process.pid}` });
  assert.is(result.detached, false);
  assert.match(result.reason!, /does not exist.*nothing is attached/);
});

test('detach removes the host end carrying our mark for this container interface, and only it', async () => {
  const mark = hostMark({ network: 'demo', netnsId: NS_ID, ifname: 'eth0' });
  const host = bridgeHost([
    { ifname: 'vxcours', type: 'veth', ifalias: mark },
    { ifname: 'vxceth1', type: 'veth', ifalias: hostMark({ network: 'demo', netnsId: NS_ID, ifname: 'eth1' }) },
    { ifname: hostVethName(NS_ID, 'eth0'), type: 'veth' },
  ]);
  const result = await detach(hostClient(host), { network: 'demo', netns: CONTAINER_NS });
  assert.equal({ detached: result.detached, host: result.host }, { detached: true, host: 'vxcours' });
  const left = host.snapshot().links.map((l) => l.ifname);
  assert.not.ok(left.includes('vxcours'));
  assert.ok(left.includes('vxceth1') && left.includes(hostVethName(NS_ID, 'eth0')), left.join(' '));
  await refusal(ConflictError, () =>
    detach(hostClient(host), { network: 'other', netns: CONTAINER_NS, ifname: 'eth1' }),
  );
});

test('detachAttachment deletes a listed attachment only while its device still carries the same mark', async () => {
  const mark = hostMark({ network: 'demo', netnsId: NS_ID, ifname: 'eth0' });
  const host = bridgeHost([
    { ifname: 'vxcours', ifindex: 10, type: 'veth', ifalias: mark },
    { ifname: 'vxcfake', ifindex: 20, type: 'veth' },
  ]);
  const rt = hostClient(host);
  const listed = { network: 'demo', netnsId: NS_ID, ifname: 'eth0', host: { ifname: 'vxcours', ifindex: 10 } } as const;
  assert.is(await detachAttachment(rt, { ...listed, ifname: 'eth1' }), false, "another interface's listing");
  assert.is(await detachAttachment(rt, { ...listed, network: 'other' }), false, "another network's listing");
  assert.is(
    await detachAttachment(rt, { ...listed, host: { ifname: 'vxcfake', ifindex: 20 } }),
    false,
    'an unmarked device',
  );
  assert.is(host.writes, 0);
  assert.is(await detachAttachment(rt, listed), true);
  assert.is(await detachAttachment(rt, listed), false, 'gone already');
  assert.equal(
    host
      .snapshot()
      .links.map((l) => l.ifname)
      .filter((n) => n.startsWith('vxc')),
    ['vxcfake'],
  );
});

test.run();
