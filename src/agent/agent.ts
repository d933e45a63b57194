/**
 * OverlayAgent: applies a network's spec on this host, then keeps it true
 * until stopped.
 *
 * It watches the kernel's events for what the network owns (links,
 * addresses, the VXLAN device's flood entries: see relevance.ts; changes in
 * its nf_tables table: see nft-events.ts) and, on any, re-applies the spec
 * after a short debounce. A full resync (the same re-apply) also runs on a
 * timer and after every subscription overrun, so a lost event is never a
 * lost repair. Every re-apply goes through OverlayHost.apply, which takes
 * the network's lock for its writes: a concurrent `vxnet apply`, `peers` or
 * `destroy` waits its turn, and the agent plans from what it left.
 *
 * The peers come from a membership source (src/membership): the spec's own
 * list by default (StaticMembership), another source when one is given. The
 * flood entries and the firewall's peer set converge to its members; while
 * it is stale, nothing is removed (desiredPeers).
 *
 * One agent per network per namespace: the agent holds a second lock
 * (`agent:NAME`, a netlink port the kernel frees when the process dies) for
 * its whole life, and writes a record (agent.json, record.ts) into the
 * network's state directory for `vxnet status`.
 */
import { thisProcess } from '../process/identity.js';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { describeChange } from '../common/plan.js';
import type { OverrunError } from '../netlink/errors.js';
import { ValidationError, VxnetError } from '../netlink/errors.js';
import { Nftables } from '../nftables/client.js';
import { dhcpOwner } from '../network/dhcp-owner.js';
import { OverlayHost } from '../overlay/host.js';
import { NetworkLock, NetworkLockedError } from '../overlay/lock.js';
import {
  type AnyResolvedSpec,
  type AnySpec,
  isRoutedSpec,
  type ResolvedSpec,
  toAnyResolvedSpec,
  withStaticRoutes,
} from '../overlay/spec.js';
import { networkRoutes, refusedRoute, routesFromMembers, subnetsOverlap } from '../routed/members.js';
import type { ResolvedRoutedSpec } from '../routed/spec.js';
import type { NetworkState } from '../network/state.js';
import { Rtnetlink } from '../rtnetlink/client.js';
import { watch } from '../rtnetlink/events.js';
import {
  desiredPeers,
  desiredRoutes,
  type RouteEntry,
  describeHealth,
  describePeerDiff,
  sameMembers,
  diffPeers,
  type Membership,
  type MembershipHealth,
  type MembershipView,
} from '../membership/membership.js';
import { withPeers } from '../membership/spec.js';
import { StaticMembership } from '../membership/static.js';
import { EtcdMembership } from '../membership/etcd/membership.js';
import { VXNET_VERSION } from '../version.js';
import { listPeers } from '../vxlan/peers.js';
import { AgentRunningError } from './errors.js';
import { netconfIpForward } from './netconf.js';
import { type NftWatch, watchNftTable } from './nft-events.js';
import {
  agentLockNote,
  type AgentRecord,
  type AgentRepair,
  KEEP_REPAIRS,
  removeAgentRecord,
  writeAgentRecord,
} from './record.js';
import { OwnedView } from './relevance.js';

export interface OverlayAgentOptions {
  /** Work inside this network namespace (/run/netns/NAME or a path); default this process's. */
  namespace?: string;
  /** Root of vxnet's per-network state. Default /run/vxnet. */
  stateRoot?: string;
  /** Full resync period. Default 30 s. */
  resyncMs?: number;
  /** Quiet time after the last event before the re-apply (at most 100 ms after the first of a burst). Default 20 ms. */
  debounceMs?: number;
  /** stop() removes the network (OverlayHost.destroy) instead of leaving it in place. */
  destroyOnExit?: boolean;
  /** Use a bridge of the spec's name that vxnet did not make (OverlayHost.apply's `adopt`). */
  adopt?: boolean;
  /** The spec file, for the record status shows. */
  file?: string;
  /** How long a re-apply waits for another vxnet process holding the network's lock. Default 60 s. */
  lockTimeoutMs?: number;
  /**
   * Where the peers of a unicast network come from. Default: the spec's
   * `membership` source (etcd), else its own `peers` (StaticMembership).
   * Called again for the new spec on a reload.
   */
  membership?: (spec: ResolvedSpec) => Membership;
  /** Fail start() when the membership source cannot be reached (default: start stale and keep retrying). */
  requireMembership?: boolean;
}

