/**
 * The netlink core against the real kernel, inside throwaway namespaces.
 */
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Connection } from '../../src/netlink/connection.js';
import { NETLINK_ROUTE, NLM_F_CREATE, NLM_F_EXCL } from '../../src/netlink/constants.js';
import { ClosedError, NetlinkError, TimeoutError, AbortError } from '../../src/netlink/errors.js';
import { decodeMessage, encodeMessage } from '../../src/netlink/message.js';
import { Subscription } from '../../src/netlink/subscription.js';
import { RelayTransport } from '../../src/netlink/relay.js';
import { getLink, miniLinkSchema, RTM_GETLINK, RTM_NEWLINK, RTNLGRP_IPV4_ROUTE } from '../helpers/link-schema.js';
import { integrationReady, ipIn, ipJson, sh, withNamespaces } from '../helpers/netns.js';

const it = integrationReady() ? test : test.skip;
const decodeLink = (m: Parameters<typeof decodeMessage>[1]) => decodeMessage(miniLinkSchema, m);

it('a link dump in a namespace matches ip -j link', async () => {
  await withNamespaces(['dump'], async (ns) => {
    ipIn(ns, 'link', 'add', 'vxa', 'type', 'veth', 'peer', 'name', 'vxb');
    ipIn(ns, 'link', 'set', 'vxa', 'mtu', '1450');
    await using conn = await Connection.open({ protocol: NETLINK_ROUTE, namespace: ns });
    const links = await conn.dumpAll(
      () => encodeMessage(RTM_GETLINK, 0, miniLinkSchema, { family: 0 }),
      { operation: 'dump links' },
      { decode: decodeLink },
    );
    const oracle = ipJson<{ ifindex: number; ifname: string; mtu: number; address: string }[]>(ns, 'link', 'show');
    assert.equal(
      links.map((l) => [l.ifindex, l.ifname, l.mtu, l.address]),
      oracle.map((l) => [l.ifindex, l.ifname, l.mtu, l.address]),
    );
    assert.ok(links.some((l) => l.ifname === 'vxa' && l.mtu === 1450));
  });
});

it('kernel errors become NetlinkErrors a person can act on: ENODEV, EEXIST', async () => {
  await withNamespaces(['err'], async (ns) => {
    await using conn = await Connection.open({ protocol: NETLINK_ROUTE, namespace: ns });
    try {
      await conn.request(getLink({ ifname: 'nosuch0' }), { operation: 'get link', object: 'nosuch0' });
      assert.unreachable('should fail');
    } catch (error) {
      assert.instance(error, NetlinkError);
      const e = error as NetlinkError;
      assert.is(e.code, 'ENODEV');
      assert.is(e.errno, 19);
      assert.match(e.message, /get link nosuch0 failed: ENODEV/);
      assert.match(e.message, /likely cause: no network device matches/);
    }
    try {
      await conn.request(encodeMessage(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, miniLinkSchema, { ifname: 'lo' }), {
        operation: 'create link',
        object: 'lo',
      });
      assert.unreachable('should fail');
    } catch (error) {
      assert.instance(error, NetlinkError);
      assert.is((error as NetlinkError).code, 'EEXIST');
    }
  });
});

it('1,000 concurrent requests are each matched to their own reply', async () => {
  await withNamespaces(['many'], async (ns) => {
    for (let i = 0; i < 10; i++) ipIn(ns, 'link', 'add', `vxp${i}`, 'type', 'veth', 'peer', 'name', `vxq${i}`);
    const oracle = ipJson<{ ifindex: number; ifname: string }[]>(ns, 'link', 'show');
    await using conn = await Connection.open({ protocol: NETLINK_ROUTE, namespace: ns });
    const picks = Array.from({ length: 1000 }, (_, i) => oracle[(i * 7) % oracle.length]!);
    const replies = await Promise.all(
      picks.map((link) => conn.request(getLink({ ifindex: link.ifindex }), { operation: 'get link' })),
    );
    replies.forEach((reply, i) => {
      assert.is(reply.length, 1);
      const decoded = decodeLink(reply[0]!);
      assert.is(decoded.ifname, picks[i]!.ifname);
      assert.is(decoded.ifindex, picks[i]!.ifindex);
    });
    assert.is(conn.unmatched, 0);
  });
});

