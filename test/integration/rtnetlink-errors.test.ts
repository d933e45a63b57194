/**
 * Errors a person can act on, from the real kernel: what EEXIST, ENODEV,
 * EPERM, EINVAL (and their cousins) say after vxnet has looked around, and
 * validation errors raised before anything reaches the kernel.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NetlinkError, ValidationError } from '../../src/netlink/errors.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import { explainChangeError, explainLinkError } from '../../src/rtnetlink/explain.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { integrationReady, ipIn, ipJson, ipv6Settled, sh, withNamespaces } from '../helpers/netns.js';

const it = integrationReady(['ip', 'bridge', 'nsenter', 'setpriv']) ? test : test.skip;

/** What a promise rejected with; fails the test if it resolved. */
async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.unreachable('expected a refusal');
  throw new Error('unreachable');
}

async function netlinkError(promise: Promise<unknown>, code: string): Promise<NetlinkError> {
  const error = await refusal(promise);
  assert.instance(error, NetlinkError, `${error.name}: ${error.message}`);
  assert.is((error as NetlinkError).code, code, error.message);
  return error as NetlinkError;
}

/** An underlay veth pair, up, with IPv4 and IPv6 addresses. */
function underlay(ns: string): void {
  ipIn(ns, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1');
  ipIn(ns, 'link', 'set', 'ul0', 'up');
  ipIn(ns, 'link', 'set', 'ul1', 'up');
  ipIn(ns, 'address', 'add', '192.0.2.1/24', 'dev', 'ul0');
  ipIn(ns, 'address', 'add', '2001:db8::1/64', 'dev', 'ul0', 'nodad');
}

// ------------------------------------------------------------------ EEXIST

it('EEXIST on a vxlan create names the device that has the name', async () => {
  await withNamespaces(['eexist'], async (ns) => {
    ipIn(ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '5', 'dstport', '4789');
    await using rt = await Rtnetlink.open({ namespace: ns });
    const error = await netlinkError(
      rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 6, port: 4789 } }),
      'EEXIST',
    );
    assert.match(error.message, /^create link vx0 \(vxlan id 6\) failed: EEXIST/);
    assert.match(error.likelyCause!, /a device named vx0 already exists in namespace \S+ \(index \d+, kind vxlan\)/);
    // A bridge by that name: said so too.
    ipIn(ns, 'link', 'add', 'br0', 'type', 'bridge');
    const taken = await netlinkError(
      rt.links.create({ ifname: 'br0', kind: 'vxlan', vxlan: { id: 7, port: 4789 } }),
      'EEXIST',
    );
    assert.match(taken.likelyCause!, /a device named br0 already exists .*kind bridge/);
  });
});

it('EEXIST on a vxlan create names the device that holds that VNI on that port, of the same family', async () => {
  await withNamespaces(['vni'], async (ns) => {
    underlay(ns);
    // Same VNI and port, one IPv4 and one IPv6 device: the kernel allows both.
    ipIn(ns, 'link', 'add', 'vx4', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '192.0.2.1');
    ipIn(ns, 'link', 'add', 'vx6', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '2001:db8::1');
    await using rt = await Rtnetlink.open({ namespace: ns });
    // Another IPv6 one: the kernel refuses it because of vx6, not vx4 (which comes first in the list).
    const six = await netlinkError(
      rt.links.create({ ifname: 'vx6b', kind: 'vxlan', vxlan: { id: 42, port: 4789, group6: '2001:db8::9' } }),
      'EEXIST',
    );
    assert.match(six.likelyCause!, /^vx6 already holds VNI 42 on UDP port 4789 \(IPv6\)/, six.likelyCause);
    // Another IPv4 one, with another local address and another underlay: still vx4's VNI.
    const four = await netlinkError(
      rt.links.create({
        ifname: 'vx4b',
        kind: 'vxlan',
        vxlan: { id: 42, port: 4789, local: '192.0.2.99', link: 'ul1' },
      }),
      'EEXIST',
    );
    assert.match(
      four.likelyCause!,
      /^vx4 already holds VNI 42 on UDP port 4789 \(IPv4\).*whatever their local addresses or underlay devices/,
      four.likelyCause,
    );
    // The driver's default port when none is given.
    ipIn(ns, 'link', 'add', 'vxd', 'type', 'vxlan', 'id', '43', 'dstport', '0');
    const byDefault = await netlinkError(
      rt.links.create({ ifname: 'vxd2', kind: 'vxlan', vxlan: { id: 43 } }),
      'EEXIST',
    );
    assert.match(byDefault.likelyCause!, /^vxd already holds VNI 43 on UDP port 8472/);
    // What the kernel allows, vxnet lets through: another port, or other receive options (gbp).
    await rt.links.create({ ifname: 'vx4p', kind: 'vxlan', vxlan: { id: 42, port: 4790 } });
    await rt.links.create({ ifname: 'vx4g', kind: 'vxlan', vxlan: { id: 42, port: 4789, gbp: true } });
    // An external device only collides with another external one.
    ipIn(ns, 'link', 'add', 'vxe', 'type', 'vxlan', 'external', 'dstport', '4791');
    const external = await netlinkError(
      rt.links.create({ ifname: 'vxe2', kind: 'vxlan', vxlan: { id: 0, external: 1, port: 4791 } }),
      'EEXIST',
    );
    assert.match(external.likelyCause!, /^vxe already holds VNI 0 on UDP port 4791 \(IPv4\).*here external/);
  });
});

