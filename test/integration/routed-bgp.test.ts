/**
 * Routed mode with BGP on the lab: vxnet runs FRR (zebra + bgpd) per host,
 * an iBGP full mesh on the underlay between hosts 1-3, each advertising its
 * own container subnet; zebra installs the others' (protocol bgp). Oracles:
 * `ip -j route` and FRR's own view through `vtysh -c 'show bgp summary
 * json'` (read-only). Containers lease from their host's dnsmasq, every
 * pair talks with its real source address; a fourth host that names only
 * host 1 joins (host 1 accepts it through `listen`) and everyone reaches
 * it; a host's bgpd killed → its subnet withdrawn from the others, vxnet
 * restarts it → back; destroy leaves nothing (no daemon, no socket, no
 * state, no route). Bad inputs: FRR missing, FRR failing to start, a stale
 * pid file, an ASN out of range, an overlapping announcement.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeChange } from '../../src/common/plan.js';
import { PreflightError } from '../../src/dnsmasq/errors.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { OverlayHost } from '../../src/overlay/host.js';
import { FrrStartError } from '../../src/frr/daemon.js';
import type { RoutedSpec } from '../../src/routed/spec.js';
import { dnsmasqProcessesWith } from '../helpers/dhcp-scene.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { hostResidue, namespaceStateDir } from '../helpers/residue.js';
import { ask, peerEcho } from '../helpers/peer-echo.js';

const it = integrationReady([
  'ip',
  'nsenter',
  'ping',
  'dnsmasq',
  'udhcpc',
  'nft',
  'vtysh',
  '/usr/lib/frr/bgpd',
  '/usr/lib/frr/zebra',
])
  ? test
  : test.skip;
const STATE = `/tmp/vxnet-bgp-test-${process.pid}`;
const NET = 'bg';

function specFor(
  host: LabHost,
  bgp: Partial<NonNullable<NonNullable<RoutedSpec['routes']>['bgp']>> = {},
  extra: Partial<RoutedSpec> = {},
): RoutedSpec {
  const i = host.index;
  const mesh = [1, 2, 3].filter((j) => j !== i).map((j) => `192.168.100.${j}`);
  return {
    name: NET,
    mode: 'routed',
    underlay: { device: 'eth0', address: host.address },
    subnet: `10.20.${i}.0/24`,
    gateway: `10.20.${i}.1`,
    containerRange: '10.20.0.0/16',
    bridge: 'br0',
    dhcp: { ranges: [{ start: `10.20.${i}.100`, end: `10.20.${i}.199` }], leaseTime: '1h' },
    routes: {
      bgp: {
        asn: 65000,
        neighbors: i <= 3 ? mesh : ['192.168.100.1'],
        listen: '192.168.100.0/24',
        holdTime: 3,
        ...bgp,
      },
    },
    ...extra,
  };
}

const residue = (ns: string) => ({
  ...hostResidue(ns, { skipLinks: /^v-c\d$/, stateRoot: STATE }),
  routes: routeTable(ns),
});

function routeTable(ns: string): string[] {
  return (JSON.parse(sh('ip', ['-4', '-n', ns, '-j', 'route', 'show', 'table', 'all'])) as any[])
    .filter((r) => !String(r.dev ?? '').startsWith('v-c'))
    .map((r) => `${r.table ?? 'main'} ${r.type ?? ''} ${r.dst} ${r.gateway ?? ''} ${r.dev ?? ''} ${r.protocol ?? ''}`)
    .sort();
}

/** Routes zebra installed, as ip says them. */
function bgpRoutes(ns: string): string[] {
  return (JSON.parse(sh('ip', ['-n', ns, '-j', 'route', 'show'])) as any[])
    .filter((r) => r.protocol === 'bgp')
    .map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`)
    .sort();
}

function frrDir(ns: string): string {
  return `${namespaceStateDir(ns, STATE)}/${NET}/frr`;
}

/** FRR's own view, read-only. */
function vtyshSummary(ns: string): Record<string, { state: string; pfxRcd?: number }> {
  const out = JSON.parse(sh('vtysh', ['--vty_socket', frrDir(ns), '-c', 'show bgp summary json']));
  return out.ipv4Unicast?.peers ?? {};
}

/** FRR daemons whose command line mentions the test's state root. */
function frrProcesses(): string[] {
  const out = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.includes(STATE) && /\/(zebra|bgpd)\b/.test(l) && !l.includes('sh -c'));
}

async function until(what: string, seconds: number, check: () => boolean): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > seconds * 1000) throw new Error(`${what}: not within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - start;
}

