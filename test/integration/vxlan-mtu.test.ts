/**
 * A VXLAN device's MTU against its underlay, on the real kernel (`ip -j link
 * show` as the oracle). The kernel clamps a new device's MTU to what the
 * underlay carries without a word, and refuses a change above it with a bare
 * EINVAL: vxnet refuses such an MTU before writing, reads the device back
 * after a write, and names devices by name in errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MtuNotAppliedError } from '../../src/common/mtu.js';
import type { Change } from '../../src/common/plan.js';
import { NetlinkError, ValidationError } from '../../src/netlink/errors.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import { ensureVxlan, planVxlan, type VxlanSpec } from '../../src/vxlan/index.js';
import { Lab } from '../helpers/lab.js';
import { integrationReady, ipIn, ipJson } from '../helpers/netns.js';
import { CLI } from '../helpers/cli.js';

const it = integrationReady(['ip', 'nsenter', 'nft']) ? test : test.skip;

const v4 = (mtu?: number): VxlanSpec => ({
  name: 'vx0',
  vni: 42,
  underlay: 'eth0',
  local: '192.168.100.1',
  peers: ['192.168.100.2'],
  owner: 'demo',
  ...(mtu ? { mtu } : {}),
});
const v6 = (mtu?: number): VxlanSpec => ({
  name: 'vx0',
  vni: 42,
  underlay: 'eth0',
  local: 'fd00:100::1',
  peers: ['fd00:100::2'],
  owner: 'demo',
  ...(mtu ? { mtu } : {}),
});
const mtus = (ns: string): Record<string, number> =>
  Object.fromEntries(ipJson<any[]>(ns, 'link', 'show').map((l) => [l.ifname, l.mtu]));

async function withHost(family: 4 | 6, body: (ns: string, rt: Rtnetlink) => Promise<void>): Promise<void> {
  const lab = Lab.create({ hosts: 1, family });
  const rt = await Rtnetlink.open({ namespace: lab.host(1).ns });
  try {
    await body(lab.host(1).ns, rt);
  } finally {
    rt.close();
    lab.destroy();
  }
}

async function failure(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  assert.unreachable('expected a failure');
  throw new Error('unreachable');
}

async function applyReporting(changes: Change[]): Promise<{ reported: Change[]; error?: Error }> {
  const reported: Change[] = [];
  try {
    for (const change of changes) {
      await change.apply();
      reported.push(change);
    }
  } catch (error) {
    return { reported, error: error as Error };
  }
  return { reported };
}

it('mtu 1460 over a 1500-byte IPv4 underlay: refused before anything is created (library and `vxnet apply`); 1450 accepted', async () => {
  await withHost(4, async (ns, rt) => {
    const before = mtus(ns);
    const error = await failure(() => ensureVxlan(rt, v4(1460)));
    assert.instance(error, ValidationError);
    assert.is((error as ValidationError).field, 'mtu');
    assert.match(
      error.message,
      /vx0 cannot carry more than 1450 over its underlay eth0: eth0's MTU 1500 - 50 bytes of VXLAN over IPv4/,
    );
    assert.equal(mtus(ns), before);

    const dir = mkdtempSync(join(tmpdir(), 'vxnet-mtu-'));
    try {
      const file = join(dir, 'demo.json');
      writeFileSync(
        file,
        JSON.stringify({
          name: 'demo',
          vni: 42,
          port: 4789,
          underlay: { device: 'eth0', address: '192.168.100.1' },
          peers: ['192.168.100.2'],
          subnet: '10.10.0.0/24',
          gateway: '10.10.0.1',
          vxlan: 'vx0',
          bridge: 'br0',
          mtu: 1460,
        }),
      );
      const run = spawnSync(process.execPath, [...CLI, 'apply', file, '--namespace', ns], { encoding: 'utf8' });
      assert.is(run.status, 1, run.stderr);
      assert.match(run.stderr, /invalid mtu: vx0 cannot carry more than 1450 over its underlay eth0/);
      assert.not.match(run.stdout, /✓/, 'nothing reported as created');
      assert.equal(mtus(ns), before, 'neither vx0 nor br0 was created');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    await ensureVxlan(rt, v4(1450));
    assert.is(mtus(ns).vx0, 1450);
  });
});

it('over an IPv6 underlay the limit is 1500 - 70 = 1430: 1431 refused with nothing created, 1430 accepted', async () => {
  await withHost(6, async (ns, rt) => {
    const before = mtus(ns);
    const error = await failure(() => ensureVxlan(rt, v6(1431)));
    assert.instance(error, ValidationError);
    assert.match(
      error.message,
      /cannot carry more than 1430 over its underlay eth0: eth0's MTU 1500 - 70 bytes of VXLAN over IPv6/,
    );
    assert.equal(mtus(ns), before);
    await ensureVxlan(rt, v6(1430));
    assert.is(mtus(ns).vx0, 1430);
    assert.equal(await planVxlan(rt, v6(1430)), []);
  });
});

it('an MTU change the kernel refuses (the underlay shrank after the plan) names the device, not its index', async () => {
  await withHost(4, async (ns, rt) => {
    await ensureVxlan(rt, v4(1450));
    const changes = await planVxlan(rt, v4(1440));
    assert.equal(
      changes.map((c) => c.detail),
      ['mtu 1450 → 1440'],
    );
    ipIn(ns, 'link', 'set', 'eth0', 'mtu', '1400');
    const { reported, error } = await applyReporting(changes);
    assert.instance(error, NetlinkError);
    assert.is((error as NetlinkError).code, 'EINVAL');
    assert.match(error!.message, /^change link vx0 failed: EINVAL/);
    assert.match(error!.message, /1440 is more than vx0 can carry over its underlay eth0: 1400/);
    assert.equal(reported, []);
    assert.is(mtus(ns).vx0, 1450);
  });
});

it('a create the kernel clamps (the underlay shrank after the plan) fails loudly with the requested and applied MTU, and is not reported', async () => {
  await withHost(4, async (ns, rt) => {
    const changes = await planVxlan(rt, v4(1450));
    ipIn(ns, 'link', 'set', 'eth0', 'mtu', '1400');
    const { reported, error } = await applyReporting(changes);
    assert.instance(error, MtuNotAppliedError);
    const e = error as MtuNotAppliedError;
    assert.equal([e.device, e.requested, e.applied], ['vx0', 1450, 1350]);
    assert.is(mtus(ns).vx0, 1350, 'what the kernel did, as ip sees it');
    assert.equal(reported, []);
  });
});

test.run();