it('EEXIST for a device made in another namespace looks there: the name, the VNI, the veth peer name', async () => {
  await withNamespaces(['here', 'there'], async (here, there) => {
    ipIn(there, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '5', 'dstport', '4789');
    ipIn(there, 'link', 'add', 'taken0', 'type', 'veth', 'peer', 'name', 'taken1');
    await using rt = await Rtnetlink.open({ namespace: here });
    const name = await netlinkError(
      rt.links.create({ ifname: 'vx0', kind: 'vxlan', namespace: there, vxlan: { id: 6, port: 4789 } }),
      'EEXIST',
    );
    assert.match(
      name.likelyCause!,
      new RegExp(`^a device named vx0 already exists in namespace ${there} \\(index \\d+, kind vxlan\\)$`),
      name.message,
    );
    const peer = await netlinkError(
      rt.links.create({ ifname: 'vnew', kind: 'veth', peer: { ifname: 'taken1', namespace: there } }),
      'EEXIST',
    );
    assert.is(peer.likelyCause, `the peer name taken1 is already taken in namespace ${there}`);
    // The same errno for a free name: the VNI rule applies in the namespace that creates the device (here), wherever it is put.
    await rt.links.create({ ifname: 'vxnew', kind: 'vxlan', namespace: there, vxlan: { id: 5, port: 4789 } });
    ipIn(here, 'link', 'add', 'vxh', 'type', 'vxlan', 'id', '7', 'dstport', '4789');
    const vni = await netlinkError(
      rt.links.create({ ifname: 'vxnew2', kind: 'vxlan', namespace: there, vxlan: { id: 7, port: 4789 } }),
      'EEXIST',
    );
    assert.match(vni.likelyCause!, /^vxh already holds VNI 7 on UDP port 4789 \(IPv4\)/, vni.message);
  });
});

it('EEXIST elsewhere: a taken veth peer name, a rename onto a taken name, a duplicate address, route, neighbour, FDB entry', async () => {
  await withNamespaces(['taken'], async (ns) => {
    underlay(ns);
    ipIn(ns, 'route', 'add', '10.20.0.0/16', 'via', '192.0.2.2');
    ipIn(ns, 'neigh', 'add', '192.0.2.7', 'lladdr', '02:00:00:00:00:07', 'dev', 'ul0');
    ipIn(ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '1', 'dstport', '4789');
    sh('bridge', ['-n', ns, 'fdb', 'add', '02:00:00:00:00:01', 'dev', 'vx0', 'dst', '192.0.2.2']);
    await using rt = await Rtnetlink.open({ namespace: ns });
    const peer = await netlinkError(
      rt.links.create({ ifname: 'vnew', kind: 'veth', peer: { ifname: 'ul0' } }),
      'EEXIST',
    );
    assert.match(peer.likelyCause!, /the peer name ul0 is already taken/);
    const rename = await netlinkError(rt.links.set('vx0', { ifname: 'ul1' }), 'EEXIST');
    assert.match(rename.message, /^change link vx0 failed: EEXIST/);
    assert.match(rename.likelyCause!, /^ifname: a device named ul1 already exists .*kind veth/);
    const address = await netlinkError(rt.addresses.add({ dev: 'ul0', address: '192.0.2.1/24' }), 'EEXIST');
    assert.match(address.message, /192\.0\.2\.1\/24 is already configured on ul0; use replace/);
    const route = await netlinkError(rt.routes.add({ dst: '10.20.0.0/16', gateway: '192.0.2.2' }), 'EEXIST');
    assert.match(route.likelyCause!, /a route to 10\.20\.0\.0\/16 already exists in table 254/);
    const neighbour = await netlinkError(
      rt.neighbours.add({ dev: 'ul0', dst: '192.0.2.7', lladdr: '02:00:00:00:00:08' }),
      'EEXIST',
    );
    assert.match(neighbour.likelyCause!, /192\.0\.2\.7 already has an entry on ul0; use replace/);
    const fdb = await netlinkError(rt.fdb.add({ dev: 'vx0', mac: '02:00:00:00:00:01', dst: '192.0.2.3' }), 'EEXIST');
    assert.match(fdb.likelyCause!, /02:00:00:00:00:01 already has an entry on vx0; use append/);
  });
});

// ------------------------------------------------------------------ ENODEV