it('a batch reports each failure at its own index and the rest succeed', async () => {
  await withNamespaces(['batch'], async (ns) => {
    await using conn = await Connection.open({ protocol: NETLINK_ROUTE, namespace: ns });
    const messages = Array.from({ length: 500 }, (_, i) => getLink({ ifindex: i % 97 === 5 ? 100_000 + i : 1 }));
    const result = await conn.batch(messages, { operation: 'get link' });
    const expected = [5, 102, 199, 296, 393, 490];
    assert.equal(
      result.failed.map((f) => f.index),
      expected,
    );
    assert.ok(result.failed.every((f) => f.error.code === 'ENODEV' && f.error.index === f.index));
    assert.is(result.succeeded, 500 - expected.length);
  });
});

it('timeouts and aborts reject with typed errors; close rejects what is pending', async () => {
  await withNamespaces(['abort'], async (ns) => {
    const conn = await Connection.open({ protocol: NETLINK_ROUTE, namespace: ns });
    const controller = new AbortController();
    controller.abort(new Error('changed my mind'));
    await conn.request(getLink({ ifindex: 1 }), { operation: 'get link' }, { signal: controller.signal }).then(
      () => assert.unreachable('aborted before sending'),
      (error) => assert.instance(error, AbortError),
    );
    // The relay is stopped (SIGSTOP) while the request waits, so no answer can beat the timer; it goes on afterwards.
    const relay = conn.transport as RelayTransport;
    assert.instance(relay, RelayTransport, 'a named namespace is reached through the relay');
    process.kill(relay.pid!, 'SIGSTOP');
    try {
      await conn.request(getLink({ ifindex: 1 }), { operation: 'get link' }, { timeoutMs: 20 }).then(
        () => assert.unreachable('should time out'),
        (error) => assert.instance(error, TimeoutError),
      );
    } finally {
      process.kill(relay.pid!, 'SIGCONT');
    }
    const pending = conn.request(getLink({ ifindex: 1 }), { operation: 'get link' });
    conn.close();
    await pending.then(
      () => assert.unreachable('closed'),
      (error) => assert.instance(error, ClosedError),
    );
  });
});

it('a connection is scoped to its namespace, and IFLA_NET_NS_FD moves a link between them', async () => {
  await withNamespaces(['nsa', 'nsb'], async (a, b) => {
    ipIn(a, 'link', 'add', 'vxmove', 'type', 'veth', 'peer', 'name', 'vxstay');
    await using inA = await Connection.open({ protocol: NETLINK_ROUTE, namespace: a });
    await using inB = await Connection.open({ protocol: NETLINK_ROUTE, namespace: b });
    const names = async (conn: Connection) =>
      (
        await conn.dumpAll(
          () => encodeMessage(RTM_GETLINK, 0, miniLinkSchema, {}),
          { operation: 'dump links' },
          { decode: decodeLink },
        )
      ).map((l) => l.ifname);
    assert.ok((await names(inA)).includes('vxmove'));
    assert.not.ok((await names(inB)).includes('vxmove'));
    // The descriptor must be valid in the process that sends the request: the relay opens it.
    const fd = await inA.transport.openFd(`/run/netns/${b}`);
    try {
      await inA.request(encodeMessage(RTM_NEWLINK, 0, miniLinkSchema, { ifname: 'vxmove', net_ns_fd: fd }), {
        operation: 'move link',
        object: 'vxmove',
      });
    } finally {
      await inA.transport.closeFd(fd);
    }
    assert.not.ok((await names(inA)).includes('vxmove'));
    assert.ok((await names(inB)).includes('vxmove'));
    assert.ok(ipJson<{ ifname: string }[]>(b, 'link', 'show').some((l) => l.ifname === 'vxmove'));
  });
});

/** Blocks this process's event loop, as a subscriber busy elsewhere would. */
function stall(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** 10,000 route changes from `ip -batch`, started before the stall and running during it. */
function routeBurst(ns: string, count: number): Promise<void> {
  let script = '';
  for (let i = 0; i < count; i++) script += `route add 10.${(i >> 8) & 0xff}.${i & 0xff}.0/24 dev vxr\n`;
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-n', ns, '-batch', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch exited ${code}`))));
    child.stdin.end(script);
  });
}

function prepareRouteNs(ns: string): void {
  ipIn(ns, 'link', 'add', 'vxr', 'type', 'veth', 'peer', 'name', 'vxr2');
  ipIn(ns, 'link', 'set', 'vxr', 'up');
  ipIn(ns, 'link', 'set', 'vxr2', 'up');
}