export interface AgentStarted {
  network: string;
  pid: number;
  /** The changes the first apply made. */
  changes: string[];
  /** Kernel groups watched ('nftables' when its events could be subscribed to). */
  watching: string[];
  resyncMs: number;
}

export interface AgentEvents {
  started: [AgentStarted];
  /** One change of the first apply or of a reload, as it is made. */
  change: [{ network: string; cause: 'start' | 'reload'; change: string }];
  /** A re-apply that changed something: what triggered it, how long from that event to repaired, what changed. */
  repair: [AgentRepair & { network: string }];
  /** A re-apply failed (it is retried; the error says why). */
  failed: [{ network: string; trigger: string; error: Error }];
  /** Something the operator should know that is not a repair (an overrun, a missing subscription). */
  notice: [{ network: string; message: string }];
  /** The membership source's members or health changed (a re-apply follows). */
  membership: [
    { network: string; source: string; health: MembershipHealth; peers: string[]; added: string[]; removed: string[] },
  ];
  stopped: [{ network: string; destroyed?: string[] }];
}

const RETRY_MS = 1000;
/** The longest a re-apply waits after the first event of a burst that keeps coming. */
const MAX_DEBOUNCE_MS = 100;
/** Events remembered per repair (the first is its trigger). */
const MAX_EVENTS = 8;
/** Events this soon after an apply of ours ended are taken as its echo (the relay delivers them a little later). */
const ECHO_MS = 25;

export class OverlayAgent extends EventEmitter<AgentEvents> {
  private host?: OverlayHost;
  private spec?: AnyResolvedSpec;
  private view?: OwnedView;
  private state?: NetworkState;
  private lock?: NetworkLock;
  private record?: AgentRecord;
  private readonly abort = new AbortController();
  private nft?: NftWatch;
  private watcher?: Promise<void>;
  private resyncTimer?: NodeJS.Timeout;
  private debounceTimer?: { timeout?: NodeJS.Timeout; immediate?: NodeJS.Immediate };
  /** Set while an apply runs, and settles when it ends (kernel events wait for it). */
  private applyEnded?: Promise<void>;
  /** The record changed (membership) and its write is left to the re-apply that follows. */
  private recordUnsaved = false;
  /** When the armed timer fires (debounceDue may have moved later since). */
  private timerDue = 0;
  /** When the armed re-apply fires, and when the burst it answers began (performance.now()). */
  private debounceDue = 0;
  private burstStart = 0;
  /** Events since the last re-apply began, in order; `echo`: it came while (or just after) an apply of ours wrote. */
  private pending?: { trigger: string; at: number; echo: boolean }[];
  private lastApplyEnd = -Infinity;
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private stopped?: Promise<void>;
  /** The host's clients, opened (and closed) by the agent. */
  private clients?: { rtnetlink: Rtnetlink; nftables: Nftables };
  private membership?: Membership;
  private offMembership?: () => void;
  private lastView?: MembershipView;
  /** The peers last kept because the source was stale (said once per set). */
  private lastKept = '';
  /** Routed from membership: the members dropped (said once per set), and those the host refused to route. */
  private lastDropped = '';
  private refusedRoutes = new Map<string, string>();
  /** Re-applies done (with or without changes), for tests and status. */
  reapplies = 0;

  constructor(private readonly options: OverlayAgentOptions = {}) {
    super();
  }

  get network(): string | undefined {
    return this.spec?.name;
  }

  get resyncMs(): number {
    return this.options.resyncMs ?? 30_000;
  }

