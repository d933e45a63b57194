/**
 * EtcdMembership: the network's members from etcd (records.ts has the key
 * layout). The source
 *
 * - checks the network's shared parameters first (a compare-and-set: the
 *   first host records them, every later one must agree; a disagreement at
 *   start is a NetworkParameterError and the agent creates nothing);
 * - lists the hosts' registrations and watches them from the listed
 *   revision + 1, so no change falls between the list and the watch; a
 *   watch cancelled for compaction is answered by a new list and watch;
 * - registers this host (announce(), once its VXLAN device exists) under a
 *   lease kept alive every ttl/3, and revokes it on close();
 * - detects a member that cannot serve a current view: every call carries
 *   require-leader metadata (a leaderless member fails it and cancels the
 *   watch), and each keep-alive tick also makes a linearizable read with a
 *   deadline. Any failure makes the view stale, with the cause: the agent
 *   then removes nothing. The source moves on to the next endpoint, and on
 *   reconnecting lists again, re-registers (a new lease if the old one
 *   expired) and is fresh.
 */
import { hostname as osHostname } from 'node:os';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { VxnetError } from '../../netlink/errors.js';
import type { ResolvedSpec } from '../../overlay/spec.js';
import type { ResolvedRoutedSpec } from '../../routed/spec.js';
import { addressFamily } from '../../rtnetlink/validate.js';
import {
  type Membership,
  type MembershipHealth,
  type MembershipMember,
  type MembershipView,
  sameMembers,
} from '../membership.js';
import { describeCallError, EtcdConnection, type ReceivedWatchResponse } from './client.js';
import { EtcdUnavailableError, NetworkParameterError } from './errors.js';
import type { KeyValue, WatchResponse } from './proto.js';
import {
  compareShared,
  formatRegistration,
  hostKey,
  hostsPrefix,
  networkKey,
  parseRegistration,
  parseShared,
  prefixEnd,
  type Registration,
  type RegistrationContext,
  type SharedParameters,
  sharedParameters,
} from './records.js';
import type { ResolvedEtcdMembership } from './spec.js';
import { loadCredentials } from './tls.js';

export interface EtcdMembershipOptions {
  /** Fail start() when no endpoint answers (default: start stale and keep retrying). */
  requireMembership?: boolean;
  /** Written into the registration. Default os.hostname(). */
  hostname?: string;
  /** vxnet's version, written into the registration. */
  version?: string;
  /** Deadline of each call. Default ttl/3 s, at least 1 s and at most 5 s. */
  deadlineMs?: number;
  /** Wait between reconnection attempts. Default 1 s. */
  retryMs?: number;
}

/** The connection in use, and what belongs to it (a new connection gets a new generation). */
interface Session {
  generation: number;
  conn: EtcdConnection;
  endpoint: number;
  keepAlive?: ReturnType<EtcdConnection['keepAliveStream']>;
  watch?: ReturnType<EtcdConnection['watch']>;
}

