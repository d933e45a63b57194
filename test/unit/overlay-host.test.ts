/**
 * OverlayHost against the fake kernel (test/helpers/fake-host.ts): the real
 * rtnetlink and nf_tables clients over FakeHost's sockets, ip_forward through
 * a fake IpForwardControl, and the per-network state in a temporary
 * directory (the stateRoot option), so none of it needs root. The network
 * lock is the real one (a NETLINK_USERSOCK port in this process's
 * namespace), which an unprivileged process can take too.
 *
 * What is checked is what the host ends up as (FakeHost.snapshot(), the
 * kernel's view, names instead of indexes) and what was sent (FakeHost's
 * write count and message counts), not only what the API returns.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BridgeNotOwnedError } from '../../src/bridge/adopt.js';
import { ConflictError } from '../../src/common/conflict.js';
import { describeChange } from '../../src/common/plan.js';
import { NotOwnedError } from '../../src/masquerade/errors.js';
import { NetlinkError, ValidationError, VxnetError } from '../../src/netlink/errors.js';
import type { IpForwardControl } from '../../src/network/forwarding.js';
import { OverlayHost } from '../../src/overlay/host.js';
import { readLinksOnce } from '../../src/rtnetlink/reading.js';
import type { OverlaySpec } from '../../src/overlay/spec.js';
import { ethernet, FakeHost, type HostSnapshot, type InitialLink, LOOPBACK } from '../helpers/fake-host.js';

/** net.ipv4.ip_forward as a value the test sets and reads, with every write the host made. */
class FakeIpForward implements IpForwardControl {
  readonly sets: boolean[] = [];
  constructor(public value: boolean) {}
  async get(): Promise<boolean> {
    return this.value;
  }
  async set(on: boolean): Promise<void> {
    this.sets.push(on);
    this.value = on;
  }
}

interface Scene {
  fake: FakeHost;
  host: OverlayHost;
  forward: FakeIpForward;
  stateRoot: string;
}

const open: Scene[] = [];
test.after.each(async () => {
  for (const scene of open.splice(0)) {
    await scene.host.close();
    rmSync(scene.stateRoot, { recursive: true, force: true });
  }
});

const UNDERLAY4 = ethernet('eth0', { mtu: 1500, addresses: ['192.168.100.1/24'] });

function scene(options: { links?: InitialLink[]; ipForward?: boolean } = {}): Scene {
  const fake = new FakeHost({ links: options.links ?? [LOOPBACK, UNDERLAY4] });
  const forward = new FakeIpForward(options.ipForward ?? false);
  const stateRoot = mkdtempSync(join(tmpdir(), 'vxnet-overlay-host-'));
  const host = OverlayHost.over(
    { rtnetlink: fake.rtnetlink(), nftables: fake.nftables(), ipForward: forward },
    { stateRoot, lockTimeoutMs: 10_000 },
  );
  const made = { fake, host, forward, stateRoot };
  open.push(made);
  return made;
}

const SPEC: OverlaySpec = {
  name: 'demo',
  vni: 42,
  underlay: { device: 'eth0', address: '192.168.100.1' },
  peers: ['192.168.100.1', '192.168.100.2'],
  subnet: '10.10.0.0/24',
  gateway: '10.10.0.1',
  masquerade: true,
  firewall: true,
};

const linkOf = (snapshot: HostSnapshot, name: string) => snapshot.links.find((l) => l.ifname === name);
const tablesOf = (snapshot: HostSnapshot) => snapshot.nftables.tables.map((t) => `${t.family} ${t.name}`).sort();
/** Messages of these counts that change something: links, addresses, neighbours, nf_tables batches. */
const writeTypes = (fake: FakeHost) =>
  Object.keys(fake.counts()).filter((type) => /^RTM_(NEW|DEL)|^NFT_MSG_(NEW|DEL|DESTROY)|BATCH/.test(type));

async function rejection(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  assert.unreachable('expected it to throw');
  throw new Error('unreachable');
}

/** The whole state tree under the state root, as relative paths. */
function stateTree(root: string, dir = root): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return [path.slice(root.length + 1), ...(entry.isDirectory() ? stateTree(root, path) : [])];
    })
    .sort();
}

