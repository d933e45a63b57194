/**
 * BGP EVPN as a VXLAN network's membership, on the lab: three hosts, each
 * with vxnet's VXLAN device (no group, no peers, learning off) in its
 * bridge (neighbour suppression on, learning off) and vxnet's FRR (zebra +
 * bgpd, l2vpn evpn, advertise-all-vni). FRR installs the flood entries
 * (type-3) and the remote MACs (type-2, extern_learn); containers on the
 * one layer-2 segment ping across. Oracles: `bridge -j fdb` and FRR's own
 * view (`show bgp l2vpn evpn summary json`, `show evpn vni json`), both
 * read-only. vxnet's status reports those entries as learned from BGP,
 * plans nothing against them (no drift), and a re-apply leaves them. A host
 * leaving (destroy) → its flood entry disappears from the others. Destroy
 * everywhere leaves nothing. Also: a second BGP network in a namespace is
 * refused before anything is written, and so is a neighbour the underlay
 * cannot reach. With the agent: FRR's entries coming and going are not drift
 * (no repair), and a deleted vx0 is recreated for EVPN and re-populated by FRR.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeChange } from '../../src/common/plan.js';
import { OverlayAgent } from '../../src/agent/agent.js';
import { BgpNamespaceTakenError } from '../../src/frr/service.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { OverlayHost } from '../../src/overlay/host.js';
import type { OverlaySpec } from '../../src/overlay/spec.js';
import { CLI, vxnet } from '../helpers/agent.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { hostResidue, namespaceStateDir } from '../helpers/residue.js';

const it = integrationReady([
  'ip',
  'bridge',
  'nsenter',
  'ping',
  'nft',
  'vtysh',
  '/usr/lib/frr/bgpd',
  '/usr/lib/frr/zebra',
])
  ? test
  : test.skip;
const STATE = `/tmp/vxnet-evpn-test-${process.pid}`;
const NET = 'ev';
const VNI = 4242;

function specFor(host: LabHost, hosts = [1, 2, 3]): OverlaySpec {
  return {
    name: NET,
    vni: VNI,
    underlay: { device: 'eth0', address: host.address },
    membership: {
      evpn: {
        asn: 65000,
        neighbors: hosts.filter((j) => j !== host.index).map((j) => `192.168.100.${j}`),
        listen: '192.168.100.0/24',
        holdTime: 3,
      },
    },
    subnet: '10.40.0.0/24',
    vxlan: 'vx0',
    bridge: 'br0',
  };
}

const residue = (ns: string) => hostResidue(ns, { skipLinks: /^v-c\d$/, stateRoot: STATE });

function frrDir(ns: string, net = NET): string {
  return `${namespaceStateDir(ns, STATE)}/${net}/frr`;
}

function vtysh(ns: string, command: string): any {
  return JSON.parse(sh('vtysh', ['--vty_socket', frrDir(ns), '-c', command]));
}

/** vx0's own FDB (not the bridge's), as `bridge -j fdb` says it. */
function fdb(ns: string): any[] {
  return (JSON.parse(sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vx0'])) as any[]).filter(
    (e) => !e.master && (e.flags ?? []).includes('self') !== false,
  );
}

function floodDsts(ns: string): string[] {
  return fdb(ns)
    .filter((e) => e.mac === '00:00:00:00:00:00' && e.dst)
    .map((e) => e.dst)
    .sort();
}

function frrProcesses(): string[] {
  const out = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.includes(STATE) && /\/(zebra|bgpd)\b/.test(l) && !l.includes('sh -c'));
}

