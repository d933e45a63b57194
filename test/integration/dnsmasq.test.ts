/**
 * The dnsmasq building block against a real dnsmasq and a real DHCP client
 * (busybox udhcpc), in throwaway namespaces: a server host with a bridge,
 * containers attached to it by veth, and a second host joined to the first
 * by VXLAN. Every test removes its namespaces, processes and files, passed
 * or failed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DnsmasqGaveUpError, DnsmasqStartError, PreflightError } from '../../src/dnsmasq/errors.js';
import type { LeaseChanges } from '../../src/dnsmasq/leases.js';
import { DnsmasqServer, type DnsmasqServerOptions } from '../../src/dnsmasq/server.js';
import type { DnsmasqSpec } from '../../src/dnsmasq/spec.js';
import type { RestartInfo } from '../../src/dnsmasq/supervisor.js';
import { ValidationError } from '../../src/netlink/errors.js';
import {
  addBridge,
  addContainer,
  type Container,
  createBridgeHost,
  dnsmasqProcessesWith,
  joinByVxlan,
  processesMentioning,
  udhcpc,
  untilNoProcessMentions,
} from '../helpers/dhcp-scene.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { deleteNamespace, inNs, integrationReady, ipIn } from '../helpers/netns.js';

const it = integrationReady(['ip', 'nsenter', 'dnsmasq', 'udhcpc', 'setpriv', 'unshare', 'ping']) ? test : test.skip;

const spec = (extra: Partial<DnsmasqSpec> = {}): DnsmasqSpec => ({
  interface: 'br0',
  subnet: '10.77.0.0/24',
  gateway: '10.77.0.1',
  ranges: [{ start: '10.77.0.100', end: '10.77.0.199' }],
  mtu: 1450,
  // The ping check costs ~3 s per new client; one test measures it, the others skip it.
  pingCheck: false,
  ...extra,
});

/** Everything a test creates, removed at its end whatever happens. */
class Scene {
  readonly namespaces: string[] = [];
  readonly servers: DnsmasqServer[] = [];
  readonly children: ChildProcess[] = [];
  /** Readable by dnsmasq's unprivileged user, which re-reads the hosts file. */
  readonly root = mkdtempSync(join(tmpdir(), 'vxt-dnsmasq-'));

  constructor() {
    chmodSync(this.root, 0o755);
  }

  host(tag: string, address?: string): string {
    const ns = createBridgeHost(tag, address);
    this.namespaces.push(ns);
    return ns;
  }

  container(host: string, tag: string, bridge?: string): Container {
    const c = addContainer(host, tag, { bridge });
    this.namespaces.push(c.ns);
    return c;
  }

  stateDir(name = 'state'): string {
    return join(this.root, name);
  }

  async start(s: DnsmasqSpec, options: DnsmasqServerOptions): Promise<DnsmasqServer> {
    const server = await DnsmasqServer.start(s, options);
    this.servers.push(server);
    return server;
  }

  async cleanup(): Promise<void> {
    for (const server of this.servers) await server.stop().catch(() => undefined);
    for (const child of this.children) child.kill('SIGKILL');
    for (const ns of this.namespaces) deleteNamespace(ns);
    await untilNoProcessMentions(this.root).catch(() => undefined);
    rmSync(this.root, { recursive: true, force: true });
  }
}

async function withScene(body: (scene: Scene) => Promise<void>): Promise<void> {
  const scene = new Scene();
  try {
    await body(scene);
  } finally {
    await scene.cleanup();
  }
}

function nextEvent<T>(
  emitter: { once(event: string, listener: (value: T) => void): unknown },
  event: string,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" event within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/**
 * A dnsmasq that is not ours, started by hand in a namespace: the "other
 * server" preflight must find. (`ip netns exec` execs it: the child is
 * dnsmasq itself. Its arguments mention the scene's directory, so cleanup
 * waits for it too.)
 */
