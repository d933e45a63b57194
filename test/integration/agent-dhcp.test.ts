/**
 * The DHCP server of the host that serves it, under an agent — on the lab,
 * with udhcpc in a container as the client (a second apply's update of the
 * hosts of a dnsmasq another process supervises: overlay-safety.test.ts):
 *
 *   - an agent takes the server over from a foreground `vxnet apply` (which
 *     stops and exits 0), the lease file kept;
 *   - SIGHUP to the agent with changed static hosts reloads its dnsmasq (the
 *     same process) and the container gets the new fixed address.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess, CLI, vxnet } from '../helpers/agent.js';
import { dnsmasqProcessesWith } from '../helpers/dhcp-scene.js';
import { Lab, type LabContainer, type LabHost } from '../helpers/lab.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { namespaceStateDir } from '../helpers/residue.js';

const it = integrationReady(['ip', 'nsenter', 'dnsmasq', 'udhcpc', 'nft', 'bridge']) ? test : test.skip;
const MAC = '02:00:00:00:00:99';

function writeSpec(file: string, host: LabHost, hosts?: { mac: string; ip: string }[]): string {
  writeFileSync(
    file,
    JSON.stringify(
      {
        name: 'seed',
        vni: 42,
        underlay: { device: 'eth0', address: host.address },
        peers: [host.address],
        subnet: '10.10.0.0/24',
        gateway: '10.10.0.1',
        vxlan: 'vx0',
        bridge: 'br0',
        dhcp: { ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }], ...(hosts ? { hosts } : {}) },
      },
      null,
      2,
    ),
  );
  return file;
}

const dhcpDir = (ns: string): string => `${namespaceStateDir(ns)}/seed/dhcp`;
const dnsmasqPid = (ns: string): number => Number(readFileSync(`${dhcpDir(ns)}/dnsmasq.pid`, 'utf8'));
const hostsFile = (ns: string): string => readFileSync(`${dhcpDir(ns)}/hosts`, 'utf8');

/** A container whose eth0 has MAC, on br0 (no address: it asks DHCP). */
function client(lab: Lab, host: LabHost): LabContainer {
  const c = lab.addContainer(host, 'c9');
  sh('ip', ['-n', c.ns, 'link', 'set', 'eth0', 'address', MAC]);
  sh('ip', ['-n', host.ns, 'link', 'set', c.hostDev, 'master', 'br0', 'up']);
  return c;
}

/** `vxnet apply` on the DHCP host stays in the foreground serving DHCP; resolves once it says so. */
function applyInForeground(
  file: string,
  ns: string,
): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [...CLI, 'apply', file, '--namespace', ns], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', () => {
      if (output.includes('serving DHCP')) resolve({ child, output: () => output, exited });
    });
    child.on('exit', (code) => reject(new Error(`vxnet apply exited ${code} before serving DHCP:\n${output}`)));
  });
}

it('an agent takes the DHCP server over from a foreground vxnet apply, which stops and exits 0; the lease survives', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-agent-dhcp-'));
  const lab = Lab.create({ hosts: 1 });
  let foreground: ChildProcess | undefined;
  let agent: AgentProcess | undefined;
  try {
    const h1 = lab.host(1);
    const file = writeSpec(join(dir, 'h1.json'), h1);
    const served = await applyInForeground(file, h1.ns);
    const supervisor = served.child;
    foreground = supervisor;
    const c9 = client(lab, h1);
    const leased = (await lab.dhcp(c9)).ip;
    assert.match(leased, /^10\.10\.0\.1\d\d$/);

    agent = AgentProcess.start(file, { ns: h1.ns });
    await agent.ready();
    assert.ok(
      agent.entries.some(
        (e) => e.event === 'notice' && e.message.includes(`taking over the DHCP server from pid ${supervisor.pid}`),
      ),
      agent.transcript(),
    );
    assert.is(await served.exited, 0);
    assert.match(served.output(), /stopped DHCP for seed/);
    assert.ok(
      agent.entries.some(
        (e) => e.event === 'started' && (e.changes as string[]).some((c) => c.startsWith('start dhcp on br0')),
      ),
      agent.transcript(),
    );
    assert.match(
      vxnet(['status', 'seed', '--namespace', h1.ns]).stdout,
      new RegExp(`dhcp: running \\(dnsmasq pid \\d+, supervised by pid ${agent.pid}\\), 1 lease`),
    );
    assert.is((await lab.dhcp(c9)).ip, leased, 'the lease file was kept: the same address');
    assert.equal(await agent.stop(), { code: 0, signal: null });
    assert.equal(dnsmasqProcessesWith(dhcpDir(h1.ns)), [], 'dnsmasq stopped with the agent');
    assert.is(vxnet(['destroy', 'seed', '--namespace', h1.ns]).code, 0);
  } finally {
    foreground?.kill('SIGKILL');
    agent?.kill();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('SIGHUP with changed static DHCP hosts: the agent rewrites the hosts file and reloads its dnsmasq (the same process)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-agent-dhcp-'));
  const lab = Lab.create({ hosts: 1 });
  let agent: AgentProcess | undefined;
  try {
    const h1 = lab.host(1);
    const file = writeSpec(join(dir, 'h1.json'), h1);
    agent = AgentProcess.start(file, { ns: h1.ns, via: 'exec' });
    await agent.ready();
    const pid = dnsmasqPid(h1.ns);
    const c9 = client(lab, h1);

    writeSpec(file, h1, [{ mac: MAC, ip: '10.10.0.50' }]);
    const from = agent.entries.length;
    agent.signal('SIGHUP');
    const reload = await agent.waitFor((e) => e.event === 'reload', { from, what: 'the reload' });
    assert.match(reload.message, /: 1 change\(s\)$/, agent.transcript());
    assert.ok(
      agent.entries
        .slice(from)
        .some((e) => e.event === 'change' && e.message === 'reload: update dhcp static hosts on br0'),
      agent.transcript(),
    );
    assert.is(hostsFile(h1.ns), `${MAC},10.10.0.50\n`);
    assert.is(dnsmasqPid(h1.ns), pid, 'reloaded (SIGHUP), not restarted');
    assert.is((await lab.dhcp(c9)).ip, '10.10.0.50');
    assert.equal(await agent.stop(), { code: 0, signal: null });
    assert.is(vxnet(['destroy', 'seed', '--namespace', h1.ns]).code, 0);
  } finally {
    agent?.kill();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
