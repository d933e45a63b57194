/**
 * The vxnet command line on the 3-host lab, in both modes: apply a spec file
 * per host (host 1 serves DHCP in the foreground), containers lease, ping each
 * other and reach upstream; status and peers; destroy leaves zero residue —
 * links, FDB, nftables and processes compared before and after.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify as toYaml } from 'yaml';
import { dnsmasqProcessesWith } from '../helpers/dhcp-scene.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { hostResidue, namespaceStateDir } from '../helpers/residue.js';
import { CLI, vxnet } from '../helpers/cli.js';

const it = integrationReady(['ip', 'nsenter', 'ping', 'dnsmasq', 'udhcpc', 'nft', 'bridge']) ? test : test.skip;

const residue = (ns: string) => hostResidue(ns, { skipLinks: /^v-c\d$/ });

/** Processes whose command line mentions `needle` (ours excluded). */
function processesWith(needle: string): string[] {
  const out = spawnSync('pgrep', ['-af', needle], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((line) => line && !line.includes('pgrep') && !line.startsWith(`${process.pid} `));
}

function writeSpecs(dir: string, lab: Lab, mode: 'multicast' | 'unicast'): string[] {
  return lab.hosts.map((host: LabHost) => {
    const spec = {
      name: 'seed',
      vni: 42,
      port: 4789,
      underlay: { device: 'eth0', address: host.address },
      ...(mode === 'multicast' ? { group: '239.1.1.1' } : { peers: lab.hosts.map((h) => h.address) }),
      subnet: '10.10.0.0/24',
      gateway: `10.10.0.${host.index}`,
      vxlan: 'vx0',
      bridge: 'br0',
      ...(host.index === 1
        ? { dhcp: { ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }] }, masquerade: { egress: 'up0' } }
        : {}),
      firewall: true,
    };
    const file = join(dir, `host${host.index}.${host.index === 2 ? 'json' : 'yaml'}`);
    writeFileSync(file, host.index === 2 ? JSON.stringify(spec, null, 2) : toYaml(spec));
    return file;
  });
}

/** `vxnet apply` for the DHCP host: it stays in the foreground serving DHCP. Resolves once it says so. */
function applyInForeground(file: string, ns: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [...CLI, 'apply', file, '--namespace', ns], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', () => {
      if (output.includes('serving DHCP')) resolve({ child, output: () => output });
    });
    child.on('exit', (code) => reject(new Error(`vxnet apply exited ${code} before serving DHCP:\n${output}`)));
  });
}

