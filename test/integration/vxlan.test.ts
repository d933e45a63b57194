/**
 * The seed, on the real kernel: three hosts, a VXLAN overlay (multicast
 * group, or unicast peers), a bridge per host, one container per host, and
 * pings between every pair.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attachPort, ensureBridge, listPorts } from '../../src/bridge/index.js';
import { ConflictError } from '../../src/common/conflict.js';
import { ValidationError } from '../../src/netlink/errors.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import {
  addPeer,
  ensureVxlan,
  listPeers,
  removePeer,
  setPeers,
  vxlanStatus,
  type VxlanSpec,
} from '../../src/vxlan/index.js';
import { Lab, type LabContainer, type LabHost } from '../helpers/lab.js';
import { integrationReady, ipJson, sh } from '../helpers/netns.js';
import { countingRtnetlink } from '../helpers/writes.js';

const it = integrationReady(['ip', 'nsenter', 'ping', 'bridge']) ? test : test.skip;
const ipJsonBridge = (ns: string): { mac: string; dst?: string }[] =>
  JSON.parse(sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vx0']) || '[]');

interface Overlay {
  lab: Lab;
  containers: LabContainer[];
  clients: Rtnetlink[];
}

/** Builds the seed on `hosts` lab hosts, the VXLAN spec of each host given by `vxlanFor`. */
async function seed(
  hosts: number,
  vxlanFor: (host: LabHost, lab: Lab) => VxlanSpec,
  options: { family?: 4 | 6 } = {},
): Promise<Overlay> {
  const lab = Lab.create({ hosts, family: options.family });
  const clients: Rtnetlink[] = [];
  const containers: LabContainer[] = [];
  try {
    for (const host of lab.hosts) {
      const rt = await Rtnetlink.open({ namespace: host.ns });
      clients.push(rt);
      await ensureVxlan(rt, vxlanFor(host, lab));
      const mtu = (await rt.links.get('vx0')).mtu!;
      await ensureBridge(rt, { name: 'br0', mtu });
      await attachPort(rt, 'br0', 'vx0');
      const address = options.family === 6 ? `fd10::${10 + host.index}/64` : `10.10.0.${10 + host.index}/24`;
      const container = lab.addContainer(host, `c${host.index}`, { address, mtu });
      await attachPort(rt, 'br0', container.hostDev);
      containers.push(container);
    }
  } catch (error) {
    for (const rt of clients) rt.close();
    lab.destroy();
    throw error;
  }
  return { lab, containers, clients };
}

function teardown(overlay: Overlay): void {
  for (const rt of overlay.clients) rt.close();
  overlay.lab.destroy();
}

const ip = (c: LabContainer) => c.address!.split('/')[0]!;

async function assertAllPairsPing(overlay: Overlay): Promise<void> {
  for (const from of overlay.containers) {
    for (const to of overlay.containers) {
      if (from === to) continue;
      assert.ok(
        await overlay.lab.pingEventually(from.ns, ip(to), 8),
        `${from.name} (host ${from.host.index}) reaches ${to.name} (host ${to.host.index})`,
      );
    }
  }
}

it('the seed: vx0 id 42 group 239.1.1.1 dev eth0 dstport 4789 on 3 hosts, every container pings every other', async () => {
  const overlay = await seed(3, () => ({ name: 'vx0', vni: 42, group: '239.1.1.1', underlay: 'eth0', port: 4789 }));
  try {
    await assertAllPairsPing(overlay);
    // ip reads back what the seed's command would have made.
    const [vx] = ipJson<any[]>(overlay.lab.host(1).ns, '-d', 'link', 'show', 'vx0');
    assert.is(vx.linkinfo.info_kind, 'vxlan');
    assert.is(vx.linkinfo.info_data.id, 42);
    assert.is(vx.linkinfo.info_data.group, '239.1.1.1');
    assert.is(vx.linkinfo.info_data.port, 4789);
    assert.is(vx.linkinfo.info_data.link, 'eth0');
    assert.is(vx.mtu, 1450);
    assert.is(vx.master, 'br0');
    const ports = (await listPorts(overlay.clients[0]!, 'br0')).map((l) => l.ifname).sort();
    assert.equal(ports, ['v-c1', 'vx0']);
  } finally {
    teardown(overlay);
  }
});

