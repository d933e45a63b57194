/**
 * A VXLAN device's MTU against its underlay (test/helpers/fake-host.ts as the
 * kernel, which clamps a new device's MTU and refuses a change above the
 * limit, as the vxlan driver does): an MTU the underlay cannot carry is
 * refused before any write; a write the kernel did not carry out as asked is
 * never reported as made; link errors name devices by name, not by index.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planPort } from '../../src/bridge/bridge.js';
import { MtuNotAppliedError } from '../../src/common/mtu.js';
import type { Change } from '../../src/common/plan.js';
import { NetlinkError, ValidationError } from '../../src/netlink/errors.js';
import { ensureVxlan, planVxlan } from '../../src/vxlan/device.js';
import type { VxlanSpec } from '../../src/vxlan/spec.js';
import { ethernet, FakeHost, LOOPBACK } from '../helpers/fake-host.js';

const ipv4Host = () =>
  new FakeHost({ links: [LOOPBACK, ethernet('eth0', { mtu: 1500, addresses: ['192.168.100.1/24'] })] });
const ipv6Host = () =>
  new FakeHost({ links: [LOOPBACK, ethernet('eth0', { mtu: 1500, addresses: ['fd00:100::1/64'] })] });
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

async function failure(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  assert.unreachable('expected a failure');
  throw new Error('unreachable');
}

/** Applies, collecting what was reported as done. */
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

test('mtu 1460 over a 1500-byte IPv4 underlay: a ValidationError on mtu naming the underlay, its MTU, the overhead and the maximum; nothing written', async () => {
  const host = ipv4Host();
  const rt = host.rtnetlink();
  const error = await failure(() => ensureVxlan(rt, v4(1460)));
  assert.instance(error, ValidationError);
  assert.is((error as ValidationError).field, 'mtu');
  assert.match(
    error.message,
    /invalid mtu: vx0 cannot carry more than 1450 over its underlay eth0: eth0's MTU 1500 - 50 bytes of VXLAN over IPv4/,
  );
  assert.is(host.writes, 0);
  assert.equal(
    host.snapshot().links.map((l) => l.ifname),
    ['lo', 'eth0'],
  );
  await ensureVxlan(rt, v4(1450));
  assert.is((await rt.links.get('vx0')).mtu, 1450);
});

test('over an IPv6 underlay the limit is the underlay MTU - 70: 1431 refused, 1430 accepted', async () => {
  const host = ipv6Host();
  const rt = host.rtnetlink();
  const error = await failure(() => planVxlan(rt, v6(1431)));
  assert.instance(error, ValidationError);
  assert.match(
    error.message,
    /cannot carry more than 1430 over its underlay eth0: eth0's MTU 1500 - 70 bytes of VXLAN over IPv6/,
  );
  assert.is(host.writes, 0);
  await ensureVxlan(rt, v6(1430));
  assert.is((await rt.links.get('vx0')).mtu, 1430);
  assert.is((await planVxlan(rt, v6())).length, 0, 'the default is that same limit');
});

test('a create the kernel clamps (the underlay shrank after the plan): MtuNotAppliedError naming the device, requested and applied MTU; not reported as made', async () => {
  const host = ipv4Host();
  const rt = host.rtnetlink();
  const changes = await planVxlan(rt, v4(1450));
  await rt.links.set('eth0', { mtu: 1400 });
  const { reported, error } = await applyReporting(changes);
  assert.instance(error, MtuNotAppliedError);
  const e = error as MtuNotAppliedError;
  assert.equal([e.device, e.requested, e.applied], ['vx0', 1450, 1350]);
  assert.match(
    e.message,
    /^vx0: asked for mtu 1450, the kernel set 1350 \(vx0 can carry no more than 1350 over its underlay eth0/,
  );
  assert.equal(reported, [], 'the create is not reported');
});

test('a change the kernel refuses names the device, not its index', async () => {
  const host = ipv4Host();
  const rt = host.rtnetlink();
  await ensureVxlan(rt, v4(1450));
  const changes = await planVxlan(rt, v4(1440));
  assert.equal(
    changes.map((c) => c.detail),
    ['mtu 1450 → 1440'],
  );
  await rt.links.set('eth0', { mtu: 1400 });
  const { reported, error } = await applyReporting(changes);
  assert.instance(error, NetlinkError);
  assert.is((error as NetlinkError).code, 'EINVAL');
  assert.is((error as NetlinkError).object, 'vx0');
  assert.match(error!.message, /^change link vx0 failed: EINVAL/);
  assert.match(error!.message, /more than vx0 can carry over its underlay eth0/);
  assert.equal(reported, []);
});

test('a delete (replace) and a port change that fail name the device, and send the same bytes as by index', async () => {
  const host = ipv4Host();
  const rt = host.rtnetlink();
  await ensureVxlan(rt, v4());
  const vx = await rt.links.get('vx0');
  const replace = await planVxlan(rt, { ...v4(), port: 8472 }, { replace: true });
  await rt.links.delete('vx0');
  const { error } = await applyReporting(replace);
  assert.instance(error, NetlinkError);
  assert.match(error!.message, /^delete link vx0 failed: ENODEV/);
  assert.not.match(error!.message, new RegExp(`link ${vx.ifindex}\\b`));

  await rt.links.create({ ifname: 'br0', kind: 'bridge' });
  await rt.links.create({ ifname: 'v0', kind: 'veth', peer: { ifname: 'v1' } });
  const port = await planPort(rt, 'br0', 'v0');
  host.failWrite({ errno: 'EBUSY' });
  const sent = host.datagrams.length;
  const failed = await applyReporting(port);
  assert.match(failed.error!.message, /^change link v0 failed: EBUSY/);
  // By index on the wire, as before: the request is the one `set(ifindex, …)` sends.
  const newlink = (from: number) =>
    host.datagrams.filter((d, i) => i >= from && d.bytes.readUInt16LE(4) === 16 /* RTM_NEWLINK */)[0]!.bytes;
  const request = newlink(sent);
  host.failWrite({ errno: 'EBUSY' });
  const again = host.datagrams.length;
  await rt.links.set((await rt.links.get('v0')).ifindex, { master: 'br0', up: true }).catch(() => undefined);
  const byIndex = newlink(again);
  assert.equal(
    request.subarray(16).toString('hex'),
    byIndex.subarray(16).toString('hex'),
    'same bytes after the header (seq and port differ)',
  );
});

test.run();
