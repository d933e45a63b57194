/**
 * The masquerade block in a throwaway network namespace: make vxnet's
 * table match a configuration, show it as nft shows it, ensure again (no
 * change), change the peers, and remove it. Cleans up whatever happens.
 *
 *   sudo npx tsx examples/masquerade.ts
 *
 * (nft is only used to show the result; vxnet speaks nf_tables netlink itself.)
 */
import { spawnSync } from 'node:child_process';
import { Masquerade, type MasqueradeConfig } from '../src/masquerade/index.js';
import { formatRule } from '../src/nftables/index.js';

const namespace = `vxmasq-${process.pid}`;

function run(command: string, ...args: string[]): string {
  // Scaffolding for the example only.
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr.trim()}`);
  return result.stdout;
}

const step = (text: string) => console.log(`\n== ${text}`);

run('ip', 'netns', 'add', namespace);
try {
  await using masq = await Masquerade.open({ namespace });
  const config: MasqueradeConfig = {
    subnet: '10.244.0.0/24', // the overlay
    bridge: 'br0', // its bridge: forward accepts
    vxlan: { port: 4789, peers: ['192.0.2.2', '192.0.2.3'] }, // VXLAN only from these hosts
  };

  step('ensure: create what is missing, in one atomic batch');
  const first = await masq.ensure(config);
  for (const change of first.changes) console.log(`  ${change}`);

  step('nft list table ip vxnet (nft reads what vxnet wrote)');
  console.log(run('ip', 'netns', 'exec', namespace, 'nft', 'list', 'table', 'ip', 'vxnet'));

  step('the masquerade rule as nft --debug=netlink would print it');
  const status = await masq.status();
  console.log(formatRule(status.rules.find((r) => r.chain === 'postrouting')!));

  step('ensure again: nothing to do');
  console.log(`  changed: ${(await masq.ensure(config)).changed}`);

  step('a peer leaves, another joins: only the set elements change');
  const changed = await masq.ensure({ ...config, vxlan: { peers: ['192.0.2.2', '192.0.2.9'] } });
  for (const change of changed.changes) console.log(`  ${change}`);

  step('IPv4 forwarding (needed for the overlay to reach out)');
  console.log(`  before: ${await masq.forwarding()}`);
  await masq.enableForwarding();
  console.log(`  after:  ${await masq.forwarding()}`);

  step("remove: deletes vxnet's table, nothing else");
  console.log(`  removed: ${(await masq.remove()).removed}`);
  console.log(
    `  tables left: ${JSON.stringify(run('ip', 'netns', 'exec', namespace, 'nft', 'list', 'tables').trim())}`,
  );
} finally {
  spawnSync('ip', ['netns', 'del', namespace]);
}
