/**
 * The masquerade block in a small lab of namespaces:
 *
 *   container (10.244.0.2) --veth-- host [br0 10.244.0.1/24, vx0 in br0] --veth-- upstream (192.0.2.2)
 *                                        | ul0 192.168.100.1
 *                                        +--veth-- peer (ul1 192.168.100.2, vx0 10.244.0.3/24)
 *
 * The upstream has no route to the overlay: the container reaches it only
 * through masquerade, and then the upstream sees the host's address. With
 * vxnet's input chain at policy drop and the peer listed, VXLAN from the peer
 * still carries the overlay (the peer pings the container across it), while
 * other UDP to the host is dropped.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Masquerade } from '../../src/masquerade/masquerade.js';
import { inNs, integrationReady, ipIn, sh, withNamespaces } from '../helpers/netns.js';

const it = integrationReady(['ip', 'nsenter', 'nft', 'ping']) ? test : test.skip;

/** A node program inside a namespace; its stdout lines arrive as they are printed. */
function nodeIn(ns: string, script: string): { child: ChildProcess; lines: string[]; ready: Promise<void> } {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let at: number;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      if (line === 'ready') resolveReady();
      else lines.push(line);
    }
  });
  return { child, lines, ready };
}

async function stop(process: ChildProcess): Promise<void> {
  if (process.exitCode !== null || process.signalCode !== null) return;
  const exited = once(process, 'exit');
  process.kill('SIGTERM');
  await exited;
}

/** A TCP server that prints the address each connection comes from. */
const TCP_SERVER = `require('net').createServer((s) => { console.log(s.remoteAddress); s.end('hi'); }).listen(8080, '0.0.0.0', () => console.log('ready'));`;
/** A UDP listener that prints where each datagram comes from. */
const UDP_LISTENER = (port: number) =>
  `const s = require('dgram').createSocket('udp4'); s.on('message', (m, r) => console.log(r.address + ' ' + m)); s.bind(${port}, () => console.log('ready'));`;

/** Connects from `ns` to address:8080; true if the server answered within the timeout. */
function tcpReaches(ns: string, address: string): boolean {
  const script = `const s = require('net').connect(8080, '${address}'); s.setTimeout(1500, () => process.exit(2)); s.on('data', () => process.exit(0)); s.on('error', () => process.exit(1));`;
  try {
    inNs(ns, process.execPath, ['-e', script]);
    return true;
  } catch {
    return false;
  }
}

