/**
 * Containers attached on the real kernel: namespaces made by `ip netns add`
 * (reached by name) and by `unshare --net` (reached by pid and by
 * /proc/PID/ns/net), static and DHCP addresses (udhcpc inside the container
 * against the overlay's dnsmasq, across VXLAN too), containers on two hosts
 * pinging each other, a second attach that writes nothing, detach and destroy
 * that leave nothing, a foreign veth with the would-be name never touched,
 * and bad inputs that change nothing. `ip` (and ping, udhcpc) are the
 * oracles; vxnet does every change under test.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attach, checkAttachment, createPair, detach } from '../../src/attach/attach.js';
import {
  AddressOutsideSubnetError,
  IfnameTakenError,
  NetnsNotFoundError,
  NetworkNotAppliedError,
} from '../../src/attach/errors.js';
import { listAttachments } from '../../src/attach/list.js';
import { parseContainerMark, parseHostMark } from '../../src/attach/mark.js';
import { containerMac, hostVethName } from '../../src/attach/names.js';
import { attachPort } from '../../src/bridge/bridge.js';
import { describeChange } from '../../src/common/plan.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { namespaceIdentity } from '../../src/netlink/namespace.js';
import { OverlayHost } from '../../src/overlay/host.js';
import type { OverlaySpec } from '../../src/overlay/spec.js';
import type { Rtnetlink } from '../../src/rtnetlink/client.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { hostResidue } from '../helpers/residue.js';
import { countingRtnetlink, type CountingClient } from '../helpers/writes.js';
import { CLI } from '../helpers/cli.js';

const it = integrationReady(['ip', 'nsenter', 'unshare', 'ping', 'dnsmasq', 'udhcpc', 'nft', 'bridge'])
  ? test
  : test.skip;
const STATE = `/tmp/vxnet-attach-test-${process.pid}`;

// ---------------------------------------------------------------- helpers

/** A process alone in a new network namespace (`unshare --net`), as a runtime's container is; killed at the end. */
class Sleeper {
  readonly child: ChildProcess;
  constructor() {
    this.child = spawn('unshare', ['--net', 'sleep', '600'], { stdio: 'ignore' });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get path(): string {
    return `/proc/${this.pid}/ns/net`;
  }

  /** Waits until unshare has exec'd sleep in its own namespace. */
  async ready(): Promise<this> {
    const own = namespaceIdentity().id;
    for (let i = 0; i < 100; i++) {
      try {
        if (
          namespaceIdentity(this.path).id !== own &&
          readFileSync(`/proc/${this.pid}/comm`, 'utf8').trim() === 'sleep'
        )
          return this;
      } catch {
        // not there yet
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('unshare did not start');
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** A command inside a namespace file (name or path), through nsenter as a runtime would. */
function inside(path: string, command: string, args: string[]): string {
  return sh('nsenter', [`--net=${path.startsWith('/') ? path : `/run/netns/${path}`}`, command, ...args]);
}

const ipJsonIn = (path: string, ...args: string[]): any[] => JSON.parse(inside(path, 'ip', ['-j', ...args]) || '[]');
const linkIn = (path: string, ifname: string): any =>
  ipJsonIn(path, '-d', 'link', 'show').find((l) => l.ifname === ifname);
const addressesIn = (path: string, ifname: string, family = '-4'): string[] =>
  (ipJsonIn(path, family, 'addr', 'show', 'dev', ifname)[0]?.addr_info ?? [])
    .filter((a: any) => a.scope === 'global')
    .map((a: any) => `${a.local}/${a.prefixlen}`)
    .sort();
const defaultRoutesIn = (path: string, family = '-4'): string[] =>
  ipJsonIn(path, family, 'route', 'show', 'default').map((r: any) => `${r.gateway ?? '-'} ${r.dev}`);
/** A container's links, for before/after comparisons (name, kind, state, alias). */
const containerLinks = (path: string): string[] =>
  ipJsonIn(path, '-d', 'link', 'show')
    .map(
      (l: any) =>
        `${l.ifname}:${l.linkinfo?.info_kind ?? ''}:${l.flags.includes('UP') ? 'up' : 'down'}:${l.ifalias ?? ''}`,
    )
    .sort();

function ping(path: string, to: string): boolean {
  return (
    spawnSync(
      'nsenter',
      [`--net=${path.startsWith('/') ? path : `/run/netns/${path}`}`, 'ping', '-n', '-q', '-c', '1', '-W', '1', to],
      { stdio: 'ignore' },
    ).status === 0
  );
}

async function pingEventually(path: string, to: string, seconds = 8): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (ping(path, to)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

// udhcpc's script: apply the lease to the interface and write down what was applied.
const LEASE_SCRIPT = `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route replace default via "$router" dev "$interface"
    printf 'ip=%s\\nmask=%s\\nrouter=%s\\nmtu=%s\\n' "$ip" "$mask" "$router" "$mtu" > "$VXT_LEASE"
    ;;
esac
exit 0
`;

/** Runs udhcpc inside the container (asynchronously: dnsmasq may be supervised by this process). */
async function udhcpc(
  path: string,
  ifname = 'eth0',
): Promise<{ ip: string; mask: string; router: string; mtu: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vxt-attach-dhcp-'));
  try {
    writeFileSync(join(dir, 'script'), LEASE_SCRIPT);
    chmodSync(join(dir, 'script'), 0o755);
    const output = await new Promise<string>((resolve) => {
      const child = spawn(
        'nsenter',
        [
          `--net=${path.startsWith('/') ? path : `/run/netns/${path}`}`,
          'udhcpc',
          '-i',
          ifname,
          '-n',
          '-q',
          '-f',
          '-s',
          join(dir, 'script'),
          '-t',
          '10',
          '-T',
          '1',
          '-A',
          '1',
        ],
        {
          env: { ...process.env, VXT_LEASE: join(dir, 'lease') },
        },
      );
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (text += d));
      child.on('exit', () => resolve(text));
    });
    let lease: string;
    try {
      lease = readFileSync(join(dir, 'lease'), 'utf8');
    } catch {
      throw new Error(`udhcpc in ${path} got no lease:\n${output}`);
    }
    return Object.fromEntries(
      lease
        .trim()
        .split('\n')
        .map((l) => l.split('=', 2)),
    ) as never;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function refusal<T extends Error>(kind: new (...args: any[]) => T, body: () => Promise<unknown>): Promise<T> {
  try {
    await body();
  } catch (error) {
    assert.instance(error, kind, `${(error as Error).name}: ${(error as Error).message}`);
    return error as T;
  }
  assert.unreachable(`expected a ${kind.name}`);
  throw new Error('unreachable');
}

function vxnet(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [...CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

function specFor(host: LabHost, options: { dhcp?: boolean } = {}): OverlaySpec {
  return {
    name: 'seed',
    vni: 42,
    port: 4789,
    underlay: { device: 'eth0', address: host.address },
    group: '239.1.1.1',
    subnet: '10.10.0.0/24',
    gateway: `10.10.0.${host.index}`,
    vxlan: 'vx0',
    bridge: 'br0',
    ...(options.dhcp ? { dhcp: { ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }], leaseTime: '1h' } } : {}),
  };
}

/** Counting clients in each container namespace attach opens (so a second attach can be shown to write nothing there either). */
function countingContainers(): { io: { openNamespace: (path: string) => Promise<Rtnetlink> }; writes: () => number } {
  const opened: CountingClient[] = [];
  return {
    io: {
      openNamespace: async (path) => {
        const client = await countingRtnetlink(path);
        opened.push(client);
        return client.rt;
      },
    },
    writes: () => opened.reduce((sum, c) => sum + c.writes(), 0),
  };
}

// ---------------------------------------------------------------- the building block on a plain bridge

it('building block: ip-netns and unshare containers (name, pid, /proc path), static v4/v6 and dhcp mode; a second attach writes nothing; detach leaves nothing', async () => {
  const lab = Lab.create({ hosts: 1 });
  const sleeper = new Sleeper();
  let rt: CountingClient | undefined;
  try {
    await sleeper.ready();
    const h = lab.host(1).ns;
    sh('ip', ['-n', h, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    sh('ip', ['-n', h, 'link', 'set', 'br0', 'mtu', '1400', 'up']);
    sh('ip', ['-n', h, 'addr', 'add', '10.20.0.1/24', 'dev', 'br0']);
    sh('ip', ['-n', h, 'addr', 'add', 'fd00:20::1/64', 'dev', 'br0', 'nodad']);
    const web = lab.addNamespaceNamed('web');
    const hostBefore = hostResidue(h, { stateRoot: STATE });
    const webBefore = containerLinks(web);
    const sleeperBefore = containerLinks(sleeper.path);
    rt = await countingRtnetlink(h);
    const first = countingContainers();

    const v4 = { network: 'demo', bridge: 'br0', subnet: '10.20.0.0/24', gateway: '10.20.0.1' };
    const webAttach = { ...v4, netns: web, address: '10.20.0.5' };
    const made = await attach(rt.rt, webAttach, first.io);
    assert.equal(
      made.changes.map((c) => c.action),
      ['create', 'update', 'add', 'add'],
      made.changes.map(describeChange).join('; '),
    );
    const webId = namespaceIdentity(web).id;
    assert.is(made.host.ifname, hostVethName(webId, 'eth0'));
    assert.is(made.container.mac, containerMac('demo', `netns:${web}`, 'eth0'));

    // What ip sees, in the container and in the host.
    const eth0 = linkIn(web, 'eth0');
    assert.is(eth0.mtu, 1400, "the bridge's MTU");
    assert.is(eth0.address, made.container.mac);
    assert.ok(eth0.flags.includes('UP'));
    assert.equal(parseContainerMark(eth0.ifalias), { network: 'demo', address: '10.20.0.5/24', gateway: '10.20.0.1' });
    assert.equal(addressesIn(web, 'eth0'), ['10.20.0.5/24']);
    assert.equal(defaultRoutesIn(web), ['10.20.0.1 eth0']);
    const hostEnd = JSON.parse(sh('ip', ['-n', h, '-j', '-d', 'link', 'show', 'dev', made.host.ifname]))[0];
    assert.is(hostEnd.master, 'br0');
    assert.is(hostEnd.mtu, 1400);
    assert.ok(hostEnd.flags.includes('UP'));
    assert.match(hostEnd.address, /^fe:/);
    assert.equal(parseHostMark(hostEnd.ifalias), { network: 'demo', netnsId: webId, ifname: 'eth0' });
    assert.ok(await pingEventually(web, '10.20.0.1'), 'the container reaches the gateway');

    // The unshare'd container by pid, DHCP mode: nothing assigned; lo brought up.
    assert.ok(
      containerLinks(sleeper.path).some((l) => l.startsWith('lo::down')),
      'unshare leaves lo down',
    );
    const byPid = await attach(
      rt.rt,
      { network: 'demo', bridge: 'br0', netns: sleeper.pid, address: 'dhcp' },
      first.io,
    );
    assert.ok(
      byPid.changes.some((c) => c.target === `link lo in pid ${sleeper.pid}`),
      byPid.changes.map(describeChange).join('; '),
    );
    assert.equal(addressesIn(sleeper.path, 'eth0'), []);
    assert.ok(linkIn(sleeper.path, 'lo').flags.includes('UP'));
    // A second interface in it, static IPv6 with its default route.
    const v6 = await attach(
      rt.rt,
      {
        network: 'demo',
        bridge: 'br0',
        netns: sleeper.path,
        ifname: 'eth1',
        address: 'fd00:20::5',
        subnet: 'fd00:20::/64',
        gateway: 'fd00:20::1',
        mtu: 1300,
      },
      first.io,
    );
    assert.is.not(v6.host.ifname, byPid.host.ifname);
    assert.equal(addressesIn(sleeper.path, 'eth1', '-6'), ['fd00:20::5/64']);
    assert.equal(defaultRoutesIn(sleeper.path, '-6'), ['fd00:20::1 eth1']);
    assert.is(linkIn(sleeper.path, 'eth1').mtu, 1300);
    assert.ok(await pingEventually(sleeper.path, 'fd00:20::1'), 'IPv6 gateway reachable (after DAD)');

    // Again, identically — web by its /var/run/netns path, the pid's namespace by its /proc path: the same attachments. Nothing written anywhere.
    const writesBefore = rt.writes();
    const again = countingContainers();
    assert.equal((await attach(rt.rt, { ...webAttach, netns: `/var/run/netns/${web}` }, again.io)).changes, []);
    assert.equal(
      (await attach(rt.rt, { network: 'demo', bridge: 'br0', netns: sleeper.path, address: 'dhcp' }, again.io)).changes,
      [],
    );
    assert.equal(
      (
        await attach(
          rt.rt,
          {
            network: 'demo',
            bridge: 'br0',
            netns: String(sleeper.pid),
            ifname: 'eth1',
            address: 'fd00:20::5/64',
            subnet: 'fd00:20::/64',
            gateway: 'fd00:20::1',
            mtu: 1300,
          },
          again.io,
        )
      ).changes,
      [],
    );
    assert.is(rt.writes() - writesBefore, 0, 'no write in the host');
    assert.is(again.writes(), 0, 'no write in the containers');
    assert.equal((await checkAttachment(rt.rt, webAttach)).problems, []);

    const listed = await listAttachments(rt.rt, { network: 'demo' });
    assert.equal(listed.map((a: any) => [a.netns, a.ifname, a.container?.address, a.problems]).sort(), [
      [`/proc/${sleeper.pid}/ns/net`, 'eth0', 'dhcp', []],
      [`/proc/${sleeper.pid}/ns/net`, 'eth1', 'fd00:20::5/64', []],
      [`/run/netns/${web}`, 'eth0', '10.20.0.5/24', []],
    ]);

    // Detach: by name, by pid, by path; then nothing is left, and a second detach finds nothing.
    assert.is((await detach(rt.rt, { network: 'demo', netns: web })).detached, true);
    assert.is((await detach(rt.rt, { network: 'demo', netns: sleeper.pid })).detached, true);
    assert.is((await detach(rt.rt, { network: 'demo', netns: sleeper.path, ifname: 'eth1' })).detached, true);
    assert.is((await detach(rt.rt, { network: 'demo', netns: web })).detached, false);
    assert.equal(hostResidue(h, { stateRoot: STATE }), hostBefore, 'the host exactly as before');
    assert.equal(containerLinks(web), webBefore, 'the ip-netns container exactly as before');
    assert.equal(
      containerLinks(sleeper.path),
      sleeperBefore.map((l) => l.replace('lo::down', 'lo::up')),
      'the unshare container as before, but lo up (left up on purpose)',
    );
  } finally {
    rt?.rt.close();
    sleeper.kill();
    lab.destroy();
  }
});

// ---------------------------------------------------------------- the overlay: two hosts, DHCP across VXLAN, static

it('overlay: containers on two hosts (DHCP from host 1 over VXLAN, static) ping each other; status lists them with leases; detach and destroy leave nothing', async () => {
  const lab = Lab.create({ hosts: 2 });
  const sleepers = [new Sleeper(), new Sleeper()];
  const hosts: OverlayHost[] = [];
  try {
    for (const s of sleepers) await s.ready();
    const before = lab.hosts.map((h) => hostResidue(h.ns, { stateRoot: STATE }));
    for (const h of lab.hosts) hosts.push(await OverlayHost.open({ namespace: h.ns, stateRoot: STATE }));
    await hosts[0]!.apply(specFor(lab.host(1), { dhcp: true }));
    await hosts[1]!.apply(specFor(lab.host(2)));

    const c1 = lab.addNamespaceNamed('c1');
    const [c2, c3] = sleepers as [Sleeper, Sleeper];
    const attachC1 = { netns: c1, address: 'dhcp' };
    const attachC2 = { netns: c2.pid, address: '10.10.0.20' };
    const attachC3 = { netns: c3.path, address: 'dhcp' };
    const r1 = await hosts[0]!.attach('seed', attachC1);
    const r2 = await hosts[1]!.attach('seed', attachC2);
    const r3 = await hosts[1]!.attach('seed', attachC3);
    assert.is(r1.container.mtu, 1450, "the overlay's MTU");
    assert.is(r2.gateway, '10.10.0.2', "host 2's gateway");
    assert.is(r2.address, '10.10.0.20/24', "the subnet's prefix length");
    assert.is(linkIn(c2.path, 'eth0').mtu, 1450);

    const lease1 = await udhcpc(c1);
    const lease3 = await udhcpc(c3.path);
    for (const lease of [lease1, lease3]) {
      assert.match(lease.ip, /^10\.10\.0\.1\d\d$/);
      assert.is(lease.router, '10.10.0.1');
      assert.is(lease.mtu, '1450', 'option 26 matches the interface');
    }
    assert.ok(await pingEventually(c1, '10.10.0.20'), 'c1 (host 1) → c2 (host 2, static)');
    assert.ok(await pingEventually(c2.path, lease1.ip), 'c2 → c1');
    assert.ok(await pingEventually(c2.path, lease3.ip), 'c2 → c3 (same host)');
    assert.ok(await pingEventually(c3.path, lease1.ip), 'c3 (DHCP across VXLAN) → c1');

    // A second attach with the same options changes nothing.
    assert.equal((await hosts[0]!.attach('seed', attachC1)).changes, []);
    assert.equal((await hosts[1]!.attach('seed', attachC2)).changes, []);
    assert.equal((await hosts[1]!.attach('seed', attachC3)).changes, []);

    const s1 = await hosts[0]!.status('seed');
    assert.equal(s1.problems, []);
    assert.is(s1.attachments.length, 1);
    const [a1] = s1.attachments;
    assert.equal(
      [a1!.netns, a1!.ifname, a1!.container?.address, a1!.container?.mac, a1!.lease?.ip],
      [`/run/netns/${c1}`, 'eth0', 'dhcp', r1.container.mac, lease1.ip],
    );
    assert.ok(s1.bridge?.ports.includes(r1.host.ifname));
    const s2 = await hosts[1]!.status('seed');
    assert.equal(s2.problems, []);
    assert.equal(
      s2.attachments.map((a) => [a.netns, a.container?.address, a.container?.gateway]).sort(),
      [
        [c2.path, '10.10.0.20/24', '10.10.0.2'],
        [c3.path, 'dhcp', undefined],
      ].sort(),
    );

    // Detach one; destroy takes the others with the network.
    assert.equal((await hosts[1]!.detach('seed', { netns: c2.pid })).detached, true);
    assert.is(linkIn(c2.path, 'eth0'), undefined);
    const removed = [...(await hosts[0]!.destroy('seed')), ...(await hosts[1]!.destroy('seed'))].map(describeChange);
    assert.ok(
      removed.includes(`delete veth ${r1.host.ifname} (attachment of eth0 in ${namespaceIdentity(c1).id})`),
      removed.join('; '),
    );
    assert.ok(
      removed.some((c) => c.startsWith(`delete veth ${r3.host.ifname}`)),
      removed.join('; '),
    );
    assert.equal(
      lab.hosts.map((h) => hostResidue(h.ns, { stateRoot: STATE })),
      before,
      'both hosts exactly as before',
    );
    assert.equal(
      containerLinks(c1).filter((l) => !l.startsWith('lo:')),
      [],
      'no interface left in c1',
    );
    assert.equal(
      containerLinks(c3.path).filter((l) => !l.startsWith('lo:')),
      [],
      'none in c3',
    );
  } finally {
    for (const host of hosts) await host.close();
    for (const s of sleepers) s.kill();
    lab.destroy();
  }
});

// ---------------------------------------------------------------- safety

it('bad inputs change nothing; a foreign veth with the would-be name is never touched (attach, detach, destroy)', async () => {
  const lab = Lab.create({ hosts: 1 });
  let host: OverlayHost | undefined;
  try {
    const h = lab.host(1).ns;
    host = await OverlayHost.open({ namespace: h, stateRoot: STATE });
    await host.apply(specFor(lab.host(1)));
    const web = lab.addNamespaceNamed('web');
    const busy = lab.addNamespaceNamed('busy');
    sh('ip', ['-n', busy, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'x0']);
    const wouldBe = hostVethName(namespaceIdentity(web).id, 'eth0');
    sh('ip', ['-n', h, 'link', 'add', wouldBe, 'type', 'veth', 'peer', 'name', 'fpeer']);
    sh('ip', ['-n', h, 'link', 'set', wouldBe, 'alias', "someone else's"]);
    const foreign = () => JSON.parse(sh('ip', ['-n', h, '-j', '-d', 'link', 'show', 'dev', wouldBe]))[0];
    const foreignBefore = foreign();

    const snapshot = () => ({
      host: hostResidue(h, { stateRoot: STATE }),
      web: containerLinks(web),
      busy: containerLinks(busy),
    });
    const before = snapshot();
    const bad: [string, () => Promise<unknown>, new (...args: any[]) => Error, RegExp][] = [
      [
        'missing namespace',
        () => host!.attach('seed', { netns: `${lab.prefix}-nope` }),
        NetnsNotFoundError,
        /no network namespace .*-nope/,
      ],
      ['missing pid', () => host!.attach('seed', { netns: 2 ** 30 }), NetnsNotFoundError, /no process 1073741824/],
      [
        'ifname taken',
        () => host!.attach('seed', { netns: busy, address: '10.10.0.9' }),
        IfnameTakenError,
        /eth0 is taken in namespace .*-busy by a veth device that vxnet did not make/,
      ],
      [
        'address outside the subnet',
        () => host!.attach('seed', { netns: web, address: '10.99.0.9/24' }),
        AddressOutsideSubnetError,
        /not inside the network's subnet 10\.10\.0\.0\/24/,
      ],
      [
        'network not applied',
        () => host!.attach('other', { netns: web }),
        NetworkNotAppliedError,
        /network other is not applied in namespace .*-h1/,
      ],
      [
        "MTU above the overlay's",
        () => host!.attach('seed', { netns: web, mtu: 1500 }),
        ValidationError,
        /carries at most 1450 bytes/,
      ],
      [
        "the host's own namespace",
        () => host!.attach('seed', { netns: h }),
        ValidationError,
        /is the namespace the bridge is in/,
      ],
      [
        'a multicast MAC',
        () => host!.attach('seed', { netns: web, mac: '01:00:5e:01:02:03' }),
        ValidationError,
        /invalid mac/,
      ],
      ['a bad ifname', () => host!.attach('seed', { netns: web, ifname: 'eth/0' }), ValidationError, /invalid ifname/],
      [
        'a bad address',
        () => host!.attach('seed', { netns: web, address: 'dhcp6' }),
        ValidationError,
        /invalid address/,
      ],
    ];
    for (const [what, body, kind, message] of bad) {
      const error = await refusal(kind, body);
      assert.match(error.message, message, what);
      assert.equal(snapshot(), before, `${what}: nothing changed`);
    }

    // The good attach takes the next name and leaves the foreign device as it was.
    const made = await host.attach('seed', { netns: web, address: '10.10.0.9' });
    assert.is(made.host.ifname, hostVethName(namespaceIdentity(web).id, 'eth0', 1));
    assert.equal(foreign(), foreignBefore, 'untouched by attach');
    assert.is((await host.detach('seed', { netns: web })).detached, true);
    assert.equal(foreign(), foreignBefore, 'untouched by detach');
    await host.attach('seed', { netns: web });
    await host.destroy('seed');
    assert.equal(foreign(), foreignBefore, 'untouched by destroy');
    assert.equal(containerLinks(web), before.web);
  } finally {
    await host?.close();
    lab.destroy();
  }
});

it('a changed attach converges: static → another static → dhcp → none, removing exactly what vxnet set', async () => {
  const lab = Lab.create({ hosts: 1 });
  let host: OverlayHost | undefined;
  try {
    const h = lab.host(1).ns;
    host = await OverlayHost.open({ namespace: h, stateRoot: STATE });
    await host.apply(specFor(lab.host(1)));
    const web = lab.addNamespaceNamed('web');
    await host.attach('seed', { netns: web, address: '10.10.0.5' });
    // Someone adds an address of their own in another prefix: vxnet never removes it.
    inside(web, 'ip', ['addr', 'add', '192.0.2.7/24', 'dev', 'eth0']);
    const steps = (
      await host.attach('seed', { netns: web, address: '10.10.0.6/24', mtu: 1400, mac: '02:aa:bb:cc:dd:ee' })
    ).changes.map(describeChange);
    assert.ok(
      steps.some((s) => s.startsWith('remove address 10.10.0.5/24')),
      steps.join('; '),
    );
    assert.equal(addressesIn(web, 'eth0'), ['10.10.0.6/24', '192.0.2.7/24']);
    assert.equal(defaultRoutesIn(web), ['10.10.0.1 eth0']);
    const eth0 = linkIn(web, 'eth0');
    assert.equal([eth0.mtu, eth0.address], [1400, '02:aa:bb:cc:dd:ee']);
    assert.is(
      JSON.parse(sh('ip', ['-n', h, '-j', 'link', 'show', 'dev', hostVethName(namespaceIdentity(web).id, 'eth0')]))[0]
        .mtu,
      1400,
      'both ends',
    );
    assert.equal(
      (await host.checkAttachment('seed', { netns: web, address: '10.10.0.6/24', mtu: 1400, mac: '02:aa:bb:cc:dd:ee' }))
        .problems,
      [],
    );
    const drift = await host.checkAttachment('seed', { netns: web, address: '10.10.0.6/24' });
    assert.equal(
      drift.problems,
      [
        `would update link ${hostVethName(namespaceIdentity(web).id, 'eth0')} (mtu 1400 → 1450)`,
        `would update link eth0 in ${web} (mtu 1400 → 1450, mac 02:aa:bb:cc:dd:ee → ${containerMac('seed', `netns:${web}`, 'eth0')})`,
      ],
      'check says what differs (the MTU and MAC defaults), and changes nothing',
    );
    assert.is(linkIn(web, 'eth0').mtu, 1400);

    await host.attach('seed', { netns: web, address: 'dhcp' });
    assert.equal(
      addressesIn(web, 'eth0'),
      ['192.0.2.7/24'],
      'the static address vxnet set is gone; the foreign one stays',
    );
    assert.equal(defaultRoutesIn(web), [], 'and the default route vxnet added');
    assert.is(parseContainerMark(linkIn(web, 'eth0').ifalias)?.address, 'dhcp');
    const none = await host.attach('seed', { netns: web });
    assert.equal(
      none.changes.map(describeChange),
      [`update link eth0 in ${web} (mark)`],
      'only the mark changes: no address to remove',
    );
    assert.is(linkIn(web, 'eth0').address, containerMac('seed', `netns:${web}`, 'eth0'));
    assert.equal((await host.attach('seed', { netns: web })).changes, []);
    await host.destroy('seed');
  } finally {
    await host?.close();
    lab.destroy();
  }
});

it('createPair: the pair from the host side alone (created, then finished by attach; exists; a name taken inside is EEXIST and nothing is made)', async () => {
  const lab = Lab.create({ hosts: 1 });
  let host: OverlayHost | undefined;
  try {
    const h = lab.host(1).ns;
    host = await OverlayHost.open({ namespace: h, stateRoot: STATE });
    await host.apply(specFor(lab.host(1)));
    const rt = host.rt;
    const web = lab.addNamespaceNamed('pweb');
    const busy = lab.addNamespaceNamed('pbusy');
    sh('ip', ['-n', busy, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'x0']);
    const options = {
      network: 'seed',
      bridge: 'br0',
      netns: web,
      containerId: 'ctr-pair',
      address: '10.10.0.21/24',
      subnet: '10.10.0.0/24',
      gateway: '10.10.0.1',
    };
    const hostLinks = () => containerLinks(`/run/netns/${h}`);

    assert.is(await createPair(rt, options), 'created');
    const hostEnd = hostVethName(namespaceIdentity(web).id, 'eth0');
    const made = JSON.parse(sh('ip', ['-n', h, '-j', '-d', 'link', 'show', 'dev', hostEnd]))[0];
    assert.equal([made.master, made.mtu, made.flags.includes('UP')], ['br0', 1450, true]);
    assert.equal(parseHostMark(made.ifalias)?.containerId, 'ctr-pair');
    const peer = linkIn(web, 'eth0');
    assert.equal(
      [peer.mtu, peer.address, peer.flags.includes('UP'), peer.ifalias],
      [1450, containerMac('seed', 'ctr-pair', 'eth0'), false, undefined],
      'the peer made in the container: name, MTU, MAC; down and unmarked until attach finishes it',
    );

    const before = hostLinks();
    assert.is(await createPair(rt, options), 'exists', 'a second call finds the pair by its mark');
    assert.equal(hostLinks(), before);
    const finished = await attach(rt, options);
    assert.equal(
      finished.changes.map((c) => `${c.action} ${c.detail ?? ''}`.trim()),
      ['update up', 'add', 'add', 'update mark'],
      "what the pair lacked: the container end up, the address, the route, the container end's mark last (lo is up here)",
    );
    assert.equal(parseContainerMark(linkIn(web, 'eth0').ifalias)?.address, '10.10.0.21/24');
    assert.equal(addressesIn(web, 'eth0'), ['10.10.0.21/24']);
    assert.equal(defaultRoutesIn(web), ['10.10.0.1 eth0']);

    const busyBefore = containerLinks(busy);
    const hostBefore = hostLinks();
    assert.is(await createPair(rt, { ...options, netns: busy, containerId: 'ctr-busy' }), 'taken');
    assert.equal(containerLinks(busy), busyBefore);
    assert.equal(hostLinks(), hostBefore, 'nothing made on the host either');
    await refusal(ValidationError, () => createPair(rt, { ...options, netns: busy, mtu: 9000 }));
    assert.equal(hostLinks(), hostBefore);
    assert.ok((await detach(rt, { network: 'seed', netns: web })).detached);
    await host.destroy('seed');
  } finally {
    await host?.close();
    lab.destroy();
  }
});

it("the QEMU tap recipe of docs/containers.md: a tap on the overlay's bridge with its MTU, a stable guest MAC; destroy releases it and leaves it", async () => {
  const lab = Lab.create({ hosts: 1 });
  let host: OverlayHost | undefined;
  try {
    const h = lab.host(1).ns;
    host = await OverlayHost.open({ namespace: h, stateRoot: STATE });
    await host.apply(specFor(lab.host(1)));
    sh('ip', ['-n', h, 'tuntap', 'add', 'dev', 'tap-vm1', 'mode', 'tap']); // what QEMU (or the operator before it) does
    // The recipe, as written in the docs:
    const rt = host.rt;
    const bridge = await rt.links.get('br0');
    await rt.links.set('tap-vm1', { mtu: bridge.mtu });
    await attachPort(rt, 'br0', 'tap-vm1');
    const mac = containerMac('seed', 'vm:vm1', 'eth0');
    const tap = () => JSON.parse(sh('ip', ['-n', h, '-j', '-d', 'link', 'show', 'dev', 'tap-vm1']))[0];
    assert.equal([tap().master, tap().mtu, tap().linkinfo.info_kind], ['br0', 1450, 'tun']);
    assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.equal(await host.attachments('seed'), [], "a tap is not an attachment (nothing of vxnet's marks it)");
    await host.destroy('seed');
    assert.equal(
      [tap().master, tap().ifalias],
      [undefined, undefined],
      'released with the bridge, never deleted or marked',
    );
  } finally {
    await host?.close();
    lab.destroy();
  }
});

// ---------------------------------------------------------------- the command line

it('CLI: attach (text and --json), status lists the attachment, detach; usage and input errors are one line', async () => {
  const lab = Lab.create({ hosts: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'vxt-attach-cli-'));
  try {
    const h = lab.host(1).ns;
    const file = join(dir, 'seed.json');
    writeFileSync(file, JSON.stringify(specFor(lab.host(1))));
    assert.is(vxnet(['apply', file, '--namespace', h]).code, 0);
    const web = lab.addNamespaceNamed('web');
    const sleeper = await new Sleeper().ready();
    try {
      const text = vxnet(['attach', 'seed', '--netns', web, '--ip', '10.10.0.5', '--namespace', h]);
      assert.is(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        /^✓ create veth vxc[0-9a-f]{12} on br0 \(peer eth0 in .*-web, mtu 1450, mac [0-9a-f:]{17}\)$/m,
      );
      assert.match(
        text.stdout,
        new RegExp(
          `^seed: eth0 in /run/netns/${web} attached through vxc[0-9a-f]{12} \\(mac [0-9a-f:]{17}, mtu 1450, address 10\\.10\\.0\\.5/24 via 10\\.10\\.0\\.1\\)$`,
          'm',
        ),
      );
      const again = vxnet(['attach', 'seed', '--netns', web, '--ip', '10.10.0.5', '--namespace', h]);
      assert.match(again.stdout, /^seed: eth0 in \S+ already attached through/m);
      const byPid = vxnet([
        'attach',
        'seed',
        '--netns',
        String(sleeper.pid),
        '--ip',
        'dhcp',
        '--ifname',
        'net0',
        '--namespace',
        h,
        '--json',
      ]);
      assert.is(byPid.code, 0, byPid.stderr);
      const result = JSON.parse(byPid.stdout);
      assert.equal(
        [result.network, result.netns, result.ifname, result.address],
        ['seed', sleeper.path, 'net0', 'dhcp'],
      );
      assert.ok(result.changes.length >= 2);

      const status = vxnet(['status', 'seed', '--namespace', h]);
      assert.is(status.code, 0, status.stdout);
      assert.match(
        status.stdout,
        new RegExp(
          `^  attached: eth0 in /run/netns/${web} through vxc[0-9a-f]{12}, mac [0-9a-f:]{17} mtu 1450, address 10\\.10\\.0\\.5/24 via 10\\.10\\.0\\.1$`,
          'm',
        ),
      );
      assert.match(
        status.stdout,
        new RegExp(
          `^  attached: net0 in ${sleeper.path} through vxc[0-9a-f]{12}, mac [0-9a-f:]{17} mtu 1450, address dhcp$`,
          'm',
        ),
      );
      const statusJson = JSON.parse(vxnet(['status', 'seed', '--namespace', h, '--json']).stdout);
      assert.equal(statusJson.attachments.map((a: any) => a.ifname).sort(), ['eth0', 'net0']);

      const usage = vxnet(['attach', 'seed', '--namespace', h]);
      assert.is(usage.code, 64);
      assert.match(usage.stderr, /^vxnet: --netns NS is required/);
      const outside = vxnet(['attach', 'seed', '--netns', web, '--ip', '10.99.0.5', '--namespace', h]);
      assert.is(outside.code, 1);
      assert.is(
        outside.stderr,
        'vxnet: invalid address: is not inside the network\'s subnet 10.10.0.0/24 (got "10.99.0.5")\n',
      );
      const missing = vxnet(['attach', 'seed', '--netns', 'no-such-ns-here', '--namespace', h, '--json']);
      assert.is(missing.code, 1);
      assert.equal(JSON.parse(missing.stdout).error.name, 'NetnsNotFoundError');

      const detached = vxnet(['detach', 'seed', '--netns', web, '--namespace', h]);
      assert.match(detached.stdout, /^- delete veth vxc[0-9a-f]{12} \(eth0 in .*-web\)$/m);
      assert.match(
        vxnet(['detach', 'seed', '--netns', web, '--namespace', h]).stdout,
        /^seed: nothing to detach: eth0 in .*-web is not attached to seed/m,
      );
      assert.is(vxnet(['detach', 'seed', '--netns', sleeper.path, '--ifname', 'net0', '--namespace', h]).code, 0);
      assert.equal(JSON.parse(vxnet(['status', 'seed', '--namespace', h, '--json']).stdout).attachments, []);
    } finally {
      sleeper.kill();
    }
    assert.is(vxnet(['destroy', 'seed', '--namespace', h]).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    lab.destroy();
  }
});

test.after(() => rmSync(STATE, { recursive: true, force: true }));

test.run();
