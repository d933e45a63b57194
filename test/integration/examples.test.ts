/**
 * Every runnable example, run as a user would (`npx tsx examples/NAME.ts`):
 * it must exit 0, print what it promises, and leave no network namespace or
 * dnsmasq process behind.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { integrationReady } from '../helpers/netns.js';

const it = integrationReady(['ip', 'nsenter', 'ping', 'dnsmasq', 'udhcpc', 'nft']) ? test : test.skip;

function namespaces(): Set<string> {
  return new Set(
    spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter(Boolean),
  );
}

/**
 * dnsmasq processes started by one example run: each run's environment
 * carries a marker, which the supervisor's chain passes down to dnsmasq.
 * (Counting every dnsmasq on the machine would blame an example for the
 * servers of tests running beside it.)
 */
function dnsmasqOfRun(marker: string): number[] {
  const pids = spawnSync('pgrep', ['-x', 'dnsmasq'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean)
    .map(Number);
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker);
    } catch {
      return false; // gone meanwhile
    }
  });
}

const EXAMPLES: [file: string, args: string[], expect: RegExp[]][] = [
  ['walkthrough-core.ts', [], [/create it again: the kernel says EEXIST/, /event: link demo0 deleted/]],
  ['list-links.ts', [], [/^\s+1 lo\s/m]],
  ['watch-events.ts', [], [/existing link lo/, /listing done/, /new\s+link w0/, /del\s+link w1/]],
  ['fdb-flood-entry.ts', [], [/00:00:00:00:00:00 dst 192.168.50.2/, /use append/]],
  ['vxlan-multicast.ts', [], [/c1 → c2: ok/, /c3 → c1: ok/, /problems: none/]],
  [
    'vxlan-unicast.ts',
    [],
    [/host 3 removed from every peer list:\n\s+from c1: c2 ok, c3 --/, /host 3 back:\n\s+from c1: c2 ok, c3 ok/],
  ],
  ['masquerade.ts', [], [/masquerade/i]],
  ['dhcp.ts', [], [/lease/i]],
  ['seed-demo.ts', [], [/the seed works\./]],
  ['seed-demo.ts', ['--unicast'], [/unicast peers/, /the seed works\./]],
  [
    'attach-container.ts',
    [],
    [
      /\/proc\/\d+\/ns\/net → 10\.30\.0\.10: ok/,
      /host 2: 0 change\(s\)/,
      /leased 10\.30\.0\.1\d\d to/,
      /interfaces left in pid \d+: lo$/m,
    ],
  ],
];

for (const [file, args, expect] of EXAMPLES) {
  it(`examples/${file} ${args.join(' ')}`.trim(), () => {
    const before = namespaces();
    const marker = `VXNET_EXAMPLE_RUN=${process.pid}-${file}-${Date.now()}`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], {
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, FORCE_COLOR: '0', VXNET_EXAMPLE_RUN: marker.split('=')[1] },
    });
    const output = `${run.stdout}${run.stderr}`;
    assert.is(run.status, 0, output);
    for (const pattern of expect) assert.match(output, pattern, output);
    // Examples name their namespaces after their pid (other runs may be making their own meanwhile).
    const leaked = [...namespaces()].filter(
      (ns) => (!before.has(ns) && ns.includes(`-${run.pid}-`)) || ns.endsWith(`-${run.pid}`),
    );
    assert.equal(leaked, [], 'no namespace left behind');
    assert.equal(dnsmasqOfRun(marker), [], 'no dnsmasq left behind');
  });
}

test.run();