async function until(what: string, seconds: number, check: () => boolean, explain?: () => string): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > seconds * 1000)
      throw new Error(`${what}: not within ${seconds} s${explain ? `: ${explain()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - start;
}

it('probe: this kernel and FRR do what EVPN needs (vxlan without remote, neigh_suppress, FRR with l2vpn evpn)', () => {
  const lab = Lab.create({ hosts: 1 });
  try {
    const ns = lab.host(1).ns;
    sh('ip', ['-n', ns, 'link', 'add', 'pbr', 'type', 'bridge']);
    sh('ip', [
      '-n',
      ns,
      'link',
      'add',
      'pvx',
      'type',
      'vxlan',
      'id',
      '7',
      'local',
      '192.168.100.1',
      'dstport',
      '4789',
      'nolearning',
    ]);
    sh('ip', ['-n', ns, 'link', 'set', 'pvx', 'master', 'pbr']);
    sh('bridge', ['-n', ns, 'link', 'set', 'dev', 'pvx', 'neigh_suppress', 'on', 'learning', 'off']);
    const detail = JSON.parse(sh('ip', ['-n', ns, '-d', '-j', 'link', 'show', 'pvx']))[0];
    assert.is(detail.linkinfo.info_slave_data.neigh_suppress, true);
    assert.is(detail.linkinfo.info_slave_data.learning, false);
    const version = spawnSync('/usr/lib/frr/bgpd', ['--version'], { encoding: 'utf8' }).stdout;
    assert.match(version, /bgpd version (\d+)\.(\d+)/);
  } finally {
    lab.destroy();
  }
});

it('EVPN: three hosts, FRR installs flood entries and remote MACs; containers on one segment ping across; status shows them as learned from BGP, no drift; a host leaves → its flood entry goes; destroy leaves nothing', async () => {
  const lab = Lab.create({ hosts: 3 });
  const hosts: OverlayHost[] = [];
  const failures: string[] = [];
  try {
    const before = lab.hosts.map((h) => residue(h.ns));
    for (const h of lab.hosts) {
      const host = await OverlayHost.open({ namespace: h.ns, stateRoot: STATE });
      host.on('frrFailed', (_n, e) => failures.push(e.message));
      hosts.push(host);
    }
    // A neighbour the underlay cannot reach (outside eth0's network, no route through eth0): refused, nothing written.
    {
      const wrong = specFor(lab.host(1));
      wrong.membership!.evpn!.neighbors = ['192.168.100.2', '10.99.0.3'];
      const error = await hosts[0]!.apply(wrong).then(
        () => undefined,
        (e) => e,
      );
      assert.instance(error, ValidationError, String(error));
      assert.is((error as ValidationError).field, 'membership.evpn.neighbors[1]');
      assert.match(
        (error as Error).message,
        /not reachable over eth0: outside its connected network 192\.168\.100\.0\/24/,
      );
      assert.equal(residue(lab.host(1).ns), before[0]);
    }
    for (const h of lab.hosts) {
      const changes = (await hosts[h.index - 1]!.apply(specFor(h))).map(describeChange);
      assert.ok(
        changes.some((c) => /^start frr of ev \(zebra \+ bgpd, EVPN VNI 4242, AS 65000/.test(c)),
        changes.join('; '),
      );
      assert.ok(
        changes.some((c) => c.includes('port vx0 on br0') && c.includes('neigh_suppress on, learning off')),
        changes.join('; '),
      );
    }
    // The device as EVPN wants it (ip -d as the oracle): no group, no remote, local set, learning off; its port too.
    for (const h of lab.hosts) {
      const link = JSON.parse(sh('ip', ['-n', h.ns, '-d', '-j', 'link', 'show', 'vx0']))[0];
      const data = link.linkinfo.info_data;
      assert.is(data.id, VNI);
      assert.is(data.local, h.address);
      assert.is(data.group, undefined);
      assert.is(data.remote, undefined);
      assert.is(data.learning, false);
      assert.is(link.linkinfo.info_slave_data.neigh_suppress, true);
      assert.is(link.linkinfo.info_slave_data.learning, false);
    }
    // Sessions up (FRR's view), the VNI known to zebra, flood entries to both other VTEPs (bridge's view).
    for (const h of lab.hosts) {
      const others = [1, 2, 3].filter((j) => j !== h.index).map((j) => `192.168.100.${j}`);
      await until(
        `host ${h.index}: EVPN sessions established`,
        30,
        () => {
          const peers = vtysh(h.ns, 'show bgp l2vpn evpn summary json').peers ?? {};
          return others.every((p) => peers[p]?.state === 'Established');
        },
        () => JSON.stringify(vtysh(h.ns, 'show bgp l2vpn evpn summary json')),
      );
      const vnis = vtysh(h.ns, 'show evpn vni json');
      assert.ok(vnis[String(VNI)], JSON.stringify(vnis));
      assert.is(vnis[String(VNI)].vxlanIf, 'vx0');
      await until(
        `host ${h.index}: flood entries to ${others.join(', ')}`,
        30,
        () => JSON.stringify(floodDsts(h.ns)) === JSON.stringify(others),
        () => JSON.stringify(fdb(h.ns)),
      );
    }

    // Containers on the one segment, static addresses; every pair pings across the hosts.
    for (const h of lab.hosts) {
      const c = lab.addContainer(h, `c${h.index}`, { address: `10.40.0.${10 + h.index}/24` });
      sh('ip', ['-n', h.ns, 'link', 'set', c.hostDev, 'master', 'br0', 'up']);
    }
    for (const from of lab.containers)
      for (const to of lab.containers)
        if (from !== to)
          assert.ok(await lab.pingEventually(from.ns, to.address!.split('/')[0]!, 15), `${from.name} pings ${to.name}`);

    // Remote MACs came from BGP (type-2, extern_learn), not from learning (which is off).
    const c2mac = JSON.parse(sh('ip', ['-n', lab.containers[1]!.ns, '-j', 'link', 'show', 'eth0']))[0].address;
    await until(
      "host 1 has container 2's MAC from BGP",
      15,
      () => fdb(lab.host(1).ns).some((e) => e.mac === c2mac && e.dst === '192.168.100.2'),
      () => JSON.stringify(fdb(lab.host(1).ns)),
    );
    const entry = fdb(lab.host(1).ns).find((e) => e.mac === c2mac && e.dst === '192.168.100.2');
    assert.ok((entry.flags as string[]).includes('extern_learn'), JSON.stringify(entry));

    // vxnet's view: learned from BGP, no drift, nothing planned against FRR's entries; a re-apply keeps them.
    const status = await hosts[0]!.status(NET, specFor(lab.host(1)));
    assert.equal(
      status.problems,
      [],
      JSON.stringify({ evpn: status.evpn, vni: vtysh(lab.host(1).ns, `show evpn vni ${VNI} json`) }),
    );
    assert.equal(status.drift, []);
    assert.equal(status.evpn?.vteps, ['192.168.100.2', '192.168.100.3']);
    assert.ok(
      status.evpn?.macs.some((m) => m.mac === c2mac && m.vtep === '192.168.100.2'),
      JSON.stringify(status.evpn),
    );
    assert.equal(status.evpn?.other, []);
    assert.is(status.bgp?.running, true);
    assert.is(status.bgp?.established, 2);
    assert.ok(
      status.bgp?.peers.every((p) => p.families.includes('l2VpnEvpn')),
      JSON.stringify(status.bgp?.peers),
    );
    // Without the spec (vxnet status NAME): told EVPN by the groupless device beside a running FRR.
    const bare = await hosts[1]!.status(NET);
    assert.equal(bare.evpn?.vteps, ['192.168.100.1', '192.168.100.3']);
    for (const h of lab.hosts) assert.equal(await hosts[h.index - 1]!.plan(specFor(h)), []);
    const fdbBefore = JSON.stringify(floodDsts(lab.host(1).ns));
    assert.equal(await hosts[0]!.apply(specFor(lab.host(1))), []);
    assert.is(JSON.stringify(floodDsts(lab.host(1).ns)), fdbBefore);

    // A second BGP network in host 1's namespace: refused, typed, before anything is written.
    {
      const mid = residue(lab.host(1).ns);
      const other: OverlaySpec = { ...specFor(lab.host(1)), name: 'ev2', vni: 4243, vxlan: 'vx1', bridge: 'br1' };
      const error = await hosts[0]!.apply(other).then(
        () => undefined,
        (e) => e,
      );
      assert.instance(error, BgpNamespaceTakenError, String(error));
      assert.match((error as Error).message, /network ev already runs BGP .* one BGP network per namespace/);
      assert.equal(residue(lab.host(1).ns), mid);
      // status with that spec says so as a problem instead of throwing.
      const said = await hosts[0]!.status('ev2', other);
      assert.ok(
        said.problems.some((p) => /cannot be applied here: .*already runs BGP/.test(p)),
        JSON.stringify(said.problems),
      );
    }

    // Host 3 leaves: its flood entry (and its MACs) disappear from hosts 1 and 2.
    await hosts[2]!.destroy(NET);
    const goneMs = await until(
      "host 3's flood entry gone from hosts 1 and 2",
      15,
      () => [1, 2].every((j) => !floodDsts(lab.host(j).ns).includes('192.168.100.3')),
      () => `${floodDsts(lab.host(1).ns)} / ${floodDsts(lab.host(2).ns)}`,
    );
    assert.ok(goneMs < 15_000);
    assert.equal(floodDsts(lab.host(1).ns), ['192.168.100.2']);
    assert.ok(await lab.pingEventually(lab.containers[0]!.ns, '10.40.0.12', 5), 'hosts 1 and 2 still talk');
    assert.equal(failures, []);

    for (const host of hosts.slice(0, 2)) await host.destroy(NET);
    for (const c of lab.containers) sh('ip', ['-n', c.host.ns, 'link', 'del', c.hostDev]);
    assert.equal(
      lab.hosts.map((h) => residue(h.ns)),
      before,
    );
    assert.equal(frrProcesses(), [], 'no FRR daemon left');
  } finally {
    for (const host of hosts) await host.close();
    lab.destroy();
  }
});

it("the agent keeps an EVPN network without touching FRR's FDB entries: they come and go with BGP, its re-applies change nothing; vx0 deleted → recreated for EVPN, FRR re-installs the flood entries", async () => {
  const lab = Lab.create({ hosts: 3 });
  const hosts: OverlayHost[] = [];
  let agent: OverlayAgent | undefined;
  const repairs: string[][] = [];
  const failed: string[] = [];
  try {
    const before = lab.hosts.map((h) => residue(h.ns));
    for (const h of lab.hosts.slice(0, 2)) {
      const host = await OverlayHost.open({ namespace: h.ns, stateRoot: STATE });
      hosts.push(host);
      await host.apply(specFor(h));
    }
    const h3 = lab.host(3);
    agent = new OverlayAgent({ namespace: h3.ns, stateRoot: STATE, resyncMs: 1000 });
    agent.on('repair', (r) => repairs.push(r.changes));
    agent.on('failed', (f) => failed.push(f.error.message));
    await agent.start(specFor(h3));
    // FRR writes host 3's flood entries while the agent watches (fdb events: re-applies that must plan nothing).
    await until(
      'host 3: flood entries to hosts 1 and 2',
      30,
      () => JSON.stringify(floodDsts(h3.ns)) === JSON.stringify(['192.168.100.1', '192.168.100.2']),
      () => JSON.stringify(fdb(h3.ns)),
    );
    await new Promise((resolve) => setTimeout(resolve, 2500)); // two resyncs
    assert.equal(repairs, [], "no repair: the entries are FRR's, not drift");
    assert.equal(floodDsts(h3.ns), ['192.168.100.1', '192.168.100.2']);

    // Host 1 leaves: FRR on host 3 removes its flood entry; the agent does not put it back.
    await hosts[0]!.destroy(NET);
    await until('host 1 gone from host 3', 15, () => !floodDsts(h3.ns).includes('192.168.100.1'));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(floodDsts(h3.ns), ['192.168.100.2']);
    assert.equal(repairs, []);

    // vx0 deleted on host 3: the agent recreates it as EVPN wants it, zebra finds it again and re-installs.
    sh('ip', ['-n', h3.ns, 'link', 'del', 'vx0']);
    await until('the agent repaired vx0', 15, () => repairs.length > 0);
    assert.ok(
      repairs[0]!.some((c) => c.startsWith('create link vx0')),
      JSON.stringify(repairs),
    );
    assert.ok(
      repairs[0]!.some((c) => c.includes('port vx0 on br0') && c.includes('neigh_suppress on')),
      JSON.stringify(repairs),
    );
    const link = JSON.parse(sh('ip', ['-n', h3.ns, '-d', '-j', 'link', 'show', 'vx0']))[0];
    assert.is(link.linkinfo.info_data.learning, false);
    assert.is(link.linkinfo.info_slave_data.neigh_suppress, true);
    await until(
      'FRR re-installs the flood entry to host 2 on the new vx0',
      30,
      () => floodDsts(h3.ns).includes('192.168.100.2'),
      () => JSON.stringify(fdb(h3.ns)),
    );
    assert.equal(failed, []);

    await agent.stop();
    agent = undefined;
    await OverlayHost.open({ namespace: h3.ns, stateRoot: STATE }).then(async (host) => {
      await host.destroy(NET);
      await host.close();
    });
    await hosts[1]!.destroy(NET);
    assert.equal(
      lab.hosts.map((h) => residue(h.ns)),
      before,
    );
    assert.equal(frrProcesses(), [], 'no FRR daemon left');
  } finally {
    await agent?.stop();
    for (const host of hosts) await host.close();
    lab.destroy();
  }
});

it('vxnet apply (CLI) of an EVPN spec without DHCP stays in the foreground supervising FRR; SIGTERM stops it; destroy leaves nothing', async () => {
  const lab = Lab.create({ hosts: 2 });
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-evpn-cli-'));
  try {
    const h1 = lab.host(1);
    const before = hostResidue(h1.ns, { skipLinks: /^v-c\d$/ });
    const file = join(dir, 'evpn.json');
    writeFileSync(file, JSON.stringify(specFor(h1, [1, 2])));
    const child = spawn(process.execPath, [...CLI, 'apply', file, '--namespace', h1.ns], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await until(
      'vxnet apply says it serves BGP',
      30,
      () => output.includes('serving BGP'),
      () => output,
    );
    assert.match(output, /serving BGP for ev \(zebra pid \d+, bgpd pid \d+\); Ctrl-C or `vxnet destroy ev` stops it/);
    // FRR answers (read-only) while the command runs: it did not stop FRR on its way out.
    const dirOf = `${namespaceStateDir(h1.ns)}/${NET}/frr`;
    const vni = JSON.parse(sh('vtysh', ['--vty_socket', dirOf, '-c', 'show evpn vni json']));
    assert.ok(vni[String(VNI)], JSON.stringify(vni));
    const status = vxnet(['status', NET, '--namespace', h1.ns]);
    assert.match(status.stdout, /bgp: running \(zebra pid \d+, bgpd pid \d+, supervised by pid \d+\)/, status.stdout);
    child.kill('SIGTERM');
    assert.is(await exited, 0, output);
    assert.match(output, /stopped BGP for ev/);
    const destroyed = vxnet(['destroy', NET, '--namespace', h1.ns]);
    assert.is(destroyed.code, 0, destroyed.stderr);
    assert.equal(hostResidue(h1.ns, { skipLinks: /^v-c\d$/ }), before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    lab.destroy();
  }
});

test.run();