  /**
   * Takes the agent lock (failing at once with AgentRunningError if another
   * agent runs the network here), subscribes, applies the spec, and starts
   * repairing. On failure, everything it took is released.
   */
  async start(input: AnySpec | AnyResolvedSpec): Promise<AgentStarted> {
    if (this.spec) throw new ValidationError('start', 'the agent runs already', input);
    const spec = toAnyResolvedSpec(input);
    const namespace = this.options.namespace;
    const rtnetlink = await Rtnetlink.open(namespace !== undefined ? { namespace } : {});
    let nftables: Nftables;
    try {
      nftables = await Nftables.open(namespace !== undefined ? { namespace } : {});
    } catch (error) {
      rtnetlink.close();
      throw error;
    }
    this.clients = { rtnetlink, nftables };
    // ip_forward read over rtnetlink: /proc/sys of another namespace costs a helper process per read, and every
    // re-apply plans.
    const host = OverlayHost.over(
      { rtnetlink, nftables, ipForward: netconfIpForward(rtnetlink, namespace) },
      {
        ...(namespace !== undefined ? { namespace } : {}),
        ...(this.options.stateRoot !== undefined ? { stateRoot: this.options.stateRoot } : {}),
        ...(this.options.lockTimeoutMs !== undefined ? { lockTimeoutMs: this.options.lockTimeoutMs } : {}),
      },
    );
    this.host = host;
    this.spec = spec;
    this.view = new OwnedView(spec);
    const state = host.state(spec.name);
    this.state = state;
    try {
      try {
        this.lock = await NetworkLock.acquire(`agent:${spec.name}`, this.options.namespace, agentLockNote(state), {
          timeoutMs: 0,
        });
      } catch (error) {
        if (error instanceof NetworkLockedError) throw new AgentRunningError(spec.name, error.where, error.holder);
        throw error;
      }
      await this.startMembership(spec);
      await this.takeOverDhcp(spec, state);
      // Subscribe first, so nothing that changes while we apply goes unseen.
      const watching = await this.subscribe(spec);
      const changes = await this.enqueue(() =>
        this.withEffective((target) =>
          host.apply(target, {
            adopt: this.options.adopt,
            onChange: (change) =>
              this.emit('change', { network: spec.name, cause: 'start', change: describeChange(change) }),
          }),
        ),
      );
      const links = await host.rt.links.list();
      this.view.seed(links);
      await this.announce(spec, links);
      this.record = {
        ...thisProcess(),
        since: new Date().toISOString(),
        ...(this.options.file ? { file: this.options.file } : {}),
        resyncMs: this.resyncMs,
        repairs: [],
        ...this.membershipRecord(),
      };
      writeAgentRecord(state, this.record);
      this.resyncTimer = setInterval(() => this.schedule('resync (timer)', 0), this.resyncMs);
      const started: AgentStarted = {
        network: spec.name,
        pid: process.pid,
        changes: changes.map(describeChange),
        watching,
        resyncMs: this.resyncMs,
      };
      this.emit('started', started);
      return started;
    } catch (error) {
      // Never destroyOnExit here: the network may be another agent's (AgentRunningError) or half-applied by us.
      this.stopped = this.teardown(false).catch(() => undefined);
      await this.stopped;
      throw error;
    }
  }

  /**
   * What start() sets up, all at once and for good, before it subscribes, schedules or
   * applies anything: every caller runs after it.
   */
  private started(): { host: OverlayHost; spec: AnyResolvedSpec; view: OwnedView; state: NetworkState } {
    const { host, spec, view, state } = this;
    if (!host || !spec || !view || !state) throw new VxnetError('the agent is not started');
    return { host, spec, view, state };
  }

