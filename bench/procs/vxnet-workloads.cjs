/**
 * The vxnet side of the benchmarks, run as a child process inside the
 * benchmark's namespace (`ip netns exec NS node bench/procs/vxnet.cjs ...`),
 * so vxnet uses its in-process socket (NativeTransport), never the namespace
 * relay. It runs the BUILT package (dist/, `npm run build`): vxnet.cjs
 * require()s the CommonJS bundle, vxnet.mjs imports the ESM bundle; neither
 * pays tsx's transpilation. The harness points VXNET_DIST at its snapshot of
 * dist/ (bench/.cache/dist); run by hand, they use dist/.
 *
 *   node bench/procs/vxnet.cjs WORKLOAD '{"repeat":7,"warmup":2,...}'
 *
 * Without `repeat`: one run, as a fresh process would do it (the whole-process
 * figure is the parent's wall clock around this process). With `repeat`: the
 * in-process figure, ms from "open the socket" to "objects ready", per
 * iteration after `warmup` untimed ones. Prints one JSON line.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { readFileSync } = require('node:fs');

function untimed(commands) {
  for (const argv of commands ?? []) {
    const run = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${argv.join(' ')}: ${run.stderr}`);
  }
}

function failures(result) {
  return result.failed.map((f) => ({
    index: f.index,
    code: f.error.code,
    errno: f.error.errno,
    message: f.error.message,
  }));
}

/** Each workload: one measured unit of work, returning what it produced. */
function workloads(lib, options) {
  const { Rtnetlink } = lib;

  async function convergePeers(again) {
    const { peers } = JSON.parse(readFileSync(options.file, 'utf8'));
    // The vxlan layer is loaded by these workloads only, so the others do not pay for it.
    const dist = process.env.VXNET_DIST ?? require('node:path').join(__dirname, '../../dist');
    const { setPeers } = require(`${dist}/vxlan/index.cjs`);
    const rt = await Rtnetlink.open();
    try {
      const result = await setPeers(rt, 'vx0', peers);
      return {
        count: peers.length,
        added: result.added.length,
        removed: result.removed.length,
        ...(again ? { messages: rt.connection.stats.messagesSent } : {}),
      };
    } finally {
      rt.close();
    }
  }
  return {
    /** 100k (or any number of) routes into typed objects, collected. */
    async 'dump-routes'() {
      const rt = await Rtnetlink.open();
      try {
        const routes = await rt.routes.list({ family: 4 });
        return { count: routes.length };
      } finally {
        rt.close();
      }
    },
    /** The streaming API: batches of typed routes, none kept. */
    async 'stream-routes'() {
      const rt = await Rtnetlink.open();
      let count = 0;
      let last;
      try {
        for await (const batch of rt.routes.stream({ family: 4 })) {
          count += batch.length;
          last = batch[batch.length - 1];
        }
        return { count, last: last && last.dst };
      } finally {
        rt.close();
      }
    },
    async 'dump-fdb'() {
      const rt = await Rtnetlink.open();
      try {
        const entries = await rt.fdb.list();
        return { count: entries.length };
      } finally {
        rt.close();
      }
    },
    async 'create-routes'() {
      const { specs } = JSON.parse(readFileSync(options.file, 'utf8'));
      const rt = await Rtnetlink.open();
      try {
        const result = await rt.routes.addMany(specs);
        return { count: specs.length, succeeded: result.succeeded, failed: failures(result) };
      } finally {
        rt.close();
      }
    },
    /** The VXLAN flood list converged to a list of unicast peers (vxnet/vxlan setPeers). */
    async 'converge-peers'() {
      return convergePeers(false);
    },
    /** The same on a device that already has them: must send no write, only the listing. */
    async 'converge-peers-again'() {
      return convergePeers(true);
    },
    async 'create-fdb'() {
      const { specs } = JSON.parse(readFileSync(options.file, 'utf8'));
      const rt = await Rtnetlink.open();
      try {
        const result = await rt.fdb.appendMany(specs);
        return { count: specs.length, succeeded: result.succeeded, failed: failures(result) };
      } finally {
        rt.close();
      }
    },
  };
}

async function main(lib, argv) {
  const [name, json] = argv;
  const options = json ? JSON.parse(json) : {};
  const work = workloads(lib, options)[name];
  if (!work) throw new Error(`unknown workload ${name}`);
  let report;
  // Garbage-collection pauses inside each measured iteration (perf_hooks 'gc' entries).
  let gcPause = 0;
  if (options.gc) {
    const { PerformanceObserver } = require('node:perf_hooks');
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) gcPause += entry.duration;
    }).observe({ entryTypes: ['gc'] });
  }
  if (options.repeat) {
    const times = [];
    const gcTimes = [];
    let last;
    for (let i = 0; i < (options.warmup ?? 1) + options.repeat; i++) {
      untimed(options.reset);
      // Entries are delivered asynchronously: let those of the previous iteration arrive first.
      if (options.gc) await new Promise((resolve) => setImmediate(resolve));
      gcPause = 0;
      const start = performance.now();
      last = await work();
      const elapsed = performance.now() - start;
      if (options.gc) {
        await new Promise((resolve) => setImmediate(resolve));
        if (i >= (options.warmup ?? 1)) gcTimes.push(gcPause);
      }
      if (i >= (options.warmup ?? 1)) times.push(elapsed);
    }
    report = { ...last, times, ...(options.gc ? { gcTimes } : {}) };
  } else {
    untimed(options.reset);
    const start = performance.now();
    report = { ...(await work()), ms: performance.now() - start };
  }
  report.maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

module.exports = { main };
