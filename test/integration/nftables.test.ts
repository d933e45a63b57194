/**
 * nf_tables against the real kernel, with nft as the oracle: the rules
 * vxnet creates read back in `nft -j list ruleset` exactly like the rules
 * nft creates from the equivalent commands, their expressions are what
 * `nft --debug=netlink` prints, rules nft wrote are written back unchanged,
 * a batch whose last message fails changes nothing, and a verdict map's
 * catch-all element (`* : drop`) is read and written.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { desiredState } from '../../src/masquerade/desired.js';
import { normalizeConfig, type MasqueradeConfig } from '../../src/masquerade/config.js';
import { Masquerade } from '../../src/masquerade/masquerade.js';
import { Nftables } from '../../src/nftables/client.js';
import { NftBatchError } from '../../src/nftables/errors.js';
import { match, verdict } from '../../src/nftables/match.js';
import { NFT_DATA_VERDICT } from '../../src/nftables/constants.js';
import { formatRule } from '../../src/nftables/rule.js';
import { SET_KEY_TYPES, type SetElement } from '../../src/nftables/set.js';
import { ATOMIC_SCRIPT, FOREIGN_SCRIPT } from '../fixtures/recipes/nftables.js';
import { inNs, integrationReady, withNamespaces } from '../helpers/netns.js';

const it = integrationReady(['ip', 'nsenter', 'nft']) ? test : test.skip;

const nft = (ns: string, ...args: string[]): string => inNs(ns, 'nft', args);
const nftScript = (ns: string, script: string): string => inNs(ns, 'nft', ['-f', '-'], { input: script });

/** `nft -j list ruleset` without what differs by construction: handles and nft's metainfo. */
function rulesetJson(ns: string): unknown[] {
  const parsed = JSON.parse(nft(ns, '-j', 'list', 'ruleset')) as { nftables: Record<string, any>[] };
  return parsed.nftables
    .filter((item) => !item.metainfo)
    .map((item) => {
      const [kind, body] = Object.entries(item)[0]!;
      const { handle: _handle, ...rest } = body as Record<string, unknown>;
      return { [kind]: rest };
    });
}

const CONFIG: MasqueradeConfig = {
  subnet: '10.244.0.0/24',
  egress: 'eth0',
  flags: ['persistent'],
  bridge: 'br0',
  vxlan: { port: 4789, peers: ['192.0.2.3', '192.0.2.2'] },
  inputPolicy: 'drop',
};

/**
 * The same table as nft commands, written by hand from docs/nftables.md
 * (not generated from vxnet's code, so it can disagree).
 */
const EQUIVALENT_NFT = `
add table ip vxnet { comment "vxnet:managed (changes here are overwritten by vxnet)"; }
add set ip vxnet vxlan-peers { type ipv4_addr; }
add element ip vxnet vxlan-peers { 192.0.2.2, 192.0.2.3 }
add chain ip vxnet postrouting { type nat hook postrouting priority srcnat; policy accept; }
add rule ip vxnet postrouting ip saddr 10.244.0.0/24 ip daddr != 10.244.0.0/24 oifname "eth0" counter masquerade persistent comment "vxnet: masquerade 10.244.0.0/24"
add chain ip vxnet input { type filter hook input priority filter; policy drop; }
add rule ip vxnet input ct state established,related accept comment "vxnet: established"
add rule ip vxnet input iifname "lo" accept comment "vxnet: loopback"
add rule ip vxnet input ip saddr @vxlan-peers udp dport 4789 counter accept comment "vxnet: vxlan from peers"
add rule ip vxnet input udp dport 4789 counter drop comment "vxnet: vxlan from others"
add chain ip vxnet forward { type filter hook forward priority filter; policy accept; }
add rule ip vxnet forward iifname "br0" counter accept comment "vxnet: forward from br0"
add rule ip vxnet forward oifname "br0" ct state established,related counter accept comment "vxnet: replies to br0"
`;

