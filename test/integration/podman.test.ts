/**
 * podman 4.3 with its CNI backend runs containers on the overlay through
 * vxnet-cni, on two lab hosts: a CONTAINERS_CONF with network_backend
 * "cni", cni_plugin_dirs holding `vxnet` and the reference plugins, a
 * conflist naming the overlay; private --root/--runroot; runc; an image
 * made offline with `podman import` of a busybox-static rootfs. Containers
 * get their addresses from host-local (and from the overlay's dnsmasq
 * through the reference dhcp IPAM plugin and its daemon), ping each other
 * across VXLAN, and `podman rm` leaves no veth and no reservation.
 *
 * podman runs under `nsenter --net=HOST`, not `ip netns exec HOST`: the
 * latter remounts /sys for the namespace, which hides /sys/fs/cgroup, and
 * runc then fails ("no cgroup mount found in mountinfo").
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  copyFileSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayHost } from '../../src/overlay/host.js';
import type { OverlaySpec } from '../../src/overlay/spec.js';
import { buildPluginDir, type PluginDir } from '../helpers/cni.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { commandExists, integrationReady, sh } from '../helpers/netns.js';

const BUSYBOX = '/var/cache/vxnet/busybox-static/bin/busybox';
const REFERENCE = '/usr/lib/cni';

function missingTools(): string[] {
  const missing: string[] = [];
  for (const tool of ['podman', 'runc', 'nsenter']) if (!commandExists(tool)) missing.push(tool);
  if (!existsSync(`${REFERENCE}/host-local`)) missing.push(`${REFERENCE}/host-local (containernetworking-plugins)`);
  if (!existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (busybox-static, unpacked by scripts/setup.sh --test)`);
  return missing;
}

const ready = integrationReady(['ip', 'nsenter', 'ping', 'dnsmasq']);
const missing = ready ? missingTools() : [];
if (missing.length) {
  const message = `the podman tests need ${missing.join(', ')}: bash scripts/setup.sh --test`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`skipping: ${message}`);
}
const it = ready && missing.length === 0 ? test : test.skip;

const IMAGE = 'localhost/vxnet-busybox';
const RUN_FLAGS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

let lab: Lab;
let plugin: PluginDir;
let work: string;
let serving: OverlayHost | undefined;
const daemons: ChildProcess[] = [];

function specFor(h: LabHost, dhcp: boolean): OverlaySpec {
  return {
    name: 'pmnet',
    vni: 45,
    port: 4789,
    underlay: { device: 'eth0', address: h.address },
    group: '239.1.1.5',
    subnet: '10.45.0.0/24',
    gateway: `10.45.0.${h.index}`,
    vxlan: 'vx0',
    bridge: 'br0',
    ...(dhcp ? { dhcp: { ranges: [{ start: '10.45.0.100', end: '10.45.0.199' }], leaseTime: '1h' } } : {}),
  } as OverlaySpec;
}

/** One podman "installation" per lab host: its own config, storage, CNI configs and IPAM state. */
class Podman {
  readonly dir: string;
  constructor(readonly host: LabHost) {
    this.dir = join(work, `h${host.index}`);
    mkdirSync(join(this.dir, 'net.d'), { recursive: true });
    writeFileSync(
      join(this.dir, 'containers.conf'),
      [
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = ["${plugin.dir}", "${REFERENCE}"]`,
        `network_config_dir = "${join(this.dir, 'net.d')}"`,
        '[engine]',
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        '',
      ].join('\n'),
    );
  }

  conflist(name: string, ipam: Record<string, unknown>): void {
    writeFileSync(
      join(this.dir, 'net.d', `${name}.conflist`),
      JSON.stringify({ cniVersion: '1.0.0', name, plugins: [{ type: 'vxnet', network: 'pmnet', ipam }] }, null, 2),
    );
  }

  run(args: string[], options: { check?: boolean } = {}): { code: number | null; out: string } {
    const r = spawnSync(
      'nsenter',
      [
        `--net=/run/netns/${this.host.ns}`,
        'podman',
        '--root',
        join(this.dir, 'root'),
        '--runroot',
        join(this.dir, 'runroot'),
        '--storage-driver',
        'vfs',
        '--tmpdir',
        join(this.dir, 'tmp'),
        ...args,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, CONTAINERS_CONF: join(this.dir, 'containers.conf') },
      },
    );
    if (options.check !== false && r.status !== 0)
      throw new Error(`podman ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
    return { code: r.status, out: r.stdout + r.stderr };
  }

  reset(): void {
    this.run(['rm', '-a', '-f', '-t', '0'], { check: false });
    this.run(['system', 'reset', '-f'], { check: false });
  }
}

let podmans: Podman[] = [];

/** A busybox rootfs (busybox-static and relative links to each applet), as a tar for podman import. */
function rootfsTar(): string {
  const root = join(work, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  for (const applet of sh(BUSYBOX, ['--list']).trim().split('\n'))
    if (applet !== 'busybox') symlinkSync('busybox', join(root, 'bin', applet));
  const tar = join(work, 'rootfs.tar');
  sh('tar', ['-C', root, '-cf', tar, '.']);
  return tar;
}

function vethsOn(h: LabHost): string[] {
  return JSON.parse(sh('ip', ['-n', h.ns, '-j', 'link', 'show']))
    .map((l: any) => l.ifname)
    .filter((n: string) => n.startsWith('vxc'));
}

function reservations(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d/.test(f)) : [];
}

const containerIp = (p: Podman, name: string): string =>
  /inet (\d+\.\d+\.\d+\.\d+)\/\d+/.exec(p.run(['exec', name, 'ip', '-4', 'addr', 'show', 'eth0']).out)?.[1] ?? '';

test.before(async () => {
  if (!ready || missing.length) return;
  try {
    await setUp();
  } catch (error) {
    // uvu reports a failing hook only as "0 / N": say why.
    console.error('podman tests: set-up failed:', error);
    throw error;
  }
});

async function setUp(): Promise<void> {
  work = mkdtempSync(join(tmpdir(), 'vxnet-podman-'));
  lab = Lab.create({ hosts: 2 });
  plugin = buildPluginDir();
  serving = await OverlayHost.open({ namespace: lab.host(1).ns });
  await serving.apply(specFor(lab.host(1), true));
  await using second = await OverlayHost.open({ namespace: lab.host(2).ns });
  await second.apply(specFor(lab.host(2), false));
  const tar = rootfsTar();
  podmans = lab.hosts.map((h) => new Podman(h));
  for (const p of podmans) p.run(['import', tar, IMAGE]);
}

test.after(async () => {
  for (const p of podmans) p.reset();
  for (const d of daemons) d.kill('SIGTERM');
  await serving?.destroy('pmnet').catch(() => undefined);
  await serving?.close();
  lab?.destroy();
  plugin?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

it('host-local: containers on two hosts get addresses, ping each other across the overlay; podman rm leaves no veth, no reservation', () => {
  const [p1, p2] = podmans as [Podman, Podman];
  p1.conflist('pm-local', {
    type: 'host-local',
    ranges: [[{ subnet: '10.45.0.0/24', rangeStart: '10.45.0.20', rangeEnd: '10.45.0.39', gateway: '10.45.0.1' }]],
    dataDir: join(work, 'ipam1'),
  });
  p2.conflist('pm-local', {
    type: 'host-local',
    ranges: [[{ subnet: '10.45.0.0/24', rangeStart: '10.45.0.40', rangeEnd: '10.45.0.59', gateway: '10.45.0.2' }]],
    dataDir: join(work, 'ipam2'),
  });
  p1.run(['run', '-d', '--name', 'web1', '--network', 'pm-local', ...RUN_FLAGS, IMAGE, 'sleep', '600']);
  p2.run(['run', '-d', '--name', 'web2', '--network', 'pm-local', ...RUN_FLAGS, IMAGE, 'sleep', '600']);
  const ip1 = containerIp(p1, 'web1');
  const ip2 = containerIp(p2, 'web2');
  assert.is(ip1, '10.45.0.20');
  assert.is(ip2, '10.45.0.40');
  assert.match(p1.run(['exec', 'web1', 'ip', 'link', 'show', 'eth0']).out, 'mtu 1450');
  assert.match(p2.run(['exec', 'web2', 'ip', 'route']).out, 'default via 10.45.0.2');
  assert.is(
    p2.run(['exec', 'web2', 'ping', '-c', '2', '-W', '2', ip1], { check: false }).code,
    0,
    'web2 (host 2) pings web1 (host 1) across VXLAN',
  );
  assert.is(p1.run(['exec', 'web1', 'ping', '-c', '2', '-W', '2', ip2], { check: false }).code, 0, 'and back');
  assert.is(vethsOn(lab.host(1)).length, 1);
  assert.equal(reservations(join(work, 'ipam1', 'pm-local')), ['10.45.0.20']);

  p1.run(['rm', '-f', '-t', '0', 'web1']);
  p2.run(['rm', '-f', '-t', '0', 'web2']);
  assert.equal(vethsOn(lab.host(1)), [], 'no veth left on host 1');
  assert.equal(vethsOn(lab.host(2)), [], 'no veth left on host 2');
  assert.equal(reservations(join(work, 'ipam1', 'pm-local')), [], 'no reservation left on host 1');
  assert.equal(reservations(join(work, 'ipam2', 'pm-local')), [], 'no reservation left on host 2');
});

it("dhcp: a container on host 2 leases from the overlay's dnsmasq on host 1 (reference dhcp IPAM plugin and its daemon), reaches host 1; rm leaves no veth", async () => {
  const p2 = podmans[1]!;
  const socket = join(work, 'dhcp.sock');
  const daemon = spawn(
    'nsenter',
    [`--net=/run/netns/${lab.host(2).ns}`, `${REFERENCE}/dhcp`, 'daemon', '-socketpath', socket, '-timeout', '5s'],
    { stdio: 'ignore' },
  );
  daemons.push(daemon);
  for (let i = 0; i < 50 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(socket), 'the dhcp daemon listens');
  p2.conflist('pm-dhcp', { type: 'dhcp', daemonSocketPath: socket });
  p2.run(['run', '-d', '--name', 'leased', '--network', 'pm-dhcp', ...RUN_FLAGS, IMAGE, 'sleep', '600']);
  const ip = containerIp(p2, 'leased');
  assert.match(ip, /^10\.45\.0\.1\d\d$/, `an address from dnsmasq's range (${ip})`);
  assert.is(
    p2.run(['exec', 'leased', 'ping', '-c', '2', '-W', '2', '10.45.0.1'], { check: false }).code,
    0,
    "reaches host 1's gateway across VXLAN",
  );
  p2.run(['rm', '-f', '-t', '0', 'leased']);
  assert.equal(vethsOn(lab.host(2)), []);
});

test.run();