function sendUdp(ns: string, address: string, port: number, text: string): void {
  inNs(ns, process.execPath, [
    '-e',
    `const s = require('dgram').createSocket('udp4'); s.send('${text}', ${port}, '${address}', () => s.close());`,
  ]);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function buildLab(host: string, container: string, upstream: string, peer: string): void {
  // The overlay bridge and the container on it.
  ipIn(host, 'link', 'add', 'br0', 'type', 'bridge');
  ipIn(host, 'address', 'add', '10.244.0.1/24', 'dev', 'br0');
  ipIn(host, 'link', 'set', 'br0', 'up');
  ipIn(host, 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', container);
  ipIn(host, 'link', 'set', 'c0', 'master', 'br0', 'up');
  ipIn(container, 'address', 'add', '10.244.0.2/24', 'dev', 'eth0');
  ipIn(container, 'link', 'set', 'eth0', 'up');
  ipIn(container, 'route', 'add', 'default', 'via', '10.244.0.1');
  // The way out: upstream knows 192.0.2.0/24 only.
  ipIn(host, 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', upstream);
  ipIn(host, 'address', 'add', '192.0.2.1/24', 'dev', 'up0');
  ipIn(host, 'link', 'set', 'up0', 'up');
  ipIn(upstream, 'address', 'add', '192.0.2.2/24', 'dev', 'eth0');
  ipIn(upstream, 'link', 'set', 'eth0', 'up');
  // The underlay to the peer host, and VXLAN over it (the host's end in the bridge).
  ipIn(host, 'link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul1', 'netns', peer);
  ipIn(host, 'address', 'add', '192.168.100.1/24', 'dev', 'ul0');
  ipIn(host, 'link', 'set', 'ul0', 'up');
  ipIn(peer, 'address', 'add', '192.168.100.2/24', 'dev', 'ul1');
  ipIn(peer, 'link', 'set', 'ul1', 'up');
  ipIn(
    host,
    'link',
    'add',
    'vx0',
    'type',
    'vxlan',
    'id',
    '42',
    'remote',
    '192.168.100.2',
    'dstport',
    '4789',
    'dev',
    'ul0',
  );
  ipIn(host, 'link', 'set', 'vx0', 'master', 'br0', 'up');
  ipIn(
    peer,
    'link',
    'add',
    'vx0',
    'type',
    'vxlan',
    'id',
    '42',
    'remote',
    '192.168.100.1',
    'dstport',
    '4789',
    'dev',
    'ul1',
  );
  ipIn(peer, 'address', 'add', '10.244.0.3/24', 'dev', 'vx0');
  ipIn(peer, 'link', 'set', 'vx0', 'up');
}

const pings = (ns: string, address: string): boolean => {
  try {
    inNs(ns, 'ping', ['-c', '1', '-W', '2', address]);
    return true;
  } catch {
    return false;
  }
};

it("the container reaches upstream only with masquerade, and upstream sees the host's address", async () => {
  await withNamespaces(['host', 'ctr', 'up', 'peer'], async (host, container, upstream, peer) => {
    buildLab(host, container, upstream, peer);
    await using masq = await Masquerade.open({ namespace: host });
    await masq.enableForwarding();
    assert.is(await masq.forwarding(), true);
    const server = nodeIn(upstream, TCP_SERVER);
    try {
      await server.ready;
      assert.is(tcpReaches(host, '192.0.2.2'), true, 'the upstream server answers the host itself');
      await pause(200);
      assert.equal(server.lines, ['192.0.2.1']);
      server.lines.length = 0;
      assert.is(tcpReaches(container, '192.0.2.2'), false, 'without masquerade the upstream cannot answer the overlay');
      assert.equal(server.lines, [], 'the server never saw a completed connection');

      const result = await masq.ensure({ subnet: '10.244.0.0/24', bridge: 'br0' });
      assert.ok(result.changed);
      assert.is(tcpReaches(container, '192.0.2.2'), true, 'with masquerade it can');
      await pause(100);
      assert.equal(server.lines, ['192.0.2.1'], "the upstream saw the host's address, not 10.244.0.2");
      const status = await masq.status();
      const rule = status.rules.find((r) => r.chain === 'postrouting')!;
      const counted = rule.expressions.find((e) => e.type === 'counter') as { packets?: bigint } | undefined;
      assert.ok((counted?.packets ?? 0n) > 0n, 'the masquerade rule counted the connection');

      await masq.remove();
      assert.is(tcpReaches(container, '192.0.2.2'), false, 'removed: no way out again');
      assert.is(sh('ip', ['netns', 'exec', host, 'nft', 'list', 'tables']).trim(), '');
    } finally {
      await stop(server.child);
    }
  });
});

it('with a default-drop input chain, VXLAN from the listed peer still carries the overlay and other UDP is dropped', async () => {
  await withNamespaces(['host', 'ctr', 'up', 'peer'], async (host, container, upstream, peer) => {
    buildLab(host, container, upstream, peer);
    const listener = nodeIn(host, UDP_LISTENER(5000));
    await using masq = await Masquerade.open({ namespace: host });
    try {
      await listener.ready;
      // Before: VXLAN works and the host receives UDP on other ports.
      assert.is(pings(peer, '10.244.0.2'), true, 'the peer reaches the container across VXLAN');
      sendUdp(peer, '192.168.100.1', 5000, 'before');
      await pause(200);
      assert.equal(listener.lines, ['192.168.100.2 before']);

      const result = await masq.ensure({
        subnet: '10.244.0.0/24',
        bridge: 'br0',
        vxlan: { port: 4789, peers: ['192.168.100.2'] },
        inputPolicy: 'drop',
      });
      assert.ok(result.changed);
      assert.match(
        sh('ip', ['netns', 'exec', host, 'nft', 'list', 'chain', 'ip', 'vxnet', 'input']),
        /policy drop;[\s\S]*ip saddr @vxlan-peers udp dport 4789 counter packets \d+ bytes \d+ accept/,
      );

      assert.is(pings(peer, '10.244.0.2'), true, 'VXLAN from the listed peer still goes through');
      sendUdp(peer, '192.168.100.1', 5000, 'after');
      sendUdp(upstream, '192.0.2.1', 5000, 'after-upstream');
      await pause(300);
      assert.equal(listener.lines, ['192.168.100.2 before'], 'other UDP is dropped');
      // VXLAN from someone who is not a peer is dropped by the rule after the peers' one.
      sendUdp(upstream, '192.0.2.1', 4789, 'not-a-peer');
      await pause(100);
      const rules = (await masq.status()).rules.filter((r) => r.chain === 'input');
      const packets = (comment: string) =>
        (rules.find((r) => r.comment === comment)!.expressions.find((e) => e.type === 'counter') as { packets: bigint })
          .packets;
      assert.ok(packets('vxnet: vxlan from peers') > 0n, 'the peer rule accepted the VXLAN packets');
      assert.is(packets('vxnet: vxlan from others'), 1n, "the stranger's datagram hit the drop rule");

      // Without the input chain's drop policy, the other port opens again.
      await masq.ensure({ subnet: '10.244.0.0/24', bridge: 'br0', vxlan: { port: 4789, peers: ['192.168.100.2'] } });
      sendUdp(peer, '192.168.100.1', 5000, 'open-again');
      await pause(200);
      assert.equal(listener.lines, ['192.168.100.2 before', '192.168.100.2 open-again']);
    } finally {
      await stop(listener.child);
    }
  });
});

it('a foreign table whose input and forward chains drop by default is reported, and does drop what vxnet accepts', async () => {
  await withNamespaces(['host', 'ctr', 'up', 'peer'], async (host, container, upstream, peer) => {
    buildLab(host, container, upstream, peer);
    inNs(host, 'nft', ['-f', '-'], {
      input:
        'table inet hostfw {\n chain input { type filter hook input priority 10; policy drop; }\n chain forward { type filter hook forward priority 10; policy drop; }\n}\n',
    });
    await using masq = await Masquerade.open({ namespace: host });
    await masq.enableForwarding();
    const result = await masq.ensure({ subnet: '10.244.0.0/24', bridge: 'br0', vxlan: { peers: ['192.168.100.2'] } });
    assert.equal(
      result.blocking.map((b) => `${b.table} ${b.chain} ${b.hook}`),
      ['hostfw input input', 'hostfw forward forward'],
    );
    // nf_tables runs every base chain of a hook: vxnet's accept does not overrule the other table's drop.
    assert.is(pings(peer, '10.244.0.2'), false, 'VXLAN dropped by the foreign input chain');
    // The operator's way out, as the report suggests it.
    for (const blocking of result.blocking) {
      for (const command of blocking.suggestion.split('; '))
        inNs(
          host,
          'nft',
          command
            .replace(/^nft /, '')
            .split(' ')
            .map((w) => w.replace(/^"(.*)"$/, '$1')),
        );
    }
    assert.is(pings(peer, '10.244.0.2'), true, 'after the suggested rules, VXLAN goes through');
    assert.equal(
      (await masq.ensure({ subnet: '10.244.0.0/24', bridge: 'br0', vxlan: { peers: ['192.168.100.2'] } })).changed,
      false,
    );
    await masq.remove();
    assert.match(inNs(host, 'nft', ['list', 'tables']), /^table inet hostfw\s*$/);
  });
});

test.run();
