import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConflictError } from '../../src/common/conflict.js';
import { applyChanges } from '../../src/common/plan.js';
import { OverlayHost } from '../../src/overlay/host.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import { ensureVxlan, planVxlan, type VxlanSpec } from '../../src/vxlan/index.js';
import { Lab } from '../helpers/lab.js';
import { integrationReady, ipIn, ipJson } from '../helpers/netns.js';
import { vxnet } from '../helpers/cli.js';

const it = integrationReady(['ip', 'nsenter', 'nft']) ? test : test.skip;

interface Seen {
  ifindex: number;
  kind?: string;
  alias?: string;
  vni?: number;
  port?: number;
  peer?: string;
}

/** Every link as `ip -j -d link show` reports it, by name. */
function links(ns: string): Record<string, Seen> {
  const out: Record<string, Seen> = {};
  for (const l of ipJson<any[]>(ns, '-d', 'link', 'show')) {
    out[l.ifname] = {
      ifindex: l.ifindex,
      kind: l.linkinfo?.info_kind,
      alias: l.ifalias,
      vni: l.linkinfo?.info_data?.id,
      port: l.linkinfo?.info_data?.port,
      ...(l.linkinfo?.info_kind === 'veth' ? { peer: l.link } : {}),
    };
  }
  return out;
}

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

/** One host of a lab, its rtnetlink client, and an overlay spec file for network demo with `vxlan` as its device. */
async function withHost(
  body: (ns: string, rt: Rtnetlink, specFile: (vxlan: string) => string) => Promise<void>,
): Promise<void> {
  const lab = Lab.create({ hosts: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-replace-'));
  const rt = await Rtnetlink.open({ namespace: lab.host(1).ns });
  try {
    await body(lab.host(1).ns, rt, (vxlan) => {
      const file = join(dir, `${vxlan}.json`);
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
          vxlan,
          bridge: 'br0',
        }),
      );
      return file;
    });
  } finally {
    rt.close();
    rmSync(dir, { recursive: true, force: true });
    lab.destroy();
  }
}

async function destroy(ns: string, network = 'demo'): Promise<void> {
  await using host = await OverlayHost.open({ namespace: ns });
  await host.destroy(network);
}

it('a veth keep0: plan with replace is refused, apply --replace changes nothing and does not suggest a replace, destroy leaves the pair', async () => {
  await withHost(async (ns, rt, specFile) => {
    ipIn(ns, 'link', 'add', 'keep0', 'type', 'veth', 'peer', 'name', 'keep1');
    const before = links(ns);
    const error = await refusal(() => planVxlan(rt, spec('keep0'), { replace: true }));
    assert.is(error.replaceable, false);
    assert.match(error.message, /link keep0 exists but differs from the spec: kind is veth, wanted vxlan/);
    assert.not.match(error.message, /replace/);
    assert.equal(links(ns), before);

    const run = vxnet(['apply', specFile('keep0'), '--namespace', ns, '--replace']);
    assert.is(run.code, 1, run.stderr);
    assert.match(run.stderr, /kind is veth, wanted vxlan/);
    assert.not.match(run.stderr, /replace/);
    assert.not.match(run.stdout, /✓/, 'nothing reported as done');
    assert.equal(links(ns), before, 'the veth pair is untouched, nothing else was made');

    await destroy(ns);
    assert.equal(links(ns), before);
    assert.is(links(ns).keep0!.kind, 'veth');
    assert.is(links(ns).keep1!.kind, 'veth');
  });
});

it('an unmarked vxlan with another VNI: the CLI says --replace; the plan lists the differences; replaced, it stays unmarked and destroy leaves it', async () => {
  await withHost(async (ns, rt, specFile) => {
    ipIn(
      ns,
      'link',
      'add',
      'vx0',
      'type',
      'vxlan',
      'id',
      '43',
      'dev',
      'eth0',
      'local',
      '192.168.100.1',
      'dstport',
      '4789',
    );
    const before = links(ns);
    const refused = vxnet(['apply', specFile('vx0'), '--namespace', ns]);
    assert.is(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /vni is 43, wanted 42; it is not marked as vxnet's \(made by hand or another tool, which may still use it\): change the spec, or pick another device name, or ask for --replace to recreate it/,
    );
    assert.not.match(refused.stderr, /replace: true/);
    assert.equal(links(ns), before);

    const changes = await planVxlan(rt, spec('vx0'), { replace: true });
    assert.equal(links(ns), before, 'planning changed nothing');
    assert.equal(
      changes.map((c) => c.action),
      ['delete', 'replace', 'add'],
    );
    assert.match(changes[0]!.detail!, /not marked as vxnet's, to recreate it: vni is 43, wanted 42/);
    await applyChanges(changes);
    const after = links(ns).vx0!;
    assert.is(after.kind, 'vxlan');
    assert.is(after.vni, 42);
    assert.is(after.alias, undefined, 'unmarked, as the device it replaced');
    assert.is.not(after.ifindex, before.vx0!.ifindex, 'recreated');

    await destroy(ns);
    assert.equal(links(ns).vx0, after, 'destroy left it');
  });
});

it('a vxlan marked by another network: refused with replace (plan and CLI), left as it was, and a destroy of this network leaves it', async () => {
  await withHost(async (ns, rt, specFile) => {
    ipIn(
      ns,
      'link',
      'add',
      'vx0',
      'type',
      'vxlan',
      'id',
      '43',
      'dev',
      'eth0',
      'local',
      '192.168.100.1',
      'dstport',
      '4789',
    );
    ipIn(ns, 'link', 'set', 'vx0', 'alias', 'vxnet:other');
    const before = links(ns);
    const error = await refusal(() => planVxlan(rt, spec('vx0'), { replace: true }));
    assert.is(error.replaceable, false);
    assert.match(
      error.message,
      /owner is other, wanted demo, vni is 43, wanted 42; it belongs to the vxnet network other/,
    );
    const run = vxnet(['apply', specFile('vx0'), '--namespace', ns, '--replace']);
    assert.is(run.code, 1, run.stderr);
    assert.match(run.stderr, /it belongs to the vxnet network other/);
    assert.not.match(run.stderr, /replace/);
    assert.equal(links(ns), before);
    await destroy(ns);
    assert.equal(links(ns), before);
  });
});

it('our vxlan with another port: replaced, still ours, and destroy removes it', async () => {
  await withHost(async (ns, rt) => {
    await ensureVxlan(rt, spec('vx0', { port: 8472 }));
    const ours = links(ns).vx0!;
    assert.equal([ours.alias, ours.port], ['vxnet:demo', 8472]);
    const changes = await planVxlan(rt, spec('vx0'), { replace: true });
    assert.equal(links(ns).vx0, ours);
    assert.match(changes[0]!.detail!, /marked vxnet:demo, to recreate it: port is 8472, wanted 4789/);
    await applyChanges(changes);
    const after = links(ns).vx0!;
    assert.equal([after.kind, after.alias, after.port, after.vni], ['vxlan', 'vxnet:demo', 4789, 42]);
    await destroy(ns);
    assert.is(links(ns).vx0, undefined);
  });
});

test.run();
