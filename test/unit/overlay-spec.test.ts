/**
 * resolveSpec (src/overlay/spec.ts): a spec of each mode resolves with its
 * defaults filled in and its addresses canonical; every class of refusal is
 * a ValidationError naming the field at fault, as a path; and what comes out
 * is branded and frozen, so only what resolveSpec made is trusted as
 * resolved: a look-alike (an object with a `mode`, a spread copy) is checked
 * again as a spec, and refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../../src/netlink/errors.js';
import {
  isResolvedSpec,
  type OverlaySpec,
  resolveSpec,
  type ResolvedSpec,
  toResolvedSpec,
} from '../../src/overlay/spec.js';

const MULTICAST: OverlaySpec = {
  name: 'demo',
  vni: 42,
  underlay: { device: 'eth0' },
  group: '239.1.1.1',
  subnet: '10.10.0.0/24',
};
const UNICAST: OverlaySpec = {
  name: 'demo',
  vni: 42,
  underlay: { device: 'eth0', address: '192.168.100.1' },
  peers: ['192.168.100.1', '192.168.100.2', '192.168.100.3'],
  subnet: '10.10.0.0/24',
  gateway: '10.10.0.1',
};

function refused(input: unknown): ValidationError {
  try {
    resolveSpec(input);
  } catch (error) {
    assert.instance(error, ValidationError, String(error));
    return error as ValidationError;
  }
  assert.unreachable(`expected a ValidationError for ${JSON.stringify(input)}`);
  throw new Error('unreachable');
}

/** Every frozen object inside `value`, or the path of the first that is not. */
function unfrozenPath(value: unknown, path = 'spec'): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (!Object.isFrozen(value)) return path;
  for (const [key, inner] of Object.entries(value)) {
    const found = unfrozenPath(inner, `${path}.${key}`);
    if (found) return found;
  }
  return undefined;
}

// ------------------------------------------------------------------ valid specs

test('multicast mode: defaults filled in (port 4789, vx-NAME, br-NAME, no peers), nothing optional invented', () => {
  const r = resolveSpec(MULTICAST);
  assert.equal(
    { ...r, subnet: { ...r.subnet }, underlay: { ...r.underlay }, peers: [...r.peers] },
    {
      name: 'demo',
      vni: 42,
      port: 4789,
      underlay: { device: 'eth0' },
      mode: 'multicast',
      group: '239.1.1.1',
      peers: [],
      subnet: { text: '10.10.0.0/24', address: '10.10.0.0', prefixlen: 24 },
      vxlan: 'vx-demo',
      bridge: 'br-demo',
    },
  );
});

test('multicast over IPv6: the group and the local address in canonical form; an IPv6 subnet', () => {
  const r = resolveSpec({
    ...MULTICAST,
    underlay: { device: 'eth0', address: '2001:DB8:0:0::1' },
    group: 'FF05:0:0::1:2',
    subnet: '2001:db8:10:0::/64',
    gateway: '2001:db8:10::1',
  });
  assert.is(r.mode, 'multicast');
  assert.is(r.group, 'ff05::1:2');
  assert.is(r.underlay.address, '2001:db8::1');
  assert.equal({ ...r.subnet }, { text: '2001:db8:10::/64', address: '2001:db8:10::', prefixlen: 64 });
  assert.is(r.gateway, '2001:db8:10::1');
});

test("unicast mode: this host's own address is dropped from the shared peer list; peers in canonical form", () => {
  const r = resolveSpec(UNICAST);
  assert.is(r.mode, 'unicast');
  assert.is(r.group, undefined);
  assert.equal([...r.peers], ['192.168.100.2', '192.168.100.3']);
  const six = resolveSpec({
    ...UNICAST,
    underlay: { device: 'eth0', address: '2001:db8::1' },
    peers: ['2001:DB8::1', '2001:db8:0::2'],
  });
  assert.equal([...six.peers], ['2001:db8::2'], 'the same host spelled differently is still this host');
});

test('dhcp, masquerade and firewall: their defaults and their off switches', () => {
  const r = resolveSpec({
    ...UNICAST,
    port: 8472,
    vxlan: 'vx0',
    bridge: 'br0',
    mtu: 1400,
    dhcp: { ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }] },
    masquerade: true,
    firewall: true,
  });
  assert.is(r.port, 8472);
  assert.equal([r.vxlan, r.bridge, r.mtu], ['vx0', 'br0', 1400]);
  assert.is(r.dhcp?.serve, true, 'a dhcp block serves by default');
  assert.equal({ ...r.masquerade }, {});
  assert.equal({ ...r.firewall }, { peersOnly: true });
  const egress = resolveSpec({ ...UNICAST, masquerade: { egress: 'eth1' }, firewall: { peersOnly: false } });
  assert.equal({ ...egress.masquerade }, { egress: 'eth1' });
  assert.equal({ ...egress.firewall }, { peersOnly: false });
  const off = resolveSpec({
    ...UNICAST,
    dhcp: { serve: false, ranges: [] },
    masquerade: { enabled: false, egress: 'eth1' },
    firewall: { openPort: false },
  });
  assert.is(off.dhcp?.serve, false, 'kept (another host serves), and its ranges are not checked here');
  assert.is(off.masquerade, undefined);
  assert.is(off.firewall, undefined);
  const falses = resolveSpec({ ...UNICAST, masquerade: false, firewall: false });
  assert.equal([falses.masquerade, falses.firewall], [undefined, undefined]);
});

