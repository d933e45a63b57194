/**
 * Create 10,000 routes: `ip -force -batch`, vxnet `rt.routes.addMany()`
 * (many per sendmsg, no per-message acks, a barrier per chunk), node-netlink
 * and pyroute2 (one request per route). Three entries are refused by the
 * kernel on purpose (two duplicates, one unreachable gateway); each tool
 * must report them by index. Target: vxnet <= 1.1x `ip -batch`.
 */
import { createRoutes } from '../data.js';
import { runCreate } from '../create.js';
import { addVeth, requireDist, sh, withNamespace, workload } from '../lib.js';

export const COUNT = 10_000;

export async function run(): Promise<void> {
  requireDist();
  await withNamespace('create-routes', async (ns) => {
    addVeth(ns, 'vxb2', 'vxb3');
    const set = createRoutes(COUNT, 'vxb2');
    const w = workload(
      'Create 10k routes',
      `${COUNT.toLocaleString('en')} IPv4 /32 routes via a veth, created from scratch each run (the veth is deleted and re-created between runs, untimed). ` +
        `Entries ${set.bad.join(', ')} are refused by the kernel on purpose (EEXIST twice, ENETUNREACH once) and must be reported by index.`,
    );
    runCreate({
      ns,
      w,
      set,
      workload: 'create-routes',
      tool: 'ip',
      limit: 1.1,
      vxnetCall: 'rt.routes.addMany()',
      reset: [
        ['ip', 'link', 'del', 'vxb2'],
        ['ip', 'link', 'add', 'vxb2', 'type', 'veth', 'peer', 'name', 'vxb3'],
        ['ip', 'link', 'set', 'vxb2', 'up'],
        ['ip', 'link', 'set', 'vxb3', 'up'],
      ],
      countCreated: () => JSON.parse(sh('ip', ['-n', ns, '-j', 'route', 'show', 'dev', 'vxb2'])).length,
    });
  });
}
