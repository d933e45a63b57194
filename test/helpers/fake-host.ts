/**
 * A stateful fake kernel: one host's links, addresses, FDB, neighbours and
 * nf_tables ruleset, behind transports that speak netlink bytes. The real
 * clients run over it unchanged, without privileges:
 *
 *   const host = new FakeHost({ links: [LOOPBACK, ethernet('eth0', { addresses: ['192.168.100.1/24'] })] });
 *   const rt = host.rtnetlink();      // Rtnetlink.over(Connection.over(transport))
 *   const nft = host.nftables();      // Nftables.over(Connection.over(transport))
 *   host.failWrite({ errno: 'EEXIST', nth: 2 });
 *   host.failRead({ errno: 'EPERM', when: (r) => r.protocol === 'nftables', times: Infinity });
 *   const before = host.snapshot();   ... host.counts() ...
 *
 * Requests are decoded, and replies built, with the project's own schemas
 * (fake-rtnl.ts, fake-nft.ts); acks, dumps and batches are framed as the
 * recorded fixtures show the kernel framing them (fake-wire.ts).
 *
 * Not modelled: routes (dumps are empty, writes EOPNOTSUPP), other network
 * namespaces (a device created or moved elsewhere leaves this host), kinds
 * other than vxlan/bridge/veth (EOPNOTSUPP, like this machine's missing
 * drivers), events/multicast groups, packet counters, netlink extended acks.
 */
import type { Decoded } from '../../src/netlink/codec.js';
import {
  NETLINK_NETFILTER,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLMSG_DONE,
  NLMSG_NOOP,
} from '../../src/netlink/constants.js';
import { Connection } from '../../src/netlink/connection.js';
import { decodeMessage, parseMessages, type RawMessage } from '../../src/netlink/message.js';
import type { Transport, TransportHandlers } from '../../src/netlink/transport.js';
import { expressionsFromWire } from '../../src/nftables/expr/index.js';
import { Nftables } from '../../src/nftables/client.js';
import { NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END } from '../../src/nftables/constants.js';
import { familyName, nftablesTypeName } from '../../src/nftables/nfgenmsg.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import * as RT from '../../src/rtnetlink/constants.js';
import { addressSchema } from '../../src/rtnetlink/schema/address.js';
import { linkSchema } from '../../src/rtnetlink/schema/link.js';
import { neighbourSchema } from '../../src/rtnetlink/schema/neighbour.js';
import {
  decodeNftWrite,
  handleNftBatch,
  handleNftRead,
  initialNftState,
  isNftWrite,
  type NftState,
} from './fake-nft.js';
import { handleRtnl, type InitialLink, initialRtnlState, linkByIndex, type RtnlState } from './fake-rtnl.js';
import { ack, done, errnoNumber, KernelError } from './fake-wire.js';

export type { InitialLink } from './fake-rtnl.js';

export const LOOPBACK: InitialLink = {
  ifname: 'lo',
  type: 'loopback',
  mtu: 65536,
  addresses: ['127.0.0.1/8', '::1/128'],
};

/** An ethernet device of the host (the underlay). */
export function ethernet(ifname: string, options: Omit<InitialLink, 'ifname'> = {}): InitialLink {
  return { ifname, type: 'ether', mtu: 1500, ...options };
}

export interface FakeHostOptions {
  /** Default: lo, and eth0 (mtu 1500, 192.168.100.1/24). */
  links?: InitialLink[];
  /** The nf_tables generation to start at (default 1). */
  generation?: number;
}

/** One write, as failure-injection predicates see it. */
export interface WriteInfo {
  protocol: 'rtnetlink' | 'nftables';
  /** RTM_NEWLINK, NFT_MSG_NEWRULE, ... */
  type: string;
  flags: number;
  /** The request decoded with the project's schema for it. */
  message: Decoded;
  /** 1-based count of writes this host has seen (failed ones included). */
  index: number;
}