  /** Opens the event subscriptions; resolves with what is watched once they are in effect. */
  private async subscribe(spec: AnyResolvedSpec): Promise<string[]> {
    const { host, view } = this.started();
    const groups = ['link', 'ipv4-address', 'ipv6-address', 'fdb'] as const;
    const events = watch(host.rt, { groups: [...groups], listFirst: true, signal: this.abort.signal });
    // The listing comes after the subscription is in effect: `synced` means ready.
    for (;;) {
      const step = await events.next();
      if (step.done) break;
      const event = step.value;
      if (event.kind === 'link') view.relevant(event);
      if (event.kind === 'synced') break;
    }
    this.watcher = (async () => {
      try {
        for await (const event of events) {
          // What comes during an apply is looked at once it ends: mostly its own echo (1,000 flood entries
          // written, 1,000 events), which would otherwise be decoded and weighed between its writes.
          if (this.applyEnded) await this.applyEnded;
          if (event.kind === 'overrun') this.overrun(event.error);
          else {
            const what = view.relevant(event);
            if (what) this.schedule(what);
          }
        }
      } catch (error) {
        if (this.stopping) return;
        this.emit('notice', {
          network: spec.name,
          message: `kernel events stopped (${(error as Error).message}); repairs now come from the resync timer only`,
        });
      }
    })();
    const watching: string[] = [...groups];
    try {
      this.nft = await watchNftTable(this.options.namespace, OverlayHost.tableName(spec.name), {
        onTable: (event) =>
          this.schedule(
            `nftables ${NFT_MESSAGES[event.message] ?? `message ${event.message}`} in table ${event.table}`,
          ),
        onOverrun: (error) => this.overrun(error),
        onError: (error) =>
          this.emit('notice', {
            network: spec.name,
            message: `nf_tables events stopped (${error.message}); its drift is repaired by the resync timer only`,
          }),
      });
      watching.push('nftables');
    } catch (error) {
      this.emit('notice', {
        network: spec.name,
        message:
          `nf_tables events unavailable (${(error as Error).message}); ` +
          'its drift is repaired by the resync timer only',
      });
    }
    return watching;
  }

  private overrun(error: OverrunError): void {
    this.emit('notice', { network: this.started().spec.name, message: `events lost (${error.message}); resyncing` });
    this.schedule(`resync (overrun)`, 0);
  }

  /** A re-apply after `delayMs`, for the first trigger since the last one ran; later triggers join it. */
  private schedule(trigger: string, delayMs = this.options.debounceMs ?? 20, at = performance.now()): void {
    if (this.stopping) return;
    const echo = this.applyEnded !== undefined || at - this.lastApplyEnd < ECHO_MS;
    this.pending ??= [];
    if (this.pending.length < MAX_EVENTS && !this.pending.some((e) => e.trigger === trigger && e.echo === echo))
      this.pending.push({ trigger, at, echo });
    const now = performance.now();
    let due = now + delayMs;
    if (this.debounceTimer) {
      // A burst's events can arrive spread out (relay delivery): the re-apply waits for the burst to go quiet,
      // but never more than MAX_DEBOUNCE_MS after its first event, and a timer already due later (a retry's) stays.
      if (delayMs > 0) {
        due = Math.min(due, this.burstStart + MAX_DEBOUNCE_MS);
        // Later than the timer: it waits out the rest when it fires (no timer re-armed per event of a burst,
        // which for the echo of 1,000 writes was most of the agent's own time in timers).
        if (due > this.debounceDue) this.debounceDue = due;
        return;
      }
      if (due >= this.timerDue) return;
      this.cancelTimer();
    } else {
      this.burstStart = now;
    }
    this.debounceDue = due;
    this.arm(due);
  }

  /** The re-apply's timer, for `due` (performance.now() time); at once (setImmediate, not a 1 ms timer) if due. */
  private arm(due: number): void {
    this.timerDue = due;
    const wait = due - performance.now();
    const fire = (): void => {
      this.debounceTimer = undefined;
      // Pushed later by events since it was armed: wait the rest.
      if (this.debounceDue > performance.now() + 0.5) this.arm(this.debounceDue);
      else void this.enqueue(() => this.reapply()).catch(() => undefined);
    };
    this.debounceTimer = wait > 0 ? { timeout: setTimeout(fire, wait) } : { immediate: setImmediate(fire) };
  }

