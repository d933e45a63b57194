/**
 * LXC 5 containers on the overlay, with no vxnet code beyond the bridge (the
 * recipe in docs/containers.md): `lxc-create -t busybox`, the config's
 * `lxc.net.0.link` set to the overlay's bridge, started inside the lab
 * host's namespace. The busybox template's init runs udhcpc: each
 * container leases from the overlay's dnsmasq on host 1 (across VXLAN from
 * host 2) and the container on host 2 pings the one on host 1.
 *
 * Every lxc-* command runs under `ip netns exec HOST`: LXC looks the bridge
 * up in /sys/class/net, which shows the namespace of whoever mounted /sys
 * (ip netns exec remounts it; nsenter --net alone does not, and lxc-start
 * then says the bridge "doesn't exist").
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayHost } from '../../src/overlay/host.js';
import type { OverlaySpec } from '../../src/overlay/spec.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { commandExists, integrationReady } from '../helpers/netns.js';

const BUSYBOX = '/var/cache/vxnet/busybox-static/bin/busybox';
const ready = integrationReady(['ip', 'nsenter', 'dnsmasq']);
const missing = ready
  ? [
      ...['lxc-create', 'lxc-start', 'lxc-attach', 'lxc-stop', 'lxc-destroy'].filter((t) => !commandExists(t)),
      ...(existsSync(BUSYBOX) ? [] : [BUSYBOX]),
    ]
  : [];
if (missing.length) {
  const message = `the LXC tests need ${missing.join(', ')}: bash scripts/setup.sh --test`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`skipping: ${message}`);
}
const it = ready && missing.length === 0 ? test : test.skip;

function specFor(h: LabHost, dhcp: boolean): OverlaySpec {
  return {
    name: 'lxcnet',
    vni: 46,
    port: 4789,
    underlay: { device: 'eth0', address: h.address },
    group: '239.1.1.6',
    subnet: '10.46.0.0/24',
    gateway: `10.46.0.${h.index}`,
    vxlan: 'vx0',
    bridge: 'br0',
    ...(dhcp ? { dhcp: { ranges: [{ start: '10.46.0.100', end: '10.46.0.199' }], leaseTime: '1h' } } : {}),
  } as OverlaySpec;
}

it("two LXC busybox containers on two hosts lease from the overlay's dnsmasq and ping each other", async () => {
  const work = mkdtempSync(join(tmpdir(), 'vxnet-lxc-'));
  const lxcPath = join(work, 'containers');
  // The busybox template copies the `busybox` it finds on PATH into the rootfs: the static one.
  mkdirSync(join(work, 'bin'));
  symlinkSync(BUSYBOX, join(work, 'bin', 'busybox'));
  const env = { ...process.env, PATH: `${join(work, 'bin')}:${process.env.PATH}` };
  const lxc = (h: LabHost, tool: string, args: string[], check = true) => {
    const r = spawnSync('ip', ['netns', 'exec', h.ns, tool, '-P', lxcPath, ...args], { encoding: 'utf8', env });
    if (check && r.status !== 0)
      throw new Error(`${tool} ${args.join(' ')} in ${h.ns} failed (${r.status}):\n${r.stdout}${r.stderr}`);
    return r;
  };
  const lab = Lab.create({ hosts: 2 });
  const serving = await OverlayHost.open({ namespace: lab.host(1).ns });
  const made: { h: LabHost; name: string }[] = [];
  try {
    await serving.apply(specFor(lab.host(1), true));
    {
      await using second = await OverlayHost.open({ namespace: lab.host(2).ns });
      await second.apply(specFor(lab.host(2), false));
    }
    const addresses: string[] = [];
    for (const h of lab.hosts) {
      const name = `vxc-lxc${h.index}`;
      lxc(h, 'lxc-create', ['-n', name, '-t', 'busybox']);
      made.push({ h, name });
      const config = join(lxcPath, name, 'config');
      const text = readFileSync(config, 'utf8')
        .replace(/^lxc\.net\.0\.link = .*$/m, 'lxc.net.0.link = br0')
        .replace(/^lxc\.apparmor\.profile = .*$/m, 'lxc.apparmor.profile = unconfined')
        .replace(/^lxc\.apparmor\.allow_nesting = .*\n/m, '');
      writeFileSync(config, `${text}lxc.net.0.hwaddr = 02:46:00:00:00:0${h.index}\nlxc.net.0.mtu = 1450\n`);
      lxc(h, 'lxc-start', ['-n', name, '-d']);
    }
    for (const { h, name } of made) {
      let address = '';
      for (let i = 0; i < 100 && !address; i++) {
        const out = lxc(h, 'lxc-attach', ['-n', name, '--', 'ip', '-4', 'addr', 'show', 'eth0'], false).stdout;
        address = /inet (10\.46\.0\.\d+)\//.exec(out)?.[1] ?? '';
        if (!address) await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(address, /^10\.46\.0\.1\d\d$/, `${name} leased an address from dnsmasq's range`);
      addresses.push(address);
    }
    const [first, second] = made as [{ h: LabHost; name: string }, { h: LabHost; name: string }];
    const mtu = lxc(second.h, 'lxc-attach', ['-n', second.name, '--', 'ip', 'link', 'show', 'eth0']).stdout;
    assert.match(mtu, 'mtu 1450');
    const pinged = lxc(
      second.h,
      'lxc-attach',
      ['-n', second.name, '--', 'ping', '-c', '2', '-W', '2', addresses[0]!],
      false,
    );
    assert.is(
      pinged.status,
      0,
      `the container on host 2 pings the one on host 1 across VXLAN:\n${pinged.stdout}${pinged.stderr}`,
    );
    const back = lxc(
      first.h,
      'lxc-attach',
      ['-n', first.name, '--', 'ping', '-c', '1', '-W', '2', addresses[1]!],
      false,
    );
    assert.is(back.status, 0, 'and back');
  } finally {
    for (const { h, name } of made.reverse()) {
      lxc(h, 'lxc-stop', ['-n', name, '-k'], false);
      lxc(h, 'lxc-destroy', ['-n', name], false);
    }
    await serving.destroy('lxcnet').catch(() => undefined);
    await serving.close();
    lab.destroy();
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
