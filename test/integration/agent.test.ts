/**
 * `vxnet agent` from the outside: started as a CLI child process in a lab
 * host (with --namespace, or inside it with ip netns exec), then broken with
 * ip, bridge and nft — the oracles too — and watched putting things back,
 * with a ping across the overlay as the proof after each repair. One agent
 * per network per namespace; status shows it; SIGTERM leaves the network,
 * --destroy-on-exit leaves nothing.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify as toYaml } from 'yaml';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, sh } from '../helpers/netns.js';
import { hostResidue, namespaceStateDir } from '../helpers/residue.js';
import { NetworkLock } from '../../src/overlay/lock.js';

const it = integrationReady(['ip', 'nsenter', 'nft', 'bridge', 'ping']) ? test : test.skip;
const CLI = ['--import', 'tsx', join(process.cwd(), 'src/cli/main.ts')];
const NAME = 'agt';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function vxnet(args: string[], options: { inside?: string } = {}): Run {
  const [command, argv] = options.inside
    ? ['ip', ['netns', 'exec', options.inside, process.execPath, ...CLI, ...args]]
    : [process.execPath, [...CLI, ...args]];
  const run = spawnSync(command, argv as string[], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface LiveAgent {
  child: ChildProcess;
  /** Resolves with the first JSON log line (after `from`) matching `match`. */
  line: (match: (entry: any) => boolean, from?: number) => Promise<any>;
  lines: () => any[];
  output: () => string;
  done: Promise<Run>;
}