/** Counts route events and overruns until `until` holds or `ms` pass. */
function collect(subscription: Subscription, until: (messages: number, overruns: number) => boolean, ms: number) {
  let messages = 0;
  let overruns = 0;
  return new Promise<{ messages: number; overruns: number }>((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      stop();
      resolve({ messages, overruns });
    };
    const timer = setTimeout(finish, ms);
    const stop = subscription.on((event) => {
      if (event.kind === 'message' && event.message.type === 24) messages++;
      if (event.kind === 'overrun') overruns++;
      if (until(messages, overruns)) finish();
    });
  });
}

it('a subscriber stalled for 3 s during a 10k-route burst stays alive and is told to resync', async () => {
  await withNamespaces(['burst'], async (ns) => {
    prepareRouteNs(ns);
    // A small backlog, so the burst cannot fit while we are not reading.
    await using subscription = await Subscription.open({
      protocol: NETLINK_ROUTE,
      groups: [RTNLGRP_IPV4_ROUTE],
      namespace: ns,
      maxBacklog: 64 * 1024,
    });
    const relayPid = subscription.relayPid;
    const seen = collect(subscription, (_m, overruns) => overruns > 0, 10_000);
    const burst = routeBurst(ns, 10_000);
    stall(3000);
    await burst;
    const { overruns, messages } = await seen;
    assert.ok(overruns >= 1, 'the consumer is told that events were lost');
    assert.ok(messages < 10_000, `some events were dropped (saw ${messages})`);
    assert.is(subscription.relayPid, relayPid, 'the relay survived too');
    // Resync: a fresh dump sees every route.
    const routes = ipJson<unknown[]>(ns, 'route', 'show', 'dev', 'vxr');
    assert.is(routes.length, 10_000);
    assert.is(process.exitCode ?? 0, 0);
  });
});

it('with the default backlog a 3 s stall loses nothing: all 10k events arrive, no overrun', async () => {
  await withNamespaces(['burst2'], async (ns) => {
    prepareRouteNs(ns);
    await using subscription = await Subscription.open({
      protocol: NETLINK_ROUTE,
      groups: [RTNLGRP_IPV4_ROUTE],
      namespace: ns,
    });
    const seen = collect(subscription, (messages) => messages >= 10_000, 15_000);
    const burst = routeBurst(ns, 10_000);
    stall(3000);
    await burst;
    assert.equal(await seen, { messages: 10_000, overruns: 0 });
  });
});

it('a relay killed with SIGKILL is restarted; the consumer gets an overrun and then new events', async () => {
  await withNamespaces(['kill'], async (ns) => {
    prepareRouteNs(ns);
    await using subscription = await Subscription.open({
      protocol: NETLINK_ROUTE,
      groups: [RTNLGRP_IPV4_ROUTE],
      namespace: ns,
    });
    const first = subscription.relayPid!;
    const overrun = collect(subscription, (_m, overruns) => overruns > 0, 5000);
    process.kill(first, 'SIGKILL');
    assert.is((await overrun).overruns, 1);
    // Wait for the restarted relay, then prove it delivers.
    for (let i = 0; i < 100 && (subscription.relayPid === undefined || subscription.relayPid === first); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(subscription.relayPid && subscription.relayPid !== first, 'a new relay runs');
    await new Promise((r) => setTimeout(r, 200));
    const events = collect(subscription, (messages) => messages >= 1, 5000);
    ipIn(ns, 'route', 'add', '10.200.0.0/16', 'dev', 'vxr');
    assert.is((await events).messages, 1);
  });
});

it('nothing keeps the event loop alive: a script that forgets to close still exits', async () => {
  await withNamespaces(['exit'], async (ns) => {
    const script = `
      import { Connection } from '${process.cwd()}/src/netlink/connection.ts';
      import { getLink } from '${process.cwd()}/test/helpers/link-schema.ts';
      const local = await Connection.open({ protocol: 0 });
      await local.request(getLink({ ifindex: 1 }), { operation: 'get link' });
      const remote = await Connection.open({ protocol: 0, namespace: '${ns}' });
      await remote.request(getLink({ ifindex: 1 }), { operation: 'get link' });
      console.log('done');
    `;
    const started = Date.now();
    const output = sh('timeout', ['20', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script]);
    assert.match(output, /done/);
    assert.ok(Date.now() - started < 15_000, 'exited on its own');
  });
});

test.run();