it('parity: the table vxnet builds reads back in nft -j list ruleset exactly like the one nft builds', async () => {
  await withNamespaces(['ours', 'theirs'], async (ours, theirs) => {
    await using masq = await Masquerade.open({ namespace: ours });
    const result = await masq.ensure(CONFIG);
    assert.ok(result.changed);
    nftScript(theirs, EQUIVALENT_NFT);
    const a = rulesetJson(ours);
    const b = rulesetJson(theirs);
    assert.is(a.length, 12, 'table, set, 3 chains, 7 rules');
    assert.equal(a, b);
    // And nft's own text for the masquerade rule.
    assert.match(
      nft(ours, 'list', 'chain', 'ip', 'vxnet', 'postrouting'),
      /ip saddr 10\.244\.0\.0\/24 ip daddr != 10\.244\.0\.0\/24 oifname "eth0" counter packets 0 bytes 0 masquerade persistent comment "vxnet: masquerade 10\.244\.0\.0\/24"/,
    );
  });
});

it("parity: each rule's expressions are the ones nft --debug=netlink prints for the same words", async () => {
  await withNamespaces(['debug'], async (ns) => {
    const desired = desiredState('vxnet', normalizeConfig(CONFIG));
    nftScript(
      ns,
      'add table ip vxnet\nadd set ip vxnet vxlan-peers { type ipv4_addr; }\nadd chain ip vxnet postrouting { type nat hook postrouting priority srcnat; }\nadd chain ip vxnet input\nadd chain ip vxnet forward\n',
    );
    const commands = EQUIVALENT_NFT.trim()
      .split('\n')
      .filter((line) => line.startsWith('add rule '));
    const rules = desired.chains.flatMap((c) => c.rules);
    assert.is(commands.length, rules.length);
    rules.forEach((rule, i) => {
      const words = commands[i]!.replace(/^add rule /, '').split(' ');
      const printed = inNs(ns, 'nft', ['--debug=netlink', 'add', 'rule', ...words.map((w) => w)]);
      const theirs = printed
        .split('\n')
        .filter((line) => line.trim().startsWith('['))
        .map((line) => line.trim());
      const mine = formatRule(rule)
        .split('\n')
        .slice(1)
        .map((line) => line.trim());
      assert.equal(mine, theirs, commands[i]);
    });
  });
});

it('rules nft wrote, with expressions vxnet does not model, are listed and written back unchanged', async () => {
  await withNamespaces(['foreign'], async (ns) => {
    nftScript(ns, FOREIGN_SCRIPT);
    const before = rulesetJson(ns);
    await using client = await Nftables.open({ namespace: ns });
    const rules = await client.listRules({ family: 'inet', table: 'hostfw' });
    assert.ok(
      rules.some((r) => r.expressions.some((e) => e.type === 'raw')),
      'some expressions are kept raw',
    );
    const batch = client.batch();
    for (const rule of rules) batch.deleteRule('inet', 'hostfw', rule.chain, rule.handle!);
    for (const rule of rules) batch.createRule({ ...rule, handle: undefined });
    await client.commit(batch);
    const after = rulesetJson(ns);
    assert.equal(after, before);
    const handlesAfter = (await client.listRules({ family: 'inet', table: 'hostfw' })).map((r) => r.handle!);
    assert.ok(
      handlesAfter.every((h) => rules.every((r) => r.handle !== h)),
      'every rule is a new one',
    );
  });
});

it('atomicity: a batch whose last message fails leaves nft -j list ruleset exactly as before', async () => {
  await withNamespaces(['atomic'], async (ns) => {
    nftScript(ns, ATOMIC_SCRIPT);
    const before = rulesetJson(ns);
    const beforeText = nft(ns, 'list', 'ruleset');
    await using client = await Nftables.open({ namespace: ns });
    const batch = client.batch();
    batch.createTable({ family: 'ip', name: 'vxfix-new' });
    batch.createChain({ family: 'ip', table: 'vxfix-new', name: 'c' });
    batch.createRule({
      family: 'ip',
      table: 'hostfw-ip',
      chain: 'input',
      expressions: [...match.udpDport(4789), verdict.accept()],
    });
    batch.deleteTable('ip', 'hostfw-ip');
    batch.deleteRule('ip', 'hostfw-ip', 'input', 424242n);
    const error = await client.commit(batch).catch((e) => e);
    assert.instance(error, NftBatchError);
    assert.is(error.index, 5);
    assert.match(error.message, /delete rule ip hostfw-ip input handle 424242 failed: ENOENT/);
    assert.equal(rulesetJson(ns), before);
    assert.is(nft(ns, 'list', 'ruleset'), beforeText);
  });
});