const PLAN = [
  'create link vx-demo (vxlan id 42 1 unicast peer(s) dev eth0 dstport 4789 mtu 1450)',
  'add peers of vx-demo (192.168.100.2)',
  'create link br-demo (bridge, stp off, forward delay 0s, mtu 1450)',
  'add address 10.10.0.1/24 on br-demo',
  'add port vx-demo on br-demo',
  'create nftables table vxnet-demo (masquerade 10.10.0.0/24, udp 4789 open, 11 message(s))',
  "update net.ipv4.ip_forward (0 → 1 (masquerade routes the containers' traffic))",
];

// ------------------------------------------------------------------ plan, apply, idempotence

test('plan: every block in order (VXLAN and peers, bridge, port, firewall, ip_forward), and nothing written', async () => {
  const { fake, host, forward, stateRoot } = scene();
  const before = fake.snapshot();
  const changes = await host.plan(SPEC);
  assert.equal(changes.map(describeChange), PLAN);
  assert.is(fake.writes, 0);
  assert.equal(writeTypes(fake), []);
  assert.equal(fake.snapshot(), before);
  assert.equal(forward.sets, []);
  assert.equal(stateTree(stateRoot), [], 'planning takes no lock and leaves no state');
});

test("apply: the host ends up as the spec says, marked as the network's; the changes are the plan's", async () => {
  const { fake, host, forward, stateRoot } = scene();
  const seen: string[] = [];
  const changes = await host.apply(SPEC, { onChange: (change, index) => seen.push(`${index} ${change.action}`) });
  assert.equal(changes.map(describeChange), PLAN);
  assert.equal(
    seen,
    PLAN.map((_, i) => `${i} ${changes[i]!.action}`),
    'onChange after each step, in order',
  );
  const after = fake.snapshot();
  const vx = linkOf(after, 'vx-demo')!;
  assert.equal([vx.kind, vx.ifalias, vx.master, vx.up, vx.mtu], ['vxlan', 'vxnet:demo', 'br-demo', true, 1450]);
  assert.equal(
    [(vx.data as any).id, (vx.data as any).port, (vx.data as any).local, (vx.data as any).link],
    [42, 4789, '192.168.100.1', 2],
  );
  const br = linkOf(after, 'br-demo')!;
  assert.equal([br.kind, br.ifalias, br.up, br.mtu], ['bridge', 'vxnet:demo', true, 1450]);
  assert.ok(after.addresses.some((a) => a.dev === 'br-demo' && a.address === '10.10.0.1/24'));
  assert.equal(
    after.fdb.filter((e) => e.dev === 'vx-demo' && e.dst).map((e) => `${e.mac} ${e.dst}`),
    ['00:00:00:00:00:00 192.168.100.2'],
  );
  assert.equal(tablesOf(after), ['ip vxnet-demo'], 'an IPv4 underlay needs no ip6 table');
  assert.equal(forward.sets, [true]);
  const [namespaceDir] = readdirSync(stateRoot);
  assert.match(namespaceDir!, /^ns-\d+-\d+$/, "keyed by the namespace's identity");
  assert.equal(
    stateTree(stateRoot),
    [namespaceDir, `${namespaceDir}/demo`, `${namespaceDir}/demo/state.json`],
    'the lock note went with the lock',
  );
  assert.equal(JSON.parse(readFileSync(join(stateRoot, namespaceDir!, 'demo/state.json'), 'utf8')), {
    ipForward: { before: false },
  });
});

test('a second apply writes nothing: no change, no write, not one NEW/DEL message or nf_tables batch', async () => {
  const { fake, host, forward } = scene();
  await host.apply(SPEC);
  const snapshot = fake.snapshot();
  const writes = fake.writes;
  fake.resetCounts();
  assert.equal(await host.apply(SPEC), []);
  assert.equal(await host.plan(SPEC), []);
  assert.is(fake.writes, writes);
  assert.equal(writeTypes(fake), [], `only reads: ${JSON.stringify(fake.counts())}`);
  assert.equal(fake.snapshot(), snapshot);
  assert.equal(forward.sets, [true], 'ip_forward written once');
});

test('apply resumes where a failed step stopped: the error names the step, the next apply does the rest', async () => {
  const { fake, host } = scene();
  fake.failWrite({ errno: 'EBUSY', when: (w) => w.type === 'RTM_NEWADDR' });
  const error = await rejection(() => host.apply(SPEC));
  assert.instance(error, VxnetError);
  assert.match(error.message, /^apply demo: step 4 of 7 \(add address 10\.10\.0\.1\/24 on br-demo\) failed: .*EBUSY/);
  assert.equal((await host.apply(SPEC)).map(describeChange), PLAN.slice(3));
  assert.equal(await host.plan(SPEC), []);
});

