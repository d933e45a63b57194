// vxnet's routed mode converging a static route table, from the CommonJS
// bundle (dist/routed/index.cjs), run inside the benchmark's namespace:
//
//   node bench/procs/vxnet-routes.cjs '{"file":".../routes.json","repeat":5,"warmup":2,"reset":[[...]]}'
//
// One iteration: open the socket, dump the main table, plan (add what is
// missing, replace what differs, delete stale vxnet routes), apply. With
// `again`, the table is already converged: the report counts what was sent.
'use strict';
const { spawnSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const path = require('node:path');

const dist = process.env.VXNET_DIST ?? path.join(__dirname, '../../dist');
const { Rtnetlink } = require(`${dist}/rtnetlink/index.cjs`);
const { planStaticRoutes } = require(`${dist}/routed/index.cjs`);

function untimed(commands) {
  for (const argv of commands ?? []) {
    const run = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${argv.join(' ')}: ${run.stderr}`);
  }
}

async function converge(table) {
  const rt = await Rtnetlink.open();
  try {
    const plan = await planStaticRoutes(rt, {
      routes: table.routes,
      dev: table.dev,
      claimed: [],
      claim: () => undefined,
    });
    const before = rt.connection.stats.messagesSent;
    for (const change of plan.changes) await change.apply();
    return {
      changes: plan.changes.length,
      writes: rt.connection.stats.messagesSent - before,
      messages: rt.connection.stats.messagesSent,
    };
  } finally {
    rt.close();
  }
}

async function main() {
  const options = JSON.parse(process.argv[2] ?? '{}');
  const table = JSON.parse(readFileSync(options.file, 'utf8'));
  let report;
  if (options.repeat) {
    const times = [];
    let last;
    for (let i = 0; i < (options.warmup ?? 1) + options.repeat; i++) {
      untimed(options.reset);
      const start = performance.now();
      last = await converge(table);
      if (i >= (options.warmup ?? 1)) times.push(performance.now() - start);
    }
    report = { ...last, times };
  } else {
    untimed(options.reset);
    const start = performance.now();
    report = { ...(await converge(table)), ms: performance.now() - start };
  }
  report.maxRssKiB = process.resourceUsage().maxRSS;
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
