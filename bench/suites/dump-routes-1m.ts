/**
 * Dump 1,000,000 IPv4 routes. vxnet goes through the streaming API
 * (`rt.routes.stream()`: batches of typed routes, none kept), which is what
 * a table this size calls for; `rt.routes.list()` (everything collected) is
 * shown too, for its memory.
 *
 * Targets: whole process faster than `ip -j route show`, peak RSS <= 150 MiB;
 * in-process >= 3x faster than node-netlink and >= 40x faster than pyroute2.
 * Inserting a million routes takes a while, so node-netlink and pyroute2
 * run once each (their in-process figure is that run's own timing).
 */
import { routeScript } from '../data.js';
import {
  addRow,
  addTarget,
  addVeth,
  type Contestant,
  inProcess,
  ipBatch,
  mib,
  parseReport,
  procs,
  requireDist,
  timeProcesses,
  withNamespace,
  workload,
} from '../lib.js';

export const ROUTES = 1_000_000;

export async function run(): Promise<void> {
  requireDist();
  await withNamespace('routes1m', async (ns) => {
    const start = performance.now();
    addVeth(ns, 'vxb0', 'vxb1');
    ipBatch(ns, routeScript(ROUTES, 'vxb0'));
    const setupSeconds = (performance.now() - start) / 1000;
    const w = workload(
      'Dump 1M IPv4 routes (streaming)',
      `A namespace holding ${ROUTES.toLocaleString('en')} IPv4 /32 routes (\`ip -batch\`, ${setupSeconds.toFixed(0)} s to insert). ` +
        'vxnet streams them: `for await (const batch of rt.routes.stream())`, counting, keeping nothing.',
    );
    const contestants: Contestant[] = [
      { name: 'ip', argv: ['ip', '-j', 'route', 'show'], runs: 5 },
      { name: 'ip pipe', argv: ['ip', '-j', 'route', 'show'], stdout: 'pipe', runs: 3 },
      { name: 'vxnet stream', argv: procs.vxnetCjs('stream-routes'), stdout: 'pipe', runs: 5 },
      { name: 'vxnet list', argv: procs.vxnetCjs('dump-routes'), stdout: 'pipe', runs: 2 },
      { name: 'walk', argv: procs.walk('routes'), stdout: 'pipe', runs: 5 },
      { name: 'node-netlink', argv: procs.nodeNetlink('dump-routes'), stdout: 'pipe', runs: 1, warmup: 0 },
      { name: 'pyroute2', argv: procs.pyroute2('dump-routes'), stdout: 'pipe', runs: 1, warmup: 0 },
    ];
    const whole = timeProcesses(ns, contestants, 5);
    const inproc = inProcess(
      ns,
      [
        {
          name: 'vxnet',
          argv: (repeat, warmup) => procs.vxnetCjs('stream-routes', { repeat, warmup }),
          repeat: 3,
          warmup: 2,
        },
        { name: 'walk', argv: (repeat, warmup) => procs.walk('routes', { repeat, warmup }), repeat: 3, warmup: 2 },
      ],
      2,
    );

    const report = (name: string) => parseReport(whole.get(name)!.stdout, [name]);
    const counts = [
      inproc.get('vxnet')!.report.count,
      inproc.get('walk')!.report.count,
      report('node-netlink').count,
      report('pyroute2').count,
    ];
    if (new Set(counts).size !== 1) throw new Error(`the tools saw different numbers of routes: ${counts.join(', ')}`);
    const g = (name: string) => whole.get(name)!;
    const nnCold = report('node-netlink').ms!;
    const pyCold = report('pyroute2').ms!;
    const vx = inproc.get('vxnet')!.median;

    addRow(w, { tool: '`ip -j route show` (stdout to /dev/null)', whole: g('ip').wall, rssKiB: g('ip').rssKiB });
    addRow(w, {
      tool: '`ip -j route show` (stdout read through a pipe)',
      whole: g('ip pipe').wall,
      rssKiB: g('ip pipe').rssKiB,
    });
    addRow(w, {
      tool: 'vxnet `rt.routes.stream()` (dist, require)',
      whole: g('vxnet stream').wall,
      inProcess: vx,
      rssKiB: g('vxnet stream').rssKiB,
      note: `${counts[0]!.toLocaleString('en')} routes; child's own maxRSS ${mib(report('vxnet stream').maxRssKiB!)}`,
    });
    addRow(w, {
      tool: 'vxnet `rt.routes.list()` (all kept)',
      whole: g('vxnet list').wall,
      rssKiB: g('vxnet list').rssKiB,
      note: 'for the memory: every route held at once',
    });
    addRow(w, {
      tool: 'bare header walk, vxnet socket options',
      whole: g('walk').wall,
      inProcess: inproc.get('walk')!.median,
      rssKiB: g('walk').rssKiB,
    });
    addRow(w, {
      tool: 'node-netlink `getRoutes()`',
      whole: g('node-netlink').wall,
      inProcess: nnCold,
      rssKiB: g('node-netlink').rssKiB,
      note: 'one run; in-process = its own timing, cold',
    });
    addRow(w, {
      tool: 'pyroute2 `get_routes()`',
      whole: g('pyroute2').wall,
      inProcess: pyCold,
      rssKiB: g('pyroute2').rssKiB,
      note: 'one run; in-process = its own timing',
    });

    addTarget(w, {
      what: 'vxnet stream whole process / `ip -j route show` (to /dev/null)',
      ratio: g('vxnet stream').wall / g('ip').wall,
      limit: 1,
      sense: 'at most',
    });
    addTarget(w, {
      what: 'vxnet stream whole process / `ip -j route show` (through a pipe)',
      ratio: g('vxnet stream').wall / g('ip pipe').wall,
      limit: 1,
      sense: 'at most',
    });
    addTarget(w, {
      what: 'vxnet stream peak RSS / 150 MiB',
      ratio: g('vxnet stream').rssKiB / (150 * 1024),
      limit: 1,
      sense: 'at most',
    });
    addTarget(w, {
      what: 'node-netlink in-process / vxnet in-process',
      ratio: nnCold / vx,
      limit: 3,
      sense: 'at least',
      note: 'node-netlink cold',
    });
    addTarget(w, { what: 'pyroute2 in-process / vxnet in-process', ratio: pyCold / vx, limit: 40, sense: 'at least' });
  });
}