// ------------------------------------------------------------------ validation before the first write

test('every input is checked before the first write: bad specs, a missing underlay, an MTU too large, a taken bridge name, a foreign table', async () => {
  const { fake, host, forward, stateRoot } = scene();
  const rt = fake.rtnetlink();
  await rt.links.create({ ifname: 'br-taken', kind: 'veth', peer: { ifname: 'br-taken-p' } });
  const nft = fake.nftables();
  await nft.createTable({ family: 'ip', name: 'vxnet-foreign' });
  const before = fake.snapshot();
  const writes = fake.writes;
  const cases: [what: string, spec: unknown, type: new (...args: any[]) => Error, message: RegExp][] = [
    [
      'a gateway outside the subnet',
      { ...SPEC, gateway: '10.11.0.1' },
      ValidationError,
      /invalid gateway: is not inside the subnet/,
    ],
    ['not a spec at all', { ...SPEC, vni: 'forty-two' }, ValidationError, /invalid vni/],
    [
      'an underlay device the host does not have',
      { ...SPEC, underlay: { device: 'eth9', address: '192.168.100.1' } },
      ValidationError,
      /invalid underlay: no device named eth9/,
    ],
    [
      'an MTU the underlay cannot carry',
      { ...SPEC, mtu: 1480 },
      ValidationError,
      /invalid mtu: .*cannot carry more than 1450 over its underlay eth0/,
    ],
    // The VXLAN block plans a create before the bridge block refuses: the create must not have run.
    [
      'a bridge name taken by a veth',
      { ...SPEC, bridge: 'br-taken' },
      ConflictError,
      /link br-taken exists but differs from the spec: kind is veth, wanted bridge/,
    ],
    // The firewall is planned last: devices planned before it are not created either.
    ["a foreign nf_tables table of the network's name", { ...SPEC, name: 'foreign' }, NotOwnedError, /vxnet-foreign/],
  ];
  for (const [what, spec, type, message] of cases) {
    for (const run of [
      () => host.plan(spec as OverlaySpec),
      () => host.apply(spec as OverlaySpec, { replace: true }),
    ]) {
      const error = await rejection(run);
      assert.instance(error, type, `${what}: ${error}`);
      assert.match(error.message, message, what);
    }
    assert.is(fake.writes, writes, `${what}: nothing written`);
    assert.equal(fake.snapshot(), before, `${what}: the host is as it was`);
  }
  assert.equal(forward.sets, []);
  assert.equal(stateTree(stateRoot), [], 'no state left behind by refused applies');
});

// ------------------------------------------------------------------ replace

test('--replace safety: a veth named like the VXLAN device is a ConflictError, never deleted, never marked; destroy leaves it', async () => {
  const { fake, host } = scene();
  await fake.rtnetlink().links.create({ ifname: 'vx-demo', kind: 'veth', peer: { ifname: 'vx-demo-peer' } });
  const before = fake.snapshot();
  for (const options of [{ replace: true }, {}]) {
    const error = await rejection(() => host.apply(SPEC, options));
    assert.instance(error, ConflictError);
    assert.is((error as ConflictError).replaceable, false);
    assert.equal((error as ConflictError).differences, [{ field: 'kind', actual: 'veth', wanted: 'vxlan' }]);
    assert.not.match(error.message, /replace/, 'no replace is offered: it would not be done');
  }
  assert.is(fake.writes, 1, "only the test's own veth");
  assert.equal(fake.snapshot(), before);
  assert.equal(await host.destroy('demo'), []);
  assert.equal(fake.snapshot(), before, 'destroy deletes only what carries the mark');
});