/** One read (a GET request or a dump), as failure-injection predicates see it. */
export interface ReadInfo {
  protocol: 'rtnetlink' | 'nftables';
  /** RTM_GETLINK, NFT_MSG_GETTABLE, ... */
  type: string;
  flags: number;
}

export interface FaultSpec<Info = WriteInfo> {
  /** The errno to answer with: a number or its name ('EEXIST'). */
  errno: number | string;
  /** Fail the nth request (1-based, counted from now) among those that `when` accepts. Default 1. */
  nth?: number;
  when?: (request: Info) => boolean;
  /** How many requests fail once it fires (default 1; Infinity: every one after). */
  times?: number;
}

export interface Fault {
  /** How many writes it has failed so far. */
  readonly hits: number;
  cancel(): void;
}

interface ActiveFault<Info = WriteInfo> {
  spec: FaultSpec<Info>;
  errno: number;
  seen: number;
  hits: number;
  done: boolean;
}

/** The whole state as plain data, names instead of indexes where the kernel would show names. */
export interface HostSnapshot {
  links: {
    ifindex: number;
    ifname: string;
    kind?: string;
    mtu: number;
    up: boolean;
    address: string;
    master?: string;
    peer?: string;
    ifalias?: string;
    data?: Decoded;
    port?: Decoded;
  }[];
  addresses: { dev: string; address: string; scope: number; flags: number; label?: string }[];
  fdb: {
    dev: string;
    mac: string;
    dst?: string;
    port?: number;
    vni?: number;
    master?: string;
    state: number;
    flags: number;
  }[];
  neighbours: { dev: string; dst: string; lladdr?: string; state: number; flags: number }[];
  nftables: {
    generation: number;
    tables: {
      family: string | number;
      name: string;
      handle: bigint;
      flags: number;
      userdata?: string;
      chains: {
        name: string;
        handle: bigint;
        type?: string;
        hook?: number;
        priority?: number;
        policy?: number;
        rules: { handle: bigint; expressions: unknown[]; userdata?: string }[];
      }[];
      sets: { name: string; handle: bigint; keyType: number; keyLen: number; flags: number; elements: string[] }[];
    }[];
  };
}

const RT_NAMES = new Map<number, string>(
  Object.entries(RT)
    .filter(([k, v]) => k.startsWith('RTM_') && typeof v === 'number')
    .map(([k, v]) => [v as number, k]),
);
const RT_WRITES = new Set([
  RT.RTM_NEWLINK,
  RT.RTM_DELLINK,
  RT.RTM_NEWADDR,
  RT.RTM_DELADDR,
  RT.RTM_NEWNEIGH,
  RT.RTM_DELNEIGH,
  RT.RTM_NEWROUTE,
  RT.RTM_DELROUTE,
]);

function typeName(protocol: number, type: number): string {
  if (type === NLMSG_NOOP) return 'NLMSG_NOOP';
  if (type === NLMSG_DONE) return 'NLMSG_DONE';
  if (protocol === NETLINK_ROUTE) return RT_NAMES.get(type) ?? `RTM_${type}`;
  return nftablesTypeName(type) ?? `NFNL_${type}`;
}

function rtSchema(type: number) {
  if (type === RT.RTM_NEWLINK || type === RT.RTM_DELLINK) return linkSchema;
  if (type === RT.RTM_NEWADDR || type === RT.RTM_DELADDR) return addressSchema;
  if (type === RT.RTM_NEWNEIGH || type === RT.RTM_DELNEIGH) return neighbourSchema;
  return undefined;
}

/** A netlink socket of the fake host. Replies arrive asynchronously, one datagram per answered message group. */
export class FakeSocket implements Transport {
  private handlers?: TransportHandlers;
  private closed = false;
  private nextFd = 100;

