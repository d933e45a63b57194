/**
 * Converge 1,000 unicast peers on a VXLAN device (the flood list: one
 * all-zeros FDB entry per peer): vxnet `setPeers()` — which first lists the
 * device's FDB, then appends what is missing in batches — against
 * `bridge -batch` doing the same 1,000 `fdb append`s blind. A second
 * setPeers on the converged device must send no write (only the listing).
 * Target (issue 4): vxnet <= 1.3x `bridge -batch`.
 */
import { writeFileSync } from 'node:fs';
import { address10 } from '../data.js';
import {
  addRow,
  addTarget,
  cachePath,
  type Contestant,
  inProcess,
  NODE,
  parseReport,
  procs,
  requireDist,
  runChild,
  sh,
  startupFloor,
  timeProcesses,
  withNamespace,
  workload,
} from '../lib.js';

export const PEERS = 1_000;
const VXLAN = [
  'ip',
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
];

export async function run(): Promise<void> {
  requireDist();
  await withNamespace('peers', async (ns) => {
    sh('ip', ['netns', 'exec', ns, ...VXLAN]);
    const peers = Array.from({ length: PEERS }, (_, i) => address10(i, 200));
    const file = cachePath('peers-1000.json');
    const script = cachePath('peers-1000.bridge');
    writeFileSync(file, JSON.stringify({ peers }));
    writeFileSync(
      script,
      peers.map((p) => `fdb append 00:00:00:00:00:00 dev vx0 dst ${p} self permanent`).join('\n') + '\n',
    );
    const reset = [['ip', 'link', 'del', 'vx0'], VXLAN];
    const resetInNs = () => {
      for (const argv of reset) sh('ip', ['netns', 'exec', ns, ...argv]);
    };
    const w = workload(
      'Converge 1k VXLAN peers',
      `A VXLAN device (id 42, IPv4, no learning) whose flood list is made ${PEERS.toLocaleString('en')} unicast peers, from an empty list each run (the device is re-created between runs, untimed).`,
    );
    const contestants: Contestant[] = [
      { name: 'bridge', argv: ['bridge', '-batch', script], before: resetInNs },
      { name: 'vxnet', argv: procs.vxnetCjs('converge-peers', { file }), stdout: 'pipe', before: resetInNs },
      { name: 'node -e 0', argv: [NODE, '-e', '0'] },
      { name: 'bridge empty', argv: ['bridge', '-batch', '/dev/null'] },
    ];
    const whole = timeProcesses(ns, contestants, 9);
    const flood = JSON.parse(sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vx0'])).filter(
      (e: { mac: string; dst?: string }) => e.mac === '00:00:00:00:00:00' && e.dst,
    ).length;
    if (flood !== PEERS) throw new Error(`after the last run the flood list has ${flood} entries, expected ${PEERS}`);
    const first = parseReport(whole.get('vxnet')!.stdout, ['vxnet']) as unknown as { added: number };
    if (first.added !== PEERS) throw new Error(`setPeers added ${first.added} peers, expected ${PEERS}`);
    // The device now has every peer: converging again must only read.
    const again = runChild(ns, procs.vxnetCjs('converge-peers-again', { file })) as unknown as {
      added: number;
      removed: number;
      messages: number;
    };
    if (again.added !== 0 || again.removed !== 0)
      throw new Error(`a second setPeers added ${again.added} and removed ${again.removed}`);
    const inproc = inProcess(
      ns,
      [
        {
          name: 'vxnet',
          argv: (repeat, warmup) => procs.vxnetCjs('converge-peers', { file, repeat, warmup, reset }),
          repeat: 6,
          warmup: 4,
        },
      ],
      2,
    );
    const g = (name: string) => whole.get(name)!;
    addRow(w, {
      tool: '`bridge -batch FILE` (1,000 `fdb append`)',
      whole: g('bridge').wall,
      rssKiB: g('bridge').rssKiB,
    });
    addRow(w, {
      tool: 'vxnet `setPeers()` (dist, require), list + append',
      whole: g('vxnet').wall,
      inProcess: inproc.get('vxnet')!.median,
      rssKiB: g('vxnet').rssKiB,
      note: `setPeers again on the converged device: ${again.messages} message(s) sent, all reads (a link lookup and one FDB dump), no write`,
    });
    addRow(w, {
      tool: '`node -e 0`',
      whole: g('node -e 0').wall,
      rssKiB: g('node -e 0').rssKiB,
      note: 'Node.js start-up alone',
    });
    addTarget(w, {
      what: 'vxnet whole process / `bridge -batch`',
      ratio: g('vxnet').wall / g('bridge').wall,
      limit: 1.3,
      sense: 'at most',
      floor: startupFloor(g('node -e 0'), g('bridge'), g('bridge empty'), 'bridge -batch'),
    });
    addTarget(w, {
      what: 'vxnet in-process / `bridge -batch` whole process',
      ratio: inproc.get('vxnet')!.median / g('bridge').wall,
      limit: 1.3,
      sense: 'at most',
      note: 'what an agent pays',
    });
  });
}
