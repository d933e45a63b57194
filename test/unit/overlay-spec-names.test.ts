/**
 * Interface names in the overlay spec and the vxlan / bridge building blocks:
 * names vxnet creates or is given are printable ASCII only (validatePortableIfname),
 * each refusal naming the field, the character and its position.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateBridgeSpec } from '../../src/bridge/spec.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { resolveSpec } from '../../src/overlay/spec.js';
import { validateVxlanSpec } from '../../src/vxlan/spec.js';

const base = {
  name: 'demo',
  vni: 42,
  underlay: { device: 'eth0' },
  group: '239.1.1.1',
  subnet: '10.10.0.0/24',
  gateway: '10.10.0.1',
  vxlan: 'vx0',
  bridge: 'br0',
  masquerade: { egress: 'eth1' },
};

function refused(body: () => unknown): ValidationError {
  try {
    body();
  } catch (error) {
    assert.instance(error, ValidationError, String(error));
    return error as ValidationError;
  }
  assert.unreachable('expected a ValidationError');
  throw new Error('unreachable');
}

test("the base spec resolves (so each refusal below is the name's)", () => {
  const resolved = resolveSpec(base);
  assert.is(resolved.bridge, 'br0');
  assert.is(resolved.vxlan, 'vx0');
  assert.equal(resolved.masquerade, { egress: 'eth1' });
});

const BAD_NAMES: [string, RegExp][] = [
  ['br\u00e9', /"é" \(U\+00E9\) at position 3/], // Latin-1 é read correctly
  ['br\ufffd', /\(U\+FFFD\) at position 3/], // what readFile(..., 'utf8') made of a Latin-1 byte
  ['br 0', /U\+0020 at position 3/],
  ['br\t0', /U\+0009 at position 3/],
  ['br\u00a00', /U\+00A0 at position 3/],
  ['\u001bbr', /U\+001B at position 1/],
  ['br\u007f', /U\+007F at position 3/],
  ['br\u200b', /U\+200B at position 3/], // zero-width space: invisible in `ip link`
  ['вр0', /"в" \(U\+0432\) at position 1/], // Cyrillic look-alike
];

test('resolveSpec: vxlan, bridge, underlay.device and masquerade.egress refuse non-ASCII, control and space characters', () => {
  for (const [bad, why] of BAD_NAMES) {
    for (const [field, spec] of [
      ['vxlan', { ...base, vxlan: bad }],
      ['bridge', { ...base, bridge: bad }],
      ['underlay.device', { ...base, underlay: { device: bad } }],
      ['masquerade.egress', { ...base, masquerade: { egress: bad } }],
    ] as const) {
      const error = refused(() => resolveSpec(spec));
      assert.is(error.field, field, `${field} ${JSON.stringify(bad)}`);
      assert.match(error.message, why, `${field} ${JSON.stringify(bad)}`);
      assert.match(error.message, /printable ASCII/);
    }
  }
});

test("the vxlan and bridge building blocks refuse the same names; the VXLAN underlay (an existing device) keeps the kernel's rule", () => {
  for (const [bad, why] of BAD_NAMES) {
    const v = refused(() => validateVxlanSpec({ name: bad, vni: 42, group: '239.1.1.1', underlay: 'eth0' }));
    assert.is(v.field, 'name');
    assert.match(v.message, why);
    const b = refused(() => validateBridgeSpec({ name: bad }));
    assert.is(b.field, 'name');
    assert.match(b.message, why);
  }
  // A device someone else named (kernel-valid, not ASCII) can still be the underlay.
  assert.is(validateVxlanSpec({ name: 'vx0', vni: 42, group: '239.1.1.1', underlay: 'ethé' }), 4);
});

test.run();