// ------------------------------------------------------------------ refusals, by field

const LONG = 'a-name-so-long-that-vx-prefix-overflows';
const REFUSALS: [what: string, input: unknown, field: string, reason: RegExp][] = [
  ['not an object', 'demo', 'spec', /expected an object/],
  ['a list', [MULTICAST], 'spec', /expected an object/],
  ['an unknown top-level field', { ...MULTICAST, vnid: 42 }, 'vnid', /unknown field \(known: name, mode, vni, /],
  ['a name with a space', { ...MULTICAST, name: 'my net' }, 'name', /1–64 letters/],
  ['no name', { ...MULTICAST, name: undefined }, 'name', /1–64 letters/],
  ['a VNI too large', { ...MULTICAST, vni: 1 << 24 }, 'vni', /./],
  ['a VNI as a string', { ...MULTICAST, vni: '42' }, 'vni', /./],
  ['port 0', { ...MULTICAST, port: 0 }, 'port', /./],
  ['port 65536', { ...MULTICAST, port: 65536 }, 'port', /./],
  ['no underlay', { ...MULTICAST, underlay: undefined }, 'underlay', /expected \{ device, address\? \}/],
  ['the underlay as a string', { ...MULTICAST, underlay: 'eth0' }, 'underlay', /expected \{ device, address\? \}/],
  [
    'an unknown underlay field',
    { ...MULTICAST, underlay: { device: 'eth0', mtu: 1500 } },
    'underlay.mtu',
    /unknown field \(known: device, address\)/,
  ],
  [
    'an underlay device name too long',
    { ...MULTICAST, underlay: { device: 'a-sixteen-bytes!' } },
    'underlay.device',
    /./,
  ],
  [
    'an underlay address that is not one',
    { ...MULTICAST, underlay: { device: 'eth0', address: '192.168.100' } },
    'underlay.address',
    /./,
  ],
  ['group and peers both', { ...UNICAST, group: '239.1.1.1' }, 'peers', /a multicast group or unicast peers, not both/],
  [
    'neither group nor peers',
    { ...MULTICAST, group: undefined },
    'group',
    /give a multicast group \(multicast mode\), peers \(unicast mode\) or membership \(etcd, or evpn/,
  ],
  ['a group that is not multicast', { ...MULTICAST, group: '10.1.1.1' }, 'group', /is not a multicast address/],
  [
    'a group of the other family',
    { ...MULTICAST, underlay: { device: 'eth0', address: '192.168.100.1' }, group: 'ff05::1' },
    'group',
    /is IPv6 but underlay\.address is IPv4/,
  ],
  ['peers as a string', { ...UNICAST, peers: '192.168.100.2' }, 'peers', /expected a list of addresses/],
  [
    "peers without this host's address",
    { ...UNICAST, underlay: { device: 'eth0' } },
    'underlay.address',
    /unicast mode needs this host's underlay address/,
  ],
  [
    'a peer of the other family',
    { ...UNICAST, peers: ['192.168.100.2', '2001:db8::2'] },
    'peers[1]',
    /is IPv6 but underlay\.address is IPv4/,
  ],
  ['a peer that is not an address', { ...UNICAST, peers: ['192.168.100.2', 'host-b'] }, 'peers[1]', /./],
  ['a multicast peer', { ...UNICAST, peers: ['239.1.1.1'] }, 'peers[0]', /a peer is a unicast address/],
  [
    'a peer listed twice (in two spellings)',
    {
      ...UNICAST,
      underlay: { device: 'eth0', address: '2001:db8::1' },
      peers: ['2001:db8::2', '2001:db8::3', '2001:DB8:0::2'],
    },
    'peers[2]',
    /is listed twice/,
  ],
  [
    'a subnet without a prefix',
    { ...MULTICAST, subnet: '10.10.0.0' },
    'subnet',
    /expected a network like 10\.10\.0\.0\/24/,
  ],
  ['a subnet that does not parse', { ...MULTICAST, subnet: '10.10.0.0/33' }, 'subnet', /expected a network like/],
  [
    'a subnet with host bits',
    { ...MULTICAST, subnet: '10.10.0.1/24' },
    'subnet',
    /has host bits set: did you mean 10\.10\.0\.0\/24\?/,
  ],
  [
    'a gateway outside the subnet',
    { ...MULTICAST, gateway: '10.11.0.1' },
    'gateway',
    /is not inside the subnet 10\.10\.0\.0\/24/,
  ],
  ['a gateway of the other family', { ...MULTICAST, gateway: '2001:db8::1' }, 'gateway', /is not inside the subnet/],
  [
    'the network address as gateway',
    { ...MULTICAST, gateway: '10.10.0.0' },
    'gateway',
    /is the network address itself/,
  ],
  [
    'a default VXLAN name too long',
    { ...MULTICAST, name: LONG },
    'vxlan',
    /the default vx-a-name-so-long.* is longer than 15 bytes: name the device in the spec/,
  ],
  [
    'a default bridge name too long',
    { ...MULTICAST, name: LONG, vxlan: 'vx0' },
    'bridge',
    /the default br-.* is longer than 15 bytes/,
  ],
  ['a VXLAN name with a space', { ...MULTICAST, vxlan: 'vx 0' }, 'vxlan', /./],
  [
    'the bridge named like the VXLAN device',
    { ...MULTICAST, vxlan: 'ov0', bridge: 'ov0' },
    'bridge',
    /need different names/,
  ],
  [
    'the underlay named like the bridge',
    { ...MULTICAST, underlay: { device: 'br-demo' } },
    'underlay.device',
    /is also the name of the VXLAN device or the bridge/,
  ],
  ['an MTU too small', { ...MULTICAST, mtu: 10 }, 'mtu', /./],
  ['dhcp as a list', { ...UNICAST, dhcp: [] }, 'dhcp', /expected \{ ranges, hosts\?, \.\.\. \}/],
  ['an unknown dhcp field', { ...UNICAST, dhcp: { ranges: [], router: '10.10.0.1' } }, 'dhcp.router', /unknown field/],
  ['dhcp.serve not a boolean', { ...UNICAST, dhcp: { serve: 'yes', ranges: [] } }, 'dhcp.serve', /true or false/],
  [
    'dhcp served without a gateway',
    { ...MULTICAST, dhcp: { ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }] } },
    'gateway',
    /serving DHCP needs this host's address on the bridge/,
  ],
  [
    'dhcp served on an IPv6 subnet',
    { ...MULTICAST, subnet: '2001:db8:10::/64', gateway: '2001:db8:10::1', dhcp: { ranges: [] } },
    'dhcp',
    /DHCP is served for IPv4 subnets only/,
  ],
  [
    'a dhcp range outside the subnet',
    { ...UNICAST, dhcp: { ranges: [{ start: '10.10.1.100', end: '10.10.1.199' }] } },
    'dhcp.ranges[0].start',
    /is outside the subnet 10\.10\.0\.0\/24/,
  ],
  [
    'a dhcp range covering the gateway',
    { ...UNICAST, dhcp: { ranges: [{ start: '10.10.0.1', end: '10.10.0.9' }] } },
    'dhcp.ranges[0]',
    /covers the gateway 10\.10\.0\.1/,
  ],
  [
    'a dhcp host with a bad MAC',
    {
      ...UNICAST,
      dhcp: {
        ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }],
        hosts: [{ mac: '02:00:00:00:00', ip: '10.10.0.50' }],
      },
    },
    'dhcp.hosts[0].mac',
    /six hex bytes/,
  ],
  [
    'masquerade as a string',
    { ...UNICAST, masquerade: 'yes' },
    'masquerade',
    /true, false or \{ enabled\?, egress\? \}/,
  ],
  [
    'an unknown masquerade field',
    { ...UNICAST, masquerade: { egress: 'eth1', snat: true } },
    'masquerade.snat',
    /unknown field/,
  ],
  [
    'masquerade.enabled not a boolean',
    { ...UNICAST, masquerade: { enabled: 1 } },
    'masquerade.enabled',
    /true or false/,
  ],
  ['a masquerade egress with a space', { ...UNICAST, masquerade: { egress: 'eth 1' } }, 'masquerade.egress', /./],
  [
    'masquerade without a gateway',
    { ...MULTICAST, masquerade: true },
    'gateway',
    /masquerade needs a gateway on the bridge/,
  ],
  ['firewall as a string', { ...UNICAST, firewall: 'on' }, 'firewall', /true, false or \{ openPort\?, peersOnly\? \}/],
  ['an unknown firewall field', { ...UNICAST, firewall: { ports: [4789] } }, 'firewall.ports', /unknown field/],
  [
    'firewall.peersOnly not a boolean',
    { ...UNICAST, firewall: { peersOnly: 'no' } },
    'firewall.peersOnly',
    /true or false/,
  ],
  ['firewall.openPort not a boolean', { ...UNICAST, firewall: { openPort: 0 } }, 'firewall.openPort', /true or false/],
];

