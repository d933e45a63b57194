/**
 * Create 10,000 FDB entries on a VXLAN device: `bridge -force -batch`, vxnet
 * `rt.fdb.appendMany()`, node-netlink and pyroute2 (one request per entry).
 * Three entries are refused by the kernel on purpose (two IPv6 remotes on an
 * IPv4 device, one without a remote); each tool must report them by index.
 * Target: vxnet <= 1.3x `bridge -batch`.
 */
import { createFdb } from '../data.js';
import { runCreate } from '../create.js';
import { requireDist, sh, withNamespace, workload } from '../lib.js';

export const COUNT = 10_000;
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
  await withNamespace('create-fdb', async (ns) => {
    sh('ip', ['netns', 'exec', ns, ...VXLAN]);
    const set = createFdb(COUNT, 'vx0');
    const w = workload(
      'Create 10k FDB entries',
      `${COUNT.toLocaleString('en')} unicast FDB entries appended on a VXLAN device, each with a remote, from scratch each run (the device is deleted and re-created between runs, untimed). ` +
        `Entries ${set.bad.join(', ')} are refused by the kernel on purpose (EAFNOSUPPORT twice, EINVAL once) and must be reported by index.`,
    );
    runCreate({
      ns,
      w,
      set,
      workload: 'create-fdb',
      tool: 'bridge',
      limit: 1.3,
      vxnetCall: 'rt.fdb.appendMany()',
      reset: [['ip', 'link', 'del', 'vx0'], VXLAN],
      countCreated: () => JSON.parse(sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', 'vx0'])).length,
    });
  });
}