function foreignDnsmasq(scene: Scene, ns: string, args: string[]): Promise<ChildProcess> {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--log-facility=-',
      '--pid-file=',
      ...args,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    },
  );
  scene.children.push(child);
  return new Promise((resolve, reject) => {
    let said = '';
    const timer = setTimeout(() => reject(new Error(`foreign dnsmasq not started: ${said}`)), 5000);
    child.stderr!.on('data', (d) => {
      said += d;
      if (/started, version/.test(said)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', () => reject(new Error(`foreign dnsmasq exited: ${said}`)));
  });
}

it('a container gets a lease with the router and MTU (26) options; the lease is reported and listed', async () => {
  await withScene(async (scene) => {
    const host = scene.host('srv', '10.77.0.1/24');
    const c1 = scene.container(host, 'c1');
    const started = performance.now();
    const server = await scene.start(spec(), { namespace: host, stateDir: scene.stateDir() });
    const startMs = performance.now() - started;
    const status = server.status();
    assert.is(status.state, 'running');
    assert.is(status.version, '2.90');
    assert.is(status.namespace, host);
    assert.is(readFileSync(server.paths.pid, 'utf8'), `${status.pid}\n`);
    assert.equal(
      dnsmasqProcessesWith(scene.root).map((p) => p.pid),
      [status.pid],
    );

    const reported = nextEvent<LeaseChanges>(server, 'leases');
    const lease = await udhcpc(c1.ns);
    assert.ok(/^10\.77\.0\.1\d\d$/.test(lease.ip), `in the range: ${lease.ip}`);
    assert.is(lease.router, '10.77.0.1');
    assert.is(lease.mtu, 1450);
    assert.is(lease.subnet, '255.255.255.0');
    assert.is(lease.lease, 3600);
    assert.is(lease.serverid, '10.77.0.1');
    assert.is(lease.dns, undefined, 'DNS is off: no DNS server option');
    const changes = await reported;
    assert.equal(
      changes.added.map((l) => [l.ip, l.mac]),
      [[lease.ip, c1.mac]],
    );
    const listed = await server.leases();
    assert.equal(
      listed.map((l) => [l.ip, l.mac]),
      [[lease.ip, c1.mac]],
    );
    assert.ok(listed[0]!.expires!.getTime() > Date.now() + 3500_000);
    console.log(
      `  figures: start ${startMs.toFixed(0)} ms (with preflight); first lease ${lease.elapsedMs.toFixed(0)} ms (no ping check)`,
    );
  });
});

it("with the ping check (dnsmasq's default) a first lease takes about 3 s", async () => {
  await withScene(async (scene) => {
    const host = scene.host('srv', '10.77.0.1/24');
    const c1 = scene.container(host, 'c1');
    await scene.start(spec({ pingCheck: true }), { namespace: host, stateDir: scene.stateDir() });
    const lease = await udhcpc(c1.ns, { tries: 10 });
    assert.ok(lease.elapsedMs > 2000, `the ping check delays the offer: ${lease.elapsedMs.toFixed(0)} ms`);
    console.log(`  figures: first lease with the ping check ${lease.elapsedMs.toFixed(0)} ms`);
  });
});

it('across VXLAN: containers on a second host get their leases (router, MTU, fixed address) from dnsmasq on the first', async () => {
  await withScene(async (scene) => {
    const host1 = scene.host('h1', '10.77.0.1/24');
    const host2 = scene.host('h2');
    joinByVxlan(host1, host2, 42);
    const dynamic = scene.container(host2, 'c2');
    const fixed = scene.container(host2, 'c3');
    const server = await scene.start(spec({ hosts: [{ mac: fixed.mac, ip: '10.77.0.50', name: 'fixed' }] }), {
      namespace: host1,
      stateDir: scene.stateDir(),
    });

    const lease = await udhcpc(dynamic.ns);
    assert.ok(/^10\.77\.0\.1\d\d$/.test(lease.ip));
    assert.is(lease.router, '10.77.0.1');
    assert.is(lease.mtu, 1450);
    const pinned = await udhcpc(fixed.ns);
    assert.is(pinned.ip, '10.77.0.50');
    assert.is(pinned.hostname, 'fixed');
    // The leases are dnsmasq's, on host 1: the exchange crossed the overlay.
    assert.equal((await server.leases()).map((l) => l.mac).sort(), [dynamic.mac, fixed.mac].sort());

    // Configure what DHCP said and use it: the gateway answers across VXLAN,
    // and a packet of exactly the overlay MTU passes without fragmentation.
    ipIn(dynamic.ns, 'link', 'set', 'eth0', 'mtu', String(lease.mtu));
    ipIn(dynamic.ns, 'addr', 'add', `${lease.ip}/24`, 'dev', 'eth0');
    inNs(dynamic.ns, 'ping', ['-c', '1', '-W', '2', '-M', 'do', '-s', String(lease.mtu! - 28), lease.router!]);
    console.log(`  figures: first lease across VXLAN ${lease.elapsedMs.toFixed(0)} ms`);
  });
});

it('kill -9 of dnsmasq: restarted with backoff, leases survive in the lease file and in dnsmasq, the next client gets a lease', async () => {
  await withScene(async (scene) => {
    const host = scene.host('srv', '10.77.0.1/24');
    const c1 = scene.container(host, 'c1');
    const c2 = scene.container(host, 'c2');
    const c3 = scene.container(host, 'c3');
    const server = await scene.start(spec(), { namespace: host, stateDir: scene.stateDir() });
    const first = await udhcpc(c1.ns);
    const before = readFileSync(server.paths.leases, 'utf8');
    const oldPid = server.status().pid!;

    const exit = nextEvent(server, 'exit');
    const restarted = nextEvent<RestartInfo>(server, 'restart');
    const killedAt = performance.now();
    process.kill(oldPid, 'SIGKILL');
    assert.is(((await exit) as { signal: string }).signal, 'SIGKILL');
    const info = await restarted;
    const latency = performance.now() - killedAt;
    assert.is(info.reason, 'crash');
    assert.is(info.crashesInWindow, 1);
    assert.is(info.previousExit?.signal, 'SIGKILL');
    assert.is.not(info.pid, oldPid);
    const status = server.status();
    assert.equal([status.state, status.pid, status.restarts], ['running', info.pid, 1]);
    assert.equal(
      dnsmasqProcessesWith(scene.root).map((p) => p.pid),
      [info.pid],
      'exactly one dnsmasq, the new one',
    );
    assert.is(readFileSync(server.paths.pid, 'utf8'), `${info.pid}\n`);

    // The lease file survived, and the new dnsmasq loaded it: another client
    // asking for c1's address does not get it.
    assert.is(readFileSync(server.paths.leases, 'utf8'), before);
    assert.equal(
      (await server.leases()).map((l) => l.ip),
      [first.ip],
    );
    const other = await udhcpc(c2.ns, { requestIp: first.ip });
    assert.is.not(other.ip, first.ip);
    const again = await udhcpc(c1.ns, { requestIp: first.ip });
    assert.is(again.ip, first.ip);
    const next = await udhcpc(c3.ns);
    assert.ok(![first.ip, other.ip].includes(next.ip));
    assert.is((await server.leases()).length, 3);
    console.log(
      `  figures: restart after kill -9: ${latency.toFixed(0)} ms to a ready dnsmasq (backoff ${info.delayMs} ms, downtime ${info.downtimeMs} ms)`,
    );
  });
});

it('stop: SIGTERM, then no dnsmasq and no process of its launch chain is left; the pid file is removed', async () => {
  await withScene(async (scene) => {
    const host = scene.host('srv', '10.77.0.1/24');
    const server = await scene.start(spec(), { namespace: host, stateDir: scene.stateDir() });
    assert.equal(
      processesMentioning(scene.root)
        .map((p) => p.command)
        .sort(),
      ['dnsmasq', 'sh', 'unshare'],
      'the chain: unshare, its shell, dnsmasq',
    );
    const started = performance.now();
    await server.stop();
    const stopMs = performance.now() - started;
    assert.equal(processesMentioning(scene.root), []);
    assert.not.ok(existsSync(server.paths.pid));
    const status = server.status();
    assert.is(status.state, 'stopped');
    assert.equal([status.lastExit?.code, status.lastExit?.signal], [0, null]);
    assert.ok(status.lastExit!.stderr.some((l) => l.includes('exiting on receipt of SIGTERM')));
    await server.stop(); // idempotent
    console.log(`  figures: graceful stop ${stopMs.toFixed(1)} ms`);
  });
});

for (const [mode, how] of [
  ['wait', 'is killed by SIGKILL'],
  ['exit', 'exits without stopping it'],
  ['throw', 'dies of an uncaught exception'],
] as const) {
  it(`no orphan: when the node process supervising dnsmasq ${how}, dnsmasq dies too`, async () => {
    await withScene(async (scene) => {
      const host = scene.host('srv', '10.77.0.1/24');
      const stateDir = scene.stateDir();
      const env = { ...process.env };
      delete env.NODE_OPTIONS;
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(REPO_ROOT, 'test/helpers/dnsmasq-child.ts'),
          JSON.stringify({ spec: spec(), options: { namespace: host, stateDir } }),
          mode,
        ],
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env },
      );
      scene.children.push(child);
      let output = '';
      child.stderr!.on('data', (d) => (output += d));
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const pid = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the child did not report READY: ${output}`)), 15_000);
        child.stdout!.on('data', (d) => {
          const m = /READY (\d+)/.exec(String(d));
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        child.once('exit', (code) => reject(new Error(`the child exited (${code}) before READY: ${output}`)));
      });
      if (mode === 'wait') {
        assert.equal(
          dnsmasqProcessesWith(stateDir).map((p) => p.pid),
          [pid],
        );
        child.kill('SIGKILL');
      }
      await exited;
      const goneMs = await untilNoProcessMentions(stateDir, 3000);
      assert.equal(dnsmasqProcessesWith(stateDir), []);
      console.log(`  figures: dnsmasq gone ${goneMs.toFixed(1)} ms after its supervisor ${how}`);
    });
  });
}

it("a start that fails carries dnsmasq's own stderr, and leaves no process", async () => {
  await withScene(async (scene) => {
    const host = scene.host('srv', '10.77.0.1/24');
    // Without the preflight, dnsmasq itself finds the interface missing.
    await DnsmasqServer.start(spec({ interface: 'nosuch0' }), {
      namespace: host,
      stateDir: scene.stateDir(),
      preflight: false,
    }).then(
      () => assert.unreachable('should not start'),
      (error) => {
        assert.instance(error, DnsmasqStartError);
        const e = error as DnsmasqStartError;
        assert.is(e.exit?.code, 2);
        assert.ok(
          e.stderr.some((l) => l.includes('unknown interface nosuch0')),
          e.message,
        );
        assert.match(
          e.message,
          /failed to start: exited with code 2 \(a problem with network access.*\); dnsmasq said:\n {2}.*unknown interface nosuch0/s,
        );
      },
    );
    assert.equal(processesMentioning(scene.root), []);

    // dnsmasq reads its hosts file after dropping root: a state directory it cannot enter fails the start check.
    const locked = join(scene.root, 'locked');
    mkdirSync(locked, { mode: 0o700 });
    await DnsmasqServer.start(spec(), { namespace: host, stateDir: join(locked, 'state') }).then(
      () => assert.unreachable('should not start'),
      (error) => {
        assert.instance(error, DnsmasqStartError);
        assert.match(error.message, /cannot read .*\/locked\/state\/hosts: Permission denied/);
      },
    );
    assert.equal(processesMentioning(scene.root), []);
  });
});

it('preflight: missing namespace, missing interface, no address in the subnet, another DHCP server on the bridge, DNS port busy, instance already running', async () => {
  await withScene(async (scene) => {
    const host = scene.host('srv', '10.77.0.1/24');
    const bare = scene.host('bare');
    const expectPreflight = async (s: DnsmasqSpec, options: DnsmasqServerOptions, check: string, message: RegExp) => {
      await DnsmasqServer.start(s, options).then(
        () => assert.unreachable(`should fail the ${check} check`),
        (error) => {
          assert.instance(error, PreflightError, String(error));
          assert.is((error as PreflightError).check, check);
          assert.match(error.message, message);
        },
      );
    };
    await expectPreflight(
      spec(),
      { namespace: 'vxt-no-such-namespace', stateDir: scene.stateDir('a') },
      'namespace-missing',
      /network namespace vxt-no-such-namespace does not exist/,
    );
    await expectPreflight(
      spec({ interface: 'nosuch0' }),
      { namespace: host, stateDir: scene.stateDir('a') },
      'interface-missing',
      /interface nosuch0 does not exist in namespace/,
    );
    await expectPreflight(
      spec(),
      { namespace: bare, stateDir: scene.stateDir('a') },
      'no-address',
      /br0 in namespace .* has no IPv4 address inside 10\.77\.0\.0\/24 \(it has none\).*add one \(normally the gateway, 10\.77\.0\.1\/24\)/,
    );
    ipIn(bare, 'addr', 'add', '10.88.0.1/24', 'dev', 'br0');
    await expectPreflight(
      spec(),
      { namespace: bare, stateDir: scene.stateDir('a') },
      'no-address',
      /\(it has 10\.88\.0\.1\/24\)/,
    );
    assert.not.ok(existsSync(scene.stateDir('a')), 'a failed preflight writes nothing');

    // Another dnsmasq, bound to the same bridge: dnsmasq alone would start beside it.
    const other = await foreignDnsmasq(scene, host, [
      '--interface=br0',
      '--bind-interfaces',
      '--except-interface=lo',
      '--port=0',
      '--dhcp-range=10.77.0.20,10.77.0.30',
      `--dhcp-leasefile=${join(scene.root, 'foreign.leases')}`,
    ]);
    await expectPreflight(
      spec(),
      { namespace: host, stateDir: scene.stateDir('a') },
      'dhcp-port-busy',
      /another DHCP server already listens for br0 .*udp 0\.0\.0\.0:67 on device br0, held by dnsmasq \(pid \d+\)/,
    );
    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('close', resolve));

    // A DNS server on the bridge's address, when we want DNS.
    const dns = await foreignDnsmasq(scene, host, [
      '--listen-address=10.77.0.1',
      '--bind-interfaces',
      '--port=53',
      '--no-resolv',
      '--no-hosts',
      `--dhcp-leasefile=${join(scene.root, 'foreign-dns.leases')}`,
    ]);
    await expectPreflight(
      spec({ dns: true }),
      { namespace: host, stateDir: scene.stateDir('a') },
      'dns-port-busy',
      /port 53 is taken .*10\.77\.0\.1:53.*held by dnsmasq \(pid \d+\)/,
    );
    // DNS off: port 53 is none of our business.
    const server = await scene.start(spec(), { namespace: host, stateDir: scene.stateDir('a') });
    dns.kill('SIGKILL');

    await expectPreflight(
      spec(),
      { namespace: host, stateDir: scene.stateDir('a') },
      'already-running',
      new RegExp(`already served by dnsmasq pid ${server.status().pid}`),
    );
  });
});

it('two instances serve two bridges of one namespace side by side', async () => {
  await withScene(async (scene) => {
    const host = scene.host('srv', '10.77.0.1/24');
    addBridge(host, 'br1', '10.78.0.1/24');
    const a = scene.container(host, 'ca');
    const b = scene.container(host, 'cb', 'br1');
    await scene.start(spec(), { namespace: host, stateDir: scene.stateDir('a') });
    await scene.start(
      {
        ...spec(),
        interface: 'br1',
        subnet: '10.78.0.0/24',
        gateway: '10.78.0.1',
        ranges: [{ start: '10.78.0.100', end: '10.78.0.199' }],
      },
      { namespace: host, stateDir: scene.stateDir('b') },
    );
    const [la, lb] = await Promise.all([udhcpc(a.ns), udhcpc(b.ns)]);
    assert.match(la.ip, /^10\.77\.0\./);
    assert.is(la.router, '10.77.0.1');
    assert.match(lb.ip, /^10\.78\.0\./);
    assert.is(lb.router, '10.78.0.1');
  });
});

it('updateHosts: a new mapping is reloaded by SIGHUP; a mapping that contradicts a lease prunes it (restart) and the new fixed address is served', async () => {
  await withScene(async (scene) => {
    const host = scene.host('srv', '10.77.0.1/24');
    const c1 = scene.container(host, 'c1');
    const c2 = scene.container(host, 'c2');
    const server = await scene.start(spec(), { namespace: host, stateDir: scene.stateDir() });
    const pid = server.status().pid;
    const dynamic = await udhcpc(c1.ns);

    // Nothing contradicts this one: SIGHUP, same process.
    const reload = await server.updateHosts([{ mac: c2.mac, ip: '10.77.0.60', name: 'two' }]);
    assert.equal(reload, { method: 'reloaded', pruned: [] });
    assert.is(server.status().pid, pid);
    assert.is(server.status().reloads, 1);
    const two = await udhcpc(c2.ns);
    assert.equal([two.ip, two.hostname], ['10.77.0.60', 'two']);

    // Fix c1's current address to c2: c1's lease would keep it from c2 ("leased to ..."), so it is pruned.
    const hostsBefore = readFileSync(server.paths.hosts, 'utf8');
    await Promise.resolve()
      .then(() => server.updateHosts([{ mac: c2.mac, ip: dynamic.ip, name: 'two\nport=53' }]))
      .then(
        () => assert.unreachable('invalid'),
        (error) => {
          assert.instance(error, ValidationError);
          assert.is((error as ValidationError).field, 'hosts[0].name');
        },
      );
    assert.is(readFileSync(server.paths.hosts, 'utf8'), hostsBefore, 'an invalid update writes nothing');

    const restarted = nextEvent<RestartInfo>(server, 'restart');
    const update = await server.updateHosts([{ mac: c2.mac, ip: dynamic.ip, name: 'two' }]);
    assert.is(update.method, 'restarted');
    assert.equal(
      update.pruned.map((s) => [s.lease.ip, s.lease.mac]).sort(),
      [
        [dynamic.ip, c1.mac],
        ['10.77.0.60', c2.mac],
      ].sort(),
    );
    assert.is((await restarted).reason, 'hosts-changed');
    assert.is.not(server.status().pid, pid);
    assert.equal([server.status().restarts, server.status().controlledRestarts], [0, 1]);
    assert.equal(await server.leases(), []);

    const moved = await udhcpc(c2.ns, { requestIp: '10.77.0.60' });
    assert.is(moved.ip, dynamic.ip, 'c2 gets its new fixed address, not its old one');
    const c1again = await udhcpc(c1.ns, { requestIp: dynamic.ip });
    assert.is.not(c1again.ip, dynamic.ip, 'c1 cannot take back the address now fixed to c2');
    assert.equal(server.spec.hosts, [{ mac: c2.mac, ip: dynamic.ip, name: 'two' }]);

    // Updates asked at once run one after the other: the last one wins, each confirmed.
    const [u1, u2] = await Promise.all([
      server.updateHosts([
        { mac: c2.mac, ip: dynamic.ip, name: 'two' },
        { mac: c1.mac, ip: '10.77.0.61' },
      ]),
      server.updateHosts([{ mac: c2.mac, ip: dynamic.ip, name: 'deux' }]),
    ]);
    assert.equal([u1.method, u2.method], ['restarted', 'reloaded']);
    assert.equal(
      u1.pruned.map((s) => s.lease.mac),
      [c1.mac],
    );
    assert.is(readFileSync(server.paths.hosts, 'utf8'), `${c2.mac},${dynamic.ip},deux\n`);
  });
});

it('DNS on: dnsmasq advertises itself and answers for the names of leased hosts in its domain', async () => {
  await withScene(async (scene) => {
    const host = scene.host('srv', '10.77.0.1/24');
    const c1 = scene.container(host, 'c1');
    const c2 = scene.container(host, 'c2');
    await scene.start(
      spec({
        dns: { upstream: ['192.0.2.53'] },
        domain: 'overlay.test',
        hosts: [{ mac: c2.mac, ip: '10.77.0.10', name: 'db' }],
      }),
      {
        namespace: host,
        stateDir: scene.stateDir(),
      },
    );
    const lease = await udhcpc(c1.ns);
    assert.is(lease.dns, '10.77.0.1');
    assert.is(lease.domain, 'overlay.test');
    // dnsmasq puts a name in DNS while its host holds a lease.
    assert.is((await udhcpc(c2.ns)).ip, '10.77.0.10');
    ipIn(c1.ns, 'addr', 'add', `${lease.ip}/24`, 'dev', 'eth0');
    const answer = inNs(c1.ns, 'busybox', ['nslookup', 'db.overlay.test', '10.77.0.1']);
    assert.match(answer, /Address: 10\.77\.0\.10/);
  });
});

it('after maxCrashes within the window the supervisor gives up: error event, state failed, nothing left running', async () => {
  await withScene(async (scene) => {
    const host = scene.host('srv', '10.77.0.1/24');
    const server = await scene.start(spec(), {
      namespace: host,
      stateDir: scene.stateDir(),
      restart: { maxCrashes: 2, initialDelayMs: 10 },
    });
    const restarted = nextEvent<RestartInfo>(server, 'restart');
    process.kill(server.status().pid!, 'SIGKILL');
    await restarted;
    const failed = nextEvent<Error>(server, 'error');
    process.kill(server.status().pid!, 'SIGSEGV');
    const error = await failed;
    assert.instance(error, DnsmasqGaveUpError);
    assert.match(
      error.message,
      /failed 2 times within 60 s; no more restarts\. Last failure: dnsmasq was killed by SIGSEGV/,
    );
    assert.is(server.status().state, 'failed');
    assert.equal(dnsmasqProcessesWith(scene.root), []);
    assert.not.ok(existsSync(server.paths.pid));
  });
});

test.run();
