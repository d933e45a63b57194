/**
 * Optional VXLAN features differ between kernel builds of one version (one
 * build of 6.18 refuses remcsum_nopartial with EOPNOTSUPP, another accepts
 * it): a test probes them on a throwaway device instead of assuming them,
 * and checks what vxnet does either way.
 */
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { NetlinkError } from '../../src/netlink/errors.js';
import type { Rtnetlink } from '../../src/rtnetlink/client.js';
import type { VxlanOptions } from '../../src/rtnetlink/links.js';
import { sh } from './netns.js';

/** The throwaway device's name: no test names a device so. */
export const PROBE_DEVICE = 'vxfeatprobe';

/**
 * Of `options` (each the words ip takes for one feature), those this kernel
 * accepts on a device `ip link add ... type vxlan BASE OPTION` builds. BASE
 * alone must be accepted, so that a refusal is the option's.
 */
export function ipAcceptedVxlanOptions(ns: string, base: string[], options: string[][]): string[][] {
  const tryCreate = (words: string[]): boolean => {
    const run = spawnSync('ip', ['-n', ns, 'link', 'add', PROBE_DEVICE, 'type', 'vxlan', ...base, ...words], {
      encoding: 'utf8',
    });
    if (run.status !== 0) return false;
    sh('ip', ['-n', ns, 'link', 'del', PROBE_DEVICE]);
    return true;
  };
  assert.ok(tryCreate([]), `ip creates a vxlan device from ${base.join(' ')} alone`);
  return options.filter(tryCreate);
}

/**
 * Of `options`, those this kernel accepts on a vxnet-created device made
 * from `base` plus that one option. A refusal must be vxnet's EOPNOTSUPP
 * that names the option and does not blame a missing driver.
 */
export async function vxnetAcceptedVxlanOptions(
  rt: Rtnetlink,
  base: VxlanOptions,
  options: Partial<VxlanOptions>,
): Promise<Partial<VxlanOptions>> {
  await rt.links.create({ ifname: PROBE_DEVICE, kind: 'vxlan', vxlan: base });
  await rt.links.delete(PROBE_DEVICE);
  const accepted: Partial<VxlanOptions> = {};
  for (const [key, value] of Object.entries(options)) {
    try {
      await rt.links.create({ ifname: PROBE_DEVICE, kind: 'vxlan', vxlan: { ...base, [key]: value } });
      await rt.links.delete(PROBE_DEVICE);
      Object.assign(accepted, { [key]: value });
    } catch (error) {
      assert.instance(error, NetlinkError, String(error));
      const refusal = error as NetlinkError;
      assert.is(refusal.code, 'EOPNOTSUPP', refusal.message);
      assert.match(
        refusal.likelyCause!,
        new RegExp(`^the kernel has the vxlan driver \\(.+\\); it refused .*vxlan\\.${key}\\b`),
        refusal.message,
      );
    }
  }
  return accepted;
}