test("a replace of this network's VXLAN device re-adds the new device to the bridge (it is created without a master)", async () => {
  const { fake, host } = scene();
  await host.apply(SPEC);
  const refused = await rejection(() => host.apply({ ...SPEC, port: 8472 }));
  assert.instance(refused, ConflictError);
  assert.is((refused as ConflictError).replaceable, true);
  assert.match(
    refused.message,
    /link vx-demo exists but differs from the spec: port is 4789, wanted 8472; change the spec, or ask for \{ replace: true \}/,
  );
  const changes = await host.apply({ ...SPEC, port: 8472 }, { replace: true });
  assert.equal(
    changes.map((c) => `${c.action} ${c.target}`),
    [
      'delete link vx-demo',
      'replace link vx-demo',
      'add peers of vx-demo',
      'add port vx-demo on br-demo',
      'update nftables table vxnet-demo',
    ],
  );
  const vx = linkOf(fake.snapshot(), 'vx-demo')!;
  assert.equal([(vx.data as any).port, vx.master, vx.up, vx.ifalias], [8472, 'br-demo', true, 'vxnet:demo']);
  assert.equal(await host.apply({ ...SPEC, port: 8472 }), [], 'and the next apply finds nothing to do');
  const status = await host.status('demo', { ...SPEC, port: 8472 });
  assert.equal(status.bridge?.ports, ['vx-demo']);
  assert.equal([status.drift, status.problems], [[], []]);
});

test('a conflict on the underlay names both devices by name, not by ifindex', async () => {
  const { fake, host } = scene({
    links: [LOOPBACK, UNDERLAY4, ethernet('eth1', { mtu: 1500, addresses: ['192.168.200.1/24'] })],
  });
  await host.apply(SPEC);
  const moved = { ...SPEC, underlay: { device: 'eth1', address: '192.168.200.1' }, peers: ['192.168.200.2'] };
  const error = await rejection(() => host.plan(moved));
  assert.instance(error, ConflictError);
  assert.ok(
    (error as ConflictError).differences.some(
      (d) => d.field === 'underlay' && d.actual === 'eth0' && d.wanted === 'eth1',
    ),
    JSON.stringify((error as ConflictError).differences),
  );
  assert.match(error.message, /underlay is eth0, wanted eth1/);
  assert.not.match(error.message, /underlay is \d/);
});

test('a VXLAN device without an underlay: "underlay is unset", and the wanted one by name', async () => {
  const { fake, host } = scene();
  await fake.rtnetlink().links.create({
    ifname: 'vx-demo',
    kind: 'vxlan',
    vxlan: { id: 42, port: 4789, local: '192.168.100.1', learning: 1 },
  });
  const error = await rejection(() => host.plan(SPEC));
  assert.instance(error, ConflictError);
  assert.equal((error as ConflictError).differences, [{ field: 'underlay', actual: undefined, wanted: 'eth0' }]);
  assert.match(error.message, /link vx-demo exists but differs from the spec: underlay is unset, wanted eth0; /);
});

// ------------------------------------------------------------------ round trips

test('round trips: plan, status and a no-op apply read the links once (one dump), not once per lookup', async () => {
  const { fake, host } = scene();
  await host.apply(SPEC);
  const measure = async (run: () => Promise<unknown>) => {
    fake.resetCounts();
    await run();
    return { sends: fake.sends, links: fake.count('RTM_GETLINK') };
  };
  // Before the plan's reading: 16 sends with 10 link requests (plan); 14 and 5 (status); 30 and 15 (status with
  // the spec); 17 and 11 (a no-op apply).
  assert.equal(await measure(() => host.plan(SPEC)), { sends: 10, links: 2 });
  assert.equal(await measure(() => host.status('demo')), { sends: 10, links: 1 });
  assert.equal(await measure(() => host.status('demo', SPEC)), { sends: 19, links: 2 });
  assert.equal(await measure(() => host.apply(SPEC)), { sends: 11, links: 3 });
});

test('a reading serves lookups while it lasts; once ended, the changes planned with it see the kernel as it is', async () => {
  const { fake } = scene();
  const rt = fake.rtnetlink();
  const reading = readLinksOnce(rt);
  fake.resetCounts();
  assert.is((await reading.rt.links.find('eth0'))?.ifname, 'eth0');
  assert.is(await reading.rt.links.find('later0'), undefined);
  assert.is(fake.count('RTM_GETLINK'), 1, 'two lookups, one dump');
  await rt.links.create({ ifname: 'later0', kind: 'bridge' });
  assert.is(await reading.rt.links.find('later0'), undefined, 'the reading is one moment');
  reading.end();
  assert.is((await reading.rt.links.find('later0'))?.ifname, 'later0', 'ended: straight to the kernel');
  assert.ok((await reading.rt.links.list()).some((l) => l.ifname === 'later0'));
});

// ------------------------------------------------------------------ a bridge vxnet did not make

const HAND_BRIDGE: InitialLink = {
  ifname: 'br-demo',
  type: 'bridge',
  mtu: 1500,
  addresses: ['10.10.0.254/24'],
  data: { forward_delay: 1500, stp_state: 0 },
};

