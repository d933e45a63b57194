/**
 * The parity tests' mapping (test/helpers/iproute.ts) checked on its own:
 * the comparison sees every difference both ways, tolerates only the drift
 * it is told about, and an attribute the mapping does not know is reported
 * rather than skipped.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Link } from '../../src/rtnetlink/links.js';
import { diffJson, fdbAsIp, linkAsIp, linkFlags, neighbourAsIp, routeAsIp, Unaccounted } from '../helpers/iproute.js';

test('diffJson: missing keys on either side, extra array entries, values; tolerances only where given', () => {
  assert.equal(diffJson({ a: 1, b: [1, 2] }, { a: 1, b: [1, 2] }), []);
  assert.equal(diffJson({ a: 1 }, { a: 1, b: 2 }), ['.b: ours nothing, ip 2']);
  assert.equal(diffJson({ a: 1, c: 'x' }, { a: 1 }), ['.c: ours "x", ip prints nothing']);
  assert.equal(diffJson([1, 2, 3], [1, 2]), [': ours has 3 entries, ip 2']);
  assert.equal(diffJson({ t: { gc_timer: 1.5 } }, { t: { gc_timer: 1.9 } }), ['.t.gc_timer: ours 1.5, ip 1.9']);
  assert.equal(diffJson({ t: { gc_timer: 1.5 } }, { t: { gc_timer: 1.9 } }, '', [{ path: /_timer$/, within: 1 }]), []);
  assert.equal(diffJson({ mtu: 1500 }, { mtu: '1500' }), ['.mtu: ours 1500, ip "1500"'], 'types matter');
  assert.equal(diffJson({ router: null }, { router: null }), []);
});

test("linkFlags: ip's order, NO-CARRIER for up without running, M-DOWN when the master is down, leftovers in hex", () => {
  assert.equal(linkFlags(0x1043, false), ['BROADCAST', 'MULTICAST', 'UP'], 'IFF_RUNNING is never printed');
  assert.equal(linkFlags(0x11043, false), ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP']);
  assert.equal(linkFlags(0x1003, false), ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP']);
  assert.equal(linkFlags(0x1002, true), ['BROADCAST', 'MULTICAST', 'M-DOWN']);
  assert.equal(linkFlags(0x80000, false), ['0x80000']);
});

const names = new Map([
  [1, 'lo'],
  [2, 'eth0'],
  [3, 'br0'],
]);

test('linkAsIp: what ip prints for a bridge port, and an attribute it does not know is reported, not skipped', () => {
  const unaccounted = new Unaccounted();
  const link = {
    family: 0,
    link_type: 1,
    ifindex: 2,
    flags: 0x11043,
    change: 0,
    ifname: 'eth0',
    mtu: 1500,
    qdisc: 'noqueue',
    master: 3,
    operstate: 6,
    linkmode: 0,
    group: 0,
    txqlen: 1000,
    address: '02:00:00:00:00:02',
    broadcast: 'ff:ff:ff:ff:ff:ff',
    link: 7,
    link_netnsid: 0,
    linkinfo: {
      info_kind: 'veth',
      info_slave_kind: 'bridge',
      info_slave_data: {
        state: 3,
        cost: 5,
        learning: 0,
        id: 0x8001,
        no: 1,
        group_fwd_mask: 0,
        bridge_id: new Uint8Array([0x80, 0, 2, 0, 0, 0, 0, 0x0a]),
        hold_timer: 150n,
      },
    },
    brand_new_attribute: 1,
  } as unknown as Link;
  const out = linkAsIp(link, { names, flags: new Map([[3, 0x1003]]), unaccounted }, false);
  assert.equal(out, {
    ifindex: 2,
    link_index: 7,
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1500,
    qdisc: 'noqueue',
    master: 'br0',
    operstate: 'UP',
    linkmode: 'DEFAULT',
    group: 'default',
    txqlen: 1000,
    link_type: 'ether',
    address: '02:00:00:00:00:02',
    broadcast: 'ff:ff:ff:ff:ff:ff',
    link_netnsid: 0,
  });
  assert.equal(unaccounted.entries, ['link eth0.brand_new_attribute']);
  const detailed = new Unaccounted();
  const slave = (
    linkAsIp(link, { names, flags: new Map([[3, 0x1003]]), unaccounted: detailed }, true).linkinfo as Record<
      string,
      Record<string, unknown>
    >
  ).info_slave_data!;
  assert.equal(slave, {
    state: 'forwarding',
    cost: 5,
    learning: false,
    id: '0x8001',
    no: '0x1',
    bridge_id: '8000.2:0:0:0:0:a',
    hold_timer: 1.5,
    group_fwd_mask: '0',
    group_fwd_mask_str: '0x0',
  });
});

test('routeAsIp, neighbourAsIp, fdbAsIp: names for numbers, and the defaults ip leaves out', () => {
  const unaccounted = new Unaccounted();
  const route = {
    family: 2,
    dst_len: 16,
    src_len: 0,
    tos: 0,
    rtm_table: 252,
    protocol: 3,
    scope: 0,
    type: 1,
    flags: 16,
    table: 1000,
    dst: '10.0.0.0',
    gateway: '192.0.2.1',
    oif: 2,
  };
  assert.equal(routeAsIp(route as never, names, false, unaccounted), {
    dst: '10.0.0.0/16',
    gateway: '192.0.2.1',
    dev: 'eth0',
    table: '1000',
    flags: ['linkdown'],
  });
  assert.equal(routeAsIp({ ...route, table: 254, rtm_table: 254 } as never, names, true, unaccounted), {
    type: 'unicast',
    dst: '10.0.0.0/16',
    gateway: '192.0.2.1',
    dev: 'eth0',
    table: 'main',
    protocol: 'boot',
    scope: 'global',
    flags: ['linkdown'],
  });
  const neighbour = {
    family: 10,
    ifindex: 2,
    state: 0x04,
    flags: 0x80,
    type: 1,
    dst: 'fe80::1',
    lladdr: '02:00:00:00:00:01',
    probes: 0,
  };
  assert.equal(neighbourAsIp(neighbour as never, names, unaccounted), {
    dst: 'fe80::1',
    dev: 'eth0',
    lladdr: '02:00:00:00:00:01',
    router: null,
    state: ['STALE'],
  });
  const entry = {
    family: 7,
    ifindex: 2,
    state: 0xc0,
    flags: 0x02,
    type: 0,
    lladdr: '00:00:00:00:00:00',
    dst: '192.0.2.2',
    port: 4790,
    vni: 7,
  };
  assert.equal(fdbAsIp(entry as never, names, unaccounted), {
    mac: '00:00:00:00:00:00',
    ifname: 'eth0',
    dst: '192.0.2.2',
    port: 4790,
    vni: 7,
    flags: ['self'],
    state: 'permanent',
  });
  assert.equal(unaccounted.entries, []);
});

test.run();