  private cancelTimer(): void {
    if (this.debounceTimer?.timeout) clearTimeout(this.debounceTimer.timeout);
    if (this.debounceTimer?.immediate) clearImmediate(this.debounceTimer.immediate);
    this.debounceTimer = undefined;
  }

  /** Runs `work` after everything queued before it: one apply at a time. */
  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const tracked = async (): Promise<T> => {
      let ended!: () => void;
      this.applyEnded = new Promise<void>((resolve) => (ended = resolve));
      try {
        return await work();
      } finally {
        this.lastApplyEnd = performance.now();
        this.applyEnded = undefined;
        ended();
      }
    };
    const run = this.queue.then(tracked, tracked);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async reapply(): Promise<void> {
    const events = this.pending;
    this.pending = undefined;
    const first = events?.[0];
    if (!events || !first || this.stopping) return;
    // The repair is credited to the first event that was not the echo of our own writes (else the first at all).
    const pending = events.find((e) => !e.echo) ?? first;
    const { host, spec } = this.started();
    this.reapplies++;
    try {
      // A resync re-lists the membership source (a store-backed one: what a lost event may have hidden).
      if (events.some((e) => e.trigger.startsWith('resync'))) await this.membership?.resync();
      // Plan first, without the write lock: most re-applies (the echo of our own writes, the timer) find
      // nothing to do, and taking the lock costs a process start with --namespace (a relay into it).
      // A membership change is known to change the flood list: straight to apply (it plans under the lock).
      const expected = events.some(
        (e) => e.trigger.startsWith('membership: +') || e.trigger.startsWith('membership: -'),
      );
      const changes = await this.withEffective(async (target) => {
        const planned = expected ? undefined : await host.plan(target);
        return planned?.length === 0 ? [] : await host.apply(target);
      });
      const repairedAt = performance.now();
      const repairedWhen = new Date();
      this.started().view.seed(await host.rt.links.list()); // the view now (a reload may have replaced it)
      const failing = this.record?.failing !== undefined;
      if (this.record) delete this.record.failing;
      if (changes.length === 0) {
        if (failing || this.recordUnsaved) this.saveRecord();
        return;
      }
      const repair: AgentRepair = {
        at: repairedWhen.toISOString(),
        trigger: pending.trigger,
        ms: Math.round(repairedAt - pending.at),
        changes: changes.map(describeChange),
        events: events.map((e) => e.trigger),
      };
      if (this.record) {
        this.record.repairs = [...this.record.repairs, repair].slice(-KEEP_REPAIRS);
        this.saveRecord();
      }
      this.emit('repair', { network: spec.name, ...repair });
    } catch (error) {
      if (this.stopping) return;
      if (this.record) {
        this.record.failing = { at: new Date().toISOString(), error: (error as Error).message };
        this.saveRecord();
      }
      this.emit('failed', { network: spec.name, trigger: pending.trigger, error: error as Error });
      // Retried from the same trigger, so the repair's time still counts from the event.
      this.schedule(pending.trigger, Math.min(RETRY_MS, this.resyncMs), pending.at);
    }
  }

