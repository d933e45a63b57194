/**
 * Converge 1,000 static routes from a routed spec's table (/24s via one
 * next hop, protocol vxnet): vxnet `planStaticRoutes()` + apply — one dump
 * of the main table, then the missing routes in batches — against
 * `ip -batch` adding the same 1,000 routes blind. A second convergence on
 * the converged table must send no write (only the reads).
 * Target (issue 15): vxnet in-process <= 1.3x `ip -batch`.
 */
import { writeFileSync } from 'node:fs';
import {
  addRow,
  addTarget,
  BENCH_DIR,
  cachePath,
  type Contestant,
  inProcess,
  NODE,
  parseReport,
  requireDist,
  runChild,
  sh,
  startupFloor,
  timeProcesses,
  withNamespace,
  workload,
} from '../lib.js';

export const ROUTES = 1_000;
const PROTOCOL = 118; // RTPROT_VXNET (src/routed/protocol.ts)

const vxnetRoutes = (options: object) => [NODE, `${BENCH_DIR}procs/vxnet-routes.cjs`, JSON.stringify(options)];

export async function run(): Promise<void> {
  requireDist();
  await withNamespace('routes', async (ns) => {
    const link = [
      ['ip', 'link', 'add', 'vxb2', 'type', 'veth', 'peer', 'name', 'vxb3'],
      ['ip', 'addr', 'add', '192.168.0.1/24', 'dev', 'vxb2'],
      ['ip', 'link', 'set', 'vxb2', 'up'],
      ['ip', 'link', 'set', 'vxb3', 'up'],
    ];
    for (const argv of link) sh('ip', ['netns', 'exec', ns, ...argv]);
    const subnets = Array.from({ length: ROUTES }, (_, i) => ({
      address: `10.${100 + (i >> 8)}.${i & 255}.0`,
      prefixlen: 24,
    }));
    const routes = subnets.map((s) => ({ subnet: { ...s, text: `${s.address}/24` }, via: '192.168.0.2' }));
    const file = cachePath('routes-1000.json');
    const script = cachePath('routes-1000.ip');
    writeFileSync(file, JSON.stringify({ dev: 'vxb2', routes }));
    writeFileSync(
      script,
      routes.map((r) => `route add ${r.subnet.text} via ${r.via} dev vxb2 proto ${PROTOCOL}`).join('\n') + '\n',
    );
    const reset = [['ip', 'link', 'del', 'vxb2'], ...link];
    const resetInNs = () => {
      for (const argv of reset) sh('ip', ['netns', 'exec', ns, ...argv]);
    };
    const w = workload(
      'Converge 1k static routes (routed mode)',
      `${ROUTES.toLocaleString('en')} /24 routes via one next hop on a veth, protocol 118 (vxnet's), from an empty table each run (the veth is re-created between runs, untimed).`,
    );
    const contestants: Contestant[] = [
      { name: 'ip', argv: ['ip', '-batch', script], before: resetInNs },
      { name: 'vxnet', argv: vxnetRoutes({ file }), stdout: 'pipe', before: resetInNs },
      { name: 'node -e 0', argv: [NODE, '-e', '0'] },
      { name: 'ip empty', argv: ['ip', '-batch', '/dev/null'] },
    ];
    const whole = timeProcesses(ns, contestants, 9);
    const count = (
      JSON.parse(sh('ip', ['-n', ns, '-j', 'route', 'show', 'dev', 'vxb2'])) as { protocol?: string }[]
    ).filter((r) => r.protocol === String(PROTOCOL)).length;
    if (count !== ROUTES) throw new Error(`after the last run the table has ${count} vxnet routes, expected ${ROUTES}`);
    const first = parseReport(whole.get('vxnet')!.stdout, ['vxnet']) as unknown as { changes: number };
    if (first.changes !== 1)
      throw new Error(`the first convergence made ${first.changes} change(s), expected one batch add`);
    const again = runChild(ns, vxnetRoutes({ file })) as unknown as {
      changes: number;
      writes: number;
      messages: number;
    };
    if (again.changes !== 0 || again.writes !== 0)
      throw new Error(`a second convergence planned ${again.changes} change(s), sent ${again.writes} write(s)`);
    const inproc = inProcess(
      ns,
      [{ name: 'vxnet', argv: (repeat, warmup) => vxnetRoutes({ file, repeat, warmup, reset }), repeat: 6, warmup: 4 }],
      2,
    );
    const g = (name: string) => whole.get(name)!;
    addRow(w, { tool: '`ip -batch FILE` (1,000 `route add`)', whole: g('ip').wall, rssKiB: g('ip').rssKiB });
    addRow(w, {
      tool: 'vxnet `planStaticRoutes()` + apply (dist, require), dump + add',
      whole: g('vxnet').wall,
      inProcess: inproc.get('vxnet')!.median,
      rssKiB: g('vxnet').rssKiB,
      note: `converging again: ${again.messages} message(s) sent, all reads (link lookup, route dump), no write`,
    });
    addRow(w, {
      tool: '`node -e 0`',
      whole: g('node -e 0').wall,
      rssKiB: g('node -e 0').rssKiB,
      note: 'Node.js start-up alone',
    });
    addTarget(w, {
      what: 'vxnet whole process / `ip -batch`',
      ratio: g('vxnet').wall / g('ip').wall,
      limit: 1.3,
      sense: 'at most',
      floor: startupFloor(g('node -e 0'), g('ip'), g('ip empty'), 'ip -batch'),
    });
    addTarget(w, {
      what: 'vxnet in-process / `ip -batch` whole process',
      ratio: inproc.get('vxnet')!.median / g('ip').wall,
      limit: 1.3,
      sense: 'at most',
      note: 'what an agent pays',
    });
  });
}
