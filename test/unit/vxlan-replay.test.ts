/**
 * The vxlan and bridge building blocks, replayed from recorded kernel
 * exchanges (test/fixtures/vxlan, test/fixtures/bridge): every request the
 * code sends must match the recording byte for byte (seq and port aside).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixturePath, replayFixture } from '../helpers/fixtures.js';
import { bridgeEnsure, vxlanConflict, vxlanMulticast, vxlanPeers } from '../fixtures/recipes/vxlan.js';

test('vxlan/multicast: created once, the second ensure sends no write, status is clean', async () => {
  const r = await replayFixture(fixturePath('vxlan/multicast'), vxlanMulticast);
  assert.equal(r.first, ['create']);
  assert.equal(r.second, []);
  assert.is(r.status.vni, 42);
  assert.is(r.status.port, 4789);
  assert.is(r.status.group, '239.1.1.1');
  assert.is(r.status.underlay, 'ul0');
  assert.is(r.status.mtu, 1450);
  assert.is(r.status.owner, 'seed');
  assert.equal(r.status.problems, []);
});

test('vxlan/peers: the flood list converges exactly, idempotent single-peer edits', async () => {
  const r = await replayFixture(fixturePath('vxlan/peers'), vxlanPeers);
  assert.equal(r.created, ['192.168.100.2', '192.168.100.3']);
  assert.equal(r.converged, { added: ['192.168.100.4'], removed: ['192.168.100.2'] });
  assert.is(r.removed, true);
  assert.is(r.removedAgain, false);
  assert.is(r.added, true);
  assert.equal(r.final.slice().sort(), ['192.168.100.4', '192.168.100.5']);
});

test('vxlan/conflict: a device on 8472 is refused with the difference named, then replaced', async () => {
  const r = await replayFixture(fixturePath('vxlan/conflict'), vxlanConflict);
  assert.match(r.refused, /link vx0 exists but differs from the spec: port is 8472, wanted 4789/);
  assert.equal(r.replaced, ['delete', 'replace']);
  assert.is(r.port, 4789);
});

test('bridge/ensure: created with its address, a port attached, nothing written the second time', async () => {
  const r = await replayFixture(fixturePath('bridge/ensure'), bridgeEnsure);
  assert.equal(r.first, ['create', 'add']);
  assert.is(r.attached, true);
  assert.equal(r.second, []);
  assert.is(r.attachedAgain, false);
  assert.equal(r.ports, ['ul1']);
  assert.is(r.detached, true);
  assert.is(r.bridge.mtu, 1450);
  assert.is(r.bridge.linkinfo?.info_kind, 'bridge');
  assert.is(r.bridge.ifalias, 'vxnet:seed');
});

test.run();
