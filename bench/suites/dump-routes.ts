/**
 * Dump 100,000 IPv4 routes into typed objects, side by side: `ip -j route
 * show`, vxnet (routes.list), node-netlink's rt layer (getRoutes), pyroute2
 * (get_routes) and the bare header walk over node-netlink's RawNetlinkSocket.
 *
 * Targets (issue 3, item 8): vxnet in-process <= 2x the bare header walk;
 * whole process <= 1.6x `ip -j route show`; in-process >= 3x faster than
 * node-netlink and >= 40x faster than pyroute2.
 *
 * The floor of the two targets on objects: the same walk with a decoder
 * written by hand for exactly these messages (header-walk.cjs "objects"),
 * keeping every object, in the same run.
 */
import { routeScript } from '../data.js';
import {
  addRow,
  addTarget,
  addVeth,
  type Contestant,
  inProcess,
  ipBatch,
  median,
  NODE,
  parseReport,
  procs,
  requireDist,
  timeProcesses,
  withNamespace,
  workload,
} from '../lib.js';

export const ROUTES = 100_000;

export async function run(): Promise<void> {
  requireDist();
  await withNamespace('routes100k', async (ns) => {
    addVeth(ns, 'vxb0', 'vxb1');
    ipBatch(ns, routeScript(ROUTES, 'vxb0'));
    const w = workload(
      'Dump 100k IPv4 routes into objects',
      `A namespace holding ${ROUTES.toLocaleString('en')} IPv4 /32 routes via a veth (added with \`ip -batch\`), plus the kernel's own local routes. ` +
        'Whole process: a fresh process inside the namespace (`ip netns exec`) that opens a socket, dumps, exits. ' +
        'In-process: socket opened → every route decoded, in a warm process.',
    );

    const contestants: Contestant[] = [
      { name: 'ip -j route show >/dev/null', argv: ['ip', '-j', 'route', 'show'] },
      { name: 'ip -j route show | pipe', argv: ['ip', '-j', 'route', 'show'], stdout: 'pipe' },
      { name: 'vxnet (dist, CommonJS)', argv: procs.vxnetCjs('dump-routes'), stdout: 'pipe' },
      { name: 'vxnet (dist, ES module)', argv: procs.vxnetEsm('dump-routes'), stdout: 'pipe' },
      { name: 'bare header walk', argv: procs.walk('routes'), stdout: 'pipe' },
      { name: 'walk + hand-written objects', argv: procs.walk('routes', { objects: true }), stdout: 'pipe' },
      { name: 'node-netlink getRoutes()', argv: procs.nodeNetlink('dump-routes'), stdout: 'pipe', runs: 3 },
      { name: 'pyroute2 get_routes()', argv: procs.pyroute2('dump-routes'), stdout: 'pipe', runs: 2, warmup: 0 },
      { name: 'node -e 0 (start-up floor)', argv: [NODE, '-e', '0'] },
    ];
    // This machine sets NODE_EXTRA_CA_CERTS; the measured children run without it (see childEnv). Its cost, for the record:
    if (process.env.NODE_EXTRA_CA_CERTS)
      contestants.push({ name: 'node -e 0 (CA)', argv: [NODE, '-e', '0'], env: { ...process.env, NODE_OPTIONS: '' } });
    const whole = timeProcesses(ns, contestants, 9);
    const ipRoutes = JSON.parse(whole.get('ip -j route show | pipe')!.stdout) as { dst: string; dev?: string }[];
    const listed = ipRoutes.length;
    // The floor's hand-written decoder must read what `ip` reads.
    const sample = parseReport(whole.get('walk + hand-written objects')!.stdout, ['walk + hand-written objects'])
      .sample as { dst?: string; dst_len?: number } | undefined;
    if (!sample?.dst || sample.dst_len !== 32 || !ipRoutes.some((r) => r.dst === sample.dst && r.dev === 'vxb0')) {
      throw new Error(
        `the hand-written decoder's sample route ${JSON.stringify(sample)} is not in \`ip -j route show\``,
      );
    }

    const inproc = inProcess(
      ns,
      [
        {
          name: 'vxnet',
          argv: (repeat, warmup) => procs.vxnetCjs('dump-routes', { repeat, warmup, gc: true }),
          repeat: 6,
          warmup: 4,
        },
        { name: 'walk', argv: (repeat, warmup) => procs.walk('routes', { repeat, warmup }), repeat: 6, warmup: 4 },
        {
          name: 'walk-objects',
          argv: (repeat, warmup) => procs.walk('routes', { repeat, warmup, objects: true }),
          repeat: 6,
          warmup: 4,
        },
        {
          name: 'vxnet-stream',
          argv: (repeat, warmup) => procs.vxnetCjs('stream-routes', { repeat, warmup }),
          repeat: 6,
          warmup: 4,
        },
        {
          name: 'walk-default',
          argv: (repeat, warmup) => procs.walk('routes', { repeat, warmup, socket: 'default' }),
          repeat: 6,
          warmup: 4,
        },
        {
          name: 'node-netlink',
          argv: (repeat, warmup) => procs.nodeNetlink('dump-routes', { repeat, warmup }),
          repeat: 3,
          warmup: 2,
          rounds: 1,
        },
        {
          name: 'pyroute2',
          argv: (repeat, warmup) => procs.pyroute2('dump-routes', { repeat, warmup }),
          repeat: 2,
          warmup: 0,
          rounds: 1,
        },
      ],
      3,
    );

    const counts = ['vxnet', 'walk', 'walk-objects', 'node-netlink', 'pyroute2'].map(
      (k) => inproc.get(k)!.report.count,
    );
    if (new Set(counts).size !== 1) throw new Error(`the tools saw different numbers of routes: ${counts.join(', ')}`);

    const g = (name: string) => whole.get(name)!;
    const i = (name: string) => inproc.get(name)!.median;
    addRow(w, {
      tool: '`ip -j route show` (stdout to /dev/null)',
      whole: g('ip -j route show >/dev/null').wall,
      rssKiB: g('ip -j route show >/dev/null').rssKiB,
      note: `table main: ${listed.toLocaleString('en')} routes`,
    });
    addRow(w, {
      tool: '`ip -j route show` (stdout read through a pipe)',
      whole: g('ip -j route show | pipe').wall,
      rssKiB: g('ip -j route show | pipe').rssKiB,
      note: 'its JSON is not parsed',
    });
    addRow(w, {
      tool: 'vxnet `rt.routes.list()` (dist, require)',
      whole: g('vxnet (dist, CommonJS)').wall,
      inProcess: i('vxnet'),
      rssKiB: g('vxnet (dist, CommonJS)').rssKiB,
      note: `${counts[0]!.toLocaleString('en')} routes; in-process, GC pauses ${median(inproc.get('vxnet')!.report.gcTimes as number[]).toFixed(1)} ms of it (median of the last child)`,
    });
    addRow(w, {
      tool: 'vxnet `rt.routes.list()` (dist, import)',
      whole: g('vxnet (dist, ES module)').wall,
      rssKiB: g('vxnet (dist, ES module)').rssKiB,
      note: 'ES module loading costs more at start-up',
    });
    addRow(w, {
      tool: 'vxnet `rt.routes.stream()`, nothing kept',
      inProcess: i('vxnet-stream'),
      note: 'the same decoding, without holding 100k objects: the difference is mostly garbage collection',
    });
    addRow(w, {
      tool: 'bare header walk, vxnet socket options',
      whole: g('bare header walk').wall,
      inProcess: i('walk'),
      rssKiB: g('bare header walk').rssKiB,
      note: `RawNetlinkSocket, 64 KiB reads: ${inproc.get('walk')!.report.datagrams} datagrams`,
    });
    addRow(w, {
      tool: 'bare header walk + objects decoded by hand',
      whole: g('walk + hand-written objects').wall,
      inProcess: i('walk-objects'),
      rssKiB: g('walk + hand-written objects').rssKiB,
      note: 'the floor for objects: rtmsg, table, dst and oif only, by a decoder written for exactly these messages, every object kept',
    });
    addRow(w, {
      tool: 'bare header walk, node-netlink defaults',
      inProcess: i('walk-default'),
      note: `peeked reads: ${inproc.get('walk-default')!.report.datagrams} datagrams`,
    });
    addRow(w, {
      tool: 'node-netlink `getRoutes()`',
      whole: g('node-netlink getRoutes()').wall,
      inProcess: i('node-netlink'),
      rssKiB: g('node-netlink getRoutes()').rssKiB,
      note: 'addresses left as Buffers',
    });
    addRow(w, {
      tool: 'pyroute2 `get_routes()`',
      whole: g('pyroute2 get_routes()').wall,
      inProcess: i('pyroute2'),
      rssKiB: g('pyroute2 get_routes()').rssKiB,
    });
    addRow(w, {
      tool: '`node -e 0`',
      whole: g('node -e 0 (start-up floor)').wall,
      rssKiB: g('node -e 0 (start-up floor)').rssKiB,
      note: 'Node.js start-up alone',
    });
    if (whole.has('node -e 0 (CA)')) {
      addRow(w, {
        tool: "`node -e 0` with this machine's NODE_EXTRA_CA_CERTS",
        whole: g('node -e 0 (CA)').wall,
        rssKiB: g('node -e 0 (CA)').rssKiB,
        note: 'every Node.js process here pays this unless the variable is unset (the measured children run without it)',
      });
    }

    const vxWhole = g('vxnet (dist, CommonJS)').wall;
    const handWhole = g('walk + hand-written objects').wall;
    const handHow = 'the walk with objects decoded by hand';
    addTarget(w, {
      what: 'vxnet in-process / bare header walk in-process',
      ratio: i('vxnet') / i('walk'),
      limit: 2,
      sense: 'at most',
      floor: { ratio: i('walk-objects') / i('walk'), how: handHow },
    });
    addTarget(w, {
      what: 'vxnet whole process / `ip -j route show` (to /dev/null)',
      ratio: vxWhole / g('ip -j route show >/dev/null').wall,
      limit: 1.6,
      sense: 'at most',
      floor: { ratio: handWhole / g('ip -j route show >/dev/null').wall, how: `${handHow}, a fresh process` },
    });
    addTarget(w, {
      what: 'vxnet whole process / `ip -j route show` (through a pipe)',
      ratio: vxWhole / g('ip -j route show | pipe').wall,
      limit: 1.6,
      sense: 'at most',
      floor: { ratio: handWhole / g('ip -j route show | pipe').wall, how: `${handHow}, a fresh process` },
    });
    addTarget(w, {
      what: 'node-netlink in-process / vxnet in-process',
      ratio: i('node-netlink') / i('vxnet'),
      limit: 3,
      sense: 'at least',
    });
    addTarget(w, {
      what: 'pyroute2 in-process / vxnet in-process',
      ratio: i('pyroute2') / i('vxnet'),
      limit: 40,
      sense: 'at least',
    });
    w.commands.push(
      'ip netns exec NS ip -j route show',
      `ip netns exec NS node bench/procs/vxnet.cjs dump-routes '{}'`,
      `ip netns exec NS node bench/procs/vxnet.cjs dump-routes '{"repeat":6,"warmup":4}'`,
      `ip netns exec NS node bench/procs/header-walk.cjs routes '{"repeat":6,"warmup":4}'`,
      `ip netns exec NS node bench/procs/header-walk.cjs routes '{"repeat":6,"warmup":4,"objects":true}'`,
    );
  });
}