test('a bridge vxnet did not make: refused before any write, naming what would change and { adopt: true }', async () => {
  const { fake, host, stateRoot } = scene({ links: [LOOPBACK, UNDERLAY4, HAND_BRIDGE] });
  const before = fake.snapshot();
  for (const attempt of [() => host.plan(SPEC), () => host.apply(SPEC)]) {
    const error = await rejection(attempt);
    assert.instance(error, BridgeNotOwnedError);
    assert.equal((error as BridgeNotOwnedError).wouldChange, [
      'forward delay 0s, mtu 1500 → 1450',
      'add address 10.10.0.1/24',
    ]);
    assert.match(error.message, /ask for \{ adopt: true \} to use it/);
  }
  assert.equal(fake.snapshot(), before);
  assert.equal(stateTree(stateRoot), []);
});

test('an adoption interrupted after the bridge changed: destroy still gives back its settings and address', async () => {
  const { fake, host } = scene({ links: [LOOPBACK, UNDERLAY4, HAND_BRIDGE] });
  const before = fake.snapshot();
  const stop = new Error('interrupted');
  const error = await rejection(() =>
    host.apply(SPEC, {
      adopt: true,
      onChange: (change) => {
        if (change.target.startsWith('address ')) throw stop;
      },
    }),
  );
  assert.is(error, stop, 'onChange stops the apply there');
  const bridge = fake.snapshot().links.find((l) => l.ifname === 'br-demo');
  assert.is(bridge?.mtu, 1450, 'the bridge was changed before the interruption');
  const removed = (await host.destroy('demo')).map(describeChange);
  assert.ok(
    removed.includes(
      'update link br-demo (give back the adopted bridge: forward delay 15s, mtu 1450 → 1500, remove address 10.10.0.1/24)',
    ),
    removed.join('\n'),
  );
  assert.not.ok(
    removed.some((c) => c.startsWith('delete link br-demo')),
    'the bridge stays',
  );
  assert.equal(fake.snapshot().links, before.links);
  assert.equal(fake.snapshot().addresses, before.addresses);
});

// ------------------------------------------------------------------ destroy

test('destroy: removes exactly the marked links, the table and the state; restores ip_forward; a second destroy finds nothing', async () => {
  const { fake, host, forward, stateRoot } = scene();
  const rt = fake.rtnetlink();
  const nft = fake.nftables();
  await rt.links.create({ ifname: 'br-mine', kind: 'bridge', up: true });
  await nft.createTable({ family: 'inet', name: 'hostfw' });
  const before = fake.snapshot();
  await host.apply(SPEC);
  const removed = await host.destroy('demo');
  assert.equal(removed.map(describeChange), [
    'delete link br-demo (bridge)',
    'delete link vx-demo (vxlan)',
    'delete nftables table vxnet-demo',
    'update net.ipv4.ip_forward (1 → 0 (restored: it was 0 before vxnet))',
  ]);
  const after = fake.snapshot();
  assert.equal(after.links, before.links, 'the unmarked bridge stays; nothing of demo is left');
  assert.equal(after.addresses, before.addresses);
  assert.equal(after.fdb, before.fdb);
  assert.equal(tablesOf(after), ['inet hostfw']);
  assert.equal(forward.sets, [true, false]);
  assert.equal(stateTree(stateRoot), [], "the network's state is gone, and its namespace directory with it");
  assert.equal(await host.destroy('demo'), []);
  assert.equal(forward.sets, [true, false]);
});

