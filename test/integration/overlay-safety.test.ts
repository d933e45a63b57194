/**
 * The CLI from the outside, where wave 1 went wrong: state found by the
 * namespace's identity whichever way the process got there; drift reported
 * as drift; concurrent and racing writers serialised with a whole result;
 * a DHCP supervisor that gives up is reported, not a crash; status without
 * privileges. Every host is a lab namespace; every check reads the kernel
 * with ip, bridge and nft, and processes from /proc.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify as toYaml } from 'yaml';
import { CLI, type CliRun, vxnet } from '../helpers/cli.js';
import { dnsmasqProcessesWith, udhcpc } from '../helpers/dhcp-scene.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, ipJson, sh } from '../helpers/netns.js';
import { hostResidue, namespaceStateDir } from '../helpers/residue.js';
import { NetworkLock } from '../../src/overlay/lock.js';

const it = integrationReady(['ip', 'nsenter', 'dnsmasq', 'nft', 'bridge', 'setpriv']) ? test : test.skip;

type Run = CliRun;

function vxnetAsync(args: string[], options: { inside?: string } = {}): Promise<Run> {
  const [command, argv] = options.inside
    ? ['ip', ['netns', 'exec', options.inside, process.execPath, ...CLI, ...args]]
    : [process.execPath, [...CLI, ...args]];
  const child = spawn(command, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** The CLI in the background, with a way to wait for a line of its output. */