test('every class of refusal is a ValidationError naming its field, as a path', () => {
  for (const [what, input, field, reason] of REFUSALS) {
    const error = refused(input);
    assert.is(error.field, field, `${what}: ${error.message}`);
    assert.match(error.reason, reason, what);
    assert.ok(
      error.message.startsWith(`invalid ${field}: `),
      `${what}: the message leads with the field: ${error.message}`,
    );
  }
});

// ------------------------------------------------------------------ the resolved spec: branded, frozen, trusted only as made

test('a resolved spec is branded (isResolvedSpec) and frozen all the way down; toResolvedSpec returns it as it is', () => {
  const r = resolveSpec({
    ...UNICAST,
    dhcp: {
      ranges: [{ start: '10.10.0.100', end: '10.10.0.199' }],
      hosts: [{ mac: '02:00:00:00:00:01', ip: '10.10.0.50' }],
    },
    masquerade: true,
    firewall: true,
  });
  assert.ok(isResolvedSpec(r));
  assert.is(unfrozenPath(r), undefined);
  assert.throws(() => {
    (r as { vni: number }).vni = 43;
  }, TypeError);
  assert.throws(() => {
    (r.peers as string[]).push('192.168.100.9');
  }, TypeError);
  assert.throws(
    () => {
      (r.dhcp!.ranges[0] as { start: string }).start = '10.10.0.1';
    },
    TypeError,
    'the DHCP ranges too: a changed range would skip the check that it misses the gateway',
  );
  assert.is(toResolvedSpec(r), r, 'trusted: not validated again');
});