test('destroy carries on after failures and throws one AggregateError naming each; a second destroy finishes', async () => {
  const { fake, host, forward, stateRoot } = scene();
  await host.apply(SPEC);
  // The bridge is deleted first, then the VXLAN device: fail the bridge, and the table's batch.
  fake.failWrite({ errno: 'EPERM', when: (w) => w.type === 'RTM_DELLINK' });
  fake.failWrite({ errno: 'EBUSY', when: (w) => w.type === 'NFT_MSG_DELTABLE' });
  const error = await rejection(() => host.destroy('demo'));
  assert.instance(error, AggregateError);
  const failures = (error as AggregateError).errors as Error[];
  assert.is(failures.length, 2);
  assert.match(failures[0]!.message, /^destroy demo: delete link br-demo \(bridge\) failed: .*EPERM/);
  assert.match(failures[1]!.message, /^destroy demo: delete nftables table vxnet-demo failed: .*EBUSY/);
  assert.match(
    error.message,
    /^destroy demo: 2 steps failed \(the others were done\): destroy demo: delete link br-demo .*; destroy demo: delete nftables table vxnet-demo/,
  );
  const half = fake.snapshot();
  assert.is(linkOf(half, 'vx-demo'), undefined, 'the VXLAN device went, after the bridge failed');
  assert.ok(linkOf(half, 'br-demo'));
  assert.equal(tablesOf(half), ['ip vxnet-demo'], "the table's batch was rolled back whole");
  assert.equal(forward.sets, [true, false], 'ip_forward was restored all the same');
  assert.ok(
    stateTree(stateRoot).some((p) => p.endsWith('demo/state.json')),
    'the state stays while something is left',
  );

  const rest = await host.destroy('demo');
  assert.equal(
    rest.map((c) => `${c.action} ${c.target}`),
    ['delete link br-demo', 'delete nftables table vxnet-demo', 'update net.ipv4.ip_forward'],
  );
  assert.equal(forward.sets, [true, false], 'already 0: not written again');
  assert.equal(
    fake.snapshot().links.map((l) => l.ifname),
    ['lo', 'eth0'],
  );
  assert.equal(tablesOf(fake.snapshot()), []);
  assert.equal(stateTree(stateRoot), []);
});

test("destroy with a single failure throws that failure alone, named, with the kernel's error as its cause", async () => {
  const { fake, host } = scene();
  await host.apply(SPEC);
  fake.failWrite({ errno: 'EBUSY', when: (w) => w.type === 'NFT_MSG_DELTABLE' });
  const error = await rejection(() => host.destroy('demo'));
  assert.not.instance(error, AggregateError);
  assert.instance(error, VxnetError);
  assert.match(error.message, /^destroy demo: delete nftables table vxnet-demo failed: .*EBUSY/);
  assert.instance(error.cause, NetlinkError);
  assert.equal(
    fake.snapshot().links.map((l) => l.ifname),
    ['lo', 'eth0'],
    'the links went',
  );
});

// ------------------------------------------------------------------ ip_forward

test('ip_forward already 1: apply only records the need, destroy leaves it 1', async () => {
  const { host, forward } = scene({ ipForward: true });
  const changes = await host.apply(SPEC);
  assert.equal(changes.map(describeChange).at(-1), 'update net.ipv4.ip_forward (needed by demo (already 1))');
  assert.equal(await host.apply(SPEC), []);
  const removed = await host.destroy('demo');
  assert.not.ok(removed.some((c) => c.target === 'net.ipv4.ip_forward'));
  assert.equal(forward.sets, []);
  assert.is(forward.value, true);
});

test('ip_forward and two networks: it stays 1 while one still needs it, and goes back to 0 with the last', async () => {
  const { host, forward } = scene();
  const other: OverlaySpec = {
    ...SPEC,
    name: 'other',
    vni: 43,
    subnet: '10.20.0.0/24',
    gateway: '10.20.0.1',
    port: 4790,
  };
  await host.apply(SPEC);
  await host.apply(other);
  assert.equal(forward.sets, [true], 'the second network found it on');
  const first = await host.destroy('demo');
  assert.equal(first.filter((c) => c.target === 'net.ipv4.ip_forward').map(describeChange), [
    'update net.ipv4.ip_forward (stays 1 (network other needs it))',
  ]);
  assert.equal(forward.sets, [true]);
  const last = await host.destroy('other');
  assert.equal(last.filter((c) => c.target === 'net.ipv4.ip_forward').map(describeChange), [
    'update net.ipv4.ip_forward (1 → 0 (restored: it was 0 before vxnet))',
  ]);
  assert.equal(forward.sets, [true, false]);
});

test('a network without masquerade does not touch ip_forward', async () => {
  const { host, forward } = scene();
  const plain = { ...SPEC, masquerade: undefined };
  assert.not.ok((await host.apply(plain)).some((c) => c.target === 'net.ipv4.ip_forward'));
  await host.destroy('demo');
  assert.equal(forward.sets, []);
});

// ------------------------------------------------------------------ IPv6 underlay, peers

const UNDERLAY6 = ethernet('eth0', { mtu: 1500, addresses: ['2001:db8::1/64'] });
const SPEC6: OverlaySpec = {
  name: 'six',
  vni: 60,
  underlay: { device: 'eth0', address: '2001:db8::1' },
  peers: ['2001:db8::1', '2001:DB8:0::2'],
  subnet: '10.60.0.0/24',
  gateway: '10.60.0.1',
  firewall: true,
};