it('ensure is idempotent against the kernel, and remove leaves other tables alone', async () => {
  await withNamespaces(['idem'], async (ns) => {
    nftScript(ns, 'table inet other { chain c { type filter hook forward priority 0; policy accept; }; }\n');
    await using masq = await Masquerade.open({ namespace: ns });
    await masq.ensure(CONFIG);
    const once = rulesetJson(ns);
    const again = await masq.ensure(CONFIG);
    assert.is(again.changed, false);
    assert.equal(rulesetJson(ns), once);
    assert.equal((await masq.remove()).removed, true);
    assert.equal(rulesetJson(ns), [
      { table: { family: 'inet', name: 'other' } },
      {
        chain: {
          family: 'inet',
          table: 'other',
          name: 'c',
          type: 'filter',
          hook: 'forward',
          prio: 0,
          policy: 'accept',
        },
      },
    ]);
  });
});

/** The map's elements as `nft -j list map` prints them: [key, verdict] pairs, the catch-all's key "*". */
function mapElements(ns: string, table: string, map: string): unknown[] {
  const parsed = JSON.parse(nft(ns, '-j', 'list', 'map', 'ip', table, map)) as { nftables: Record<string, any>[] };
  return parsed.nftables.find((item) => item.map)!.map.elem ?? [];
}

const verdictText = (e: SetElement) => `${e.catchAll ? '*' : e.key.join('.')} : ${e.verdict?.verdict}`;

it('catch-all: a verdict map nft filled (10.0.0.1 : accept, * : drop) lists both elements, the catch-all without a key', async () => {
  await withNamespaces(['catchall-read'], async (ns) => {
    nft(ns, 'add', 'table', 'ip', 't');
    nft(ns, 'add', 'map', 'ip', 't', 'm', '{ type ipv4_addr : verdict; }');
    nft(ns, 'add', 'element', 'ip', 't', 'm', '{ 10.0.0.1 : accept, * : drop }');
    await using client = await Nftables.open({ namespace: ns });
    const elements = await client.listElements({ family: 'ip', table: 't', set: 'm' });
    assert.equal(elements.map(verdictText).sort(), ['* : drop', '10.0.0.1 : accept']);
    const catchAll = elements.find((e) => e.catchAll)!;
    assert.is(catchAll.key.length, 0);
    assert.is(catchAll.flags, undefined, 'the catch-all bit is catchAll, not flags');
    assert.ok(
      elements.every((e) => e.raw === undefined),
      'nothing left unsaid',
    );
  });
});

it('catch-all: added and deleted with vxnet, read back with nft -j list map', async () => {
  await withNamespaces(['catchall-write'], async (ns) => {
    await using client = await Nftables.open({ namespace: ns });
    const ref = { family: 'ip' as const, table: 't', set: 'm' };
    const batch = client.batch();
    batch.createTable({ family: 'ip', name: 't' });
    batch.createSet({
      family: 'ip',
      table: 't',
      name: 'm',
      flags: ['map'],
      keyType: SET_KEY_TYPES.ipv4_addr,
      keyLen: 4,
      dataType: NFT_DATA_VERDICT,
      dataLen: 16,
    });
    batch.addElements(ref, [
      { key: Uint8Array.of(10, 0, 0, 1), verdict: { verdict: 'accept' } },
      { catchAll: true, verdict: { verdict: 'drop' } },
    ]);
    await client.commit(batch);
    assert.equal(mapElements(ns, 't', 'm'), [
      ['10.0.0.1', { accept: null }],
      ['*', { drop: null }],
    ]);
    // Deleted as listed: the catch-all has no key, the kernel finds it by its flag.
    const listed = await client.listElements(ref);
    await client.deleteElements(
      ref,
      listed.filter((e) => e.catchAll),
    );
    assert.equal(mapElements(ns, 't', 'm'), [['10.0.0.1', { accept: null }]]);
    // Jump targets survive too: a catch-all that jumps to a chain.
    await client.createChain({ family: 'ip', table: 't', name: 'other' });
    await client.addElements(ref, [{ catchAll: true, verdict: { verdict: 'jump', chain: 'other' } }]);
    assert.equal(mapElements(ns, 't', 'm'), [
      ['10.0.0.1', { accept: null }],
      ['*', { jump: { target: 'other' } }],
    ]);
    assert.equal((await client.listElements(ref)).map(verdictText).sort(), ['* : jump', '10.0.0.1 : accept']);
  });
});

test.run();
