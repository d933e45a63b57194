/**
 * node-netlink's own rtnetlink layer (`createRtNetlink()` from the `netlink`
 * package, loaded the documented way), on the same workloads as vxnet.
 * Same protocol as vxnet-workloads.cjs: one run, or `repeat` in-process
 * iterations after `warmup`; prints one JSON line.
 *
 * Its dumps decode rtmsg/ndmsg and the attributes, but leave addresses as
 * Buffers (no text formatting): it does less work per route than vxnet.
 * Writes are one request at a time, each awaiting its ack: its API has no
 * batches, and unbounded parallel requests overflow the socket (ENOBUFS).
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const { createRtNetlink, FlagsNew } = require('netlink');

const AF_INET = 2;
const AF_BRIDGE = 7;

function untimed(commands) {
  for (const argv of commands ?? []) {
    const run = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${argv.join(' ')}: ${run.stderr}`);
  }
}

function ipv4(text) {
  return Buffer.from(text.split('.').map(Number));
}

function mac(text) {
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

async function ifindex(rt, name, cache) {
  if (!cache.has(name)) {
    const [link] = await rt.getLink({}, { ifname: name });
    cache.set(name, link.data.index);
  }
  return cache.get(name);
}

function failure(index, error) {
  return { index, errno: error.errno, code: error.code, message: String(error.message).slice(0, 200) };
}

const workloads = {
  async 'dump-routes'() {
    const rt = createRtNetlink();
    try {
      const routes = await rt.getRoutes({ family: AF_INET });
      return { count: routes.length };
    } finally {
      rt.socket.close();
    }
  },
  async 'stream-routes'() {
    return workloads['dump-routes']();
  },
  async 'dump-fdb'() {
    const rt = createRtNetlink();
    try {
      const entries = await rt.getNeighbors({ family: AF_BRIDGE });
      return { count: entries.length };
    } finally {
      rt.socket.close();
    }
  },
  async 'create-routes'(options) {
    const { specs } = JSON.parse(readFileSync(options.file, 'utf8'));
    const rt = createRtNetlink();
    const names = new Map();
    const failed = [];
    try {
      for (let i = 0; i < specs.length; i++) {
        const spec = specs[i];
        const [dst, len] = spec.dst.split('/');
        const attrs = { dst: ipv4(dst) };
        if (spec.dev) attrs.oif = await ifindex(rt, spec.dev, names);
        if (spec.gateway) attrs.gateway = ipv4(spec.gateway);
        const data = {
          family: AF_INET,
          dstLen: Number(len ?? 32),
          table: 254,
          protocol: 'BOOT',
          scope: spec.gateway ? 'UNIVERSE' : 'LINK',
          type: 'UNICAST',
        };
        try {
          await rt.newRoute(data, attrs, { flags: FlagsNew.CREATE | FlagsNew.EXCL });
        } catch (error) {
          failed.push(failure(i, error));
        }
      }
      return { count: specs.length, succeeded: specs.length - failed.length, failed };
    } finally {
      rt.socket.close();
    }
  },
  async 'create-fdb'(options) {
    const { specs } = JSON.parse(readFileSync(options.file, 'utf8'));
    const rt = createRtNetlink();
    const names = new Map();
    const failed = [];
    try {
      for (let i = 0; i < specs.length; i++) {
        const spec = specs[i];
        const attrs = { lladdr: mac(spec.mac) };
        if (spec.dst) attrs.dst = spec.dst.includes(':') ? ipv6(spec.dst) : ipv4(spec.dst);
        const data = {
          family: AF_BRIDGE,
          ifindex: await ifindex(rt, spec.dev, names),
          state: { permanent: true, noarp: true },
          flags: { self: true },
        };
        try {
          await rt.newNeighbor(data, attrs, { flags: FlagsNew.CREATE | FlagsNew.APPEND });
        } catch (error) {
          failed.push(failure(i, error));
        }
      }
      return { count: specs.length, succeeded: specs.length - failed.length, failed };
    } finally {
      rt.socket.close();
    }
  },
};

/** IPv6 text to 16 bytes (the bench's bad entries only: no embedded IPv4). */
function ipv6(text) {
  const [head, tail] = text.split('::');
  const words = (s) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  for (const [i, w] of all.entries()) out.writeUInt16BE(w, i * 2);
  return out;
}

async function main() {
  const [name, json] = process.argv.slice(2);
  const options = json ? JSON.parse(json) : {};
  const work = workloads[name];
  if (!work) throw new Error(`unknown workload ${name}`);
  let report;
  if (options.repeat) {
    const times = [];
    let last;
    for (let i = 0; i < (options.warmup ?? 1) + options.repeat; i++) {
      untimed(options.reset);
      const start = performance.now();
      last = await work(options);
      const elapsed = performance.now() - start;
      if (i >= (options.warmup ?? 1)) times.push(elapsed);
    }
    report = { ...last, times };
  } else {
    untimed(options.reset);
    const start = performance.now();
    report = { ...(await work(options)), ms: performance.now() - start };
  }
  report.maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