test('IPv6 underlay, unicast peers: local6, 70 bytes of overhead, IPv6 flood entries and peer set; idempotent', async () => {
  const { fake, host } = scene({ links: [LOOPBACK, UNDERLAY6] });
  const changes = await host.apply(SPEC6);
  assert.equal(changes.map(describeChange).slice(0, 2), [
    'create link vx-six (vxlan id 60 1 unicast peer(s) dev eth0 dstport 4789 mtu 1430)',
    'add peers of vx-six (2001:db8::2)',
  ]);
  const after = fake.snapshot();
  const vx = linkOf(after, 'vx-six')!;
  assert.equal(
    [(vx.data as any).local6, (vx.data as any).local, vx.mtu, linkOf(after, 'br-six')!.mtu],
    ['2001:db8::1', undefined, 1430, 1430],
  );
  assert.equal(
    after.fdb.filter((e) => e.dev === 'vx-six' && e.dst).map((e) => `${e.mac} ${e.dst}`),
    ['00:00:00:00:00:00 2001:db8::2'],
  );
  assert.equal(tablesOf(after), ['ip vxnet-six', 'ip6 vxnet-six'], 'the VXLAN port is opened in the ip6 table');
  const status = await host.status('six', SPEC6);
  assert.equal(status.vxlan?.peers, ['2001:db8::2']);
  assert.equal(status.firewall?.peers, ['2001:db8::2']);
  assert.equal([status.drift, status.problems, status.unknown], [[], [], []]);
  assert.equal(await host.apply(SPEC6), []);
});

test('addPeer / removePeer: a firewall that refuses the peer set leaves the flood list as it was', async () => {
  const { fake, host } = scene();
  await host.apply(SPEC);
  const before = fake.snapshot();
  fake.failWrite({ errno: 'ENOMEM', when: (w) => w.type === 'NFT_MSG_NEWSETELEM' });
  const added = await rejection(() => host.addPeer('demo', '192.168.100.3'));
  assert.match(added.message, /ENOMEM/);
  assert.equal(fake.snapshot().fdb, before.fdb, 'the flood entry added first was taken back');
  fake.failWrite({ errno: 'ENOMEM', when: (w) => w.type === 'NFT_MSG_DELSETELEM' });
  const removed = await rejection(() => host.removePeer('demo', '192.168.100.2'));
  assert.match(removed.message, /ENOMEM/);
  const after = fake.snapshot();
  const sorted = (fdb: HostSnapshot['fdb']) => fdb.map((e) => JSON.stringify(e)).sort();
  assert.equal(sorted(after.fdb), sorted(before.fdb), 'the flood entry removed first was put back');
  assert.equal({ ...after, fdb: [] }, { ...before, fdb: [] }, 'and nothing else changed: the set neither');
});

test("IPv6 peers: addPeer / removePeer edit the flood list and the firewall's peer set; false when already so; IPv4 refused before any write", async () => {
  const { fake, host } = scene({ links: [LOOPBACK, UNDERLAY6] });
  await host.apply(SPEC6);
  assert.is(await host.addPeer('six', '2001:DB8::3'), true);
  assert.is(await host.addPeer('six', '2001:db8::3'), false);
  let status = await host.status('six');
  assert.equal(status.vxlan?.peers.sort(), ['2001:db8::2', '2001:db8::3']);
  assert.equal(status.firewall?.peers?.sort(), ['2001:db8::2', '2001:db8::3']);
  const writes = fake.writes;
  for (const bad of ['192.168.100.2', 'ff02::1', '2001:db8::/64', 'peer-c']) {
    const error = await rejection(() => host.addPeer('six', bad));
    assert.instance(error, ValidationError, bad);
  }
  assert.is(fake.writes, writes, 'refused addresses wrote nothing');
  assert.is(await host.removePeer('six', '2001:db8::3'), true);
  assert.is(await host.removePeer('six', '2001:db8::3'), false);
  status = await host.status('six');
  assert.equal(status.vxlan?.peers, ['2001:db8::2']);
  assert.equal(status.firewall?.peers, ['2001:db8::2']);
  assert.equal(await host.apply(SPEC6), [], 'back where the spec says');
});