  constructor(
    private readonly host: FakeHost,
    readonly protocol: number,
    readonly port: number,
  ) {}

  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
  }

  async send(messages: Buffer[]): Promise<void> {
    if (this.closed) throw new Error('fake socket: closed');
    const replies = this.host.receive(this, Buffer.concat(messages));
    if (replies.length)
      setImmediate(() => {
        if (!this.closed) for (const datagram of replies) this.handlers?.datagram(datagram);
      });
  }

  addMembership(): void {}
  dropMembership(): void {}
  ref(): void {}
  unref(): void {}
  async openFd(): Promise<number> {
    return this.nextFd++;
  }
  async closeFd(): Promise<void> {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.closed(this);
  }
}

export class FakeHost {
  private rtnl: RtnlState;
  private nft: NftState = initialNftState();
  private readonly faults: ActiveFault[] = [];
  private readonly readFaults: ActiveFault<ReadInfo>[] = [];
  private readonly counted = new Map<string, number>();
  private writeCount = 0;
  private sendCount = 0;
  private nextPort = 0x4000;
  /** Every datagram sent to the host, by socket protocol, in order (for byte-level assertions). */
  readonly datagrams: { protocol: number; bytes: Buffer }[] = [];

  constructor(options: FakeHostOptions = {}) {
    this.rtnl = initialRtnlState(options.links ?? [LOOPBACK, ethernet('eth0', { addresses: ['192.168.100.1/24'] })]);
    if (options.generation !== undefined) this.nft.generation = options.generation;
  }

  /** A new NETLINK_ROUTE socket. */
  rtnetlinkSocket(): FakeSocket {
    return new FakeSocket(this, NETLINK_ROUTE, this.nextPort++);
  }

  nftablesSocket(): FakeSocket {
    return new FakeSocket(this, NETLINK_NETFILTER, this.nextPort++);
  }

  /** The real rtnetlink client over a new socket of this host. */
  rtnetlink(): Rtnetlink {
    return Rtnetlink.over(Connection.over(this.rtnetlinkSocket()), 'fake');
  }

  /** The real nf_tables client over a new socket of this host (close() closes it; the client itself does not own it). */
  nftables(): Nftables {
    return Nftables.over(Connection.over(this.nftablesSocket()));
  }

  // ------------------------------------------------------------ failure injection

  /** Makes a write fail with an errno (once, by default): the nth from now, or the nth that `when` accepts. */
  failWrite(spec: FaultSpec): Fault {
    return addFault(this.faults, spec);
  }

  /**
   * Makes a read (a GET request or a dump) fail with an errno, answered as
   * the kernel answers a refused request: an error instead of any reply.
   * What nf_tables does for a process without CAP_NET_ADMIN is
   * `failRead({ errno: 'EPERM', when: (r) => r.protocol === 'nftables', times: Infinity })`.
   */
  failRead(spec: FaultSpec<ReadInfo>): Fault {
    return addFault(this.readFaults, spec);
  }

  private injected(write: Omit<WriteInfo, 'index'>): number | undefined {
    return fire(this.faults, { ...write, index: ++this.writeCount });
  }

  private injectedRead(read: ReadInfo): number | undefined {
    return fire(this.readFaults, read);
  }

  // ------------------------------------------------------------ counters