/** `vxnet agent` in the background with --log-format json, its log lines parsed. */
function agent(args: string[], options: { inside?: string } = {}): LiveAgent {
  const all = [...args, '--log-format', 'json'];
  const [command, argv] = options.inside
    ? ['ip', ['netns', 'exec', options.inside, process.execPath, ...CLI, ...all]]
    : [process.execPath, [...CLI, ...all]];
  const child = spawn(command, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', (d) => {
    stdout += d;
    wake();
  });
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) =>
    child.on('exit', (code) => {
      wake();
      resolve({ code, stdout, stderr });
    }),
  );
  const lines = (): any[] =>
    stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
  const line = async (match: (entry: any) => boolean, from = 0): Promise<any> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = lines().slice(from).find(match);
      if (found) return found;
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(
          `the agent exited (${child.exitCode ?? child.signalCode}) before the line expected:\n${stdout}${stderr}`,
        );
      if (Date.now() > deadline) throw new Error(`no such line within 15 s:\n${stdout}${stderr}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 500);
      });
    }
  };
  return { child, line, lines, output: () => stdout + stderr, done };
}

function specFile(dir: string, host: LabHost, extra: Record<string, unknown> = {}): string {
  const file = join(dir, `host${host.index}.yaml`);
  writeFileSync(
    file,
    toYaml({
      name: NAME,
      vni: 77,
      underlay: { device: 'eth0', address: host.address },
      peers: ['192.168.100.1', '192.168.100.2'],
      subnet: '10.40.0.0/24',
      gateway: '10.40.0.1',
      vxlan: 'vx0',
      bridge: 'br0',
      firewall: true,
      ...extra,
    }),
  );
  return file;
}

function link(ns: string, name: string): any | undefined {
  const run = spawnSync('ip', ['-n', ns, '-j', '-d', 'link', 'show', name], { encoding: 'utf8' });
  return run.status === 0 ? JSON.parse(run.stdout)[0] : undefined;
}

function floods(ns: string): string[] {
  return (JSON.parse(sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vx0']) || '[]') as any[])
    .filter((e) => e.mac === '00:00:00:00:00:00')
    .map((e) => e.dst)
    .sort();
}

function tables(ns: string): string[] {
  return (JSON.parse(sh('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'tables'])).nftables as any[])
    .filter((o) => o.table)
    .map((o) => `${o.table.family} ${o.table.name}`);
}

/** Two hosts on the overlay, host 2 applied once; a container on each, attached to its bridge by hand (ip). */
function containers(lab: Lab): { c1: string; c2: string } {
  const c1 = lab.addContainer(lab.host(1), 'c1', { address: '10.40.0.11/24' });
  const c2 = lab.addContainer(lab.host(2), 'c2', { address: '10.40.0.12/24' });
  sh('ip', ['-n', lab.host(1).ns, 'link', 'set', c1.hostDev, 'master', 'br0']);
  sh('ip', ['-n', lab.host(2).ns, 'link', 'set', c2.hostDev, 'master', 'br0']);
  return { c1: c1.ns, c2: c2.ns };
}

function exitOf(live: LiveAgent): Promise<Run> {
  return live.done;
}

it('repairs vx0 deleted, vx0 off its bridge, a flood entry deleted and the nftables table deleted; one agent per network; status shows it; SIGTERM leaves the network', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-agent-'));
  const lab = Lab.create({ hosts: 2 });
  let live: LiveAgent | undefined;
  try {
    const [h1, h2] = [lab.host(1), lab.host(2)];
    const applied = vxnet(['apply', specFile(dir, h2), '--namespace', h2.ns]);
    assert.is(applied.code, 0, applied.stderr);
    // The default resync period (30 s) is longer than the test: every repair here answers a kernel event.
    live = agent(['agent', specFile(dir, h1), '--namespace', h1.ns]);
    const started = await live.line((e) => e.event === 'started');
    assert.is(started.pid, live.child.pid, 'the agent runs in the process started');
    assert.ok(started.watching.includes('nftables'), `nf_tables events are watched: ${started.watching}`);
    assert.ok(live.lines().filter((e) => e.event === 'change').length >= 4, 'one line per change of the first apply');
    const { c1, c2 } = containers(lab);
    assert.ok(await lab.pingEventually(c1, '10.40.0.12', 8), 'c1 → c2 before any breakage');

    const figures: Record<string, number> = {};
    const triggers: Record<string, string> = {};
    const breakages: [string, () => void, () => void][] = [
      [
        'ip link del vx0',
        () => sh('ip', ['-n', h1.ns, 'link', 'del', 'vx0']),
        () => {
          assert.is(link(h1.ns, 'vx0')?.linkinfo?.info_data?.id, 77);
          assert.is(link(h1.ns, 'vx0')?.master, 'br0');
          assert.equal(floods(h1.ns), ['192.168.100.2']);
        },
      ],
      [
        'ip link set vx0 nomaster',
        () => sh('ip', ['-n', h1.ns, 'link', 'set', 'vx0', 'nomaster']),
        () => assert.is(link(h1.ns, 'vx0')?.master, 'br0'),
      ],
      [
        'bridge fdb del (flood entry)',
        () => sh('bridge', ['-n', h1.ns, 'fdb', 'del', '00:00:00:00:00:00', 'dev', 'vx0', 'dst', '192.168.100.2']),
        () => assert.equal(floods(h1.ns), ['192.168.100.2']),
      ],
      [
        'nft delete table',
        () => sh('ip', ['netns', 'exec', h1.ns, 'nft', 'delete', 'table', 'ip', `vxnet-${NAME}`]),
        () => assert.ok(tables(h1.ns).includes(`ip vxnet-${NAME}`), `${tables(h1.ns)}`),
      ],
    ];
    for (const [what, breakIt, check] of breakages) {
      // Let the agent settle (the re-apply that follows its own writes) so each repair answers one breakage.
      await new Promise((resolve) => setTimeout(resolve, 600));
      const from = live.lines().length;
      breakIt();
      const repair = await live.line((e) => e.event === 'repair', from);
      check();
      assert.ok(repair.changes.length > 0 && typeof repair.ms === 'number', JSON.stringify(repair));
      figures[what] = repair.ms;
      triggers[what] = repair.events.join(' | ');
      assert.ok(await lab.pingEventually(c1, '10.40.0.12', 8), `c1 → c2 after ${what} was repaired`);
      assert.ok(await lab.pingEventually(c2, '10.40.0.11', 8), `c2 → c1 after ${what} was repaired`);
    }
    console.log(
      `agent repair times (event → repaired, ms): ${JSON.stringify(figures)}; triggers: ${JSON.stringify(triggers)}`,
    );
    // Repaired from the kernel's events (the resync timer would say "resync (timer)"). A device's deletion sends
    // its events over tens of milliseconds (the flood entries go first, the link last): the repair may start on
    // the first of them and leave the rest to the next re-apply, which finds nothing.
    for (const events of Object.values(triggers)) assert.not.match(events, /resync/);
    assert.match(triggers['ip link del vx0']!, /link vx0 deleted|flood entry 192\.168\.100\.2 on vx0 deleted/);
    assert.match(triggers['ip link set vx0 nomaster']!, /link vx0 changed/);
    assert.match(triggers['bridge fdb del (flood entry)']!, /flood entry 192\.168\.100\.2 on vx0 deleted/);
    assert.match(triggers['nft delete table']!, /nftables \w+ deleted in table vxnet-agt/);

    // Writers take turns: while another process holds the network's write lock, the repair waits for it.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const held = await NetworkLock.acquire(NAME, h1.ns, `${namespaceStateDir(h1.ns)}/${NAME}/lock`, { timeoutMs: 0 });
    const fromHeld = live.lines().length;
    sh('ip', ['-n', h1.ns, 'link', 'set', 'vx0', 'nomaster']);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.is(
      live
        .lines()
        .slice(fromHeld)
        .filter((e) => e.event === 'repair').length,
      0,
      'no repair while the lock is held',
    );
    assert.is(link(h1.ns, 'vx0')?.master, undefined);
    held.release();
    const waited = await live.line((e) => e.event === 'repair', fromHeld);
    assert.ok(waited.ms >= 1000, `the repair waited for the lock: ${waited.ms} ms`);
    assert.is(link(h1.ns, 'vx0')?.master, 'br0');

    // status shows the agent, in text and JSON, whichever way it reaches the namespace.
    const text = vxnet(['status', NAME, '--namespace', h1.ns]);
    assert.match(
      text.stdout,
      new RegExp(`agent: running \\(pid ${live.child.pid}, since [^)]+\\), last repair at \\S+ after `),
    );
    const inside = vxnet(['status', NAME, '--json'], { inside: h1.ns });
    const json = JSON.parse(inside.stdout);
    assert.is(json.agent.running, true);
    assert.is(json.agent.pid, live.child.pid);
    assert.ok(json.agent.repairs.length >= 1);

    // A second agent for the network in that namespace is refused at once, naming the first; so is one started inside.
    for (const second of [
      vxnet(['agent', specFile(dir, h1), '--namespace', h1.ns]),
      vxnet(['agent', specFile(dir, h1)], { inside: h1.ns }),
    ]) {
      assert.is(second.code, 1, second.stdout + second.stderr);
      assert.match(
        second.stderr,
        new RegExp(`an agent for network ${NAME} already runs in .*pid ${live.child.pid} \\(vxnet agent`),
      );
    }
    assert.is(live.child.exitCode, null, 'the first agent still runs');

    // destroy and peers go through the agent, not around it: refused, naming it, nothing changed.
    const destroy = vxnet(['destroy', NAME, '--namespace', h1.ns]);
    assert.is(destroy.code, 1, destroy.stdout);
    assert.match(
      destroy.stderr,
      new RegExp(`cannot destroy it: network ${NAME} is kept by its agent \\(pid ${live.child.pid}, `),
    );
    const peer = vxnet(['peers', 'add', NAME, '192.168.100.9', '--namespace', h1.ns]);
    assert.is(peer.code, 1, peer.stdout);
    assert.match(peer.stderr, /send the agent SIGHUP/);
    assert.ok(link(h1.ns, 'vx0') && link(h1.ns, 'br0'));
    assert.equal(floods(h1.ns), ['192.168.100.2']);

    // SIGTERM: exit 0, the network stays and keeps carrying traffic; status no longer shows an agent.
    live.child.kill('SIGTERM');
    const end = await exitOf(live);
    live = undefined;
    assert.is(end.code, 0, end.stdout + end.stderr);
    assert.ok(link(h1.ns, 'vx0') && link(h1.ns, 'br0'), 'the devices stay');
    assert.ok(tables(h1.ns).includes(`ip vxnet-${NAME}`), 'the table stays');
    assert.ok(await lab.pingEventually(c1, '10.40.0.12', 8), 'c1 → c2 with the agent gone');
    assert.not.match(vxnet(['status', NAME, '--namespace', h1.ns]).stdout, /agent:/);
  } finally {
    live?.child.kill('SIGKILL');
    if (live) await live.done;
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('ip netns exec NS vxnet agent works as --namespace does; --destroy-on-exit leaves no residue', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-agent-'));
  const lab = Lab.create({ hosts: 2 });
  let live: LiveAgent | undefined;
  try {
    const h1 = lab.host(1);
    const before = hostResidue(h1.ns);
    // Masquerade: the agent turns ip_forward on (and destroy puts it back). A resync every second.
    live = agent(['agent', specFile(dir, h1, { masquerade: {} }), '--destroy-on-exit', '--resync', '1'], {
      inside: h1.ns,
    });
    await live.line((e) => e.event === 'started');
    assert.ok(link(h1.ns, 'vx0') && link(h1.ns, 'br0'));
    // Seen from outside by --namespace: the same state, the same agent.
    assert.match(vxnet(['status', NAME, '--namespace', h1.ns]).stdout, /agent: running \(pid \d+/);
    // A refused second agent never destroys, even with --destroy-on-exit: the network is the first one's.
    const second = vxnet(['agent', specFile(dir, h1), '--namespace', h1.ns, '--destroy-on-exit']);
    assert.is(second.code, 1);
    assert.match(second.stderr, /already runs/);
    assert.ok(link(h1.ns, 'vx0') && link(h1.ns, 'br0'), 'the network is still there');
    assert.match(
      vxnet(['status', NAME, '--namespace', h1.ns]).stdout,
      /agent: running \(pid \d+/,
      "and so is the first agent's record",
    );

    // SIGHUP re-reads the spec and applies the difference: a third peer.
    const file = specFile(dir, h1);
    specFile(dir, h1, { masquerade: {}, peers: ['192.168.100.1', '192.168.100.2', '192.168.100.3'] });
    const beforeHup = live.lines().length;
    live.child.kill('SIGHUP');
    const reloaded = await live.line((e) => e.event === 'reload', beforeHup);
    assert.ok(reloaded.changes.length >= 1, JSON.stringify(reloaded));
    assert.ok(
      live
        .lines()
        .slice(beforeHup)
        .some((e) => e.event === 'change' && e.cause === 'reload'),
      'a line per change of the reload',
    );
    assert.equal(floods(h1.ns), ['192.168.100.2', '192.168.100.3']);
    // A spec of another network, or one that does not parse, is refused with a line; the running spec stays.
    const good = readFileSync(file, 'utf8');
    for (const [text, said] of [
      [
        good.replace(`name: ${NAME}`, 'name: other'),
        /the agent runs network agt; a spec of other needs an agent of its own/,
      ],
      ['vni: [', /reload of .* failed/],
    ] as const) {
      writeFileSync(file, text);
      const beforeBad = live.lines().length;
      live.child.kill('SIGHUP');
      const refused = await live.line((e) => e.event === 'reload', beforeBad);
      assert.is(refused.level, 'error');
      assert.match(refused.message, said);
    }
    writeFileSync(file, good);
    assert.equal(floods(h1.ns), ['192.168.100.2', '192.168.100.3']);
    const from = live.lines().length;
    sh('ip', ['-n', h1.ns, 'link', 'del', 'vx0']);
    await live.line((e) => e.event === 'repair', from);
    assert.is(link(h1.ns, 'vx0')?.master, 'br0');

    // A change no watched event reports (a sysctl write) is put back by the resync timer.
    await new Promise((resolve) => setTimeout(resolve, 600)); // the re-apply after its own writes is done
    const fromSysctl = live.lines().length;
    sh('ip', ['netns', 'exec', h1.ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
    const resync = await live.line((e) => e.event === 'repair', fromSysctl);
    assert.ok(resync.events.includes('resync (timer)'), JSON.stringify(resync));
    assert.match(resync.changes.join(), /net\.ipv4\.ip_forward/);
    assert.is(sh('ip', ['netns', 'exec', h1.ns, 'cat', '/proc/sys/net/ipv4/ip_forward']).trim(), '1');

    // Killed outright: the kernel frees its lock, status says it is gone, and a new agent
    // (this time with --namespace) starts at once and, nothing having changed, writes nothing.
    const killed = live.child.pid;
    live.child.kill('SIGKILL');
    await live.done;
    assert.match(
      vxnet(['status', NAME, '--namespace', h1.ns]).stdout,
      new RegExp(`agent: not running \\(pid ${killed} is gone`),
    );
    live = agent(['agent', file, '--namespace', h1.ns, '--destroy-on-exit']);
    const restarted = await live.line((e) => e.event === 'started');
    assert.equal(restarted.changes, [], 'a restart writes nothing when nothing changed');

    live.child.kill('SIGTERM');
    const end = await live.done;
    live = undefined;
    assert.is(end.code, 0, end.stdout + end.stderr);
    assert.match(end.stdout, /"event":"stopped".*network removed/);
    assert.equal(hostResidue(h1.ns), before, 'nothing of the network is left');
  } finally {
    live?.child.kill('SIGKILL');
    if (live) await live.done;
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