function vxnetLive(
  args: string[],
  options: { inside?: string } = {},
): { said: (pattern: RegExp) => Promise<void>; output: () => string; done: Promise<Run> } {
  const [command, argv] = options.inside
    ? ['ip', ['netns', 'exec', options.inside, process.execPath, ...CLI, ...args]]
    : [process.execPath, [...CLI, ...args]];
  const child = spawn(command, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d) => {
    stdout += d;
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) =>
    child.on('exit', (code) => {
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, stdout, stderr });
    }),
  );
  const said = async (pattern: RegExp): Promise<void> => {
    while (!pattern.test(stdout)) {
      if (child.exitCode !== null)
        throw new Error(`exited ${child.exitCode} without saying ${pattern}: ${stdout}${stderr}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { said, output: () => stdout, done };
}

function specFile(dir: string, host: LabHost, extra: Record<string, unknown> = {}): string {
  const file = join(dir, `host${host.index}-${Object.keys(extra).join('-') || 'plain'}.yaml`);
  writeFileSync(
    file,
    toYaml({
      name: 'safe',
      vni: 42,
      underlay: { device: 'eth0', address: host.address },
      peers: ['192.168.100.1', '192.168.100.2'],
      subnet: '10.30.0.0/24',
      gateway: '10.30.0.1',
      vxlan: 'vx0',
      bridge: 'br0',
      firewall: true,
      ...extra,
    }),
  );
  return file;
}

/** `vxnet apply` serving DHCP in the foreground; resolves once it says so. */
function serveInForeground(args: string[], inside?: string): Promise<{ child: ChildProcess; output: () => string }> {
  const [command, argv] = inside
    ? ['ip', ['netns', 'exec', inside, process.execPath, ...CLI, ...args]]
    : [process.execPath, [...CLI, ...args]];
  const child = spawn(command, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
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

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolve(child.exitCode)
      : child.once('exit', (code) => resolve(code)),
  );
}

const DHCP = { dhcp: { ranges: [{ start: '10.30.0.100', end: '10.30.0.150' }] } };

it('state follows the namespace, not the flag: ip netns exec apply, destroy --namespace stops its DHCP; a destroy elsewhere touches nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-safety-'));
  const lab = Lab.create({ hosts: 2 });
  let served: ChildProcess | undefined;
  try {
    const h1 = lab.host(1);
    const before = hostResidue(h1.ns);
    const rootBefore = spawnSync('nft', ['-j', 'list', 'tables'], { encoding: 'utf8' }).stdout;
    const started = await serveInForeground(['apply', specFile(dir, h1, DHCP)], h1.ns);
    served = started.child;
    const dnsmasq = dnsmasqProcessesWith(namespaceStateDir(h1.ns));
    assert.is(dnsmasq.length, 1, "dnsmasq runs, with its files in the namespace's state directory");

    // In the root namespace nothing of the network exists: destroy there finds nothing and stops nothing.
    const elsewhere = vxnet(['destroy', 'safe']);
    assert.is(elsewhere.code, 0, elsewhere.stderr);
    assert.match(elsewhere.stdout, /safe: nothing of it exists here/);
    assert.equal(
      dnsmasqProcessesWith(namespaceStateDir(h1.ns)).map((p) => p.pid),
      dnsmasq.map((p) => p.pid),
      'the DHCP server in the host namespace still runs',
    );
    assert.is(served.exitCode, null, 'its supervisor too');
    assert.is(
      spawnSync('nft', ['-j', 'list', 'tables'], { encoding: 'utf8' }).stdout,
      rootBefore,
      "the root namespace's nftables unchanged",
    );
    // Nor does a host namespace that never had it.
    assert.match(
      vxnet(['status', 'safe', '--namespace', lab.host(2).ns]).stdout,
      /problem: nothing of network safe exists/,
    );

    // status by --namespace sees what ip netns exec started, and so does status from inside.
    for (const run of [vxnet(['status', 'safe', '--namespace', h1.ns]), vxnet(['status', 'safe'], { inside: h1.ns })]) {
      assert.is(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /dhcp: running \(dnsmasq pid \d+, supervised by pid \d+\)/);
    }
    // destroy with --namespace stops dnsmasq and the supervising apply, and leaves nothing.
    const destroy = vxnet(['destroy', 'safe', '--namespace', h1.ns]);
    assert.is(destroy.code, 0, destroy.stderr);
    assert.match(destroy.stdout, /- stop dhcp of safe/);
    assert.is(await exited(served), 0, 'the foreground apply stopped cleanly');
    served = undefined;
    assert.equal(dnsmasqProcessesWith(namespaceStateDir(h1.ns)), []);
    assert.equal(hostResidue(h1.ns), before);
    assert.not.ok(existsSync(namespaceStateDir(h1.ns)), 'no state directory left');
  } finally {
    served?.kill('SIGKILL');
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('status --spec on a device that differs reports the drift (exit 2), not an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-safety-'));
  const lab = Lab.create({ hosts: 1 });
  try {
    const h1 = lab.host(1);
    const file = specFile(dir, h1);
    assert.is(vxnet(['apply', file, '--namespace', h1.ns]).code, 0);
    assert.is(vxnet(['status', 'safe', '--namespace', h1.ns, '--spec', file]).code, 0, 'in step: exit 0');
    const other = specFile(dir, h1, { port: 8472 });
    const status = vxnet(['status', 'safe', '--namespace', h1.ns, '--spec', other]);
    assert.is(status.code, 2, status.stdout + status.stderr);
    assert.is(status.stderr, '');
    assert.match(
      status.stdout,
      /drift: apply would refuse: link vx0 exists but differs from the spec: port is 4789, wanted 8472/,
    );
    const json = JSON.parse(vxnet(['status', 'safe', '--namespace', h1.ns, '--spec', other, '--json']).stdout);
    assert.ok(json.drift.some((d: string) => d.includes('port is 4789, wanted 8472')));
    assert.is(vxnet(['destroy', 'safe', '--namespace', h1.ns]).code, 0);
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('writers take turns: two applies at once both succeed; apply racing destroy always ends whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-safety-'));
  const lab = Lab.create({ hosts: 1 });
  try {
    const h1 = lab.host(1);
    const file = specFile(dir, h1, { masquerade: true });
    const before = hostResidue(h1.ns);
    // Held by this process (the library's own lock, in the host namespace): both applies must wait, and say for whom.
    const held = await NetworkLock.acquire('safe', h1.ns, join(namespaceStateDir(h1.ns), 'safe', 'lock'));
    const a = vxnetLive(['apply', file, '--namespace', h1.ns]);
    const b = vxnetLive(['apply', file], { inside: h1.ns });
    await Promise.all([
      a.said(/waiting: network safe is being changed by pid \d+/),
      b.said(/waiting: network safe is being changed by pid \d+/),
    ]);
    // The lock's note (who holds it) is the only file; nothing of the network is written.
    assert.equal({ ...hostResidue(h1.ns), state: [] }, before, 'nothing written while the lock is held');
    assert.equal(hostResidue(h1.ns).state, ['safe', 'safe/lock']);
    assert.match(a.output(), new RegExp(`pid ${process.pid} \\(`), 'the holder is named by its pid');
    held.release();
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.is(ra.code, 0, ra.stderr);
    assert.is(rb.code, 0, rb.stderr);
    assert.ok(
      [ra, rb].some((r) => /already up to date/.test(r.stdout)),
      'the second one found the work done',
    );
    assert.ok(
      [ra, rb].some((r) => /✓ create link vx0/.test(r.stdout)),
      'the first one did it',
    );
    // Unheld, at once: both succeed, one of them finds nothing to do.
    assert.is(vxnet(['destroy', 'safe', '--namespace', h1.ns]).code, 0);
    const [c, d] = await Promise.all([
      vxnetAsync(['apply', file, '--namespace', h1.ns]),
      vxnetAsync(['apply', file], { inside: h1.ns }),
    ]);
    assert.is(c.code, 0, c.stderr);
    assert.is(d.code, 0, d.stderr);
    assert.ok([c, d].some((r) => /already up to date/.test(r.stdout)));
    const applied = hostResidue(h1.ns);
    assert.is(vxnet(['plan', file, '--namespace', h1.ns]).code, 0, 'nothing left to change');

    // Apply racing destroy, from a clean host and from an applied one: whichever goes second sees what
    // the first left, so the host ends either fully applied or clean, never in between.
    const outcomes = { applied: 0, clean: 0 };
    for (let trial = 0; trial < 12; trial++) {
      assert.is(
        vxnet([trial % 2 === 0 ? 'destroy' : 'apply', trial % 2 === 0 ? 'safe' : file, '--namespace', h1.ns]).code,
        0,
      );
      const [apply, destroy] = await Promise.all([
        vxnetAsync(['apply', file, '--namespace', h1.ns]),
        vxnetAsync(['destroy', 'safe'], { inside: h1.ns }),
      ]);
      assert.is(apply.code, 0, apply.stderr);
      assert.is(destroy.code, 0, destroy.stderr);
      const now = hostResidue(h1.ns);
      if (JSON.stringify(now) === JSON.stringify(applied)) outcomes.applied++;
      else {
        assert.equal(now, before, `trial ${trial}: neither whole nor clean`);
        outcomes.clean++;
      }
    }
    assert.ok(outcomes.applied + outcomes.clean === 12);
    assert.is(vxnet(['destroy', 'safe', '--namespace', h1.ns]).code, 0);
    assert.equal(hostResidue(h1.ns), before);
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('the DHCP supervisor giving up: the foreground apply says so in one line and exits 1; status reports it (exit 2)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-safety-'));
  const lab = Lab.create({ hosts: 1 });
  let served: ChildProcess | undefined;
  try {
    const h1 = lab.host(1);
    const started = await serveInForeground(['apply', specFile(dir, h1, DHCP), '--namespace', h1.ns]);
    served = started.child;
    const stateDir = namespaceStateDir(h1.ns);
    // Kill dnsmasq as often as the documented policy tolerates (5 within 60 s), each time once its successor serves.
    let killed = 0;
    while (served.exitCode === null && killed < 5) {
      const pid = dnsmasqProcessesWith(stateDir)[0]?.pid;
      if (pid === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      process.kill(pid, 'SIGKILL');
      killed++;
      const deadline = Date.now() + 15_000;
      while (
        served.exitCode === null &&
        Date.now() < deadline &&
        dnsmasqProcessesWith(stateDir).some((p) => p.pid === pid)
      )
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const code = await exited(served);
    served = undefined;
    assert.is(code, 1, started.output());
    const lines = started.output().trim().split('\n');
    assert.match(
      lines.at(-1)!,
      /^vxnet: DHCP for safe stopped: dnsmasq \(instance safe\) failed 5 times within 60 s; no more restarts\. Last failure: dnsmasq was killed by SIGKILL \(--debug shows dnsmasq's last words\)$/,
    );
    assert.is(lines.filter((line) => line.startsWith('vxnet:')).length, 1, 'one line reports it');
    assert.not.match(started.output(), /\n\s+at |Emitted 'error' event/, 'no stack trace');

    const status = vxnet(['status', 'safe', '--namespace', h1.ns]);
    assert.is(status.code, 2, status.stdout);
    assert.match(status.stdout, /dhcp: stopped \(gave up at /);
    assert.match(status.stdout, /problem: dhcp: stopped \(gave up at .*failed 5 times/);
    // Applying again starts it afresh; destroy clears the record.
    const again = await serveInForeground(['apply', specFile(dir, h1, DHCP), '--namespace', h1.ns]);
    served = again.child;
    assert.match(vxnet(['status', 'safe', '--namespace', h1.ns]).stdout, /dhcp: running/);
    assert.is(vxnet(['destroy', 'safe', '--namespace', h1.ns]).code, 0);
    await exited(served);
    served = undefined;
    assert.not.ok(existsSync(stateDir));
  } finally {
    served?.kill('SIGKILL');
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('without privileges: status reads links and says the firewall is unknown; writes fail with the cause', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-safety-'));
  const lab = Lab.create({ hosts: 1 });
  try {
    const h1 = lab.host(1);
    const file = specFile(dir, h1);
    assert.is(vxnet(['apply', file, '--namespace', h1.ns]).code, 0);
    const status = vxnet(['status', 'safe'], { inside: h1.ns, user: true });
    assert.is(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /link vx0 \(vxlan\) mtu 1450 up/);
    assert.match(status.stdout, /unknown: firewall: reading nf_tables needs CAP_NET_ADMIN/);
    assert.match(status.stdout, /^ {2}ok in what could be read \(\d+ part\(s\) unknown\)$/m);
    assert.not.match(status.stdout, /^ {2}ok$/m, 'no plain "ok" for a status with unknown parts');
    const json = JSON.parse(vxnet(['status', 'safe', '--json'], { inside: h1.ns, user: true }).stdout);
    assert.is(json.vxlan.vni, 42);
    const apply = vxnet(['apply', file], { inside: h1.ns, user: true });
    assert.is(apply.code, 1);
    assert.match(apply.stderr, /^vxnet: .*(EPERM|EACCES|permission|CAP_NET_ADMIN)/i);
    assert.is(apply.stderr.trim().split('\n').length, 1);
    const nsFlag = vxnet(['status', 'safe', '--namespace', h1.ns], { user: true });
    assert.is(nsFlag.code, 1);
    assert.match(nsFlag.stderr, /CAP_SYS_ADMIN|root/);
    assert.is(vxnet(['destroy', 'safe', '--namespace', h1.ns]).code, 0);
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a second apply from another process changes the static hosts of the DHCP server a foreground apply supervises', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-safety-'));
  const lab = Lab.create({ hosts: 1 });
  let served: ChildProcess | undefined;
  try {
    const h1 = lab.host(1);
    const started = await serveInForeground(['apply', specFile(dir, h1, DHCP), '--namespace', h1.ns]);
    served = started.child;
    const web = lab.addContainer(h1, 'web');
    sh('ip', ['-n', h1.ns, 'link', 'set', web.hostDev, 'master', 'br0']);
    const mac = ipJson<{ address: string }[]>(web.ns, 'link', 'show', 'eth0')[0]!.address;
    // From inside the namespace, as another process: the running server's hosts must change, not stay stale.
    const withHost = specFile(dir, h1, { dhcp: { ...DHCP.dhcp, hosts: [{ mac, ip: '10.30.0.42', name: 'web' }] } });
    const second = vxnet(['apply', withHost], { inside: h1.ns });
    assert.is(second.code, 0, second.stdout + second.stderr);
    assert.match(
      second.stdout,
      /✓ update dhcp static hosts on br0 \(served by pid \d+: hosts file rewritten, dnsmasq pid \d+ reloaded \(SIGHUP\)\)/,
    );
    assert.not.match(second.stdout, /serving DHCP/, 'the second apply does not start a server of its own');
    assert.equal(dnsmasqProcessesWith(namespaceStateDir(h1.ns)).length, 1, 'still one dnsmasq');
    // The proof is a real client: it gets the static address.
    const lease = await udhcpc(web.ns);
    assert.is(lease.ip, '10.30.0.42');
    assert.match(
      vxnet(['apply', withHost], { inside: h1.ns }).stdout,
      /already up to date/,
      'a third apply finds the hosts in place',
    );
    assert.is(vxnet(['destroy', 'safe', '--namespace', h1.ns]).code, 0);
    await exited(served);
    served = undefined;
  } finally {
    served?.kill('SIGKILL');
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