for (const mode of ['multicast', 'unicast'] as const) {
  it(`vxnet apply / status / peers / destroy on 3 hosts (${mode})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vxnet-cli-'));
    const lab = Lab.create({ hosts: 3 });
    let agent: ChildProcess | undefined;
    try {
      const h1 = lab.host(1).ns;
      const up = lab.addNamespaceNamed('up');
      sh('ip', ['-n', h1, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', up]);
      sh('ip', ['-n', h1, 'addr', 'add', '203.0.113.1/24', 'dev', 'up0']);
      sh('ip', ['-n', h1, 'link', 'set', 'up0', 'up']);
      sh('ip', ['-n', up, 'addr', 'add', '203.0.113.2/24', 'dev', 'eth0']);
      sh('ip', ['-n', up, 'link', 'set', 'eth0', 'up']);
      const before = lab.hosts.map((h) => residue(h.ns));
      const files = writeSpecs(dir, lab, mode);

      // plan says what it would do (exit 2: there are changes).
      const plan = vxnet(['plan', files[1]!, '--namespace', lab.host(2).ns]);
      assert.is(plan.code, 2, plan.stderr);
      assert.match(plan.stdout, /\+ create link vx0 \(vxlan id 42/);
      assert.match(plan.stdout, /\+ create link br0/);

      const started = await applyInForeground(files[0]!, h1);
      agent = started.child;
      assert.match(started.output(), /✓ create link vx0/);
      for (const i of [1, 2]) {
        const run = vxnet(['apply', files[i]!, '--namespace', lab.host(i + 1).ns]);
        assert.is(run.code, 0, run.stderr);
        assert.match(run.stdout, /✓ create link vx0/);
        const again = vxnet(['apply', files[i]!, '--namespace', lab.host(i + 1).ns, '--json']);
        assert.equal(JSON.parse(again.stdout).changes, [], 'a second apply changes nothing');
      }
      // A second apply on the DHCP host sees the running service and changes nothing.
      const again1 = vxnet(['apply', files[0]!, '--namespace', h1]);
      assert.is(again1.code, 0, again1.stderr);
      assert.match(again1.stdout, /seed: already up to date/);

      for (const h of lab.hosts) {
        const container = lab.addContainer(h, `c${h.index}`);
        sh('ip', ['-n', h.ns, 'link', 'set', container.hostDev, 'master', 'br0', 'up']);
        const lease = await lab.dhcp(container);
        assert.is(lease.router, '10.10.0.1');
        assert.is(lease.mtu, 1450);
      }
      for (const from of lab.containers) {
        for (const to of lab.containers)
          if (from !== to)
            assert.ok(await lab.pingEventually(from.ns, to.address!.split('/')[0]!, 8), `${from.name} → ${to.name}`);
        assert.ok(await lab.pingEventually(from.ns, '203.0.113.2', 5), `${from.name} reaches upstream through NAT`);
      }

      const status = vxnet(['status', 'seed', '--namespace', h1, '--spec', files[0]!]);
      assert.is(status.code, 0, status.stdout + status.stderr);
      assert.match(status.stdout, /dhcp: running \(dnsmasq pid \d+, supervised by pid \d+\), 3 lease\(s\)/);
      const json = JSON.parse(vxnet(['status', 'seed', '--namespace', h1, '--json']).stdout);
      assert.is(json.vxlan.vni, 42);
      assert.is(json.dhcp.leases.length, 3);

      if (mode === 'unicast') {
        const extra = '192.168.100.9';
        const add = vxnet(['peers', 'add', 'seed', extra, '--namespace', lab.host(2).ns]);
        assert.is(add.code, 0, add.stderr);
        assert.match(add.stdout, /seed: added peer 192.168.100.9/);
        assert.match(
          sh('bridge', ['-n', lab.host(2).ns, 'fdb', 'show', 'dev', 'vx0']),
          /00:00:00:00:00:00 dst 192.168.100.9/,
        );
        assert.match(
          sh('ip', ['netns', 'exec', lab.host(2).ns, 'nft', 'list', 'set', 'ip', 'vxnet-seed', 'vxlan-peers']),
          /192.168.100.9/,
        );
        const rm = vxnet(['peers', 'rm', 'seed', extra, '--namespace', lab.host(2).ns]);
        assert.match(rm.stdout, /seed: removed peer 192.168.100.9/);
        assert.not.match(sh('bridge', ['-n', lab.host(2).ns, 'fdb', 'show', 'dev', 'vx0']), /192.168.100.9/);
      }

      for (const h of lab.hosts) {
        const destroy = vxnet(['destroy', 'seed', '--namespace', h.ns]);
        assert.is(destroy.code, 0, destroy.stderr);
        assert.match(destroy.stdout, /- delete link vx0/);
      }
      // The foreground apply was told to stop by destroy, and did.
      const exit = await new Promise<number | null>((resolve) =>
        agent!.exitCode !== null ? resolve(agent!.exitCode) : agent!.once('exit', resolve),
      );
      assert.is(exit, 0);
      agent = undefined;
      assert.equal(
        lab.hosts.map((h) => residue(h.ns)),
        before,
        'links (state, MTU, master, addresses), FDB, nftables, ip_forward and state directories exactly as before',
      );
      assert.equal(processesWith(namespaceStateDir(h1)), [], 'no dnsmasq (nor supervisor) of this network left');
      assert.equal(dnsmasqProcessesWith(h1), []);
      const nothing = vxnet(['destroy', 'seed', '--namespace', h1]);
      assert.match(nothing.stdout, /seed: nothing of it exists here/);
    } finally {
      agent?.kill('SIGKILL');
      lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

it('bad input: usage errors exit 64, spec errors name the field and exit 1 without a stack', () => {
  assert.is(vxnet([]).code, 64);
  assert.is(vxnet(['frobnicate']).code, 64);
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'name: seed\nvni: 16777216\nunderlay: { device: eth0 }\ngroup: 239.1.1.1\nsubnet: 10.10.0.0/24\n',
    );
    const bad = vxnet(['plan', file]);
    assert.is(bad.code, 1);
    assert.match(bad.stderr, /^vxnet: invalid vni: a VNI is an integer from 0 to 16777215/);
    assert.not.match(bad.stderr, /\n\s+at /, 'no stack trace without --debug');
    writeFileSync(
      file,
      'name: seed\nvni: 42\nunderlay: { device: eth0 }\ngroup: 239.1.1.1\nsubnet: 10.10.0.0/24\ngateway: 10.10.0.1\ndhcp:\n  ranges: [{ start: 10.10.0.1, end: 10.10.0.50 }]\n',
    );
    const covers = vxnet(['plan', file]);
    assert.is(covers.code, 1);
    assert.match(covers.stderr, /invalid dhcp\.ranges\[0\]/);
    assert.match(vxnet(['plan', file, '--debug']).stderr, /\n\s+at /, '--debug shows the stack');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