it('the cloud variant: unicast peers, no group; removing a peer stops pings to that host, adding it back resumes them', async () => {
  const overlay = await seed(3, (host, lab) => ({
    name: 'vx0',
    vni: 42,
    underlay: 'eth0',
    local: host.address,
    port: 4789,
    peers: lab.hosts.filter((h) => h !== host).map((h) => h.address),
  }));
  try {
    await assertAllPairsPing(overlay);
    const [c1, c2, c3] = overlay.containers as [LabContainer, LabContainer, LabContainer];
    const [rt1, rt2] = overlay.clients as [Rtnetlink, Rtnetlink];
    const host3 = overlay.lab.host(3).address;
    assert.equal((await listPeers(rt1, 'vx0')).sort(), [overlay.lab.host(2).address, host3].sort());

    // Host 3 leaves the overlay: hosts 1 and 2 drop it, and it drops them. (Removing it on one side only
    // stops flooding towards it; with learning on, whatever it still sends would be learned again.)
    const [, , rt3] = overlay.clients as [Rtnetlink, Rtnetlink, Rtnetlink];
    assert.ok(await removePeer(rt1, 'vx0', host3));
    assert.equal(await setPeers(rt2, 'vx0', [overlay.lab.host(1).address]), { added: [], removed: [host3] });
    assert.equal(
      (await setPeers(rt3, 'vx0', [])).removed.sort(),
      [overlay.lab.host(1).address, overlay.lab.host(2).address].sort(),
    );
    assert.not.ok(overlay.lab.ping(c1.ns, ip(c3), { count: 3 }), 'host 3 is unreachable from host 1');
    assert.not.ok(overlay.lab.ping(c2.ns, ip(c3), { count: 3 }), 'host 3 is unreachable from host 2');
    assert.ok(overlay.lab.ping(c1.ns, ip(c2)), 'hosts 1 and 2 still reach each other');

    // It joins again.
    assert.ok(await addPeer(rt1, 'vx0', host3));
    assert.equal(await setPeers(rt2, 'vx0', [overlay.lab.host(1).address, host3]), { added: [host3], removed: [] });
    await setPeers(rt3, 'vx0', [overlay.lab.host(1).address, overlay.lab.host(2).address]);
    assert.ok(await overlay.lab.pingEventually(c1.ns, ip(c3), 8), 'pings to host 3 resume');
    assert.ok(await overlay.lab.pingEventually(c2.ns, ip(c3), 8));

    // bridge reads back the flood list vxnet wrote.
    const flood = ipJsonBridge(overlay.lab.host(2).ns)
      .filter((e) => e.mac === '00:00:00:00:00:00')
      .map((e) => e.dst)
      .sort();
    assert.equal(flood, [overlay.lab.host(1).address, host3].sort());
  } finally {
    teardown(overlay);
  }
});

it('a port mismatch: host 3 on 8472, the others on 4789: its pings fail and status says why', async () => {
  const overlay = await seed(3, (host) => ({
    name: 'vx0',
    vni: 42,
    group: '239.1.1.1',
    underlay: 'eth0',
    port: host.index === 3 ? 8472 : 4789,
  }));
  try {
    const [c1, c2, c3] = overlay.containers as [LabContainer, LabContainer, LabContainer];
    assert.ok(await overlay.lab.pingEventually(c1.ns, ip(c2), 8), 'hosts on the same port work');
    assert.not.ok(overlay.lab.ping(c1.ns, ip(c3), { count: 3 }), 'host 3 is on another port');
    const status = await vxlanStatus(overlay.clients[2]!, 'vx0', { port: 4789 });
    assert.is(status.port, 8472);
    assert.ok(
      status.problems.some((p) =>
        /port mismatch: vx0 uses UDP port 8472 but the overlay expects 4789 \(8472 is the Linux driver's default/.test(
          p,
        ),
      ),
      status.problems.join('\n'),
    );
    const healthy = await vxlanStatus(overlay.clients[0]!, 'vx0', { port: 4789 });
    assert.equal(healthy.problems, []);
  } finally {
    teardown(overlay);
  }
});

it('MTU: a DF ping of the largest size the overlay allows passes between hosts; one byte more fails', async () => {
  const overlay = await seed(2, () => ({ name: 'vx0', vni: 42, group: '239.1.1.1', underlay: 'eth0' }));
  try {
    const [c1, c2] = overlay.containers as [LabContainer, LabContainer];
    assert.ok(await overlay.lab.pingEventually(c1.ns, ip(c2), 8));
    // 1500 underlay - 50 VXLAN overhead = 1450; minus 20 (IPv4) and 8 (ICMP) headers = 1422 bytes of payload.
    assert.ok(overlay.lab.ping(c1.ns, ip(c2), { size: 1422, dontFragment: true }), '1422-byte DF ping passes');
    assert.not.ok(overlay.lab.ping(c1.ns, ip(c2), { size: 1423, dontFragment: true }), '1423 bytes do not fit');
  } finally {
    teardown(overlay);
  }
});