test('the input is not frozen or aliased: changing it afterwards does not reach the resolved spec', () => {
  const input = structuredClone(UNICAST);
  const r = resolveSpec(input);
  assert.not.ok(Object.isFrozen(input));
  input.peers!.push('192.168.100.9');
  input.underlay.address = '192.168.100.7';
  assert.equal([...r.peers], ['192.168.100.2', '192.168.100.3']);
  assert.is(r.underlay.address, '192.168.100.1');
});

test('a plain spec is not branded; toResolvedSpec validates it and brands the result', () => {
  assert.not.ok(isResolvedSpec(UNICAST));
  assert.not.ok(isResolvedSpec(null));
  assert.not.ok(isResolvedSpec('demo'));
  const r = toResolvedSpec(UNICAST);
  assert.ok(isResolvedSpec(r));
  assert.is(r.mode, 'unicast');
  const error = (() => {
    try {
      toResolvedSpec({ ...UNICAST, vni: -1 });
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.instance(error, ValidationError);
  assert.is((error as ValidationError).field, 'vni');
});

/** A resolved spec as a caller might forge or copy it: every field a ResolvedSpec has, and no brand. */
function lookAlike(changes: Partial<ResolvedSpec> = {}): Record<string, unknown> {
  return { ...JSON.parse(JSON.stringify(resolveSpec(UNICAST))), ...changes };
}

test('an object with a `mode` but no brand is not trusted: validated again as a spec, and refused at `mode`', () => {
  // Shaped exactly like a resolved spec, with a VNI no kernel takes: trusting the shape would send it.
  const forged = lookAlike({ vni: 1 << 30 });
  assert.not.ok(isResolvedSpec(forged));
  for (const call of [() => toResolvedSpec(forged), () => resolveSpec(forged)]) {
    let error: unknown;
    try {
      call();
    } catch (e) {
      error = e;
    }
    assert.instance(error, ValidationError);
    assert.is((error as ValidationError).field, 'mode');
    assert.match(
      (error as ValidationError).reason,
      /vxlan or routed in a spec.*resolved spec copied or changed after resolveSpec/,
    );
  }
});

test('a spread copy of a resolved spec (even unchanged) loses the brand and is validated again', () => {
  const r = resolveSpec(UNICAST);
  for (const copy of [{ ...r }, { ...r, vni: 43 }, Object.assign({}, r, { peers: ['192.168.100.9'] })]) {
    assert.not.ok(isResolvedSpec(copy));
    let error: unknown;
    try {
      toResolvedSpec(copy);
    } catch (e) {
      error = e;
    }
    assert.instance(error, ValidationError, 'a copy is checked as a spec, whatever it changed');
    assert.is((error as ValidationError).field, 'mode');
  }
  assert.ok(isResolvedSpec(r), 'the original keeps its brand');
});

test.run();
