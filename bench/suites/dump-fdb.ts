/**
 * Dump 50,000 bridge FDB entries (a VXLAN device's unicast entries, each
 * with a remote VTEP): `bridge -j fdb show`, vxnet (fdb.list), node-netlink
 * (getNeighbors AF_BRIDGE), pyroute2 (fdb('dump')) and the bare header walk.
 *
 * Targets: vxnet whole process <= 1.0x `bridge -j fdb show`; in-process
 * >= 3x faster than node-netlink and >= 40x faster than pyroute2.
 */
import { fdbScript } from '../data.js';
import {
  addRow,
  addTarget,
  type Contestant,
  inProcess,
  ipBatch,
  parseReport,
  procs,
  requireDist,
  sh,
  timeProcesses,
  withNamespace,
  workload,
} from '../lib.js';

export const ENTRIES = 50_000;

export async function run(): Promise<void> {
  requireDist();
  await withNamespace('fdb50k', async (ns) => {
    sh('ip', [
      '-n',
      ns,
      'link',
      'add',
      'vx0',
      'type',
      'vxlan',
      'id',
      '42',
      'dstport',
      '4789',
      'local',
      '192.0.2.1',
      'nolearning',
    ]);
    ipBatch(ns, fdbScript(ENTRIES, 'vx0'), 'bridge');
    const w = workload(
      'Dump 50k bridge FDB entries',
      `A VXLAN device (id 42, IPv4 underlay) with ${ENTRIES.toLocaleString('en')} unicast FDB entries, each with a remote (\`bridge -batch\`: \`fdb append MAC dev vx0 dst IP self permanent\`). Every tool dumps AF_BRIDGE neighbours.`,
    );
    const contestants: Contestant[] = [
      { name: 'bridge', argv: ['bridge', '-j', 'fdb', 'show'] },
      { name: 'bridge pipe', argv: ['bridge', '-j', 'fdb', 'show'], stdout: 'pipe' },
      { name: 'vxnet', argv: procs.vxnetCjs('dump-fdb'), stdout: 'pipe' },
      { name: 'walk', argv: procs.walk('fdb'), stdout: 'pipe' },
      { name: 'walk-objects', argv: procs.walk('fdb', { objects: true }), stdout: 'pipe' },
      { name: 'node-netlink', argv: procs.nodeNetlink('dump-fdb'), stdout: 'pipe', runs: 3 },
      { name: 'pyroute2', argv: procs.pyroute2('dump-fdb'), stdout: 'pipe', runs: 2, warmup: 0 },
    ];
    const whole = timeProcesses(ns, contestants, 9);
    const bridgeEntries = JSON.parse(whole.get('bridge pipe')!.stdout) as { mac: string; dst?: string }[];
    const listed = bridgeEntries.length;
    // The floor's hand-written decoder must read what `bridge` reads.
    const sample = parseReport(whole.get('walk-objects')!.stdout, ['walk-objects']).sample as
      | { lladdr?: string; dst?: string }
      | undefined;
    if (!sample?.lladdr || !sample.dst || !bridgeEntries.some((e) => e.mac === sample.lladdr && e.dst === sample.dst)) {
      throw new Error(
        `the hand-written decoder's sample entry ${JSON.stringify(sample)} is not in \`bridge -j fdb show\``,
      );
    }
    const inproc = inProcess(
      ns,
      [
        {
          name: 'vxnet',
          argv: (repeat, warmup) => procs.vxnetCjs('dump-fdb', { repeat, warmup }),
          repeat: 6,
          warmup: 4,
        },
        { name: 'walk', argv: (repeat, warmup) => procs.walk('fdb', { repeat, warmup }), repeat: 6, warmup: 4 },
        {
          name: 'walk-objects',
          argv: (repeat, warmup) => procs.walk('fdb', { repeat, warmup, objects: true }),
          repeat: 6,
          warmup: 4,
        },
        {
          name: 'node-netlink',
          argv: (repeat, warmup) => procs.nodeNetlink('dump-fdb', { repeat, warmup }),
          repeat: 3,
          warmup: 2,
          rounds: 1,
        },
        {
          name: 'pyroute2',
          argv: (repeat, warmup) => procs.pyroute2('dump-fdb', { repeat, warmup }),
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
    if (new Set(counts).size !== 1) throw new Error(`the tools saw different numbers of entries: ${counts.join(', ')}`);

    const g = (name: string) => whole.get(name)!;
    const i = (name: string) => inproc.get(name)!.median;
    addRow(w, {
      tool: '`bridge -j fdb show` (stdout to /dev/null)',
      whole: g('bridge').wall,
      rssKiB: g('bridge').rssKiB,
      note: `${listed.toLocaleString('en')} entries listed`,
    });
    addRow(w, {
      tool: '`bridge -j fdb show` (stdout read through a pipe)',
      whole: g('bridge pipe').wall,
      rssKiB: g('bridge pipe').rssKiB,
    });
    addRow(w, {
      tool: 'vxnet `rt.fdb.list()` (dist, require)',
      whole: g('vxnet').wall,
      inProcess: i('vxnet'),
      rssKiB: g('vxnet').rssKiB,
      note: `${counts[0]!.toLocaleString('en')} entries`,
    });
    addRow(w, {
      tool: 'bare header walk, vxnet socket options',
      whole: g('walk').wall,
      inProcess: i('walk'),
      rssKiB: g('walk').rssKiB,
      note: `${inproc.get('walk')!.report.datagrams} datagrams`,
    });
    addRow(w, {
      tool: 'bare header walk + objects decoded by hand',
      whole: g('walk-objects').wall,
      inProcess: i('walk-objects'),
      rssKiB: g('walk-objects').rssKiB,
      note: 'the floor for objects: ndmsg, lladdr and dst only, by a decoder written for exactly these messages, every object kept',
    });
    addRow(w, {
      tool: 'node-netlink `getNeighbors({ family: AF_BRIDGE })`',
      whole: g('node-netlink').wall,
      inProcess: i('node-netlink'),
      rssKiB: g('node-netlink').rssKiB,
      note: 'addresses left as Buffers',
    });
    addRow(w, {
      tool: "pyroute2 `fdb('dump')`",
      whole: g('pyroute2').wall,
      inProcess: i('pyroute2'),
      rssKiB: g('pyroute2').rssKiB,
    });

    const handHow = 'the walk with objects decoded by hand, a fresh process';
    addTarget(w, {
      what: 'vxnet whole process / `bridge -j fdb show` (to /dev/null)',
      ratio: g('vxnet').wall / g('bridge').wall,
      limit: 1,
      sense: 'at most',
      floor: { ratio: g('walk-objects').wall / g('bridge').wall, how: handHow },
    });
    addTarget(w, {
      what: 'vxnet whole process / `bridge -j fdb show` (through a pipe)',
      ratio: g('vxnet').wall / g('bridge pipe').wall,
      limit: 1,
      sense: 'at most',
      floor: { ratio: g('walk-objects').wall / g('bridge pipe').wall, how: handHow },
    });
    addTarget(w, {
      what: 'node-netlink in-process / vxnet in-process',
      ratio: i('node-netlink') / i('vxnet'),
      limit: 3,
      sense: 'at least',
    });
    // No decoder is faster than the walk that only reads the headers: pyroute2 / walk is the most any library can show.
    addTarget(w, {
      what: 'pyroute2 in-process / vxnet in-process',
      ratio: i('pyroute2') / i('vxnet'),
      limit: 40,
      sense: 'at least',
      floor: { ratio: i('pyroute2') / i('walk'), how: 'pyroute2 / the bare header walk, which decodes nothing' },
    });
  });
}