test('peers of a network that does not exist here: refused, nothing written', async () => {
  const { fake, host } = scene();
  const error = await rejection(() => host.addPeer('demo', '192.168.100.3'));
  assert.instance(error, VxnetError);
  assert.match(error.message, /network demo has no VXLAN device in namespace fake \(apply its spec first\)/);
  const name = await rejection(() => host.removePeer('no such', '192.168.100.3'));
  assert.instance(name, ValidationError);
  assert.is(fake.writes, 0);
});

// ------------------------------------------------------------------ status

test('status: what exists, by mark; ok when it matches the spec; a network with nothing here is a problem', async () => {
  const { host } = scene();
  await host.apply(SPEC);
  const status = await host.status('demo', SPEC);
  assert.equal(status.links, [
    { name: 'vx-demo', kind: 'vxlan', mtu: 1450, up: true },
    { name: 'br-demo', kind: 'bridge', mtu: 1450, up: true },
  ]);
  assert.equal(
    [status.vxlan?.vni, status.vxlan?.port, status.vxlan?.underlay, status.vxlan?.owner],
    [42, 4789, 'eth0', 'demo'],
  );
  assert.equal(status.bridge, { name: 'br-demo', ports: ['vx-demo'], addresses: ['10.10.0.1/24'] });
  assert.equal(status.firewall?.table, 'vxnet-demo');
  assert.ok(status.firewall!.rules.includes('vxnet: masquerade 10.10.0.0/24'));
  assert.equal([status.drift, status.problems, status.unknown], [[], [], []]);
  const ghost = await host.status('ghost');
  assert.equal(ghost.links, []);
  assert.equal(ghost.problems, ['nothing of network ghost exists in namespace fake']);
});

test("status: drift lists what apply would do; a device apply would refuse to touch is drift said as the refusal, in the caller's words", async () => {
  const { fake, host } = scene();
  await host.apply(SPEC);
  const rt = fake.rtnetlink();
  await rt.links.set('vx-demo', { up: false });
  let status = await host.status('demo', SPEC);
  assert.equal(status.drift, ['update link vx-demo (up)', 'add port vx-demo on br-demo']);
  assert.ok(status.problems.includes('vx-demo is down'));
  await host.apply(SPEC);

  const other = { ...SPEC, port: 8472 };
  const writes = fake.writes;
  status = await host.status('demo', other);
  assert.equal(status.drift, [
    'refuse: link vx-demo exists but differs from the spec: port is 4789, wanted 8472; change the spec, or ask for { replace: true } to recreate it (traffic stops briefly)',
  ]);
  status = await host.status('demo', other, { replace: '--replace' });
  assert.equal(status.drift, [
    'refuse: link vx-demo exists but differs from the spec: port is 4789, wanted 8472; change the spec, or ask for --replace to recreate it (traffic stops briefly)',
  ]);
  assert.is(fake.writes, writes, 'status writes nothing');
  // A spec this host cannot apply at all is a problem, not drift.
  status = await host.status('demo', { ...SPEC, mtu: 1480 });
  assert.equal(status.drift, []);
  assert.match(status.problems.join('\n'), /the spec cannot be applied here: invalid mtu/);
});

test('status when nf_tables cannot be read (EPERM, no CAP_NET_ADMIN): the links still, the firewall and the drift as unknown', async () => {
  const { fake, host } = scene();
  await host.apply(SPEC);
  const fault = fake.failRead({ errno: 'EPERM', when: (r) => r.protocol === 'nftables', times: Infinity });
  const status = await host.status('demo', SPEC);
  assert.ok(fault.hits > 0, 'nf_tables was asked, and refused');
  assert.equal(
    status.links.map((l) => l.name),
    ['vx-demo', 'br-demo'],
  );
  assert.equal(status.bridge?.ports, ['vx-demo']);
  assert.is(status.firewall, undefined);
  assert.equal(status.unknown, [
    'firewall: reading nf_tables needs CAP_NET_ADMIN (EPERM)',
    'drift: planning reads nf_tables, which needs CAP_NET_ADMIN',
  ]);
  assert.equal([status.drift, status.problems], [[], []]);
  // Another errno is not a missing privilege: it is thrown, not hidden as unknown.
  fault.cancel();
  fake.failRead({ errno: 'EBUSY', when: (r) => r.protocol === 'nftables', times: Infinity });
  const error = await rejection(() => host.status('demo', SPEC));
  assert.instance(error, NetlinkError);
  assert.is((error as NetlinkError).code, 'EBUSY');
});

test.run();
