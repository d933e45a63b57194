/**
 * What a replace may delete (test/helpers/fake-host.ts as the kernel): only a
 * VXLAN device that is this network's, or one without any vxnet mark whose
 * differences the plan lists; never a device of another kind, never one
 * marked by another network. The refusal comes at plan time, before any
 * write, and never suggests a replace; a recreated device keeps the
 * ownership of the one it replaces. Destroy removes the links whose alias is
 * the network's mark (OverlayHost.destroy's rule), so `marked()` is what a
 * destroy of the network would delete.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planBridge } from '../../src/bridge/bridge.js';
import { ConflictError, LIBRARY_REPLACE } from '../../src/common/conflict.js';
import { applyChanges } from '../../src/common/plan.js';
import type { Rtnetlink } from '../../src/rtnetlink/client.js';
import { ensureVxlan, planVxlan } from '../../src/vxlan/device.js';
import type { VxlanSpec } from '../../src/vxlan/spec.js';
import { ethernet, FakeHost, LOOPBACK } from '../helpers/fake-host.js';

const newHost = () =>
  new FakeHost({ links: [LOOPBACK, ethernet('eth0', { mtu: 1500, addresses: ['192.168.100.1/24'] })] });
const spec = (name: string, extra: Partial<VxlanSpec> = {}): VxlanSpec => ({
  name,
  vni: 42,
  underlay: 'eth0',
  local: '192.168.100.1',
  peers: ['192.168.100.2'],
  port: 4789,
  owner: 'demo',
  ...extra,
});
/** The links a destroy of `network` removes: those carrying its mark. */
const marked = (host: FakeHost, network = 'demo') =>
  host
    .snapshot()
    .links.filter((l) => l.ifalias === `vxnet:${network}`)
    .map((l) => l.ifname);
const link = (host: FakeHost, name: string) => host.snapshot().links.find((l) => l.ifname === name);

async function refusal(run: () => Promise<unknown>): Promise<ConflictError> {
  try {
    await run();
  } catch (error) {
    assert.instance(error, ConflictError);
    return error as ConflictError;
  }
  assert.unreachable('expected a ConflictError');
  throw new Error('unreachable');
}

async function vxlanNamed(rt: Rtnetlink, name: string, vni: number, ifalias?: string, port = 4789): Promise<void> {
  await rt.links.create({
    ifname: name,
    kind: 'vxlan',
    vxlan: { id: vni, port, link: 'eth0', local: '192.168.100.1', learning: 1 },
    ...(ifalias ? { ifalias } : {}),
    up: true,
  });
}

test('a veth named like the VXLAN device: refused at plan time with or without replace, never deleted, never marked', async () => {
  const host = newHost();
  const rt = host.rtnetlink();
  await rt.links.create({ ifname: 'keep0', kind: 'veth', peer: { ifname: 'keep1' } });
  const before = host.snapshot();
  const writes = host.writes;
  for (const options of [{ replace: true }, {}]) {
    for (const s of [spec('keep0'), spec('keep0', { owner: undefined })]) {
      const error = await refusal(() => planVxlan(rt, s, options));
      assert.equal(error.differences, [{ field: 'kind', actual: 'veth', wanted: 'vxlan' }]);
      assert.is(error.replaceable, false);
      assert.not.match(error.message, /replace/);
      assert.not.match(error.messageFor('--replace'), /--replace/);
      assert.match(
        error.message,
        /link keep0 exists but differs from the spec: kind is veth, wanted vxlan; pick another name/,
      );
    }
  }
  await refusal(() => ensureVxlan(rt, spec('keep0'), { replace: true }));
  assert.is(host.writes, writes, 'nothing was written');
  assert.equal(host.snapshot(), before, 'the veth pair is as it was');
  assert.equal(marked(host), [], 'a destroy of demo would delete nothing');
});