it('ENODEV names the missing device, and the option that named it', async () => {
  await withNamespaces(['enodev'], async (ns) => {
    underlay(ns);
    await using rt = await Rtnetlink.open({ namespace: ns });
    const get = await netlinkError(rt.links.get('nosuch0'), 'ENODEV');
    assert.match(
      get.message,
      /^get link nosuch0 failed: ENODEV \(.*\); likely cause: no device named nosuch0 in namespace /,
    );
    const byIndex = await netlinkError(rt.links.get(9999), 'ENODEV');
    assert.match(byIndex.likelyCause!, /no device with index 9999/);
    const del = await netlinkError(rt.links.delete('nosuch0'), 'ENODEV');
    assert.match(del.likelyCause!, /no device named nosuch0/);
    const set = await netlinkError(rt.links.set('nosuch0', { mtu: 1400 }), 'ENODEV');
    assert.match(set.likelyCause!, /^link: no device named nosuch0/);
    // A missing device named by an option: the error is about the request, and names the option.
    const master = await netlinkError(
      rt.links.create({ ifname: 'v0', kind: 'veth', peer: { ifname: 'v1' }, master: 'nobridge' }),
      'ENODEV',
    );
    assert.match(
      master.message,
      /^create link v0 \(veth, peer v1\) failed: ENODEV .*likely cause: master: no device named nobridge/,
    );
    const lower = await netlinkError(
      rt.links.create({ ifname: 'mv0', kind: 'macvlan', link: 'nolower', mode: 'bridge' }),
      'ENODEV',
    );
    assert.match(
      lower.message,
      /^create link mv0 \(macvlan\) failed: ENODEV .*likely cause: link: no device named nolower/,
    );
    const underlayDev = await netlinkError(
      rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, group: '239.1.1.1', link: 'noeth0' } }),
      'ENODEV',
    );
    assert.match(
      underlayDev.message,
      /^create link vx0 \(vxlan id 1\) failed: ENODEV .*likely cause: vxlan\.link: no device named noeth0/,
    );
    const address = await netlinkError(rt.addresses.add({ dev: 'noeth0', address: '10.0.0.1/24' }), 'ENODEV');
    assert.match(
      address.message,
      /^add address 10\.0\.0\.1\/24 on noeth0 failed: ENODEV .*likely cause: dev: no device named noeth0/,
    );
    const route = await netlinkError(rt.routes.add({ dst: '10.1.0.0/16', dev: 'noeth0' }), 'ENODEV');
    assert.match(route.message, /^add route 10\.1\.0\.0\/16 dev noeth0 failed: ENODEV .*dev: no device named noeth0/);
    const hop = await netlinkError(
      rt.routes.add({
        dst: '10.2.0.0/16',
        nexthops: [
          { gateway: '192.0.2.2', dev: 'ul0' },
          { gateway: '192.0.2.3', dev: 'noeth0' },
        ],
      }),
      'ENODEV',
    );
    assert.match(hop.likelyCause!, /^nexthops\[1\]\.dev: no device named noeth0/);
    const neighbour = await netlinkError(
      rt.neighbours.add({ dev: 'noeth0', dst: '10.0.0.2', lladdr: '02:00:00:00:00:01' }),
      'ENODEV',
    );
    assert.match(neighbour.message, /^add neighbour 10\.0\.0\.2 on noeth0 failed: ENODEV/);
    const fdb = await netlinkError(
      rt.fdb.append({ dev: 'novx0', mac: '00:00:00:00:00:00', dst: '192.0.2.2' }),
      'ENODEV',
    );
    assert.match(
      fdb.message,
      /^append fdb entry 00:00:00:00:00:00 dev novx0 dst 192\.0\.2\.2 failed: ENODEV .*dev: no device named novx0/,
    );
    const list = await netlinkError(rt.fdb.list({ dev: 'novx0' }), 'ENODEV');
    assert.match(list.likelyCause!, /^dev: no device named novx0/);
  });
});

// ------------------------------------------------------------------ EPERM

