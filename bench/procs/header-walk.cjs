/**
 * The floor: a dump over node-netlink's RawNetlinkSocket that only walks the
 * nlmsghdrs (length, type) to NLMSG_DONE, decoding nothing. This is what the
 * socket library and the kernel cost by themselves.
 *
 *   node bench/procs/header-walk.cjs routes|fdb '{"socket":"vxnet"|"default","repeat":N,"warmup":W}'
 *
 * socket "vxnet": the options vxnet's NativeTransport uses (64 KiB reads, no
 * peeking, 4 MiB receive buffer); "default": node-netlink's defaults (peek
 * each datagram's size, then read it). Prints one JSON line.
 *
 * "objects": true also turns every message into a plain object and keeps
 * them all, with a decoder written by hand for exactly the messages of these
 * workloads: routes, the rtmsg fields and RTA_TABLE / RTA_DST / RTA_OIF;
 * FDB entries, the ndmsg fields and NDA_LLADDR / NDA_DST (vxnet decodes
 * more: cacheinfo, vni, port). Addresses and MACs as text. No schema, no
 * checks, no generality: about the least a decoder producing typed objects
 * can cost, which bounds what a target on objects can ask of any library.
 * The report carries the middle object as "sample", which the suites check
 * against iproute2's own listing (a floor that decodes wrongly proves nothing).
 */
'use strict';
const { RawNetlinkSocket } = require('netlink/dist/raw.js');

const NETLINK_ROUTE = 0;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const REQUESTS = {
  // RTM_GETROUTE, AF_INET: an rtmsg of 12 bytes.
  routes: { type: 26, family: 2, size: 12 },
  // RTM_GETNEIGH, AF_BRIDGE: an ndmsg of 12 bytes.
  fdb: { type: 30, family: 7, size: 12 },
};

// Text is built the fastest way we know (the one vxnet's codec uses): character
// codes into a scratch array, then one String.fromCharCode call with that many
// arguments, which makes one flat string (a template literal longer than 12
// characters makes a rope of several strings, more work for the collector).
const CHARS = new Uint8Array(32);
const HEX_DIGIT = Array.from('0123456789abcdef', (ch) => ch.charCodeAt(0));
const flatText = new Function(
  'c',
  `return function flatText(n) {
  switch (n) {
    ${Array.from({ length: 18 }, (_, n) => `case ${n}: return String.fromCharCode(${Array.from({ length: n }, (__, i) => `c[${i}]`).join(', ')});`).join('\n    ')}
  }
  throw new Error('text too long');
}`,
)(CHARS);

function putDecimal(v, n) {
  if (v >= 100) CHARS[n++] = 48 + ((v / 100) | 0);
  if (v >= 10) CHARS[n++] = 48 + (((v / 10) | 0) % 10);
  CHARS[n++] = 48 + (v % 10);
  return n;
}

/** "a.b.c.d" from four bytes. */
function dottedQuad(d, at) {
  let n = putDecimal(d[at], 0);
  for (let k = 1; k < 4; k++) {
    CHARS[n++] = 46;
    n = putDecimal(d[at + k], n);
  }
  return flatText(n);
}

/** "aa:bb:cc:dd:ee:ff" from six bytes. */
function mac(d, at) {
  let n = 0;
  for (let k = 0; k < 6; k++) {
    if (k) CHARS[n++] = 58;
    CHARS[n++] = HEX_DIGIT[d[at + k] >> 4];
    CHARS[n++] = HEX_DIGIT[d[at + k] & 15];
  }
  return flatText(n);
}

