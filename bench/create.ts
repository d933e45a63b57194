/**
 * The shape both create workloads share: the same entries (some refused on
 * purpose) created by iproute2's batch mode, vxnet's batch API, node-netlink
 * and pyroute2, from a clean device each time; every tool must report each
 * refused entry by its index.
 */
import { batchFailures, type CreateSet } from './data.js';
import {
  addRow,
  addTarget,
  type ChildReport,
  type Contestant,
  inProcess,
  ms,
  NODE,
  parseReport,
  procs,
  sh,
  startupFloor,
  timeProcesses,
  type Workload,
} from './lib.js';

export interface CreateConfig {
  ns: string;
  w: Workload;
  set: CreateSet<unknown>;
  /** 'create-routes' | 'create-fdb' (the children's workload name). */
  workload: string;
  /** iproute2: ['ip'] or ['bridge']. */
  tool: 'ip' | 'bridge';
  /** Commands (argv, run inside the namespace) that remove what a run created and restore the clean device. */
  reset: string[][];
  /** How many entries exist after a run (read with iproute2). */
  countCreated: () => number;
  /** The iproute2 anchor target (1.1 for routes, 1.3 for FDB). */
  limit: number;
  /** vxnet's API call, for the table. */
  vxnetCall: string;
}

function check(name: string, failed: number[], expected: number[]): string {
  const same = failed.length === expected.length && failed.every((v, k) => v === expected[k]);
  if (!same) throw new Error(`${name} reported failures at [${failed.join(', ')}], expected [${expected.join(', ')}]`);
  return `reported ${failed.length} refused entries, by index: ${failed.join(', ')}`;
}

export function runCreate(c: CreateConfig): void {
  const { ns, w, set } = c;
  const resetInNs = () => {
    for (const argv of c.reset) sh('ip', ['netns', 'exec', ns, ...argv]);
  };
  const options = { file: set.jsonFile };
  const contestants: Contestant[] = [
    { name: 'iproute2', argv: [c.tool, '-force', '-batch', set.scriptFile], before: resetInNs, okStatus: [1] },
    { name: 'vxnet', argv: procs.vxnetCjs(c.workload, options), stdout: 'pipe', before: resetInNs },
    {
      name: 'node-netlink',
      argv: procs.nodeNetlink(c.workload, options),
      stdout: 'pipe',
      before: resetInNs,
      runs: 2,
      warmup: 0,
    },
    {
      name: 'pyroute2',
      argv: procs.pyroute2(c.workload, options),
      stdout: 'pipe',
      before: resetInNs,
      runs: 2,
      warmup: 0,
    },
    { name: 'node -e 0', argv: [NODE, '-e', '0'] },
    { name: 'iproute2 empty', argv: [c.tool, '-batch', '/dev/null'] },
  ];
  const whole = timeProcesses(ns, contestants, 9);
  const created = c.countCreated();
  const expectedCreated = set.specs.length - set.bad.length;
  if (created !== expectedCreated)
    throw new Error(`after the last run ${created} entries exist, expected ${expectedCreated}`);

  const inproc = inProcess(
    ns,
    [
      {
        name: 'vxnet',
        argv: (repeat, warmup) => procs.vxnetCjs(c.workload, { ...options, repeat, warmup, reset: c.reset }),
        repeat: 5,
        warmup: 2,
      },
      {
        name: 'node-netlink',
        argv: (repeat, warmup) => procs.nodeNetlink(c.workload, { ...options, repeat, warmup, reset: c.reset }),
        repeat: 2,
        warmup: 1,
        rounds: 1,
      },
      {
        name: 'pyroute2',
        argv: (repeat, warmup) => procs.pyroute2(c.workload, { ...options, repeat, warmup, reset: c.reset }),
        repeat: 1,
        warmup: 0,
        rounds: 1,
      },
    ],
    2,
  );

  const g = (name: string) => whole.get(name)!;
  const failedOf = (r: ChildReport) => (r.failed ?? []).map((f) => f.index);
  const vxReport = parseReport(g('vxnet').stdout, ['vxnet']);
  const notes = {
    iproute2: check('iproute2', batchFailures(g('iproute2').stderr), set.bad),
    vxnet: check('vxnet', failedOf(vxReport), set.bad),
    'node-netlink': check('node-netlink', failedOf(parseReport(g('node-netlink').stdout, ['node-netlink'])), set.bad),
    pyroute2: check('pyroute2', failedOf(parseReport(g('pyroute2').stdout, ['pyroute2'])), set.bad),
  };
  for (const name of ['vxnet', 'node-netlink', 'pyroute2'])
    check(`${name} (in-process)`, failedOf(inproc.get(name)!.report), set.bad);
  const codes = (vxReport.failed ?? []).map((f) => `#${f.index} ${f.code}`).join(', ');

  addRow(w, {
    tool: `\`${c.tool} -force -batch FILE\``,
    whole: g('iproute2').wall,
    rssKiB: g('iproute2').rssKiB,
    note: `"Command failed FILE:LINE" ${notes.iproute2.replace('reported ', 'for ')}; ${ms(g('iproute2').systemMs)} of system time`,
  });
  addRow(w, {
    tool: `vxnet \`${c.vxnetCall}\` (dist, require)`,
    whole: g('vxnet').wall,
    inProcess: inproc.get('vxnet')!.median,
    rssKiB: g('vxnet').rssKiB,
    note: `${notes.vxnet} (${codes})`,
  });
  addRow(w, {
    tool: 'node-netlink, one request per entry',
    whole: g('node-netlink').wall,
    inProcess: inproc.get('node-netlink')!.median,
    rssKiB: g('node-netlink').rssKiB,
    note: notes['node-netlink'],
  });
  addRow(w, {
    tool: 'pyroute2, one call per entry',
    whole: g('pyroute2').wall,
    inProcess: inproc.get('pyroute2')!.median,
    rssKiB: g('pyroute2').rssKiB,
    note: notes.pyroute2,
  });
  addRow(w, {
    tool: '`node -e 0`',
    whole: g('node -e 0').wall,
    rssKiB: g('node -e 0').rssKiB,
    note: 'Node.js start-up alone',
  });
  addTarget(w, {
    what: `vxnet whole process / \`${c.tool} -batch\``,
    ratio: g('vxnet').wall / g('iproute2').wall,
    limit: c.limit,
    sense: 'at most',
    floor: startupFloor(g('node -e 0'), g('iproute2'), g('iproute2 empty'), `${c.tool} -batch`),
  });
  addTarget(w, {
    what: `vxnet in-process / \`${c.tool} -batch\` whole process`,
    ratio: inproc.get('vxnet')!.median / g('iproute2').wall,
    limit: c.limit,
    sense: 'at most',
    note: 'for scale',
  });
}
