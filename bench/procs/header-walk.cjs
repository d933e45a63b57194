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

function walk(what, socketOptions) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const socket = new RawNetlinkSocket(NETLINK_ROUTE, socketOptions);
    const { port } = socket.address();
    const seq = 1 + Math.floor(Math.random() * 0x7fffffff);
    let messages = 0;
    let datagrams = 0;
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
          resolve({ ms, count: messages, datagrams });
          return;
        }
        messages++;
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
  const socketOptions = options.socket === 'default'
    ? undefined
    : { messagePeeking: false, msgBufferSize: 64 * 1024, recvBufferSize: 4 * 1024 * 1024 };
  let report;
  if (options.repeat) {
    const times = [];
    let last;
    for (let i = 0; i < (options.warmup ?? 1) + options.repeat; i++) {
      last = await walk(what, socketOptions);
      if (i >= (options.warmup ?? 1)) times.push(last.ms);
    }
    report = { count: last.count, datagrams: last.datagrams, times };
  } else {
    report = await walk(what, socketOptions);
  }
  report.maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
