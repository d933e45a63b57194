/**
 * The CLI's commands, separate from argument parsing so they can be tested
 * and reused. Each prints through `out` and returns the exit code.
 */
import { BridgeNotOwnedError } from '../bridge/adopt.js';
import { agentStatus, describeAgent } from '../agent/record.js';
import type { AttachResult } from '../attach/attach.js';
import { ConflictError } from '../common/conflict.js';
import { describeChange, type Change } from '../common/plan.js';
import { VxnetError } from '../netlink/errors.js';
import { type OverlayAttachment, OverlayHost, type OverlayHostOptions, type OverlayStatus } from '../overlay/host.js';
import { describeHolder, type LockHolder } from '../overlay/lock.js';
import { type AnyResolvedSpec, loadAnySpec } from '../overlay/spec.js';

export class UsageError extends VxnetError {
  override name = 'UsageError';
}

export interface CommandOptions {
  namespace?: string;
  spec?: string;
  json?: boolean;
  replace?: boolean;
  /** plan/apply: use a bridge of the spec's name that vxnet did not make (see BridgeNotOwnedError). */
  adopt?: boolean;
  /** attach/detach: the container's namespace, its interface, address, MAC and MTU. */
  netns?: string;
  ifname?: string;
  ip?: string;
  mac?: string;
  mtu?: string;
}

type Out = (line: string) => void;

/**
 * How a command gets its host: OverlayHost.open (the real kernel) unless the
 * caller passes another, such as OverlayHost.over clients of a fake kernel.
 * The command closes what it gets.
 */
export type OpenHost = (options: OverlayHostOptions) => Promise<OverlayHost>;

const openOverlayHost: OpenHost = (options) => OverlayHost.open(options);

/** How the command line asks for a replace, in every remedy it prints. */
const REPLACE_FLAG = '--replace';
/** How the command line asks to use a bridge vxnet did not make. */
const ADOPT_FLAG = '--adopt';

/**
 * A failed command's message, in the command line's words: a conflict that
 * a replace resolves says to ask for one with --replace (the library's own
 * message says `{ replace: true }`).
 */
export function errorMessage(error: unknown): string {
  if (error instanceof ConflictError && error.replaceable) return error.messageFor(REPLACE_FLAG);
  if (error instanceof BridgeNotOwnedError) return error.messageFor(ADOPT_FLAG);
  return error instanceof Error ? error.message : String(error);
}

const json = (value: unknown): string => JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? String(v) : v), 2);
const changeJson = (c: Change) => ({ action: c.action, target: c.target, ...(c.detail ? { detail: c.detail } : {}) });

function positional(args: string[], index: number, what: string): string {
  const value = args[index];
  if (value === undefined) throw new UsageError(`missing ${what}`);
  return value;
}