  /**
   * The network's DHCP server, supervised until now by a foreground `vxnet
   * apply`, moves to the agent: that process is asked to stop (SIGTERM: it
   * stops dnsmasq and exits; the lease file stays), and the first apply
   * starts dnsmasq here. Only a genuine supervisor is signalled: its dnsmasq
   * (checked by its command line) runs only while it does.
   */
  private async takeOverDhcp(spec: AnyResolvedSpec, state: NetworkState): Promise<void> {
    if (!spec.dhcp?.serve) return;
    const { ownerPid, dnsmasqPid } = dhcpOwner(state.dhcpDir);
    if (ownerPid === undefined || dnsmasqPid === undefined || ownerPid === process.pid) return;
    this.emit('notice', {
      network: spec.name,
      message: `taking over the DHCP server from pid ${ownerPid} (asking it to stop)`,
    });
    try {
      process.kill(ownerPid, 'SIGTERM');
    } catch {
      return; // gone already
    }
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && dhcpOwner(state.dhcpDir).dnsmasqPid !== undefined)
      await new Promise((resolve) => setTimeout(resolve, 50));
  }

  /** Starts the source for `spec` (a routed network has one only with membership.etcd: its routes' source). */
  private async startMembership(spec: AnyResolvedSpec): Promise<void> {
    if (isRoutedSpec(spec) && !spec.membership) {
      this.membership = undefined;
      this.offMembership = undefined;
      return;
    }
    const source = isRoutedSpec(spec)
      ? this.defaultMembership(spec)
      : (this.options.membership?.(spec) ?? this.defaultMembership(spec));
    const offNotice = source.onNotice?.((message) => this.emit('notice', { network: spec.name, message }));
    try {
      await source.start();
    } catch (error) {
      offNotice?.();
      await source.close().catch(() => undefined);
      throw error;
    }
    this.membership = source;
    this.lastView = source.view();
    const offChange = source.onChange(() => this.membershipChanged());
    this.offMembership = () => {
      offChange();
      offNotice?.();
    };
  }

  private defaultMembership(spec: ResolvedSpec | ResolvedRoutedSpec): Membership {
    if (!spec.membership) return new StaticMembership(isRoutedSpec(spec) ? [] : spec.peers);
    return new EtcdMembership(spec, {
      version: VXNET_VERSION,
      ...(this.options.requireMembership ? { requireMembership: true } : {}),
    });
  }

  /** Tells the membership source this host's part exists (it registers it, with the VXLAN device's MAC). */
  private async announce(spec: AnyResolvedSpec, links: { ifname?: string; address?: string }[]): Promise<void> {
    if (!this.membership?.announce) return;
    if (isRoutedSpec(spec)) return this.membership.announce({ subnet: spec.subnet.text });
    if (spec.mode !== 'unicast') return;
    const mac = links.find((link) => link.ifname === spec.vxlan)?.address;
    if (mac) await this.membership.announce({ mac });
  }

  private membershipChanged(): void {
    const source = this.membership;
    if (!source || this.stopping) return;
    const view = source.view();
    const before = this.lastView;
    this.lastView = view;
    const { added, removed } = diffPeers(before?.peers ?? [], view.peers);
    // A member's new subnet (a routed network) changes no peer, but the routes.
    const moved = !sameMembers(before?.members ?? [], view.members ?? []);
    if (!added.length && !removed.length && !moved && before?.health.state === view.health.state) return;
    // What the host refused to route is tried again with the new members (the cause may have gone with them).
    this.refusedRoutes.clear();
    // Written by the re-apply scheduled below, which always follows (one write of the record per change, not two).
    if (this.record) {
      Object.assign(this.record, this.membershipRecord());
      this.recordUnsaved = true;
    }
    this.emit('membership', {
      network: this.started().spec.name,
      source: source.source,
      health: view.health,
      peers: [...view.peers],
      added,
      removed,
    });
    // No debounce: a source delivers a burst of changes at once (one etcd watch response per revision).
    // The repair's time counts from the change's arrival where the source knows it (etcd: before decoding).
    this.schedule(
      `membership: ${describePeerDiff({ added, removed }) || (moved ? '+subnets' : describeHealth(view.health))}`,
      0,
      view.changedAt ?? performance.now(),
    );
  }

  private membershipRecord(): Pick<AgentRecord, 'membership'> {
    if (!this.membership) return {};
    const view = this.membership.view();
    const { health } = view;
    return {
      membership: {
        source: this.membership.source,
        state: health.state,
        since: health.since,
        ...(health.state === 'stale' ? { cause: health.cause } : {}),
        peers: view.peers.length,
      },
    };
  }

  /**
   * The spec to converge to: the spec with the source's members as its peers
   * (a unicast network). A stale source removes nothing: the kernel's
   * current peers are kept beside the members it still lists.
   */
  private async effective(): Promise<AnyResolvedSpec> {
    const { host, spec } = this.started();
    if (isRoutedSpec(spec))
      return spec.membership && this.membership ? this.routedEffective(spec, this.membership) : spec;
    if (spec.mode !== 'unicast' || !this.membership) return spec;
    const view = this.membership.view();
    const kernel = view.health.state === 'stale' ? await listPeers(host.rt, spec.vxlan).catch(() => []) : [];
    const { peers, kept } = desiredPeers(view, kernel);
    const keptText = kept.join(', ');
    if (kept.length && keptText !== this.lastKept) {
      this.emit('notice', {
        network: spec.name,
        message:
          `membership ${describeHealth(view.health)}: keeping ${kept.length} peer(s) it no longer lists: ` +
          `${keptText}`,
      });
    }
    this.lastKept = keptText;
    return withPeers(spec, peers);
  }

  /**
   * A routed spec with membership.etcd: its static table is every other
   * member's subnet through its address (routesFromMembers drops, with a
   * notice, a member that cannot be routed). A stale source removes nothing:
   * vxnet's routes of this network that no member covers are kept
   * (desiredRoutes).
   */
  private async routedEffective(spec: ResolvedRoutedSpec, membership: Membership): Promise<ResolvedRoutedSpec> {
    const { host, state } = this.started();
    const view = membership.view();
    const { routes, dropped } = routesFromMembers(view.members ?? [], {
      ...(spec.underlay.address ? { address: spec.underlay.address } : {}),
      subnet: spec.subnet,
      ...(spec.containerRange ? { containerRange: spec.containerRange } : {}),
    });
    const usable = routes.filter((r) => !this.refusedRoutes.has(routeKey(r)));
    const kernel = view.health.state === 'stale' ? await networkRoutes(host.rt, state, spec).catch(() => []) : [];
    const { routes: table, kept } = desiredRoutes(view.health, usable, kernel, subnetsOverlap);
    const droppedText = dropped.map((d) => `${d.address} (${d.subnet ?? 'no subnet'}): ${d.reason}`).join('; ');
    if (droppedText && droppedText !== this.lastDropped)
      this.emit('notice', { network: spec.name, message: `not routing member(s): ${droppedText}` });
    this.lastDropped = droppedText;
    const keptText = kept.map(routeKey).join(', ');
    if (kept.length && keptText !== this.lastKept)
      this.emit('notice', {
        network: spec.name,
        message:
          `membership ${describeHealth(view.health)}: ` +
          `keeping ${kept.length} route(s) it no longer lists: ${keptText}`,
      });
    this.lastKept = keptText;
    return withStaticRoutes(spec, table);
  }

  /**
   * Runs `work` on the effective spec. Routed from membership, a route the
   * host refuses (a next hop off the underlay, a subnet connected here, a
   * foreign route in the way) is one member's fault: that member is left
   * out, with a notice naming it, and `work` runs again without it, so one
   * bad registration never makes every apply fail.
   */
  private async withEffective<T>(work: (target: AnyResolvedSpec) => Promise<T>): Promise<T> {
    for (;;) {
      const target = await this.effective();
      try {
        return await work(target);
      } catch (error) {
        const route = isRoutedSpec(target) && target.membership ? refusedRoute(target, error) : undefined;
        if (!route || this.refusedRoutes.has(routeKey(route))) throw error;
        this.refusedRoutes.set(routeKey(route), (error as Error).message);
        this.emit('notice', {
          network: target.name,
          message: `not routing member ${route.via} (${route.subnet}): ${(error as Error).message}`,
        });
      }
    }
  }

  private saveRecord(): void {
    if (!this.record || !this.state || this.stopping) return;
    this.recordUnsaved = false;
    try {
      writeAgentRecord(this.state, this.record);
    } catch {
      // Status only; the agent works without it.
    }
  }

  /**
   * Applies a new spec of the same network (SIGHUP): what differs is changed,
   * each change reported as it is made. Returns the changes.
   */
  async reload(input: AnySpec | AnyResolvedSpec): Promise<string[]> {
    const spec = toAnyResolvedSpec(input);
    const current = this.spec;
    if (!current || this.stopping) throw new ValidationError('reload', 'the agent is not running', spec.name);
    if (spec.name !== current.name)
      throw new ValidationError(
        'name',
        `the agent runs network ${current.name}; a spec of ${spec.name} needs an agent of its own`,
        spec.name,
      );
    const changes = await this.enqueue(async () => {
      // The new spec, with a source of its own, is in force once it is applied; if that fails, the old one stays.
      const previous = { spec: this.spec, membership: this.membership, off: this.offMembership, view: this.lastView };
      const { host } = this.started();
      this.spec = spec;
      let made: Awaited<ReturnType<OverlayHost['apply']>>;
      try {
        await this.startMembership(spec);
        made = await this.withEffective((target) =>
          host.apply(target, {
            adopt: this.options.adopt,
            onChange: (change) =>
              this.emit('change', { network: spec.name, cause: 'reload', change: describeChange(change) }),
          }),
        );
      } catch (error) {
        if (this.membership !== previous.membership) {
          this.offMembership?.();
          await this.membership?.close().catch(() => undefined);
        }
        this.spec = previous.spec;
        this.membership = previous.membership;
        this.offMembership = previous.off;
        this.lastView = previous.view;
        throw error;
      }
      const view = new OwnedView(spec);
      const links = await host.rt.links.list();
      view.seed(links);
      this.view = view;
      // The new source takes the host's registration over before the old one revokes its lease: revoking deletes
      // only what is still under that lease, so the other hosts never see this one leave.
      await this.announce(spec, links);
      previous.off?.();
      await previous.membership?.close().catch(() => undefined);
      if (this.record) Object.assign(this.record, this.membershipRecord());
      this.saveRecord();
      return made;
    });
    return changes.map(describeChange);
  }

  /**
   * Stops watching and repairing. The network stays in place (its DHCP
   * server, which this process supervised, stops), unless the agent was made
   * with destroyOnExit: then it is removed. Safe to call twice.
   */
  stop(): Promise<void> {
    this.stopped ??= this.teardown(this.options.destroyOnExit === true);
    return this.stopped;
  }

  private async teardown(destroy: boolean): Promise<void> {
    this.stopping = true;
    clearInterval(this.resyncTimer);
    this.cancelTimer();
    this.pending = undefined;
    this.abort.abort();
    this.nft?.close();
    this.offMembership?.();
    await this.watcher;
    await this.queue;
    await this.membership?.close().catch(() => undefined);
    const failures: unknown[] = [];
    let destroyed: string[] | undefined;
    if (destroy && this.host && this.spec && this.record) {
      try {
        destroyed = (await this.host.destroy(this.spec.name)).map(describeChange);
      } catch (error) {
        failures.push(error);
      }
    }
    if (this.state && this.record) removeAgentRecord(this.state);
    this.lock?.release();
    this.state?.removeIfEmpty();
    await this.host?.close().catch((error) => failures.push(error));
    this.clients?.rtnetlink.close();
    this.clients?.nftables.close();
    if (this.spec && this.record)
      this.emit('stopped', { network: this.spec.name, ...(destroyed ? { destroyed } : {}) });
    if (failures.length) throw failures[0];
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function routeKey(route: RouteEntry): string {
  return `${route.subnet} via ${route.via}`;
}

const NFT_MESSAGES: Record<number, string> = {
  0: 'table added',
  2: 'table deleted',
  3: 'chain added',
  5: 'chain deleted',
  6: 'rule added',
  8: 'rule deleted',
  9: 'set added',
  11: 'set deleted',
  12: 'set element added',
  14: 'set element deleted',
};