/** Runs a small program that uses vxnet inside `ns`, with `wrapper` in front (setpriv ...); returns what it printed. */
function runLimited(ns: string, wrapper: string[], body: string): string {
  const client = pathToFileURL(resolve(REPO_ROOT, 'src/rtnetlink/client.ts')).href;
  const program = `
    import { Rtnetlink } from '${client}';
    const rt = await Rtnetlink.open();
    const out = {};
    try { ${body} } catch (error) { out.error = { name: error.name, code: error.code, message: error.message }; }
    rt.close();
    console.log(JSON.stringify(out));
  `;
  const run = spawnSync(
    'ip',
    ['netns', 'exec', ns, ...wrapper, process.execPath, '--import', 'tsx', '--input-type=module', '-e', program],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  assert.is(run.status, 0, `the limited program ran: ${run.stderr}`);
  return run.stdout.trim().split('\n').pop()!;
}

it('EPERM names the missing privilege: an unprivileged user, and root without CAP_NET_ADMIN', async () => {
  await withNamespaces(['eperm'], async (ns) => {
    ipIn(ns, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1');
    const body = `out.links = (await rt.links.list()).length; await rt.links.create({ ifname: 'br0', kind: 'bridge' });`;
    for (const wrapper of [
      ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
      ['setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin'],
    ]) {
      const result = JSON.parse(runLimited(ns, wrapper, body));
      assert.is(result.links, 3, `${wrapper.join(' ')}: listing needs no privilege`);
      assert.equal(result.error.name, 'NetlinkError');
      assert.is(result.error.code, 'EPERM');
      assert.match(
        result.error.message,
        /^create link br0 \(bridge\) failed: EPERM .*likely cause: the process lacks CAP_NET_ADMIN in this network namespace/,
      );
    }
    const change = JSON.parse(
      runLimited(
        ns,
        ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
        `await rt.links.set('ul0', { mtu: 1400 });`,
      ),
    );
    assert.match(change.error.message, /^change link ul0 failed: EPERM .*CAP_NET_ADMIN/);
    const fdb = JSON.parse(
      runLimited(
        ns,
        ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
        `await rt.routes.add({ dst: '10.0.0.0/8', dev: 'ul0' });`,
      ),
    );
    assert.match(fdb.error.message, /^add route 10\.0\.0\.0\/8 dev ul0 failed: EPERM .*CAP_NET_ADMIN/);
    assert.equal(
      ipJson(ns, 'link', 'show')
        .map((l: { ifname: string }) => l.ifname)
        .sort(),
      ['lo', 'ul0', 'ul1'],
      'nothing was created',
    );
  });
});

// ------------------------------------------------------------------ EINVAL and friends

it('EINVAL (and EOPNOTSUPP, ENETDOWN, EADDRNOTAVAIL) name the attribute most likely refused', async () => {
  await withNamespaces(['einval', 'elsewhere'], async (ns, other) => {
    underlay(ns);
    ipIn(ns, 'link', 'add', 'mv0', 'link', 'ul1', 'type', 'macvlan');
    ipIn(ns, 'link', 'add', 'br0', 'type', 'bridge');
    ipIn(ns, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p0b');
    ipIn(ns, 'link', 'set', 'p0', 'master', 'br0');
    ipIn(ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '1', 'dstport', '4789');
    await using rt = await Rtnetlink.open({ namespace: ns });
    const gpe = await netlinkError(
      rt.links.create({ ifname: 'vxg', kind: 'vxlan', vxlan: { id: 0, external: 1, gpe: true, port: 4790 } }),
      'EINVAL',
    );
    assert.match(gpe.likelyCause!, /^vxlan\.learning: a GPE device cannot learn/);
    const gpeGbp = await netlinkError(
      rt.links.create({
        ifname: 'vxg',
        kind: 'vxlan',
        vxlan: { id: 0, external: 1, gpe: true, learning: 0, gbp: true, port: 4790 },
      }),
      'EINVAL',
    );
    assert.match(gpeGbp.likelyCause!, /^vxlan\.gbp: a GPE device does not support vxlan\.gbp/);
    const mtu = await netlinkError(rt.links.set('mv0', { mtu: 9000 }), 'EINVAL');
    assert.match(mtu.likelyCause!, /^mtu: 9000 exceeds the MTU of mv0's lower device ul1 \(1500\)/);
    const vni = await netlinkError(
      rt.links.set('vx0', { linkinfo: { info_kind: 'vxlan', info_data: { id: 2 } } }),
      'EOPNOTSUPP',
    );
    assert.match(vni.likelyCause!, /^linkinfo\.info_data\.id: the VNI of a VXLAN device cannot change/);
    const port = await netlinkError(
      rt.links.set('vx0', { linkinfo: { info_kind: 'vxlan', info_data: { port: 4790 } } }),
      'EOPNOTSUPP',
    );
    assert.match(port.likelyCause!, /^linkinfo\.info_data: a vxlan device cannot change port after creation/);
    const self = await netlinkError(rt.links.set('br0', { master: 'br0' }), 'ELOOP');
    assert.match(self.likelyCause!, /^master: br0 cannot be its own master/);
    ipIn(ns, 'link', 'add', 'br1', 'type', 'bridge');
    const nested = await netlinkError(rt.links.set('br1', { master: 'br0' }), 'ELOOP');
    assert.match(nested.likelyCause!, /^master: br1 \(a bridge device\) cannot be a port of br0/);
    const loopback = await netlinkError(rt.links.set('lo', { master: 'br0' }), 'EINVAL');
    assert.match(loopback.likelyCause!, /^master: lo is not an Ethernet device/);
    const move = await netlinkError(rt.links.set('br0', { namespace: other }), 'EINVAL');
    assert.match(move.likelyCause!, /^namespace: br0 \(a bridge device\) cannot leave its network namespace/);
    const notBridge = await netlinkError(rt.links.set('ul0', { master: 'vx0' }), 'EOPNOTSUPP');
    assert.match(notBridge.likelyCause!, /^master: vx0 is a vxlan device, which cannot take ports/);
    const notPort = await netlinkError(rt.links.setBridgePort('ul0', { cost: 5 }), 'EOPNOTSUPP');
    assert.match(notPort.likelyCause!, /^ul0 has no master: bridge-port options apply to a port/);
    const down = await netlinkError(rt.links.setBridgePort('p0', { state: 3 }), 'ENETDOWN');
    assert.is(down.likelyCause, "the bridge br0 is down: bring it up before setting a port's state");
    // The same errno with the bridge up: the port is up but has no carrier (its veth peer is down), and that is what is named.
    await rt.links.set('br0', { up: true });
    await rt.links.set('p0', { up: true });
    const noCarrier = await netlinkError(rt.links.setBridgePort('p0', { state: 3 }), 'ENETDOWN');
    assert.match(
      noCarrier.likelyCause!,
      /^the port p0 is not operationally up \(it has no carrier \(a veth has one only while its peer is up\)\)/,
      noCarrier.message,
    );
    await rt.links.set('p0b', { up: true });
    await rt.links.setBridgePort('p0', { state: 3 });
    await rt.links.set('br0', { up: false });
    const mac = await netlinkError(rt.links.set('ul1', { address: '01:00:5e:00:00:01' }), 'EADDRNOTAVAIL');
    assert.match(mac.likelyCause!, /^address: 01:00:5e:00:00:01 is not a usable unicast MAC/);
    const prefsrc = await netlinkError(
      rt.routes.add({ dst: '10.99.0.0/16', dev: 'ul0', prefsrc: '10.1.1.1' }),
      'EINVAL',
    );
    assert.match(prefsrc.likelyCause!, /^prefsrc: 10\.1\.1\.1 must be an address configured on this host/);
    const gateway = await netlinkError(rt.routes.add({ dst: '10.98.0.0/16', gateway: '10.1.1.1' }), 'ENETUNREACH');
    assert.match(gateway.likelyCause!, /^gateway: 10\.1\.1\.1 is not reachable through a connected route/);
    const lladdr = await netlinkError(
      rt.neighbours.add({ dev: 'ul0', dst: '192.0.2.70', lladdr: '02:00:00:00' }),
      'EINVAL',
    );
    assert.match(lladdr.likelyCause!, /^lladdr: 02:00:00:00 has 4 bytes, but ul0 takes 6-byte link-layer addresses/);
    const noLladdr = await netlinkError(rt.neighbours.add({ dev: 'ul0', dst: '192.0.2.71' }), 'EINVAL');
    assert.match(noLladdr.likelyCause!, /^lladdr: a permanent entry needs a link-layer address/);
    const noDst = await netlinkError(rt.fdb.add({ dev: 'vx0', mac: '02:00:00:00:00:0a' }), 'EINVAL');
    assert.match(noDst.likelyCause!, /^dst: an entry in the table of VXLAN device vx0 says where to send/);
    const family = await netlinkError(
      rt.fdb.append({ dev: 'vx0', mac: '00:00:00:00:00:00', dst: '2001:db8::5' }),
      'EAFNOSUPPORT',
    );
    assert.match(family.likelyCause!, /2001:db8::5 is not of the device's address family/);
    const noBridge = await netlinkError(
      rt.fdb.add({ dev: 'ul0', mac: '02:00:00:00:00:0b', master: true, state: 'static' }),
      'EOPNOTSUPP',
    );
    assert.match(noBridge.likelyCause!, /^master: ul0 is not a bridge port/);
  });
});

// ------------------------------------------------------------------ EOPNOTSUPP on create: a missing driver, or a refused option

/** Whether `ip` (the oracle) finds the kind unknown to this kernel; a device it did create is deleted. */
function ipKnowsKind(ns: string, kind: string): boolean {
  const run = spawnSync('ip', ['-n', ns, 'link', 'add', 'kindprobe0', 'type', kind], { encoding: 'utf8' });
  if (run.status === 0) ipIn(ns, 'link', 'del', 'kindprobe0');
  return !/Unknown device type/.test(run.stderr);
}

it('EOPNOTSUPP on create blames a missing driver only when the kernel does not know the kind (ip agrees), and leaves nothing behind', async () => {
  await withNamespaces(['nokind'], async (ns) => {
    await using rt = await Rtnetlink.open({ namespace: ns });
    // A kind no kernel has; and kinds some builds have (dummy, nlmon: not this one), with ip as the oracle either way.
    for (const kind of ['vxnetnokind', 'dummy', 'nlmon']) {
      const known = ipKnowsKind(ns, kind);
      if (kind === 'vxnetnokind') assert.not.ok(known, 'ip agrees that no kernel has this kind');
      if (known) {
        await rt.links.create({ ifname: 'k0', kind });
        await rt.links.delete('k0');
        continue;
      }
      const error = await netlinkError(rt.links.create({ ifname: 'k0', kind }), 'EOPNOTSUPP');
      assert.match(
        error.likelyCause!,
        new RegExp(`^this kernel has no "${kind}" link driver: it does not know the kind`),
        error.message,
      );
    }
    // The probe that asked the kernel created nothing (and deleted nothing).
    assert.equal(
      ipJson(ns, 'link', 'show').map((l: { ifname: string }) => l.ifname),
      ['lo'],
    );
  });
});

it('EOPNOTSUPP on a vxlan create with the driver there names the optional options set, never a missing driver', async () => {
  await withNamespaces(['optional', 'novxlan'], async (ns, bare) => {
    ipIn(ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', '1', 'dstport', '4789');
    await using rt = await Rtnetlink.open({ namespace: ns });
    await using rtBare = await Rtnetlink.open({ namespace: bare });
    // The real kernel: remcsum_nopartial is refused by some builds (EOPNOTSUPP), accepted by others. Either way is checked.
    for (const [client, where, evidence] of [
      [rt, ns, 'vx0 is one'],
      [rtBare, bare, 'it knows the kind'],
    ] as const) {
      const spec = { ifname: 'vxn', kind: 'vxlan', vxlan: { id: 7, port: 4790, remcsum_nopartial: true } } as const;
      try {
        await client.links.create(spec);
        assert.is(
          ipJson(where, '-d', 'link', 'show', 'vxn')[0].linkinfo.info_kind,
          'vxlan',
          'created: ip reads it back',
        );
        ipIn(where, 'link', 'del', 'vxn');
      } catch (error) {
        assert.instance(error, NetlinkError, String(error));
        assert.is((error as NetlinkError).code, 'EOPNOTSUPP', (error as Error).message);
        assert.is(
          (error as NetlinkError).likelyCause,
          `the kernel has the vxlan driver (${evidence}); it refused the one of its optional vxlan features the request sets, vxlan.remcsum_nopartial, which not every build supports`,
        );
      }
    }
    assert.equal(
      ipJson(bare, 'link', 'show').map((l: { ifname: string }) => l.ifname),
      ['lo'],
      'the probe left nothing behind',
    );
    // The same refusal whatever this build accepts: explain looks at the real namespace, for a request the kernel refused.
    const refused = (object: string) => new NetlinkError({ errno: 95, operation: 'create link', object });
    const several = await explainLinkError(
      rt,
      {
        ifname: 'vxm',
        kind: 'vxlan',
        vxlan: { id: 8, gbp: true, remcsum_rx: 1, remcsum_nopartial: true, learning: 0 },
      },
      refused('vxm (vxlan id 8)'),
    );
    assert.is(
      several.likelyCause,
      'the kernel has the vxlan driver (vx0 is one); it refused one of the optional vxlan features the request sets, which not every build supports: ' +
        'vxlan.remcsum_nopartial, vxlan.remcsum_rx, vxlan.gbp (remcsum_nopartial is refused by some builds of a version that others accept it on)',
    );
    const bridge = await explainLinkError(rtBare, { ifname: 'br0', kind: 'bridge' }, refused('br0 (bridge)'));
    assert.match(
      bridge.likelyCause!,
      /^the kernel has the bridge driver \(it knows the kind\), yet refused to create one: no bridge option was given/,
    );
    const missing = await explainLinkError(rtBare, { ifname: 'x0', kind: 'vxnetnokind' }, refused('x0 (vxnetnokind)'));
    assert.match(missing.likelyCause!, /^this kernel has no "vxnetnokind" link driver/);
    assert.equal(
      ipJson(bare, 'link', 'show').map((l: { ifname: string }) => l.ifname),
      ['lo'],
      'nothing left behind',
    );
  });
});

// ------------------------------------------------------------------ EADDRINUSE: who holds the VXLAN port

/** A process that holds UDP `port` (IPv4, every address) inside `ns` until killed; resolves once bound. */
async function udpHolder(ns: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      ns,
      process.execPath,
      '-e',
      `require('node:dgram').createSocket('udp4').bind(${port}, () => console.log('bound'))`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the UDP holder exited (${code})`)));
  });
  return child;
}

it('EADDRINUSE on bringing a vxlan device up names the device or the process that holds its port', async () => {
  await withNamespaces(['inuse'], async (ns) => {
    // A device up on 5555 without receive options; a gbp device (down) on 5555 and on 5556.
    ipIn(ns, 'link', 'add', 'vxa', 'type', 'vxlan', 'id', '1', 'dstport', '5555');
    ipIn(ns, 'link', 'set', 'vxa', 'up');
    ipIn(ns, 'link', 'add', 'vxb', 'type', 'vxlan', 'id', '2', 'dstport', '5555', 'gbp');
    ipIn(ns, 'link', 'add', 'vxc', 'type', 'vxlan', 'id', '3', 'dstport', '5556', 'gbp');
    await using rt = await Rtnetlink.open({ namespace: ns });
    const set = await netlinkError(rt.links.set('vxb', { up: true }), 'EADDRINUSE');
    assert.match(
      set.likelyCause!,
      /^vxa is up on UDP port 5555 \(IPv4\) with other receive options \(none, where vxb has gbp\)/,
      set.message,
    );
    const create = await netlinkError(
      rt.links.create({ ifname: 'vxd', kind: 'vxlan', up: true, vxlan: { id: 4, port: 5555, gbp: true } }),
      'EADDRINUSE',
    );
    assert.match(
      create.likelyCause!,
      /^vxa is up on UDP port 5555 \(IPv4\) with other receive options \(none, where vxd has gbp\)/,
      create.message,
    );
    assert.not.ok(
      ipJson(ns, 'link', 'show').some((l: { ifname: string }) => l.ifname === 'vxd'),
      'the refused device is not left behind',
    );
    // The same errno from a process's socket, with a vxlan device of other options on that port that is down: the process is named, not vxc.
    const holder = await udpHolder(ns, 5556);
    try {
      const socket = await netlinkError(
        rt.links.create({ ifname: 'vxe', kind: 'vxlan', up: true, vxlan: { id: 5, port: 5556 } }),
        'EADDRINUSE',
      );
      assert.match(
        socket.likelyCause!,
        new RegExp(
          `^a UDP socket already holds port 5556 in namespace ${ns} \\(0\\.0\\.0\\.0:5556 held by node \\(pid ${holder.pid}\\)\\)`,
        ),
        socket.message,
      );
      assert.not.match(socket.likelyCause!, /vxc/);
      // An IPv6 device does not collide with an IPv4 socket: it comes up.
      await rt.links.create({ ifname: 'vxf', kind: 'vxlan', up: true, vxlan: { id: 6, port: 5556, local6: '::1' } });
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

it('EINVAL on a create with an MTU over the lower device names it; the same errno for another cause does not', async () => {
  await withNamespaces(['lowermtu'], async (ns) => {
    underlay(ns);
    await using rt = await Rtnetlink.open({ namespace: ns });
    const over = await netlinkError(
      rt.links.create({ ifname: 'mv0', kind: 'macvlan', link: 'ul1', mtu: 9000 }),
      'EINVAL',
    );
    assert.is(over.likelyCause, 'mtu: 9000 exceeds the MTU of the lower device ul1 (1500)');
    // macvlan refuses a loopback lower device: the MTU (below lo's) is not blamed, and no cause is made up.
    const loopback = await netlinkError(
      rt.links.create({ ifname: 'mv1', kind: 'macvlan', link: 'lo', mtu: 1400 }),
      'EINVAL',
    );
    assert.is(loopback.likelyCause, 'the kernel refused a value or a combination of attributes in the request');
  });
});

// ------------------------------------------------------------------ EINVAL: a VXLAN MTU over its underlay; a flow label on IPv4

it('EINVAL on a vxlan MTU names the underlay limit with numbers; another EINVAL with an MTU in the request does not', async () => {
  await withNamespaces(['vxmtu'], async (ns) => {
    underlay(ns);
    ipIn(ns, 'link', 'add', 'vx4', 'type', 'vxlan', 'id', '1', 'dstport', '4789', 'local', '192.0.2.1', 'dev', 'ul0');
    ipIn(ns, 'link', 'add', 'vx6', 'type', 'vxlan', 'id', '1', 'dstport', '4789', 'local', '2001:db8::1', 'dev', 'ul0');
    ipIn(ns, 'link', 'add', 'vxn', 'type', 'vxlan', 'id', '2', 'dstport', '4789');
    await using rt = await Rtnetlink.open({ namespace: ns });
    const four = await netlinkError(rt.links.set('vx4', { mtu: 1451 }), 'EINVAL');
    assert.is(
      four.likelyCause,
      "mtu: 1451 is more than vx4 can carry over its underlay ul0: 1500 (the underlay's MTU) - 50 " +
        '(VXLAN over IPv4: outer IP, UDP and VXLAN headers and the inner Ethernet header) = 1450 at most',
    );
    await rt.links.set('vx4', { mtu: 1450 });
    const six = await netlinkError(rt.links.set('vx6', { mtu: 1431 }), 'EINVAL');
    assert.match(
      six.likelyCause!,
      /^mtu: 1431 is more than vx6 can carry over its underlay ul0: 1500 .* - 70 \(VXLAN over IPv6: .*\) = 1430 at most$/,
    );
    await rt.links.set('vx6', { mtu: 1430 });
    // Without an underlay there is no such limit: the kernel takes any MTU up to 65535.
    await rt.links.set('vxn', { mtu: 9000 });
    // The same errno for a request whose MTU is within the limit (a flow label on an IPv4 device): the underlay is not blamed.
    const label = await netlinkError(
      rt.links.set('vx4', { linkinfo: { info_kind: 'vxlan', info_data: { label: 5 } } }),
      'EINVAL',
    );
    assert.match(label.likelyCause!, /^linkinfo\.info_data: the kernel refused one of label/, label.message);
    const within = await explainChangeError(
      rt,
      'vx4',
      { mtu: 1400 },
      new NetlinkError({ errno: 22, operation: 'change link', object: 'vx4' }),
    );
    assert.not.match(within.likelyCause!, /underlay|1450/, within.message);
    // An MTU sent with vxlan options: refused by the driver as such (EOPNOTSUPP), and said so, not blamed on the options.
    const together = await netlinkError(
      rt.links.set('vx4', { mtu: 1400, linkinfo: { info_kind: 'vxlan', info_data: { ttl: 9 } } }),
      'EOPNOTSUPP',
    );
    assert.match(together.likelyCause!, /^mtu: the vxlan driver refuses an MTU sent together with vxlan options/);
    // On create the kernel does not refuse an MTU over the limit: it lowers it to the limit without a word.
    const clamped = await rt.links.create({
      ifname: 'vxc',
      kind: 'vxlan',
      mtu: 9000,
      vxlan: { id: 3, port: 4789, local: '192.0.2.1', link: 'ul0' },
    });
    assert.is(clamped.mtu, 1450);
    assert.is(ipJson(ns, 'link', 'show', 'vxc')[0].mtu, 1450);
  });
});

it('EINVAL for a flow label on an IPv4 vxlan names the label; on an IPv6 device refused for another reason it does not', async () => {
  await withNamespaces(['label'], async (ns) => {
    underlay(ns);
    await using rt = await Rtnetlink.open({ namespace: ns });
    for (const vxlan of [
      { id: 1, label: 5 },
      { id: 1, label: 5, local: '192.0.2.1', link: 'ul0' },
    ]) {
      const error = await netlinkError(rt.links.create({ ifname: 'vxl', kind: 'vxlan', vxlan }), 'EINVAL');
      assert.is(
        error.likelyCause,
        'vxlan.label: a flow label (5) is a field of the IPv6 header, so it needs an IPv6 device (group6 or local6): this one is IPv4',
      );
    }
    // IPv6 with a label is fine; a multicast local address is what the kernel refuses here (vxnet does not check it beforehand).
    await rt.links.create({ ifname: 'vxl6', kind: 'vxlan', vxlan: { id: 2, label: 5, local6: '2001:db8::1' } });
    const other = await netlinkError(
      rt.links.create({ ifname: 'vxm', kind: 'vxlan', vxlan: { id: 3, label: 5, local6: 'ff05::1', link: 'ul0' } }),
      'EINVAL',
    );
    assert.not.match(other.likelyCause!, /^vxlan\.label|underlay device/, other.message);
    assert.match(
      other.likelyCause!,
      /^the kernel refused the vxlan options, and none of the combinations vxnet knows it to refuse is in this request/,
    );
  });
});

// ------------------------------------------------------------------ entering a namespace

/** Runs a small program that opens vxnet on namespace `ns` with `wrapper` in front (setpriv ...); returns what it printed. */
function openAs(wrapper: string[], ns: string): { name: string; message: string } {
  const client = pathToFileURL(resolve(REPO_ROOT, 'src/rtnetlink/client.ts')).href;
  const program = `
    import { Rtnetlink } from '${client}';
    try { (await Rtnetlink.open({ namespace: ${JSON.stringify(ns)} })).close(); console.log(JSON.stringify({ name: 'opened', message: '' })); }
    catch (error) { console.log(JSON.stringify({ name: error.name, message: error.message })); }
  `;
  const run = spawnSync(
    wrapper[0]!,
    [...wrapper.slice(1), process.execPath, '--import', 'tsx', '--input-type=module', '-e', program],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  assert.is(run.status, 0, `the program ran: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

it('opening a namespace without CAP_SYS_ADMIN says entering it needs root, naming it; a missing namespace says so instead', async () => {
  await withNamespaces(['enter'], async (ns) => {
    const nobody = openAs(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], ns);
    assert.is(nobody.name, 'VxnetError');
    assert.match(
      nobody.message,
      new RegExp(
        `: could not start: entering network namespace ${ns} needs root \\(CAP_SYS_ADMIN\\), and this process runs as uid 65534 without it \\(nsenter: .*Operation not permitted\\)$`,
      ),
    );
    const capless = openAs(['setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin'], ns);
    assert.match(
      capless.message,
      new RegExp(
        `entering network namespace ${ns} needs CAP_SYS_ADMIN, which this process lacks \\(it runs as root without it\\)`,
      ),
    );
    // The same failure of nsenter for another cause: the namespace is not there. Root is not blamed.
    const missing = openAs(['env'], `${ns}-missing`);
    assert.match(
      missing.message,
      new RegExp(
        `could not start: there is no network namespace ${ns}-missing: /run/netns/${ns}-missing does not exist \\(create it with ip netns add ${ns}-missing\\)`,
      ),
    );
    assert.not.match(missing.message, /CAP_SYS_ADMIN/);
    assert.equal(openAs(['env'], ns), { name: 'opened', message: '' }, 'root enters it');
  });
});

it('refused before sending: a ValidationError names the field, and the kernel never saw the request', async () => {
  await withNamespaces(['valid'], async (ns) => {
    underlay(ns);
    await using rt = await Rtnetlink.open({ namespace: ns });
    const cases: [string, () => Promise<unknown>][] = [
      ['ifname', () => rt.links.create({ ifname: 'a-name-of-16-byt', kind: 'bridge' })],
      ['ifname', () => rt.links.create({ ifname: 'br/0', kind: 'bridge' })],
      ['ifname', () => rt.links.create({ ifname: 'br 0', kind: 'bridge' })],
      ['peer.ifname', () => rt.links.create({ ifname: 've0', kind: 'veth', peer: { ifname: 've\t1' } })],
      ['vxlan.id', () => rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 2 ** 24 } })],
      ['vxlan.port', () => rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, port: 65536 } })],
      [
        'vxlan.port_range',
        () =>
          rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, port_range: { low: 6000, high: 5000 } } }),
      ],
      [
        'vxlan.local6',
        () =>
          rt.links.create({
            ifname: 'vx0',
            kind: 'vxlan',
            vxlan: { id: 1, group: '192.0.2.2', local6: '2001:db8::1' },
          }),
      ],
      ['vxlan.link', () => rt.links.create({ ifname: 'vx0', kind: 'vxlan', vxlan: { id: 1, group: '239.1.1.1' } })],
      ['address', () => rt.links.create({ ifname: 'br0', kind: 'bridge', address: '02:00:00:00:00' })],
      ['namespace', () => rt.links.create({ ifname: 'br0', kind: 'bridge', namespace: 'no-such-namespace' })],
      ['lladdr', () => rt.neighbours.add({ dev: 'ul0', dst: '192.0.2.9', lladdr: 'zz:00:00:00:00:01' })],
      ['mac', () => rt.fdb.append({ dev: 'ul0', mac: '00:00:00:00:00', dst: '192.0.2.2' })],
      ['port', () => rt.fdb.append({ dev: 'ul0', mac: '00:00:00:00:00:00', dst: '192.0.2.2', port: 0 })],
      ['dst', () => rt.routes.add({ dst: '10.95.1.1/16', dev: 'ul0' })],
      ['gateway', () => rt.routes.add({ dst: '10.95.0.0/16', gateway: '2001:db8::2' })],
      ['broadcast', () => rt.addresses.add({ dev: 'ul0', address: '2001:db8::5/64', broadcast: '192.0.2.255' })],
    ];
    // What the requests could have changed. The kernel's own multicast neighbour entries (IPv6 MLD's ff02::…,
    // made and dropped as the interfaces settle) are left out: none of the requests makes one.
    const state = () =>
      [
        sh('ip', ['-n', ns, '-d', 'link', 'show']),
        sh('ip', ['-n', ns, 'route', 'show', 'table', 'all']),
        ...sh('ip', ['-n', ns, 'neigh', 'show', 'nud', 'all'])
          .split('\n')
          .filter((line) => !/^ff[0-9a-f]{2}:/.test(line)),
      ].join('\n');
    await ipv6Settled(ns);
    const before = state();
    for (const [field, request] of cases) {
      const error = await refusal(request());
      assert.instance(error, ValidationError, `${field}: ${error.message}`);
      assert.is((error as ValidationError).field, field, error.message);
      assert.match(error.message, new RegExp(`^invalid ${field.replace(/[.[\]]/g, '\\$&')}: `));
    }
    const after = state();
    assert.is(after.replace(/\d+sec/g, ''), before.replace(/\d+sec/g, ''), 'nothing changed');
  });
});

test.run();