/** The routes of this workload, by hand: rtmsg (12 bytes) then table, dst and oif. */
function routeObject(d, start, end) {
  const route = {
    family: d[start],
    dst_len: d[start + 1],
    src_len: d[start + 2],
    tos: d[start + 3],
    table: d[start + 4],
    protocol: d[start + 5],
    scope: d[start + 6],
    type: d[start + 7],
    flags: d.readUInt32LE(start + 8),
  };
  for (let at = start + 12; at < end; ) {
    const length = d[at] | (d[at + 1] << 8);
    switch (d[at + 2] | (d[at + 3] << 8)) {
      case 15:
        route.table = d.readUInt32LE(at + 4);
        break;
      case 1:
        route.dst = dottedQuad(d, at + 4);
        break;
      case 4:
        route.oif = d.readUInt32LE(at + 4);
        break;
    }
    at += (length + 3) & ~3;
  }
  return route;
}

/** The FDB entries of this workload, by hand: ndmsg (12 bytes) then lladdr and an IPv4 dst. */
function fdbObject(d, start, end) {
  const entry = {
    family: d[start],
    ifindex: d.readInt32LE(start + 4),
    state: d[start + 8] | (d[start + 9] << 8),
    flags: d[start + 10],
    type: d[start + 11],
  };
  for (let at = start + 12; at < end; ) {
    const length = d[at] | (d[at + 1] << 8);
    switch (d[at + 2] | (d[at + 3] << 8)) {
      case 2:
        entry.lladdr = mac(d, at + 4);
        break;
      case 1:
        entry.dst = dottedQuad(d, at + 4);
        break;
    }
    at += (length + 3) & ~3;
  }
  return entry;
}

const OBJECTS = { routes: routeObject, fdb: fdbObject };

function walk(what, socketOptions, objects) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const socket = new RawNetlinkSocket(NETLINK_ROUTE, socketOptions);
    const { port } = socket.address();
    const seq = 1 + Math.floor(Math.random() * 0x7fffffff);
    let messages = 0;
    let datagrams = 0;
    const kept = objects ? [] : undefined;
    socket.on('error', reject);
    socket.on('message', (d) => {
      datagrams++;
      for (let at = 0; at < d.length; ) {
        const length = d.readUInt32LE(at);
        const type = d.readUInt16LE(at + 4);
        if (d.readUInt32LE(at + 8) !== seq || d.readUInt32LE(at + 12) !== port) throw new Error('stray message');
        if (type === NLMSG_DONE || type === NLMSG_ERROR) {
          const ms = performance.now() - start;
          socket.close();
          resolve({ ms, count: messages, datagrams, kept: kept?.length, sample: kept?.[kept.length >> 1] });
          return;
        }
        messages++;
        if (kept) kept.push(OBJECTS[what](d, at + 16, at + length));
        at += (length + 3) & ~3;
      }
    });
    const { type, family, size } = REQUESTS[what];
    const request = Buffer.alloc(16 + size);
    request.writeUInt32LE(request.length, 0);
    request.writeUInt16LE(type, 4);
    request.writeUInt16LE(0x301, 6); // NLM_F_REQUEST | NLM_F_DUMP
    request.writeUInt32LE(seq, 8);
    request.writeUInt32LE(port, 12);
    request[16] = family;
    socket.send(request, {}, (error) => error && reject(error));
  });
}

async function main() {
  const [what, json] = process.argv.slice(2);
  const options = json ? JSON.parse(json) : {};
  if (!REQUESTS[what]) throw new Error(`unknown dump ${what}`);
  const socketOptions =
    options.socket === 'default'
      ? undefined
      : { messagePeeking: false, msgBufferSize: 64 * 1024, recvBufferSize: 4 * 1024 * 1024 };
  let report;
  if (options.repeat) {
    const times = [];
    let last;
    for (let i = 0; i < (options.warmup ?? 1) + options.repeat; i++) {
      last = await walk(what, socketOptions, options.objects);
      if (i >= (options.warmup ?? 1)) times.push(last.ms);
    }
    report = { count: last.count, datagrams: last.datagrams, kept: last.kept, times };
  } else {
    report = await walk(what, socketOptions, options.objects);
  }
  report.maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