it('routed BGP: FRR per host, full iBGP mesh, DHCP, every pair talks with real addresses; a 4th host joins through listen; bgpd killed → withdrawn, restarted → back; destroy leaves nothing', async () => {
  const lab = Lab.create({ hosts: 4 });
  const hosts: OverlayHost[] = [];
  const stops: (() => void)[] = [];
  const failures: string[] = [];
  try {
    const before = lab.hosts.map((h) => residue(h.ns));
    for (const h of lab.hosts) {
      const host = await OverlayHost.open({
        namespace: h.ns,
        stateRoot: STATE,
        frr: { restart: { initialDelayMs: 1000 } },
      });
      host.on('frrFailed', (_n, e) => failures.push(e.message));
      hosts.push(host);
    }
    for (const h of lab.hosts.slice(0, 3)) {
      const changes = (await hosts[h.index - 1]!.apply(specFor(h))).map(describeChange);
      assert.ok(
        changes.some((c) => /^start frr of bg \(zebra \+ bgpd, AS 65000/.test(c)),
        changes.join('; '),
      );
    }
    // Each of hosts 1-3 learns the two others' subnets from BGP; zebra installs them (proto bgp), never its own.
    for (const h of lab.hosts.slice(0, 3)) {
      const want = [1, 2, 3].filter((j) => j !== h.index).map((j) => `10.20.${j}.0/24 via 192.168.100.${j} dev eth0`);
      await until(`host ${h.index} routes`, 20, () => JSON.stringify(bgpRoutes(h.ns)) === JSON.stringify(want)).catch(
        (e) => assert.unreachable(`${e.message}: ${bgpRoutes(h.ns).join('; ')}`),
      );
      // A route can arrive reflected (next hop kept) before the direct session is up: wait for the sessions too.
      const established = () =>
        Object.values(vtyshSummary(h.ns)).every((p) => p.state === 'Established' && (p.pfxRcd ?? 0) >= 1);
      await until(`host ${h.index} sessions`, 20, established).catch(() => undefined);
      const peers = vtyshSummary(h.ns);
      assert.equal(
        Object.keys(peers).sort(),
        [1, 2, 3].filter((j) => j !== h.index).map((j) => `192.168.100.${j}`),
      );
      // Each peer sends its own subnet, and (reflecting) the third host's once it has it.
      assert.ok(
        Object.values(peers).every((p) => p.state === 'Established' && (p.pfxRcd ?? 0) >= 1),
        JSON.stringify(peers),
      );
    }
    // A second apply changes nothing; status says what FRR says.
    for (const h of lab.hosts.slice(0, 3)) assert.equal(await hosts[h.index - 1]!.plan(specFor(h)), []);
    const status = await hosts[0]!.status(NET, specFor(lab.host(1)));
    assert.equal(status.problems, []);
    assert.equal(status.drift, []);
    assert.is(status.bgp?.running, true);
    assert.is(status.bgp?.asn, 65000);
    assert.is(status.bgp?.established, 2);
    assert.equal(
      status.bgp?.peers.map((p) => `${p.address} ${p.state}`),
      ['192.168.100.2 Established', '192.168.100.3 Established'],
    );
    assert.ok(status.bgp?.peers.every((p) => p.prefixesReceived >= 1));
    assert.equal(
      status.bgp?.routes.map((r) => `${r.dst} ${r.via} ${r.dev}`),
      ['10.20.2.0/24 192.168.100.2 eth0', '10.20.3.0/24 192.168.100.3 eth0'],
    );

    // Containers: DHCP from their host's dnsmasq; every pair pings and sees the other's own address.
    for (const h of lab.hosts.slice(0, 3)) {
      const container = lab.addContainer(h, `c${h.index}`);
      sh('ip', ['-n', h.ns, 'link', 'set', container.hostDev, 'master', 'br0', 'up']);
      const lease = await lab.dhcp(container);
      assert.match(lease.ip, new RegExp(`^10\\.20\\.${h.index}\\.1\\d\\d$`));
      stops.push(await peerEcho(container.ns, lease.ip, 7000));
    }
    const ip = (c: (typeof lab.containers)[number]) => c.address!.split('/')[0]!;
    const allPairs = async () => {
      for (const from of lab.containers) {
        for (const to of lab.containers) {
          if (from === to) continue;
          assert.ok(await lab.pingEventually(from.ns, ip(to), 10), `${from.name} pings ${to.name}`);
          assert.is(ask(from.ns, ip(to), 7000), ip(from), `${to.name} sees ${from.name}'s own address`);
        }
      }
    };
    await allPairs();

    // Host 4 joins naming only host 1; host 1 accepts it through listen, and reflects routes both ways.
    const h4 = lab.host(4);
    await hosts[3]!.apply(specFor(h4));
    for (const h of lab.hosts.slice(0, 3)) {
      await until(`host ${h.index} learns 10.20.4.0/24`, 20, () =>
        bgpRoutes(h.ns).includes('10.20.4.0/24 via 192.168.100.4 dev eth0'),
      );
    }
    await until('host 4 learns every subnet', 20, () => bgpRoutes(h4.ns).length === 3);
    assert.equal(bgpRoutes(h4.ns), [
      '10.20.1.0/24 via 192.168.100.1 dev eth0',
      '10.20.2.0/24 via 192.168.100.2 dev eth0',
      '10.20.3.0/24 via 192.168.100.3 dev eth0',
    ]);
    assert.ok(
      Object.keys(vtyshSummary(lab.host(1).ns)).some((p) => p.includes('192.168.100.4')),
      'host 1 has a (dynamic) session with host 4',
    );
    const c4 = lab.addContainer(h4, 'c4');
    sh('ip', ['-n', h4.ns, 'link', 'set', c4.hostDev, 'master', 'br0', 'up']);
    const lease4 = await lab.dhcp(c4);
    stops.push(await peerEcho(c4.ns, lease4.ip, 7000));
    await allPairs();

    // Host 2's bgpd killed: zebra there drops its BGP routes, the others withdraw 10.20.2.0/24; vxnet restarts it and all is back.
    const h2status = await hosts[1]!.status(NET);
    const bgpdPid = h2status.bgp!.pids.bgpd!;
    process.kill(bgpdPid, 'SIGKILL');
    const withdrawnMs = await until(
      '10.20.2.0/24 withdrawn from host 1 and 3',
      3 + 1,
      () =>
        !bgpRoutes(lab.host(1).ns).some((r) => r.startsWith('10.20.2.0/24')) &&
        !bgpRoutes(lab.host(3).ns).some((r) => r.startsWith('10.20.2.0/24')),
    );
    assert.ok(withdrawnMs <= 3000, `withdrawn within the hold time (${withdrawnMs} ms)`);
    assert.is(
      lab.ping(lab.containers[0]!.ns, ip(lab.containers[1]!), { count: 1 }),
      false,
      "host 2's containers unreachable meanwhile",
    );
    await until('10.20.2.0/24 back on hosts 1, 3, 4', 20, () =>
      [1, 3, 4].every((j) => bgpRoutes(lab.host(j).ns).includes('10.20.2.0/24 via 192.168.100.2 dev eth0')),
    );
    const after = await hosts[1]!.status(NET);
    assert.is(after.bgp?.restarts.bgpd, 1);
    assert.ok(after.bgp?.pids.bgpd !== bgpdPid);
    await allPairs();
    assert.equal(failures, []);

    // Destroy: daemons, sockets, state, routes, links, tables all gone.
    for (const host of hosts) await host.destroy(NET);
    assert.equal(
      lab.hosts.map((h) => residue(h.ns)),
      before,
    );
    assert.equal(frrProcesses(), [], 'no FRR daemon left');
    assert.equal(dnsmasqProcessesWith(STATE), [], 'no dnsmasq left');
  } finally {
    for (const stop of stops) stop();
    for (const host of hosts) await host.close();
    lab.destroy();
  }
});

it('bad inputs: ASN out of range, FRR missing, FRR failing to start (its words), a stale pid file, an overlapping announcement', async () => {
  const lab = Lab.create({ hosts: 2 });
  const fake = mkdtempSync(join(tmpdir(), 'vxnet-frr-'));
  try {
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const before = residue(h1.ns);
    const two = (h: LabHost, extra: Partial<RoutedSpec> = {}) =>
      specFor(h, { neighbors: [h === h1 ? h2.address : h1.address], listen: undefined }, extra);

    // ASN out of range: a ValidationError on the field, nothing written.
    {
      const host = await OverlayHost.open({ namespace: h1.ns, stateRoot: STATE });
      try {
        const error = await host.apply(specFor(h1, { asn: 4294967296 })).then(
          () => undefined,
          (e) => e,
        );
        assert.instance(error, ValidationError);
        assert.is((error as ValidationError).field, 'routes.bgp.asn');
        assert.equal(residue(h1.ns), before);
      } finally {
        await host.close();
      }
    }
    // FRR missing: a PreflightError naming the package, before any write.
    {
      const host = await OverlayHost.open({ namespace: h1.ns, stateRoot: STATE, frr: { frrDir: '/nonexistent/frr' } });
      try {
        const error = await host.apply(two(h1)).then(
          () => undefined,
          (e) => e,
        );
        assert.instance(error, PreflightError, String(error));
        assert.match(
          (error as Error).message,
          /zebra is not at \/nonexistent\/frr\/zebra: install FRR: Debian\/Ubuntu: apt-get install frr/,
        );
        assert.equal(residue(h1.ns), before);
      } finally {
        await host.close();
      }
    }
    // FRR failing to start: the real bgpd, given an option it does not know, says so; vxnet surfaces its words.
    {
      symlinkSync('/usr/lib/frr/zebra', join(fake, 'zebra'));
      writeFileSync(join(fake, 'bgpd'), '#!/bin/sh\nexec /usr/lib/frr/bgpd --no-such-option "$@"\n');
      chmodSync(join(fake, 'bgpd'), 0o755);
      const host = await OverlayHost.open({ namespace: h1.ns, stateRoot: STATE, frr: { frrDir: fake } });
      try {
        const error = await host.apply(two(h1)).then(
          () => undefined,
          (e) => e,
        );
        assert.instance(error, Error);
        const cause = (error as Error).cause;
        assert.instance(cause, FrrStartError, String(error));
        assert.is((cause as FrrStartError).daemon, 'bgpd');
        assert.match(
          (error as Error).message,
          /FRR bgpd \(network bg\) failed to start: bgpd exited with code \d+; bgpd said:[\s\S]*no-such-option/,
          (error as Error).message,
        );
        assert.equal(frrProcesses(), [], 'zebra, started first, was stopped again');
        await host.destroy(NET);
        assert.equal(residue(h1.ns), before);
      } finally {
        await host.close();
      }
    }
    // A stale pid file (naming a live process that is not FRR, this one): not taken for a running bgpd; FRR starts.
    {
      const dir = `${namespaceStateDir(h1.ns, STATE)}/${NET}/frr`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/bgpd.pid`, `${process.pid}\n`);
      writeFileSync(`${dir}/zebra.pid`, `${process.pid}\n`);
      const host1 = await OverlayHost.open({ namespace: h1.ns, stateRoot: STATE });
      const host2 = await OverlayHost.open({ namespace: h2.ns, stateRoot: STATE });
      try {
        const changes = (await host1.apply(two(h1))).map(describeChange);
        assert.ok(
          changes.some((c) => c.startsWith('start frr of bg')),
          changes.join('; '),
        );
        // An overlapping announcement: host 2 claims 10.20.1.128/25, inside host 1's subnet. Reported, never installed.
        await host2.apply(two(h2, { subnet: '10.20.1.128/25', gateway: '10.20.1.129', dhcp: undefined }));
        await until('host 1 sees the overlap', 20, () =>
          spawnSync('vtysh', ['--vty_socket', frrDir(h1.ns), '-c', 'show bgp ipv4 unicast 10.20.1.128/25 json'], {
            encoding: 'utf8',
          }).stdout.includes('192.168.100.2'),
        );
        const status = await host1.status(NET, two(h1));
        assert.equal(status.bgp?.overlapping, [{ prefix: '10.20.1.128/25', from: '192.168.100.2' }]);
        assert.ok(
          status.problems.some((p) =>
            /192\.168\.100\.2 announces 10\.20\.1\.128\/25, which overlaps this host's subnet 10\.20\.1\.0\/24: not installed/.test(
              p,
            ),
          ),
          status.problems.join('; '),
        );
        assert.equal(bgpRoutes(h1.ns), [], "not installed over br0's subnet");
        await host1.destroy(NET);
        await host2.destroy(NET);
        assert.equal(residue(h1.ns), before);
        assert.equal(frrProcesses(), []);
      } finally {
        await host1.close();
        await host2.close();
      }
    }
  } finally {
    rmSync(fake, { recursive: true, force: true });
    lab.destroy();
  }
});

test.run();