export async function runCommand(
  args: string[],
  options: CommandOptions,
  out: Out,
  openHost: OpenHost = openOverlayHost,
): Promise<number> {
  const [command] = args;
  switch (command) {
    case 'plan':
      return plan(positional(args, 1, 'FILE'), options, out, openHost);
    case 'apply':
      return apply(positional(args, 1, 'FILE'), options, out, openHost);
    case 'destroy':
      return destroy(positional(args, 1, 'NAME'), options, out, openHost);
    case 'status':
      return status(positional(args, 1, 'NAME'), options, out, openHost);
    case 'attach':
      return attach(positional(args, 1, 'NAME'), options, out, openHost);
    case 'detach':
      return detach(positional(args, 1, 'NAME'), options, out, openHost);
    case 'peers': {
      const verb = positional(args, 1, 'add or rm');
      if (verb !== 'add' && verb !== 'rm') throw new UsageError(`peers takes add or rm, not ${verb}`);
      return peers(verb, positional(args, 2, 'NAME'), positional(args, 3, 'ADDRESS'), options, out, openHost);
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

async function plan(file: string, options: CommandOptions, out: Out, openHost: OpenHost): Promise<number> {
  const spec = await loadAnySpec(file);
  await using host = await openHost({ namespace: options.namespace });
  const changes = await host.plan(spec, { adopt: options.adopt });
  if (options.json) out(json({ network: spec.name, changes: changes.map(changeJson) }));
  else if (changes.length === 0) out(`${spec.name}: nothing to change`);
  else for (const change of changes) out(`+ ${describeChange(change)}`);
  return changes.length === 0 ? 0 : 2;
}

/**
 * Converges the host. When this process started the network's daemons —
 * dnsmasq (this host serves DHCP) or FRR (routes.bgp, membership.evpn) — the
 * command stays in the foreground supervising them until it is interrupted
 * (Ctrl-C, SIGTERM — which `vxnet destroy` sends); the network itself stays.
 * (Returning would stop them: they never outlive the process that runs them.)
 * If a supervisor gives up, the command says so and exits 1. Whatever
 * happens, what it opened is closed before it returns.
 */
async function apply(file: string, options: CommandOptions, out: Out, openHost: OpenHost): Promise<number> {
  const spec = await loadAnySpec(file);
  const host = await openHost({ namespace: options.namespace, onLockWait: lockWait(options, out) });
  try {
    if (await keptByAgent(host, spec, file, options, out)) return 0;
    const changes = await host.apply(spec, {
      replace: options.replace,
      adopt: options.adopt,
      onChange: (change) => {
        if (!options.json) out(`✓ ${describeChange(change)}`);
      },
    });
    const bgp = spec.mode === 'routed' ? spec.routes.bgp !== undefined : spec.mode === 'evpn';
    const status = spec.dhcp?.serve || bgp ? await host.status(spec.name) : undefined;
    if (options.json)
      out(
        json({ network: spec.name, changes: changes.map(changeJson), ...(status?.dhcp ? { dhcp: status.dhcp } : {}) }),
      );
    else if (changes.length === 0) out(`${spec.name}: already up to date`);
    // What this process runs (a daemon of an earlier `vxnet apply` still running is that process's to supervise).
    const dhcp =
      spec.dhcp?.serve && status?.dhcp?.running && status.dhcp.ownerPid === undefined ? status.dhcp : undefined;
    const frr = bgp && status?.bgp?.running && status.bgp.ownerPid === undefined ? status.bgp : undefined;
    if (!dhcp && !frr) return 0; // nothing for this process to supervise
    if (!options.json) {
      const serving = [
        ...(dhcp ? [`DHCP for ${spec.name} on ${spec.bridge} (dnsmasq pid ${dhcp.pid})`] : []),
        ...(frr ? [`BGP for ${spec.name} (zebra pid ${frr.pids.zebra}, bgpd pid ${frr.pids.bgpd})`] : []),
      ];
      out(`serving ${serving.join(' and ')}; Ctrl-C or \`vxnet destroy ${spec.name}\` stops it`);
    }
    const failure = await new Promise<{ what: string; error: Error } | undefined>((resolve) => {
      const stop = (): void => resolve(undefined);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const failed = (what: string) => (_network: string, error: Error) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve({ what, error });
      };
      host.once('dhcpFailed', failed('DHCP'));
      host.once('frrFailed', failed('BGP (FRR)'));
    });
    if (failure)
      throw new VxnetError(`${failure.what} for ${spec.name} stopped: ${firstLine(failure.error.message)}`, {
        cause: failure.error,
      });
    if (!options.json)
      out(`stopped ${[dhcp ? 'DHCP' : '', frr ? 'BGP' : ''].filter(Boolean).join(' and ')} for ${spec.name}`);
    return 0;
  } finally {
    await host.close();
  }
}

/** Says once that a write waits for another vxnet process changing the same network. */
function lockWait(options: CommandOptions, out: Out): (network: string, holder: LockHolder | undefined) => void {
  return (network, holder) => {
    if (!options.json) out(`waiting: network ${network} is being changed by ${describeHolder(holder)}`);
  };
}

async function destroy(name: string, options: CommandOptions, out: Out, openHost: OpenHost): Promise<number> {
  await using host = await openHost({ namespace: options.namespace, onLockWait: lockWait(options, out) });
  refuseWhileAgent(
    host,
    name,
    'destroy it',
    'stop the agent with --destroy-on-exit, or stop it (SIGTERM) and destroy again',
  );
  const changes = await host.destroy(name);
  if (options.json) out(json({ network: name, removed: changes.map(changeJson) }));
  else if (changes.length === 0) out(`${name}: nothing of it exists here`);
  else for (const change of changes) out(`- ${describeChange(change)}`);
  return 0;
}

/**
 * A network kept by a running agent is changed through the agent: it
 * re-applies its spec after every change it sees, so a destroy here would
 * be undone and a peer edited here reverted.
 */
function refuseWhileAgent(host: OverlayHost, name: string, what: string, remedy: string): void {
  const agent = agentStatus(host.state(name));
  if (agent?.running)
    throw new VxnetError(
      `cannot ${what}: network ${name} is kept by its agent (pid ${agent.pid}, since ` +
        `${agent.since}${agent.file ? `, spec ${agent.file}` : ''}); ${remedy}`,
    );
}

/**
 * `vxnet apply` of a network an agent keeps: the agent's spec is the truth,
 * and it would put back whatever a different spec changed. So apply only
 * checks: a spec that matches what is there is "already up to date"; one
 * that would change something is refused before any write, naming what it
 * would change and the way through the agent. False when no agent runs.
 */
async function keptByAgent(
  host: OverlayHost,
  spec: AnyResolvedSpec,
  file: string,
  options: CommandOptions,
  out: Out,
): Promise<boolean> {
  const agent = agentStatus(host.state(spec.name));
  if (!agent?.running) return false;
  const by = `its agent (pid ${agent.pid}${agent.file ? `, spec ${agent.file}` : ''})`;
  const planned = await host.plan(spec, { adopt: options.adopt });
  if (planned.length > 0) {
    throw new VxnetError(
      `cannot apply ${file}: network ${spec.name} is kept by ${by}, and this spec differs from what it keeps ` +
        `(apply would: ${planned.map(describeChange).join('; ')}), which the agent would undo; ` +
        `edit ${agent.file ?? "the agent's spec"} and send the agent SIGHUP (systemctl reload), ` +
        'or stop the agent first',
    );
  }
  if (options.json) out(json({ network: spec.name, changes: [], keptBy: { agent: agent.pid } }));
  else out(`${spec.name}: already up to date (kept by ${by})`);
  return true;
}

function printStatus(s: OverlayStatus, out: Out): void {
  out(`network ${s.name}`);
  for (const link of s.links)
    out(`  link ${link.name} (${link.kind ?? 'plain'}) mtu ${link.mtu} ${link.up ? 'up' : 'DOWN'}`);
  if (s.vxlan?.exists) {
    const v = s.vxlan;
    const flood = v.group ? `group ${v.group}` : s.evpn ? 'membership evpn' : `peers ${v.peers.join(', ') || 'none'}`;
    const where = `${v.local ? ` local ${v.local}` : ''}${v.underlay ? ` dev ${v.underlay}` : ''}`;
    out(`  vxlan vni ${v.vni} port ${v.port} ${flood}${where}`);
    out(`  remote MACs known: ${v.entries.length}`);
  }
  if (s.evpn) {
    const e = s.evpn;
    out(`  evpn vni ${e.vni}: VTEPs learned from BGP ${e.vteps.join(', ') || 'none'}; MACs from BGP ${e.macs.length}`);
    const other = e.other.map((o) => `${o.mac}${o.dst ? ` dst ${o.dst}` : ''}`);
    if (other.length) out(`    other FDB entries (not FRR's): ${other.join('; ')}`);
  }
  if (s.bridge)
    out(
      `  bridge ${s.bridge.name}: ports ${s.bridge.ports.join(', ') || 'none'}; addresses ` +
        `${s.bridge.addresses.join(', ') || 'none'}`,
    );
  if (s.routes)
    out(
      '  routes (proto vxnet): ' +
        `${s.routes.map((r) => `${r.dst} via ${r.via ?? '-'} dev ${r.dev ?? '-'}`).join('; ') || 'none'}`,
    );
  if (s.bgp) {
    const b = s.bgp;
    const supervisor = b.ownerPid ? `, supervised by pid ${b.ownerPid}` : '';
    const daemons = b.running
      ? `running (zebra pid ${b.pids.zebra}, bgpd pid ${b.pids.bgpd}${supervisor})`
      : b.gaveUp
        ? `stopped (gave up at ${b.gaveUp.at})`
        : 'not running';
    out(
      `  bgp: ${daemons}${b.asn !== undefined ? `, AS ${b.asn} router-id ${b.routerId}` : ''}, ` +
        `${b.established}/${b.peers.length} session(s) established`,
    );
    for (const peer of b.peers)
      out(`    peer ${peer.address} ${peer.state}, ${peer.prefixesReceived} prefix(es) received`);
    out(
      '  routes (proto bgp): ' +
        `${b.routes.map((r) => `${r.dst} via ${r.via ?? '-'} dev ${r.dev ?? '-'}`).join('; ') || 'none'}`,
    );
  }
  for (const a of s.attachments) out(`  attached: ${describeAttachment(a)}`);
  if (s.firewall)
    out(
      `  nftables table ${s.firewall.table}: ${s.firewall.rules.length} ` +
        `rule(s)${s.firewall.peers ? `, peers ${s.firewall.peers.join(', ')}` : ''}`,
    );
  if (s.dhcp) {
    const state = s.dhcp.running
      ? `running (dnsmasq pid ${s.dhcp.pid}${s.dhcp.ownerPid ? `, supervised by pid ${s.dhcp.ownerPid}` : ''})`
      : s.dhcp.gaveUp
        ? `stopped (gave up at ${s.dhcp.gaveUp.at})`
        : 'not running';
    out(`  dhcp: ${state}, ${s.dhcp.leases.length} lease(s)`);
    for (const lease of s.dhcp.leases) out(`    ${lease.ip} ${lease.mac}${lease.hostname ? ` ${lease.hostname}` : ''}`);
  }
  if (s.agent) out(`  agent: ${describeAgent(s.agent)}`);
  for (const drift of s.drift) out(`  drift: apply would ${drift}`);
  for (const problem of s.problems) out(`  problem: ${problem}`);
  for (const unknown of s.unknown) out(`  unknown: ${unknown}`);
  // "ok" only for what was read: a status with unknown parts says so, rather than vouch for what it could not see.
  if (s.drift.length === 0 && s.problems.length === 0)
    out(s.unknown.length ? `  ok in what could be read (${s.unknown.length} part(s) unknown)` : '  ok');
}

async function status(name: string, options: CommandOptions, out: Out, openHost: OpenHost): Promise<number> {
  const spec = options.spec ? await loadAnySpec(options.spec) : undefined;
  if (spec && spec.name !== name)
    throw new UsageError(`the spec ${options.spec} describes network ${spec.name}, not ${name}`);
  await using host = await openHost({ namespace: options.namespace });
  const s = await host.status(name, spec, { replace: REPLACE_FLAG });
  if (options.json) out(json(s));
  else printStatus(s, out);
  return s.problems.length || s.drift.length ? 2 : 0;
}

async function peers(
  verb: 'add' | 'rm',
  name: string,
  address: string,
  options: CommandOptions,
  out: Out,
  openHost: OpenHost,
): Promise<number> {
  await using host = await openHost({ namespace: options.namespace, onLockWait: lockWait(options, out) });
  refuseWhileAgent(
    host,
    name,
    `${verb === 'add' ? 'add' : 'remove'} a peer by hand`,
    'edit the peers of its spec file and send the agent SIGHUP (it would undo a change made here)',
  );
  const changed = verb === 'add' ? await host.addPeer(name, address) : await host.removePeer(name, address);
  const action = verb === 'add' ? 'added' : 'removed';
  const message = `${action} peer ${address}${changed ? '' : ' (no change: it was already so)'}`;
  out(options.json ? json({ network: name, peer: address, action: verb, changed }) : `${name}: ${message}`);
  return 0;
}

/**
 * The first line of a multi-line error, for the one line the CLI prints:
 * dnsmasq's last words follow on the next lines, and --debug prints them
 * (the full error is kept as the cause).
 */
function firstLine(message: string): string {
  const [first = '', ...rest] = message.split('\n');
  return rest.length ? `${first.replace(/[;:]?\s*dnsmasq said:$/, '')} (--debug shows dnsmasq's last words)` : first;
}

/**
 * "eth0 in /run/netns/web (vxc…) mac 02:… mtu 1450 address 10.10.0.5/24 via 10.10.0.1,
 * lease 10.10.0.123 until …"
 */
function describeAttachment(a: OverlayAttachment): string {
  const parts = [
    `${a.ifname} in ${a.netns ?? a.netnsId}${a.containerId ? ` (container ${a.containerId})` : ''} through ` +
      `${a.host.ifname}`,
  ];
  if (a.container) {
    parts.push(`mac ${a.container.mac} mtu ${a.container.mtu}${a.container.up ? '' : ' DOWN'}`);
    if (a.container.address)
      parts.push(`address ${a.container.address}${a.container.gateway ? ` via ${a.container.gateway}` : ''}`);
  }
  if (a.lease) parts.push(`lease ${a.lease.ip}${a.lease.expires ? ` until ${a.lease.expires}` : ''}`);
  return parts.join(', ');
}

function netnsOption(options: CommandOptions): string {
  if (options.netns === undefined || options.netns === '')
    throw new UsageError("--netns NS is required: the container's namespace (a name, a path or a pid)");
  return options.netns;
}

function resultJson(result: AttachResult) {
  const { changes, ...attachment } = result;
  return { ...attachment, changes: changes.map(changeJson) };
}

async function attach(name: string, options: CommandOptions, out: Out, openHost: OpenHost): Promise<number> {
  const netns = netnsOption(options);
  let mtu: number | undefined;
  if (options.mtu !== undefined) {
    if (!/^\d+$/.test(options.mtu)) throw new UsageError(`--mtu takes a number of bytes, not ${options.mtu}`);
    mtu = Number(options.mtu);
  }
  await using host = await openHost({ namespace: options.namespace, onLockWait: lockWait(options, out) });
  const result = await host.attach(name, {
    netns,
    ...(options.ifname !== undefined ? { ifname: options.ifname } : {}),
    ...(options.ip !== undefined ? { address: options.ip } : {}),
    ...(options.mac !== undefined ? { mac: options.mac } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
  });
  if (options.json) {
    out(json(resultJson(result)));
    return 0;
  }
  for (const change of result.changes) out(`✓ ${describeChange(change)}`);
  const address =
    result.address === 'dhcp'
      ? `address by DHCP (run the container's client on ${result.ifname})`
      : result.address
        ? `address ${result.address}${result.gateway ? ` via ${result.gateway}` : ''}`
        : 'no address';
  out(
    `${name}: ${result.ifname} in ${result.netns} ${result.changes.length ? 'attached' : 'already attached'} through ` +
      `${result.host.ifname} (mac ${result.container.mac}, mtu ${result.container.mtu}, ${address})`,
  );
  for (const note of result.notes) out(`  note: ${note}`);
  return 0;
}

async function detach(name: string, options: CommandOptions, out: Out, openHost: OpenHost): Promise<number> {
  const netns = netnsOption(options);
  await using host = await openHost({ namespace: options.namespace, onLockWait: lockWait(options, out) });
  const result = await host.detach(name, {
    netns,
    ...(options.ifname !== undefined ? { ifname: options.ifname } : {}),
  });
  if (options.json)
    out(
      json({
        network: name,
        detached: result.detached,
        ...(result.host ? { host: result.host } : {}),
        ...(result.reason ? { reason: result.reason } : {}),
        removed: result.changes.map(changeJson),
      }),
    );
  else if (result.detached) for (const change of result.changes) out(`- ${describeChange(change)}`);
  else out(`${name}: nothing to detach: ${result.reason}`);
  return 0;
}