test('an unmarked VXLAN device with another VNI: replace is offered, the plan lists the differences, the new device stays unmarked', async () => {
  const host = newHost();
  const rt = host.rtnetlink();
  await vxlanNamed(rt, 'vx0', 43);
  const writes = host.writes;
  const refused = await refusal(() => planVxlan(rt, spec('vx0')));
  assert.is(refused.replaceable, true);
  // The refusal says whose the device is not: a replace deletes a device someone else may still use.
  assert.match(
    refused.message,
    /vni is 43, wanted 42; it is not marked as vxnet's \(made by hand or another tool, which may still use it\): change the spec, or pick another device name, or ask for \{ replace: true \} to recreate it/,
  );
  assert.is(refused.hint, refused.remedy(LIBRARY_REPLACE));
  assert.match(
    refused.messageFor('--replace'),
    /vni is 43, wanted 42; it is not marked as vxnet's .*, or ask for --replace to recreate it/,
  );
  assert.not.match(refused.messageFor('--replace'), /replace: true/);

  const before = host.snapshot();
  const changes = await planVxlan(rt, spec('vx0'), { replace: true });
  assert.is(host.writes, writes, 'planning wrote nothing');
  assert.equal(host.snapshot(), before);
  assert.equal(
    changes.map((c) => c.action),
    ['delete', 'replace', 'add'],
  );
  assert.match(changes[0]!.detail!, /not marked as vxnet's, to recreate it: vni is 43, wanted 42/);
  assert.match(changes[1]!.detail!, /left unmarked/);
  await applyChanges(changes);
  const after = link(host, 'vx0')!;
  assert.is(after.kind, 'vxlan');
  assert.is((after.data as { id: number }).id, 42);
  assert.is(after.ifalias, undefined, "someone else's device stays unmarked");
  assert.equal(marked(host), [], 'so a destroy of demo leaves it');

  // Another alias than a vxnet mark is kept as it was.
  await rt.links.set('vx0', { ifalias: 'uplink tunnel' });
  await ensureVxlan(rt, spec('vx0', { vni: 44 }), { replace: true });
  assert.is(link(host, 'vx0')!.ifalias, 'uplink tunnel');
  assert.is((link(host, 'vx0')!.data as { id: number }).id, 44);
});

test('a VXLAN device marked by another network: refused at plan time with replace, with or without an owner in the spec', async () => {
  const host = newHost();
  const rt = host.rtnetlink();
  await vxlanNamed(rt, 'vx0', 43, 'vxnet:other');
  const before = host.snapshot();
  const writes = host.writes;
  for (const s of [spec('vx0'), spec('vx0', { owner: undefined }), spec('vx0', { vni: 43 })]) {
    const error = await refusal(() => planVxlan(rt, s, { replace: true }));
    assert.is(error.replaceable, false);
    assert.equal(error.differences[0], { field: 'owner', actual: 'other', wanted: s.owner });
    assert.match(error.message, /belongs to the vxnet network other/);
    assert.not.match(error.message, /replace/);
  }
  assert.is(host.writes, writes);
  assert.equal(host.snapshot(), before);
  assert.equal(marked(host, 'demo'), []);
  assert.equal(marked(host, 'other'), ['vx0'], "still the other network's");
});

test("a VXLAN device of this network with another port: replaced, and still this network's (destroy removes it)", async () => {
  const host = newHost();
  const rt = host.rtnetlink();
  await ensureVxlan(rt, spec('vx0', { port: 8472 }));
  assert.equal(marked(host), ['vx0']);
  const writes = host.writes;
  const changes = await planVxlan(rt, spec('vx0'), { replace: true });
  assert.is(host.writes, writes);
  assert.equal(
    changes.map((c) => c.action),
    ['delete', 'replace', 'add'],
  );
  assert.match(changes[0]!.detail!, /marked vxnet:demo, to recreate it: port is 8472, wanted 4789/);
  await applyChanges(changes);
  assert.is((link(host, 'vx0')!.data as { port: number }).port, 4789);
  assert.equal(marked(host), ['vx0']);
});

test('bridge: a device of another kind, or one marked by another network, is a conflict no replace resolves; nothing is written', async () => {
  const host = newHost();
  const rt = host.rtnetlink();
  await rt.links.create({ ifname: 'br0', kind: 'veth', peer: { ifname: 'br1' } });
  await rt.links.create({ ifname: 'br2', kind: 'bridge', ifalias: 'vxnet:other' });
  const before = host.snapshot();
  const writes = host.writes;
  const kind = await refusal(() => planBridge(rt, { name: 'br0', mtu: 1450, owner: 'demo' }));
  assert.is(kind.replaceable, false);
  assert.not.match(kind.message, /replace/);
  const owner = await refusal(() => planBridge(rt, { name: 'br2', mtu: 1450, owner: 'demo' }));
  assert.is(owner.replaceable, false);
  assert.not.match(owner.message, /replace/);
  assert.is(host.writes, writes);
  assert.equal(host.snapshot(), before);
});

test('an underlay difference names the devices, as the spec does, not their ifindexes', async () => {
  const host = new FakeHost({
    links: [
      LOOPBACK,
      ethernet('eth0', { addresses: ['192.168.100.1/24'] }),
      ethernet('eth1', { addresses: ['192.168.200.1/24'] }),
    ],
  });
  const rt = host.rtnetlink();
  await ensureVxlan(rt, spec('vx0'));
  const moved = await refusal(() => planVxlan(rt, spec('vx0', { underlay: 'eth1', local: undefined })));
  assert.equal(moved.differences, [
    { field: 'local', actual: '192.168.100.1', wanted: undefined },
    { field: 'underlay', actual: 'eth0', wanted: 'eth1' },
  ]);
  assert.match(moved.message, /local is 192\.168\.100\.1, wanted unset, underlay is eth0, wanted eth1; /);
  await rt.links.create({
    ifname: 'vx1',
    kind: 'vxlan',
    vxlan: { id: 43, port: 4789, local: '192.168.100.1', learning: 1 },
  });
  const bare = await refusal(() => planVxlan(rt, spec('vx1', { vni: 43 })));
  assert.equal(bare.differences, [{ field: 'underlay', actual: undefined, wanted: 'eth0' }]);
  assert.match(bare.message, /underlay is unset, wanted eth0/);
});

test.run();