it('over an IPv6 underlay: MTU 1430 (70 bytes overhead) and pings across', async () => {
  const overlay = await seed(2, () => ({ name: 'vx0', vni: 7, group: 'ff05::42', underlay: 'eth0' }), { family: 6 });
  try {
    const [c1, c2] = overlay.containers as [LabContainer, LabContainer];
    assert.is((await overlay.clients[0]!.links.get('vx0')).mtu, 1430);
    assert.ok(await overlay.lab.pingEventually(c1.ns, ip(c2), 10), 'IPv6 containers ping across the IPv6 underlay');
  } finally {
    teardown(overlay);
  }
});

it('re-applying an unchanged spec performs zero writes; a differing one is refused, or replaced when asked', async () => {
  const lab = Lab.create({ hosts: 1 });
  try {
    const host = lab.host(1);
    const { rt, writes } = await countingRtnetlink(host.ns);
    try {
      const spec: VxlanSpec = {
        name: 'vx0',
        vni: 42,
        underlay: 'eth0',
        local: host.address,
        peers: ['192.168.100.2', '192.168.100.3'],
        port: 4789,
        owner: 'demo',
      };
      await ensureVxlan(rt, spec);
      await setPeers(rt, 'vx0', spec.peers!);
      await ensureBridge(rt, { name: 'br0', mtu: 1450, address: '10.10.0.1/24', owner: 'demo' });
      await attachPort(rt, 'br0', 'vx0');
      const afterFirst = writes();
      assert.ok(afterFirst >= 5, `the first apply wrote (${afterFirst} messages)`);

      assert.equal(await ensureVxlan(rt, spec), []);
      assert.equal(await setPeers(rt, 'vx0', spec.peers!), { added: [], removed: [] });
      assert.equal(await ensureBridge(rt, { name: 'br0', mtu: 1450, address: '10.10.0.1/24', owner: 'demo' }), []);
      assert.is(await attachPort(rt, 'br0', 'vx0'), false);
      assert.is(writes(), afterFirst, 'the second apply wrote nothing');

      try {
        await ensureVxlan(rt, { ...spec, port: 8472 });
        assert.unreachable('a different port cannot be changed in place');
      } catch (error) {
        assert.instance(error, ConflictError);
        assert.match(
          (error as Error).message,
          /link vx0 exists but differs from the spec: port is 4789, wanted 8472; .*replace: true/,
        );
      }
      assert.is(writes(), afterFirst, 'a refused change writes nothing');
      const replaced = await ensureVxlan(rt, { ...spec, port: 8472 }, { replace: true });
      assert.equal(
        replaced.map((c) => c.action),
        ['delete', 'replace', 'add'],
      );
      assert.is(
        (await rt.links.get('vx0')).linkinfo?.info_data &&
          ((await rt.links.get('vx0')).linkinfo!.info_data as any).port,
        8472,
      );
      const mtuOnly = await ensureVxlan(rt, { ...spec, port: 8472, mtu: 1400 });
      assert.equal(
        mtuOnly.map((c) => [c.action, c.detail]),
        [['update', 'mtu 1450 → 1400']],
      );
    } finally {
      rt.close();
    }
  } finally {
    lab.destroy();
  }
});

it('validation names the field and sends nothing', async () => {
  const lab = Lab.create({ hosts: 1 });
  try {
    const { rt, writes } = await countingRtnetlink(lab.host(1).ns);
    try {
      const cases: [Partial<VxlanSpec>, string, RegExp][] = [
        [{ vni: 1 << 24 }, 'vni', /24 bits/],
        [{ group: '10.0.0.1' }, 'group', /not a multicast address/],
        [{ group: '239.1.1.1', underlay: undefined }, 'underlay', /needs the underlay device/],
        [{ peers: ['192.168.100.2', '192.168.100.2'] }, 'peers[1]', /listed twice/],
        [{ peers: ['192.168.100.2', 'fd00::3'] }, 'peers[1]', /one address family/],
        [{ local: 'fd00::1', peers: ['192.168.100.2'] }, 'peers[0]', /one address family/],
        [{ name: 'a-very-long-name0' }, 'name', /at most 15 bytes/],
        [{ underlay: 'eth9' }, 'underlay', /no device named eth9/],
        [{ port: 0 }, 'port', /1 to 65535/],
      ];
      for (const [change, field, message] of cases) {
        const spec = { name: 'vx0', vni: 42, underlay: 'eth0', ...change } as VxlanSpec;
        try {
          await ensureVxlan(rt, spec);
          assert.unreachable(`accepted ${JSON.stringify(change)}`);
        } catch (error) {
          assert.instance(error, ValidationError, `${JSON.stringify(change)}: ${error}`);
          assert.is((error as ValidationError).field, field);
          assert.match((error as Error).message, message);
        }
      }
      assert.is(writes(), 0);
    } finally {
      rt.close();
    }
  } finally {
    lab.destroy();
  }
});

test.run();
