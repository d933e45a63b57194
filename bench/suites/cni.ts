/**
 * A CNI ADD then DEL, whole processes, as a runtime runs them once per
 * container: vxnet-cni (dist/cni.cjs) against the reference `bridge` plugin
 * (Debian containernetworking-plugins, /usr/lib/cni/bridge), both with
 * host-local IPAM, on the same bridge, into the same container namespace.
 * ADD and DEL are timed apart and as the pair a runtime runs back to back,
 * each against the reference; `node -e 0` once and twice beside them: the
 * floor of a Node.js plugin (one process start per command). Target
 * (issue 13): vxnet-cni <= 2.0x the reference pair.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import {
  addRow,
  addTarget,
  cachePath,
  type Contestant,
  childEnv,
  NODE,
  requireDist,
  sh,
  timeProcesses,
  withNamespace,
  workload,
} from '../lib.js';

const REFERENCE = '/usr/lib/cni';

export async function run(): Promise<void> {
  const dist = requireDist();
  if (!existsSync(`${REFERENCE}/bridge`))
    throw new Error(
      `${REFERENCE}/bridge is missing: bash scripts/setup.sh --test installs containernetworking-plugins`,
    );
  await withNamespace('cni-ctr', async (container) => {
    await withNamespace('cni-host', async (ns) => {
      // The overlay's bridge as vxnet-cni finds it (marked as network "cnib"), with its gateway address.
      sh('ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
      sh('ip', ['-n', ns, 'link', 'set', 'br0', 'alias', 'vxnet:cnib', 'mtu', '1450', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', '10.50.0.1/24', 'dev', 'br0']);
      const ipamDir = cachePath(`cni-ipam-${process.pid}`);
      const ipam = (start: string) => ({
        type: 'host-local',
        ranges: [
          [
            {
              subnet: '10.50.0.0/24',
              rangeStart: start,
              rangeEnd: start.replace(/\d+$/, (n) => String(Number(n) + 9)),
              gateway: '10.50.0.1',
            },
          ],
        ],
        dataDir: ipamDir,
      });
      const configs = {
        vxnet: { cniVersion: '1.0.0', name: 'bench-vxnet', type: 'vxnet', network: 'cnib', ipam: ipam('10.50.0.10') },
        bridge: {
          cniVersion: '1.0.0',
          name: 'bench-bridge',
          type: 'bridge',
          bridge: 'br0',
          mtu: 1450,
          isDefaultGateway: true,
          ipam: ipam('10.50.0.30'),
        },
      };
      const pluginDir = cachePath(`cni-plugins-${process.pid}`);
      sh('mkdir', ['-p', pluginDir]);
      writeFileSync(`${pluginDir}/vxnet`, `#!/bin/sh\nexec ${NODE} ${dist}/cni.cjs "$@"\n`, { mode: 0o755 });
      const files: string[] = [];
      const configFile = (type: string, config: object): string => {
        const file = cachePath(`cni-${type}-${process.pid}.json`);
        files.push(file);
        writeFileSync(file, JSON.stringify(config));
        return file;
      };
      const plugin = (type: string): string => (type === 'vxnet' ? `${pluginDir}/vxnet` : `${REFERENCE}/${type}`);
      const step = (type: string, file: string, command: 'ADD' | 'DEL'): string[] => [
        'sh',
        '-c',
        `CNI_COMMAND=${command} ${plugin(type)} < ${file} > /dev/null`,
      ];
      const pair = (type: string, file: string): string[] => [
        'sh',
        '-c',
        `CNI_COMMAND=ADD ${plugin(type)} < ${file} > /dev/null && CNI_COMMAND=DEL ${plugin(type)} < ${file}`,
      ];
      const env = {
        ...childEnv(),
        CNI_CONTAINERID: 'bench1',
        CNI_NETNS: `/run/netns/${container}`,
        CNI_IFNAME: 'eth0',
        CNI_PATH: `${pluginDir}:${REFERENCE}`,
      };
      const w = workload(
        'CNI ADD then DEL',
        'One container attached and detached by a CNI plugin, run as a runtime runs it (two processes: ADD with the config on stdin, then DEL): ' +
          "a veth from the bridge br0 (MTU 1450) into the container's namespace, named eth0, an address from host-local IPAM, the default route via 10.50.0.1; DEL removes them and releases the address. " +
          'vxnet-cni through a one-line `sh` wrapper (as installed), the reference bridge plugin directly. ' +
          'ADD and DEL are timed as separate processes (each run: ADD, then DEL), and the pair in one `sh -c` as a runtime runs them back to back; ' +
          'every contestant starts in the same `sh -c` and `ip netns exec`, so their costs are in every row alike.',
      );
      const configFiles = { bridge: configFile('bridge', configs.bridge), vxnet: configFile('vxnet', configs.vxnet) };
      const contestants: Contestant[] = [];
      for (const type of ['bridge', 'vxnet'] as const) {
        contestants.push(
          { name: `${type} ADD`, argv: step(type, configFiles[type], 'ADD'), env },
          { name: `${type} DEL`, argv: step(type, configFiles[type], 'DEL'), env },
          { name: `${type} ADD+DEL`, argv: pair(type, configFiles[type]), env },
        );
      }
      contestants.push(
        { name: 'node once', argv: ['sh', '-c', `${NODE} -e 0`] },
        { name: 'node twice', argv: ['sh', '-c', `${NODE} -e 0 && ${NODE} -e 0`] },
      );
      const whole = timeProcesses(ns, contestants, 15);
      const left = sh('ip', ['-n', container, '-j', 'link', 'show']);
      if (JSON.parse(left).length !== 1) throw new Error(`the container namespace is not back to lo alone: ${left}`);
      const g = (name: string) => whole.get(name)!;
      const rows: [string, string, string?][] = [
        ['bridge ADD', 'reference `bridge` + `host-local` (Go), ADD'],
        ['bridge DEL', 'reference `bridge` + `host-local` (Go), DEL'],
        ['bridge ADD+DEL', 'reference `bridge` + `host-local` (Go), ADD + DEL'],
        ['vxnet ADD', 'vxnet-cni (dist/cni.cjs) + `host-local`, ADD'],
        ['vxnet DEL', 'vxnet-cni (dist/cni.cjs) + `host-local`, DEL'],
        ['vxnet ADD+DEL', 'vxnet-cni (dist/cni.cjs) + `host-local`, ADD + DEL'],
        ['node once', '`node -e 0`', 'one Node.js start-up: the floor of one Node.js plugin run'],
        ['node twice', '`node -e 0` twice', 'two Node.js start-ups: the floor of a Node.js ADD + DEL'],
      ];
      for (const [name, tool, note] of rows)
        addRow(w, { tool, whole: g(name).wall, rssKiB: g(name).rssKiB, ...(note ? { note } : {}) });
      for (const [what, floorName] of [
        ['ADD', 'node once'],
        ['DEL', 'node once'],
        ['ADD+DEL', 'node twice'],
      ] as const) {
        addTarget(w, {
          what: `vxnet-cni ${what} / reference bridge ${what}`,
          ratio: g(`vxnet ${what}`).wall / g(`bridge ${what}`).wall,
          limit: 2.0,
          sense: 'at most',
          floor: {
            ratio: g(floorName).wall / g(`bridge ${what}`).wall,
            how: `\`node -e 0\`${floorName === 'node twice' ? ' twice' : ''} (${g(floorName).wall.toFixed(1)} ms)`,
          },
        });
      }
      rmSync(ipamDir, { recursive: true, force: true });
      rmSync(pluginDir, { recursive: true, force: true });
      for (const file of files) rmSync(file, { force: true });
    });
  });
}