/** Bytes decoded as UTF-8 without a copy first (Buffer.from(bytes) would copy: 2,000 copies per 1,000 events). */
function utf8(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

export class EtcdMembership implements Membership {
  readonly source = 'etcd';
  private readonly config: ResolvedEtcdMembership;
  private readonly network: string;
  private readonly local: string;
  private readonly shared: SharedParameters;
  private readonly context: RegistrationContext;
  private readonly keys: { network: Buffer; hosts: Buffer; hostsEnd: Buffer; self: Buffer };
  private readonly deadlineMs: number;
  private readonly probeMs: number;
  private readonly retryMs: number;
  private credentials?: ChannelCredentials;
  /** Registrations by key (this host's own among them). */
  private readonly members = new Map<string, Registration>();
  private current: MembershipView;
  private readonly listeners = new Set<() => void>();
  private readonly noticeListeners = new Set<(message: string) => void>();
  private session?: Session;
  private generation = 0;
  private nextEndpoint = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** The highest revision applied (from a list or a watch event). */
  private revision = 0n;
  private lease?: string;
  /** What tells this host's registration from another's: the VXLAN device's MAC, or a routed network's subnet. */
  private identity?: { mac: string } | { subnet: string };
  private registered = false;
  /** What was last said about a key or a refusal, so each is said once. */
  private readonly said = new Map<string, string>();

  constructor(
    spec: ResolvedSpec | ResolvedRoutedSpec,
    private readonly options: EtcdMembershipOptions = {},
  ) {
    if (!spec.membership?.etcd) throw new VxnetError(`network ${spec.name}: the spec has no membership.etcd`);
    if (spec.underlay.address === undefined)
      throw new VxnetError(`network ${spec.name}: etcd membership needs underlay.address`);
    this.config = spec.membership.etcd;
    this.network = spec.name;
    this.local = spec.underlay.address;
    this.shared = sharedParameters(spec);
    const hosts = hostsPrefix(this.config.prefix, spec.name);
    this.context =
      spec.mode === 'routed'
        ? { hostsPrefix: hosts, mode: 'routed', family: 4 }
        : {
            hostsPrefix: hosts,
            mode: 'unicast',
            vni: spec.vni,
            port: spec.port,
            family: addressFamily(this.local, 'address'),
          };
    const hostsBytes = Buffer.from(hosts);
    this.keys = {
      network: Buffer.from(networkKey(this.config.prefix, spec.name)),
      hosts: hostsBytes,
      hostsEnd: prefixEnd(hostsBytes),
      self: Buffer.from(hostKey(this.config.prefix, spec.name, this.local)),
    };
    const third = Math.round((this.config.ttl * 1000) / 3);
    this.probeMs = third;
    this.deadlineMs = options.deadlineMs ?? Math.min(5000, Math.max(1000, third));
    this.retryMs = options.retryMs ?? 1000;
    this.current = {
      peers: [],
      members: [],
      health: { state: 'stale', since: new Date().toISOString(), cause: 'not started' },
    };
  }

  /**
   * Connects to the first endpoint that answers, checks the shared
   * parameters, lists and watches. A NetworkParameterError or a TLS file
   * error is thrown whatever the options; no endpoint answering is thrown
   * only with requireMembership (else the view is stale and retried).
   */
  async start(): Promise<void> {
    this.credentials = loadCredentials(this.config);
    const causes: string[] = [];
    for (let i = 0; i < this.config.endpoints.length; i++) {
      try {
        await this.connect(i);
        return;
      } catch (error) {
        if (error instanceof NetworkParameterError) throw error;
        causes.push(describeCallError(error));
      }
    }
    const urls = this.config.endpoints.map((e) => e.url);
    if (this.options.requireMembership) throw new EtcdUnavailableError(urls, causes);
    this.setHealth({
      state: 'stale',
      since: new Date().toISOString(),
      cause: `no etcd endpoint answered (${urls.map((u, i) => `${u}: ${causes[i]}`).join('; ')}); retrying`,
    });
    this.scheduleReconnect();
  }

  view(): MembershipView {
    return this.current;
  }

  /** Re-lists the registrations (the agent's resync: what a lost event may have hidden). */
  async resync(): Promise<void> {
    const session = this.session;
    if (!session) return;
    try {
      const listed = await session.conn.range(this.keys.hosts, this.keys.hostsEnd);
      if (session.generation !== this.generation) return;
      // A watch event newer than the list is already applied: the list would take it back.
      if (BigInt(listed.header.revision) >= this.revision) this.replaceMembers(listed.kvs, listed.header.revision);
    } catch (error) {
      this.lost(session, `re-list from ${session.conn.target}: ${describeCallError(error)}`);
    }
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onNotice(listener: (message: string) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  /** Registers this host (its VXLAN device exists now), and keeps the registration until close(). */
  async announce(local: { mac: string } | { subnet: string }): Promise<void> {
    const changed = JSON.stringify(this.identity) !== JSON.stringify(local);
    this.identity = 'mac' in local ? { mac: local.mac } : { subnet: local.subnet };
    const session = this.session;
    if (!session || (this.registered && !changed)) return;
    try {
      await this.register(session);
    } catch (error) {
      this.lost(session, `registration at ${session.conn.target}: ${describeCallError(error)}`);
    }
  }

  /** Stops watching and revokes the lease (the other hosts drop this one at once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    const session = this.session;
    this.generation++;
    if (session && this.lease) await session.conn.leaseRevoke(this.lease).catch(() => undefined);
    this.dropSession();
    this.listeners.clear();
    this.noticeListeners.clear();
  }

  /** Opens a connection to endpoint `index` and brings the view up to date through it (fresh on success). */
  private async connect(index: number): Promise<void> {
    const generation = ++this.generation;
    this.dropSession();
    const endpoint = this.config.endpoints[index]!; // index is taken modulo endpoints.length (≥ 1, the spec says)
    const credentials = this.credentials;
    if (!credentials) throw new VxnetError('etcd membership: not started (no TLS credentials loaded)');
    const conn = new EtcdConnection(endpoint.target, credentials, this.deadlineMs);
    const session: Session = { generation, conn, endpoint: index };
    try {
      await this.checkShared(conn);
      const listed = await conn.range(this.keys.hosts, this.keys.hostsEnd);
      if (generation !== this.generation || this.closed) {
        conn.close();
        return;
      }
      this.session = session;
      this.nextEndpoint = index;
      this.revision = 0n;
      this.replaceMembers(listed.kvs, listed.header.revision, false);
      this.openWatch(session, BigInt(listed.header.revision) + 1n);
      if (this.identity) await this.register(session);
    } catch (error) {
      if (this.session === session) this.session = undefined;
      session.keepAlive?.close();
      session.watch?.cancel();
      conn.close();
      throw error;
    }
    this.setHealth({ state: 'fresh', since: new Date().toISOString() });
    this.schedule(() => this.probe(session), this.probeMs);
  }

  /**
   * The shared-parameter record: created if absent (compare-and-set on its
   * create revision), else compared field by field with this spec.
   */
  private async checkShared(conn: EtcdConnection): Promise<void> {
    const key = this.keys.network;
    const txn = await conn.txn(
      [{ key, target: 'CREATE', create_revision: '0' }],
      [{ request_put: { key, value: Buffer.from(JSON.stringify(this.shared)) } }],
      [{ request_range: { key } }],
    );
    if (txn.succeeded) {
      this.notice(`recorded network ${this.network}'s shared parameters at ${key}: ${JSON.stringify(this.shared)}`);
      return;
    }
    const kv = txn.responses[0]?.response_range?.kvs[0];
    if (!kv) throw new Error(`${key} vanished while it was read`); // deleted in between: the next attempt creates it
    const record = parseShared(utf8(kv.value));
    if ('problem' in record)
      throw new NetworkParameterError(this.network, key.toString(), [
        { field: 'record', ours: this.shared, network: `unreadable: it ${record.problem}` },
      ]);
    const mismatches = compareShared(this.shared, record);
    if (mismatches.length) throw new NetworkParameterError(this.network, key.toString(), mismatches);
  }

  private openWatch(session: Session, startRevision: bigint): void {
    const stream = session.conn.watch(this.keys.hosts, this.keys.hostsEnd, String(startRevision));
    session.watch = stream;
    const current = (): boolean => session.generation === this.generation && session.watch === stream;
    stream.on('data', (response: ReceivedWatchResponse) => {
      if (!current()) return;
      if (response.canceled) {
        if (response.compact_revision !== '0') void this.relistAfterCompaction(session, response.compact_revision);
        else this.lost(session, `etcd ${session.conn.target} cancelled the watch: ${response.cancel_reason || '?'}`);
        return;
      }
      if (response.events.length) this.applyEvents(response.events, response.header.revision, response.receivedAt);
    });
    stream.on('error', (error) => {
      if (current()) this.lost(session, `watch at ${session.conn.target}: ${describeCallError(error)}`);
    });
    stream.on('end', () => {
      if (current()) this.lost(session, `watch at ${session.conn.target} ended`);
    });
  }

  /** The revision the watch started from was compacted away: list again, and watch from there. */
  private async relistAfterCompaction(session: Session, compacted: string): Promise<void> {
    this.notice(`the watch's start revision was compacted (now ${compacted}): listing again`);
    session.watch?.cancel();
    session.watch = undefined;
    try {
      const listed = await session.conn.range(this.keys.hosts, this.keys.hostsEnd);
      if (session.generation !== this.generation) return;
      this.replaceMembers(listed.kvs, listed.header.revision);
      this.openWatch(session, BigInt(listed.header.revision) + 1n);
    } catch (error) {
      this.lost(session, `re-list after compaction at ${session.conn.target}: ${describeCallError(error)}`);
    }
  }

  /**
   * Every ttl/3: renews the lease (or registers again when it expired, or
   * when a refused registration may now go through) and reads the network
   * record linearizably: proof that this member still has a leader.
   */
  private async probe(session: Session): Promise<void> {
    if (session.generation !== this.generation) return;
    try {
      if (this.identity && this.registered && this.lease) {
        if ((await this.keepAlive(session, this.lease)) <= 0) {
          this.notice(`the lease of ${this.keys.self} expired: registering again`);
          this.registered = false;
          this.lease = undefined;
        }
      }
      if (this.identity && !this.registered) await this.register(session);
      await session.conn.range(this.keys.network);
    } catch (error) {
      this.lost(session, `etcd ${session.conn.target}: ${describeCallError(error)}`);
      return;
    }
    if (session.generation === this.generation) this.schedule(() => this.probe(session), this.probeMs);
  }

  private keepAlive(session: Session, lease: string): Promise<number> {
    session.keepAlive ??= session.conn.keepAliveStream();
    return session.keepAlive.keepAlive(lease);
  }

  /**
   * Puts this host's registration under a lease: created if the key is free;
   * taken over if it holds this host's own earlier registration (same VXLAN
   * MAC: an agent restarted before its old lease expired); refused, with a
   * notice, if another host holds the address. Retried on the next probe.
   */
  private async register(session: Session): Promise<void> {
    const identity = this.identity;
    if (!identity) throw new VxnetError('etcd membership: not started (no local identity to register)');
    const { conn } = session;
    if (this.lease) {
      // A lease from an earlier connection may have expired while this host could not reach etcd.
      if ((await this.keepAlive(session, this.lease)) <= 0) this.lease = undefined;
    }
    if (!this.lease) {
      const granted = await conn.leaseGrant(this.config.ttl);
      if (granted.error) throw new Error(`lease grant refused: ${granted.error}`);
      this.lease = granted.ID;
    }
    const lease = this.lease;
    const key = this.keys.self;
    const about = { hostname: this.options.hostname ?? osHostname(), version: this.options.version ?? 'unknown' };
    const value = Buffer.from(
      formatRegistration(
        this.context.mode === 'routed'
          ? { address: this.local, subnet: 'subnet' in identity ? identity.subnet : '', ...about }
          : {
              address: this.local,
              port: this.context.port,
              vni: this.context.vni,
              mac: 'mac' in identity ? identity.mac : '',
              ...about,
            },
      ),
    );
    const created = await conn.txn(
      [{ key, target: 'CREATE', create_revision: '0' }],
      [{ request_put: { key, value, lease } }],
      [{ request_range: { key } }],
    );
    if (!created.succeeded) {
      const kv = created.responses[0]?.response_range?.kvs[0];
      if (!kv) return; // gone between the compare and the read: the next probe creates it
      if (kv.lease !== lease && !this.isOwn(kv, identity)) {
        const holder = utf8(kv.value).slice(0, 200);
        this.sayOnce(
          'refused',
          holder,
          `registration refused: ${key} (this host's address) is held by another host (${holder}); ` +
            'two hosts claim one underlay address: fix underlay.address (retrying until it is free)',
        );
        this.registered = false;
        return;
      }
      // This host's own registration (from before a restart): replaced, only if unchanged since it was read.
      const replaced = await conn.txn(
        [{ key, target: 'MOD', mod_revision: kv.mod_revision }],
        [{ request_put: { key, value, lease } }],
        [],
      );
      if (!replaced.succeeded) return;
    }
    this.said.delete('refused');
    this.registered = true;
  }

  private isOwn(kv: KeyValue, identity: { mac: string } | { subnet: string }): boolean {
    const parsed = parseRegistration(utf8(kv.key), utf8(kv.value), {
      ...this.context,
    });
    if (!('registration' in parsed)) return false;
    return 'mac' in identity
      ? parsed.registration.mac === identity.mac
      : parsed.registration.subnet === identity.subnet;
  }

  /** The connection failed or cannot be trusted: stale (nothing is removed), and try the next endpoint. */
  private lost(session: Session, cause: string): void {
    if (session.generation !== this.generation || this.closed) return;
    this.generation++;
    this.dropSession();
    this.registered = false;
    this.setHealth({ state: 'stale', since: new Date().toISOString(), cause });
    this.nextEndpoint = (session.endpoint + 1) % this.config.endpoints.length;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.schedule(async () => {
      const index = this.nextEndpoint;
      try {
        await this.connect(index);
      } catch (error) {
        if (this.closed) return;
        const stale = this.current.health.state === 'stale' ? this.current.health : undefined;
        // index is taken modulo endpoints.length (≥ 1, the spec says)
        const cause = `etcd ${this.config.endpoints[index]!.url}: ${describeCallError(error)}`;
        if (error instanceof NetworkParameterError) this.sayOnce('parameters', error.message, error.message);
        // The first cause is kept (it says what went wrong); the latest attempt is noted once per distinct failure.
        this.sayOnce(`retry:${index}`, cause, `membership still stale, retrying: ${cause}`);
        if (!stale) this.setHealth({ state: 'stale', since: new Date().toISOString(), cause });
        this.nextEndpoint = (index + 1) % this.config.endpoints.length;
        this.scheduleReconnect();
      }
    }, this.retryMs);
  }

  private schedule(work: () => Promise<void>, ms: number): void {
    clearTimeout(this.timer);
    if (this.closed) return;
    this.timer = setTimeout(() => void work(), ms);
  }

  private dropSession(): void {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    session.keepAlive?.close();
    if (session.watch) {
      const watch = session.watch;
      session.watch = undefined;
      watch.removeAllListeners('error');
      watch.on('error', () => undefined);
      watch.cancel();
    }
    session.conn.close();
  }

  /** The registrations from a list (replacing what was known). */
  private replaceMembers(kvs: KeyValue[], revision: string, publish = true): void {
    const keys = new Set<string>();
    this.members.clear();
    for (const kv of kvs) {
      const key = utf8(kv.key);
      keys.add(key);
      this.accept(key, utf8(kv.value));
    }
    for (const key of this.said.keys()) if (key.startsWith('key:') && !keys.has(key.slice(4))) this.said.delete(key);
    this.bumpRevision(revision);
    if (publish) this.publish();
    else this.current = { peers: this.peers(), members: this.memberList(), health: this.current.health };
  }

  private applyEvents(events: WatchResponse['events'], revision: string, receivedAt: number): void {
    for (const event of events) {
      const key = utf8(event.kv.key);
      if (event.type === 'DELETE') {
        this.members.delete(key);
        this.said.delete(`key:${key}`);
      } else this.accept(key, utf8(event.kv.value));
    }
    this.bumpRevision(revision);
    this.publish(false, receivedAt);
  }

  /** A registration is a member; anything else under the prefix is ignored, said once per key and problem. */
  private accept(key: string, value: string): void {
    const parsed = parseRegistration(key, value, this.context);
    if ('problem' in parsed) {
      this.members.delete(key);
      this.sayOnce(`key:${key}`, parsed.problem, `ignoring etcd key ${key}: it ${parsed.problem}`);
      return;
    }
    this.said.delete(`key:${key}`);
    this.members.set(key, parsed.registration);
  }

  private bumpRevision(revision: string): void {
    const value = BigInt(revision || '0');
    if (value > this.revision) this.revision = value;
  }

  private peers(): string[] {
    return [...this.members.values()]
      .map((r) => r.address)
      .filter((address) => address !== this.local)
      .sort();
  }

  /** The other members, in peers()' order, with their subnets (a routed network's). */
  private memberList(): MembershipMember[] {
    return [...this.members.values()]
      .filter((r) => r.address !== this.local)
      .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))
      .map((r) => ({ address: r.address, ...(r.subnet !== undefined ? { subnet: r.subnet } : {}) }));
  }

  private setHealth(health: MembershipHealth): void {
    this.current = { ...this.current, health };
    this.publish(true);
  }

  /** Tells the listeners of a changed view; `changedAt`: when what changed it arrived (a watch response). */
  private publish(force = false, changedAt?: number): void {
    const members = this.memberList();
    // A routed member that registers another subnet under the same address is a change too.
    const same = sameMembers(members, this.current.members ?? []);
    if (same && !force) return;
    this.current = {
      peers: members.map((m) => m.address),
      members,
      health: this.current.health,
      ...(changedAt !== undefined ? { changedAt } : {}),
    };
    for (const listener of this.listeners) listener();
  }

  private notice(message: string): void {
    for (const listener of this.noticeListeners) listener(message);
  }

  private sayOnce(topic: string, what: string, message: string): void {
    if (this.said.get(topic) === what) return;
    this.said.set(topic, what);
    this.notice(message);
  }
}