  /** Messages received, by type name (RTM_GETLINK, NFT_MSG_NEWRULE, NFNL_MSG_BATCH_BEGIN, NLMSG_NOOP, ...). */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.counted].sort(([a], [b]) => a.localeCompare(b)));
  }

  count(type: string): number {
    return this.counted.get(type) ?? 0;
  }

  /** Writes received (link/address/neighbour changes; nf_tables changes inside batches), refused ones included. */
  get writes(): number {
    return this.writeCount;
  }

  /** sendmsg calls (datagrams) received: round trips. */
  get sends(): number {
    return this.sendCount;
  }

  resetCounts(): void {
    this.counted.clear();
    this.sendCount = 0;
  }

  // ------------------------------------------------------------ the kernel side

  /** Handles one datagram from `socket`; returns the reply datagrams. */
  receive(socket: FakeSocket, datagram: Buffer): Buffer[] {
    this.sendCount++;
    this.datagrams.push({ protocol: socket.protocol, bytes: Buffer.from(datagram) });
    const messages = parseMessages(Buffer.from(datagram));
    for (const m of messages) {
      const name = typeName(socket.protocol, m.type);
      this.counted.set(name, (this.counted.get(name) ?? 0) + 1);
    }
    return socket.protocol === NETLINK_ROUTE
      ? this.receiveRoute(socket, messages)
      : this.receiveNetfilter(socket, messages);
  }

  private control(m: RawMessage, port: number): Buffer[] {
    return m.flags & NLM_F_ACK ? [ack(m, port)] : [];
  }

  private receiveRoute(socket: FakeSocket, messages: RawMessage[]): Buffer[] {
    const out: Buffer[] = [];
    for (const m of messages) {
      if (m.type < 0x10) {
        out.push(...this.control(m, socket.port));
        continue;
      }
      const dump = (m.flags & NLM_F_DUMP) === NLM_F_DUMP;
      try {
        if (RT_WRITES.has(m.type)) {
          const schema = rtSchema(m.type);
          const errno = this.injected({
            protocol: 'rtnetlink',
            type: typeName(NETLINK_ROUTE, m.type),
            flags: m.flags,
            message: schema ? decodeMessage(schema, m) : {},
          });
          if (errno) throw new KernelError(errno, 'injected failure');
        } else {
          const errno = this.injectedRead({
            protocol: 'rtnetlink',
            type: typeName(NETLINK_ROUTE, m.type),
            flags: m.flags,
          });
          if (errno) throw new KernelError(errno, 'injected failure');
        }
        // Work on a copy: a request refused halfway changes nothing.
        const draft = structuredClone(this.rtnl);
        const replies = handleRtnl(draft, m, socket.port);
        this.rtnl = draft;
        if (dump) out.push(Buffer.concat([...replies, done(m, socket.port)]));
        else out.push(Buffer.concat([...replies, ...this.control(m, socket.port)]));
      } catch (error) {
        if (!(error instanceof KernelError)) throw error;
        out.push(ack(m, socket.port, error.errno));
      }
    }
    return out.filter((b) => b.length > 0);
  }

  private receiveNetfilter(socket: FakeSocket, messages: RawMessage[]): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.type === NFNL_MSG_BATCH_BEGIN) {
        let j = i + 1;
        while (j < messages.length && messages[j]!.type !== NFNL_MSG_BATCH_END) j++;
        const batch = messages.slice(i, Math.min(j + 1, messages.length));
        i = j;
        const result = handleNftBatch(this.nft, batch, socket.port, (message, decoded, type) =>
          this.injected({ protocol: 'nftables', type, flags: message.flags, message: decoded }),
        );
        this.nft = result.state;
        if (result.replies.length) out.push(Buffer.concat(result.replies));
        continue;
      }
      if (m.type < 0x10) {
        out.push(...this.control(m, socket.port));
        continue;
      }
      if (isNftWrite(m.type)) {
        decodeNftWrite(m);
        out.push(ack(m, socket.port, 95));
        continue;
      }
      const dump = (m.flags & NLM_F_DUMP) === NLM_F_DUMP;
      try {
        const errno = this.injectedRead({
          protocol: 'nftables',
          type: typeName(NETLINK_NETFILTER, m.type),
          flags: m.flags,
        });
        if (errno) throw new KernelError(errno, 'injected failure');
        const replies = handleNftRead(this.nft, m, socket.port);
        out.push(
          Buffer.concat(dump ? [...replies, done(m, socket.port)] : [...replies, ...this.control(m, socket.port)]),
        );
      } catch (error) {
        if (!(error instanceof KernelError)) throw error;
        out.push(ack(m, socket.port, error.errno));
      }
    }
    return out;
  }

  /** A socket closed: owned tables without `persist` go with it, as the kernel does. */
  closed(socket: FakeSocket): void {
    if (socket.protocol !== NETLINK_NETFILTER) return;
    const kept = this.nft.tables.filter((t) => t.owner !== socket.port || (t.flags & 0x4) !== 0);
    if (kept.length !== this.nft.tables.length) {
      this.nft = { ...this.nft, tables: kept, generation: this.nft.generation + 1 };
    }
  }

  // ------------------------------------------------------------ snapshot

  /** The whole state as plain data (a deep copy): compare before and after. */
  snapshot(): HostSnapshot {
    const s = this.rtnl;
    const name = (ifindex: number | undefined) =>
      ifindex === undefined ? undefined : (linkByIndex(s, ifindex)?.ifname ?? `#${ifindex}`);
    const prefixOf = (a: RtnlState['addresses'][number]) => `${a.local}/${a.prefixlen}`;
    const clean = <T extends object>(o: T): T =>
      Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
    const hex = (u?: Uint8Array) => (u ? Buffer.from(u).toString('hex') : undefined);
    return structuredClone({
      links: s.links.map((l) =>
        clean({
          ifindex: l.ifindex,
          ifname: l.ifname,
          kind: l.kind,
          mtu: l.mtu,
          up: (l.flags & RT.IFF_UP) !== 0,
          address: l.address,
          master: name(l.master),
          peer: l.kind === 'veth' ? name(l.link) : undefined,
          ifalias: l.ifalias,
          data: l.data,
          port: l.port,
        }),
      ),
      addresses: s.addresses.map((a) =>
        clean({ dev: name(a.ifindex)!, address: prefixOf(a), scope: a.scope, flags: a.flags, label: a.label }),
      ),
      fdb: s.fdb.map((e) =>
        clean({
          dev: name(e.ifindex)!,
          mac: e.lladdr,
          dst: e.dst,
          port: e.port,
          vni: e.vni,
          master: name(e.master),
          state: e.state,
          flags: e.flags,
        }),
      ),
      neighbours: s.neighbours.map((n) =>
        clean({ dev: name(n.ifindex)!, dst: n.dst, lladdr: n.lladdr, state: n.state, flags: n.flags }),
      ),
      nftables: {
        generation: this.nft.generation,
        tables: this.nft.tables.map((t) =>
          clean({
            family: familyName(t.family),
            name: t.name,
            handle: t.handle,
            flags: t.flags,
            userdata: hex(t.userdata),
            chains: t.chains.map((c) =>
              clean({
                name: c.name,
                handle: c.handle,
                type: c.type,
                hook: c.hook?.hooknum as number | undefined,
                priority: c.hook ? (c.hook.priority as number) | 0 : undefined,
                policy: c.policy,
                rules: c.rules.map((r) =>
                  clean({
                    handle: r.handle,
                    expressions: expressionsFromWire(r.expressions),
                    userdata: hex(r.userdata),
                  }),
                ),
              }),
            ),
            sets: t.sets.map((x) => ({
              name: x.name,
              handle: x.handle,
              keyType: x.keyType,
              keyLen: x.keyLen,
              flags: x.flags,
              elements: x.elements.map(
                (e) => hex((e.key as Decoded | undefined)?.value as Uint8Array | undefined) ?? '',
              ),
            })),
          }),
        ),
      },
    });
  }
}

function addFault<Info>(faults: ActiveFault<Info>[], spec: FaultSpec<Info>): Fault {
  const fault: ActiveFault<Info> = { spec, errno: errnoNumber(spec.errno), seen: 0, hits: 0, done: false };
  faults.push(fault);
  return {
    get hits() {
      return fault.hits;
    },
    cancel: () => void (fault.done = true),
  };
}

/** The errno the first matching fault answers `request` with (every matching fault counts it). */
function fire<Info>(faults: ActiveFault<Info>[], request: Info): number | undefined {
  let errno: number | undefined;
  for (const fault of faults) {
    if (fault.done || (fault.spec.when && !fault.spec.when(request))) continue;
    fault.seen++;
    if (fault.seen < (fault.spec.nth ?? 1)) continue;
    fault.hits++;
    if (fault.hits >= (fault.spec.times ?? 1)) fault.done = true;
    errno ??= fault.errno;
  }
  return errno;
}
