/**
 * Decode a recorded 100k-route dump from bytes: the codec alone, no kernel.
 * The dump is recorded once (root: a throwaway namespace with 100,000 IPv4
 * routes) and cached in bench/.cache/.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Connection } from '../../src/netlink/connection.js';
import { encodeMessage, forEachMessage, decodeMessage } from '../../src/netlink/message.js';
import { RelayTransport } from '../../src/netlink/relay.js';
import type { Transport, TransportHandlers } from '../../src/netlink/transport.js';
import { RTM_GETROUTE } from '../../src/rtnetlink/constants.js';
import { routeSchema } from '../../src/rtnetlink/schema/route.js';
import { routeScript } from '../data.js';
import { addRow, addVeth, cachePath, ipBatch, timeIt, withNamespace, workload } from '../lib.js';

export const ROUTES = 100_000;

/** Passes everything through, keeping a copy of each received datagram. */
class TapTransport implements Transport {
  readonly received: Buffer[] = [];
  constructor(private readonly inner: Transport) {}
  get protocol() {
    return this.inner.protocol;
  }
  get port() {
    return this.inner.port;
  }
  attach(handlers: TransportHandlers): void {
    this.inner.attach({
      datagram: (d) => {
        this.received.push(d);
        handlers.datagram(d);
      },
      error: handlers.error,
    });
  }
  send(messages: Buffer[]) {
    return this.inner.send(messages);
  }
  addMembership(group: number) {
    this.inner.addMembership(group);
  }
  dropMembership(group: number) {
    this.inner.dropMembership(group);
  }
  ref() {
    this.inner.ref();
  }
  unref() {
    this.inner.unref();
  }
  openFd(path: string) {
    return this.inner.openFd(path);
  }
  closeFd(fd: number) {
    return this.inner.closeFd(fd);
  }
  close() {
    this.inner.close();
  }
}

async function recordDump(): Promise<Buffer[]> {
  return withNamespace('decode', async (ns) => {
    addVeth(ns, 'vxb0', 'vxb1');
    ipBatch(ns, routeScript(ROUTES, 'vxb0'));
    const tap = new TapTransport(await RelayTransport.open(0, { namespace: ns }));
    const conn = Connection.over(tap);
    await conn.dumpAll(() => encodeMessage(RTM_GETROUTE, 0, routeSchema, { family: 2 }), { operation: 'dump routes' });
    conn.close();
    return tap.received;
  });
}

function load(): Buffer[] {
  const file = cachePath('routes-100k.bin');
  if (!existsSync(file)) return [];
  const all = readFileSync(file);
  const out: Buffer[] = [];
  for (let at = 0; at < all.length; ) {
    const size = all.readUInt32LE(at);
    out.push(all.subarray(at + 4, at + 4 + size));
    at += 4 + size;
  }
  return out;
}

export async function run(): Promise<void> {
  let datagrams = load();
  if (datagrams.length === 0) {
    datagrams = await recordDump();
    writeFileSync(
      cachePath('routes-100k.bin'),
      Buffer.concat(datagrams.flatMap((d) => [Buffer.from(Uint32Array.of(d.length).buffer), d])),
    );
  }
  let messages = 0;
  for (const d of datagrams) forEachMessage(d, (m) => void (m.type === 24 && messages++));
  console.log(
    `decode-routes: ${messages} route messages in ${datagrams.length} datagrams (${(datagrams.reduce((n, d) => n + d.length, 0) / 1e6).toFixed(1)} MB)`,
  );

  const walk = await timeIt(7, () => {
    let n = 0;
    for (const d of datagrams) forEachMessage(d, () => void n++);
    return n;
  });
  const decode = await timeIt(7, () => {
    const out: unknown[] = [];
    for (const d of datagrams)
      forEachMessage(d, (m) => {
        if (m.type === 24) out.push(decodeMessage(routeSchema, m));
      });
    return out;
  });
  const w = workload(
    'Decode a recorded 100k-route dump (bytes, no kernel)',
    `${messages.toLocaleString('en')} route messages in ${datagrams.length} datagrams, recorded once and decoded from memory: the codec alone.`,
  );
  addRow(w, {
    tool: 'header walk only (`forEachMessage`)',
    inProcess: walk,
    note: `${(messages / walk / 1000).toFixed(2)} M msg/s`,
  });
  addRow(w, {
    tool: 'decode into typed route objects',
    inProcess: decode,
    note: `${(messages / decode / 1000).toFixed(2)} M msg/s`,
  });
}
