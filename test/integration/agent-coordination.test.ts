/**
 * `vxnet apply` beside a running agent, from the outside: the agent's spec
 * is the truth, so an apply of the same spec writes nothing and says who
 * keeps the network, and an apply of a different spec is refused before any
 * write, naming what it would change and the way through the agent. Read
 * back with ip; the agent's own log shows it had nothing to repair.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AgentProcess, vxnet } from '../helpers/agent.js';
import { Lab, type LabHost } from '../helpers/lab.js';
import { integrationReady, ipJson } from '../helpers/netns.js';

const it = integrationReady(['ip', 'nsenter', 'nft', 'bridge', 'dnsmasq']) ? test : test.skip;

function writeSpec(dir: string, host: LabHost, name: string, extra: Record<string, unknown> = {}): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      name: 'kept',
      vni: 42,
      underlay: { device: 'eth0', address: host.address },
      peers: ['192.168.100.1', '192.168.100.2'],
      subnet: '10.10.0.0/24',
      gateway: '10.10.0.1',
      vxlan: 'vx0',
      bridge: 'br0',
      firewall: true,
      dhcp: { ranges: [{ start: '10.10.0.100', end: '10.10.0.150' }] },
      ...extra,
    }),
  );
  return file;
}

it('apply while an agent keeps the network: the same spec writes nothing; a different one is refused, naming the way through the agent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vxnet-agent-coord-'));
  const lab = Lab.create({ hosts: 1 });
  let agent: AgentProcess | undefined;
  try {
    const h1 = lab.host(1);
    const file = writeSpec(dir, h1, 'kept.json');
    agent = AgentProcess.start(file, { ns: h1.ns, via: 'exec' });
    const started = await agent.ready();
    const links = () => ipJson(h1.ns, '-d', 'link', 'show').map((l: any) => [l.ifname, l.mtu, l.master ?? '']);
    const before = links();

    const same = vxnet(['apply', file, '--namespace', h1.ns]);
    assert.is(same.code, 0, same.stderr);
    assert.is(
      same.stdout.trim(),
      `kept: already up to date (kept by its agent (pid ${started.pid}, spec ${file}))`,
      'one line, no change, and the agent named',
    );

    // Another MTU, and no DHCP here (so that, once the agent is gone, the apply below converges and exits).
    const other = writeSpec(dir, h1, 'other.json', { mtu: 1400, dhcp: undefined });
    const refused = vxnet(['apply', other, '--namespace', h1.ns]);
    assert.is(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(`cannot apply ${other}: network kept is kept by its agent \\(pid ${started.pid}`),
    );
    assert.match(refused.stderr, /apply would: update link vx0 \(mtu 1450 → 1400\)/);
    assert.match(refused.stderr, new RegExp(`edit ${file} and send the agent SIGHUP`));
    assert.equal(links(), before, 'nothing was written');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.not.ok(
      agent.entries.some((e) => e.event === 'repair'),
      `the agent had nothing to put back: ${agent.transcript()}`,
    );

    // With the agent stopped, the same command applies.
    await agent.stop();
    const applied = vxnet(['apply', other, '--namespace', h1.ns]);
    assert.is(applied.code, 0, applied.stderr);
    assert.is(ipJson(h1.ns, 'link', 'show', 'vx0')[0].mtu, 1400);
    assert.is(vxnet(['destroy', 'kept', '--namespace', h1.ns]).code, 0);
  } finally {
    agent?.kill();
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
