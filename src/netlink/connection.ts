/**
 * A netlink connection: requests matched to replies by sequence number,
 * dumps streamed one at a time, batches of writes with a bounded in-flight
 * window, timeouts and AbortSignals, and a clean close.
 *
 * Flow control is the point of this file. node-netlink aborts the process
 * when the kernel reports ENOBUFS on a socket without an error listener, and
 * replies that overflow the receive buffer are lost either way. So the
 * number of messages awaiting an answer is bounded (`window`), the receive
 * buffer is sized, and an overrun fails the affected requests with a typed
 * error instead of leaving them hanging.
 */
import {
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_MIN_TYPE,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
} from './constants.js';
import {
  AbortError,
  ClosedError,
  DecodeError,
  DumpInterruptedError,
  NetlinkError,
  OverrunError,
  TimeoutError,
} from './errors.js';
import {
  type Ack,
  doneErrno,
  encodeRaw,
  forEachMessage,
  messageFlags,
  parseAck,
  type RawMessage,
  setMessageFlags,
  stamp,
} from './message.js';
import { RelayTransport } from './relay.js';
import { NativeTransport, type NativeTransportOptions, type Transport } from './transport.js';

export interface ConnectionOptions extends NativeTransportOptions {
  /** Netlink protocol (NETLINK_ROUTE, NETLINK_NETFILTER). */
  protocol: number;
  /** Run the socket inside this network namespace (/run/netns/NAME), through a relay process. */
  namespace?: string;
  /** Use this transport instead of opening one (record/replay in tests). */
  transport?: Transport;
  /**
   * Messages that may await an answer at once. Default: what the socket's
   * receive buffer can hold if every one of them were answered at once
   * (WINDOW_BYTES_PER_MESSAGE each), from 128 to 1024; 128 when the
   * transport cannot tell its buffer size.
   */
  window?: number;
  /** Default timeout per request, in ms. Default 30 s. */
  timeoutMs?: number;
}

/** Describes a request for error messages. */
export interface RequestContext {
  /** "create link", "dump routes". */
  operation: string;
  /** "vx0 (vxlan id 42)". */
  object?: string;
  /** Family knowledge: a sentence naming the likely cause of this errno, if it has one. */
  explain?: (errno: number, ack: Ack) => string | undefined;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface DumpOptions<T> extends RequestOptions {
  /** Turns each message into a value; by default the raw message is yielded. */
  decode?: (message: RawMessage) => T;
  /** On NLM_F_DUMP_INTR, start over up to this many times (collecting form only). Default 0: throw. */
  retries?: number;
}

export interface BatchOptions extends RequestOptions {
  /**
   * 'errors' (default): messages ask for no ack; the kernel still reports
   * every failure, and a barrier after each chunk tells when it is done.
   * 'each': every message asks for its own ack.
   */
  acks?: 'errors' | 'each';
  /**
   * Messages per sendmsg. Default a quarter of the window, at least 64, so
   * that several chunks are in flight; always less than the window and than
   * UIO_MAXIOV (each message is one iovec, the barrier one more).
   */
  chunk?: number;
}

export interface BatchFailure {
  /** Index of the failed message in the batch. */
  index: number;
  error: NetlinkError;
}

export interface BatchResult {
  /** How many messages succeeded. */
  succeeded: number;
  failed: BatchFailure[];
}

/** What came back for one message of `sendGroup`. */
export interface GroupReply {
  /**
   * The kernel's answer: 0 acknowledged, a positive errno refused, undefined
   * no answer (the message asked for no ack, or the kernel stopped before it).
   */
  errno?: number;
  /** The refusal as a NetlinkError carrying the message's index and context. */
  error?: NetlinkError;
  /** Other messages that carried this message's sequence number (NLM_F_ECHO copies, answers to a GET). */
  replies: RawMessage[];
}

interface Pending {
  seq: number;
  context: RequestContext;
  request: Buffer;
  /** Messages that occupy window slots until this entry settles. */
  slots: number;
  onMessage(message: RawMessage): void;
  fail(error: Error): void;
  timer?: ReturnType<typeof setTimeout>;
  abort?: () => void;
  signal?: AbortSignal;
}

/**
 * The messages of one exchange that carry a barrier: numbered first to
 * first + count - 1 (never wrapping), and answered only when one fails (or,
 * in a group, echoes). One entry for the lot instead of one per message:
 * a batch of a thousand writes registers two entries, not a thousand and one.
 */
interface PendingRange {
  first: number;
  count: number;
  /** The first message's (names the exchange when the connection closes under it). */
  context: RequestContext;
  onMessage(message: RawMessage): void;
  fail(error: Error): void;
}

/** What the batch engine (Connection.exchange) is asked to do. */
interface Exchange {
  /** Encoded messages, sent in one datagram; stamped by the engine. */
  messages: Buffer[];
  /** nlmsg_flags set on (and cleared from) every message. */
  flags: { set: number; clear?: number };
  /**
   * 'same-datagram': the barrier ends the messages' datagram (batch, acks 'errors').
   * 'next-datagram': the barrier follows in a datagram of its own, after the kernel has handled
   * the messages' one as a unit (nfnetlink batches).
   * 'none': every message asks for its ack (batch, acks 'each'); there is at least one message.
   */
  barrier: 'same-datagram' | 'next-datagram' | 'none';
  /** The context of message `k` (its operation names timeouts and errors). */
  contextAt(k: number): RequestContext;
  /** Window slots the caller acquired for this exchange; freed when it settles. */
  slots: number;
  options: RequestOptions;
  /** Message `k`'s first NLMSG_ERROR: errno 0 an ack, else a refusal. */
  answered(k: number, ack: Ack, context: RequestContext): void;
  /** Any other message carrying message `k`'s sequence number. */
  replied?(k: number, reply: RawMessage): void;
}

const DEFAULT_WINDOW = 128;
const MAX_DEFAULT_WINDOW = 1024;
/**
 * Receive-buffer bytes budgeted per message in flight. The kernel charges an
 * answer's skb truesize to the buffer: about 1 KiB for the NLMSG_ERROR that
 * echoes a small failed request, a few KiB for a GET's reply. 8 KiB each keeps
 * a whole window of answers well inside the buffer (no ENOBUFS).
 */
export const WINDOW_BYTES_PER_MESSAGE = 8 * 1024;
/** UIO_MAXIOV: sendmsg takes at most this many iovecs (one per message here). */
const MAX_IOVECS = 1024;
const DEFAULT_TIMEOUT = 30_000;
/** Bytes per sendmsg before the outbox is flushed early (well under the socket's send buffer). */
const MAX_DATAGRAM = 64 * 1024;

/**
 * The default window for a socket whose receive buffer holds `receiveBufferSize` bytes
 * (see WINDOW_BYTES_PER_MESSAGE).
 */
export function defaultWindow(receiveBufferSize: number | undefined): number {
  if (!receiveBufferSize) return DEFAULT_WINDOW;
  return Math.min(
    MAX_DEFAULT_WINDOW,
    Math.max(DEFAULT_WINDOW, Math.floor(receiveBufferSize / WINDOW_BYTES_PER_MESSAGE)),
  );
}

export class Connection implements AsyncDisposable {
  readonly transport: Transport;
  readonly window: number;
  private readonly timeoutMs: number;
  private seq: number;
  private readonly pending = new Map<number, Pending>();
  /** Exchanges' messages answered only on failure (see PendingRange); a few at a time (the window). */
  private readonly ranges = new Set<PendingRange>();
  private inFlight = 0;
  private readonly waiters: (() => void)[] = [];
  private dumpLock: Promise<void> = Promise.resolve();
  private closed = false;
  private referenced = false;
  private outbox: Buffer[] = [];
  private outboxFailures: ((error: Error) => void)[] = [];
  private outboxBytes = 0;
  private flushQueued = false;
  /**
   * What went over this connection: tests assert "zero writes" with these,
   * and they are cheap enough to keep always.
   */
  readonly stats = { messagesSent: 0, datagramsSent: 0, datagramsReceived: 0 };
  /** Replies that matched no pending request (late answers after a timeout, strays). */
  unmatched = 0;

  private constructor(transport: Transport, options: Partial<ConnectionOptions>) {
    this.transport = transport;
    this.window = Math.max(1, options.window ?? defaultWindow(transport.receiveBufferSize));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT;
    // A random start, so replies meant for an earlier socket with the same port cannot match.
    // (Math.random is enough for that, and spares loading node:crypto at start-up.)
    this.seq = 1 + Math.floor(Math.random() * 0x7ffffffe);
    transport.attach({
      datagram: (datagram) => this.receive(datagram),
      error: (error, fatal) => this.transportFailed(error, fatal),
    });
  }

  /** Opens a connection: a socket in this process, or in a named namespace through a relay. */
  static async open(options: ConnectionOptions): Promise<Connection> {
    let transport = options.transport;
    if (!transport) {
      transport = options.namespace
        ? await RelayTransport.open(options.protocol, {
            namespace: options.namespace,
            readSize: options.readSize,
            receiveBufferSize: options.receiveBufferSize,
          })
        : new NativeTransport(options.protocol, options);
    }
    return new Connection(transport, options);
  }

  /** Wraps an existing transport (used by tests and the fixture tools). */
  static over(transport: Transport, options: Partial<ConnectionOptions> = {}): Connection {
    return new Connection(transport, options);
  }

  get port(): number {
    return this.transport.port;
  }

  private nextSeq(): number {
    this.seq = this.seq >= 0xffffffff ? 1 : this.seq + 1;
    return this.seq;
  }

  /** `count` numbers in a row that do not wrap past 2^32 - 1 (skipping to 1 if they would); returns the first. */
  private nextSeqs(count: number): number {
    if (this.seq + count > 0xffffffff) this.seq = 0;
    const first = this.seq + 1;
    this.seq += count;
    return first;
  }

  /**
   * Sets flags on an encoded request (and clears others), stamps a new sequence number and our port;
   * returns the number.
   */
  private stampRequest(message: Buffer, set: number, clear = 0): number {
    const seq = this.nextSeq();
    this.stampAs(message, seq, set, clear);
    return seq;
  }

  private stampAs(message: Buffer, seq: number, set: number, clear = 0): void {
    setMessageFlags(message, (messageFlags(message) | set) & ~clear);
    stamp(message, seq, this.transport.port);
  }

  // ------------------------------------------------------------ window

  private async acquire(slots: number, signal?: AbortSignal, operation = 'request'): Promise<void> {
    while (this.inFlight + slots > this.window && this.inFlight > 0) {
      if (this.closed) throw new ClosedError(operation);
      if (signal?.aborted) throw new AbortError(operation, signal.reason);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closed) throw new ClosedError(operation);
    if (signal?.aborted) throw new AbortError(operation, signal.reason);
    this.inFlight += slots;
    this.updateRef();
    // The caller resumes a microtask later: a close() in between must win.
    await Promise.resolve();
    if (this.closed) {
      this.release(slots);
      throw new ClosedError(operation);
    }
  }

  private release(slots: number): void {
    this.inFlight -= slots;
    // Wake everyone: each re-checks the window (cheap, and avoids lost wake-ups).
    const waiters = this.waiters.splice(0);
    for (const wake of waiters) wake();
    this.updateRef();
  }

  /** Holds the event loop only while answers are awaited. */
  private updateRef(): void {
    const busy = this.pending.size > 0 || this.ranges.size > 0 || this.inFlight > 0;
    if (busy && !this.referenced) {
      this.transport.ref();
      this.referenced = true;
    } else if (!busy && this.referenced) {
      this.transport.unref();
      this.referenced = false;
    }
  }

  // ------------------------------------------------------------ receive

  private receive(datagram: Buffer): void {
    this.stats.datagramsReceived++;
    try {
      forEachMessage(datagram, (message) => {
        if (message.pid !== this.transport.port && message.pid !== 0) {
          this.unmatched++;
          return;
        }
        const pending = this.pending.get(message.seq) ?? this.rangeOf(message.seq);
        if (pending === undefined) {
          this.unmatched++;
          return;
        }
        pending.onMessage(message);
      });
    } catch (error) {
      // A malformed datagram: whoever was waiting on this socket must hear of it.
      if (error instanceof DecodeError) for (const pending of this.everyPending()) pending.fail(error);
      else throw error;
    }
  }

  private rangeOf(seq: number): PendingRange | undefined {
    for (const range of this.ranges) if (seq >= range.first && seq < range.first + range.count) return range;
    return undefined;
  }

  /** A copy of every entry awaiting an answer (failing one may settle others). */
  private everyPending(): (Pending | PendingRange)[] {
    return [...this.pending.values(), ...this.ranges];
  }

  private transportFailed(error: Error, fatal: boolean): void {
    // Lost replies cannot be told apart: every request awaiting one is now in doubt.
    for (const pending of this.everyPending()) pending.fail(error);
    if (fatal) this.shutdown(error.message);
  }

  // ------------------------------------------------------------ pending entries

  private register(entry: Omit<Pending, 'timer' | 'abort'>, options: RequestOptions): Pending {
    const pending = entry as Pending;
    this.pending.set(pending.seq, pending);
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
      pending.timer = setTimeout(() => pending.fail(new TimeoutError(pending.context.operation, timeoutMs)), timeoutMs);
    }
    const signal = options.signal;
    if (signal) {
      pending.signal = signal;
      pending.abort = () => pending.fail(new AbortError(pending.context.operation, signal.reason));
      signal.addEventListener('abort', pending.abort, { once: true });
    }
    this.updateRef();
    return pending;
  }

  /** Forgets an entry; false if it was already gone. */
  private unregister(pending: Pending): boolean {
    if (this.pending.get(pending.seq) !== pending) return false;
    this.pending.delete(pending.seq);
    if (pending.timer) clearTimeout(pending.timer);
    // register sets `abort` and `signal` together.
    if (pending.abort) pending.signal?.removeEventListener('abort', pending.abort);
    if (this.pending.size === 0) this.updateRef();
    return true;
  }

  /** Forgets an entry and frees its window slots. */
  private settle(pending: Pending): void {
    if (this.unregister(pending)) this.release(pending.slots);
  }

  /** Turns an NLMSG_ERROR into a NetlinkError with words a person can act on. */
  errorFor(ack: Ack, context: RequestContext, index?: number): NetlinkError {
    return new NetlinkError({
      errno: ack.errno,
      operation: context.operation,
      object: context.object,
      cause: context.explain?.(ack.errno, ack),
      kernelMessage: ack.message,
      index,
    });
  }

  // ------------------------------------------------------------ requests

  /**
   * Sends one request and resolves with the messages that answered it once
   * the kernel acknowledged it (NLM_F_ACK is always set). A negative errno
   * rejects with a NetlinkError.
   */
  async request(message: Buffer, context: RequestContext, options: RequestOptions = {}): Promise<RawMessage[]> {
    this.assertOpen(context.operation);
    await this.acquire(1, options.signal, context.operation);
    const seq = this.stampRequest(message, NLM_F_REQUEST | NLM_F_ACK);
    return new Promise<RawMessage[]>((resolve, reject) => {
      const replies: RawMessage[] = [];
      const pending = this.register(
        {
          seq,
          context,
          request: message,
          slots: 1,
          onMessage: (reply) => {
            if (reply.type === NLMSG_ERROR) {
              const ack = parseAck(reply);
              this.settle(pending);
              if (ack.errno === 0) resolve(replies);
              else reject(this.errorFor(ack, context));
            } else if (reply.type === NLMSG_OVERRUN) {
              this.settle(pending);
              reject(new OverrunError(context.operation, 'the kernel reported NLMSG_OVERRUN'));
            } else if (reply.type !== NLMSG_NOOP) {
              replies.push(reply);
            }
          },
          fail: (error) => {
            this.settle(pending);
            reject(error);
          },
        },
        options,
      );
      this.enqueue(message, (error) => pending.fail(error));
    });
  }

  /**
   * Streams a dump. Only one dump runs per socket at a time (the kernel
   * answers a second one with EBUSY); others wait their turn. A dump is always
   * read to NLMSG_DONE, even when the caller stops early.
   */
  async *dump<T = RawMessage>(
    message: Buffer,
    context: RequestContext,
    options: DumpOptions<T> = {},
  ): AsyncGenerator<T[], void, undefined> {
    this.assertOpen(context.operation);
    let unlock!: () => void;
    const previous = this.dumpLock;
    this.dumpLock = new Promise<void>((resolve) => (unlock = resolve));
    await previous;
    try {
      yield* this.runDump(message, context, options);
    } finally {
      unlock();
    }
  }

  private async *runDump<T>(
    message: Buffer,
    context: RequestContext,
    options: DumpOptions<T>,
  ): AsyncGenerator<T[], void, undefined> {
    await this.acquire(1, options.signal, context.operation);
    const seq = this.stampRequest(message, NLM_F_REQUEST | NLM_F_DUMP);
    const dump = new DumpState<T>(options.decode ?? ((m: RawMessage) => m as unknown as T));
    const pending = this.register(
      {
        seq,
        context,
        request: message,
        slots: 1,
        onMessage: (m) => {
          if (m.flags & NLM_F_DUMP_INTR) dump.interrupted = true;
          if (m.type === NLMSG_DONE) {
            this.settle(pending);
            const errno = doneErrno(m);
            if (errno) dump.end(this.errorFor({ errno, request: { type: 0, flags: 0, seq, pid: 0 } }, context));
            else dump.end(dump.interrupted ? new DumpInterruptedError(context.operation, 1) : undefined);
          } else if (m.type === NLMSG_ERROR) {
            const ack = parseAck(m);
            if (ack.errno === 0) return;
            this.settle(pending);
            dump.end(this.errorFor(ack, context));
          } else if (m.type >= NLMSG_MIN_TYPE) {
            dump.add(m);
          }
        },
        fail: (error) => {
          this.settle(pending);
          dump.fail(error);
        },
      },
      options,
    );
    this.enqueue(message, (error) => pending.fail(error));

    try {
      for (;;) {
        const values = dump.take();
        if (values !== undefined) yield values;
        else if (dump.ended) break;
        else await dump.arrival();
      }
      if (dump.failure) throw dump.failure;
    } finally {
      // The consumer left early: drop the rest, but read the dump to its end.
      if (!dump.ended) {
        dump.abandon();
        while (!dump.ended) await dump.arrival();
      }
    }
  }

  /** Collects a whole dump; with `retries`, starts over when the kernel flags it interrupted. */
  async dumpAll<T = RawMessage>(
    build: () => Buffer,
    context: RequestContext,
    options: DumpOptions<T> = {},
  ): Promise<T[]> {
    const attempts = (options.retries ?? 0) + 1;
    for (let attempt = 1; ; attempt++) {
      const out: T[] = [];
      try {
        for await (const batch of this.dump(build(), context, options)) {
          // Hot (every dumped object): i < batch.length bounds the index, no extra branch.
          for (let i = 0; i < batch.length; i++) out.push(batch[i]!);
        }
        return out;
      } catch (error) {
        if (!(error instanceof DumpInterruptedError)) throw error;
        if (attempt >= attempts) throw new DumpInterruptedError(context.operation, attempt);
      }
    }
  }

  /**
   * Sends many write requests, several per sendmsg, with at most `window`
   * awaiting an answer. Each failure is reported with its message's index;
   * one failure does not stop the others (netlink has no transactions here).
   */
  async batch(
    messages: Buffer[],
    context: RequestContext | ((index: number) => RequestContext),
    options: BatchOptions = {},
  ): Promise<BatchResult> {
    const contextFor = typeof context === 'function' ? context : () => context;
    this.assertOpen(contextFor(0).operation);
    const acks = options.acks ?? 'errors';
    const barrier = acks === 'errors' ? 1 : 0;
    const chunkSize = Math.max(
      1,
      Math.min(options.chunk ?? Math.max(64, this.window >> 2), this.window - barrier || 1, MAX_IOVECS - barrier),
    );
    const failed: BatchFailure[] = [];
    const chunks: Promise<void>[] = [];

    for (let first = 0; first < messages.length; first += chunkSize) {
      const last = Math.min(first + chunkSize, messages.length);
      const count = last - first;
      const slots = acks === 'errors' ? count + 1 : count;
      await this.acquire(slots, options.signal, contextFor(first).operation);
      chunks.push(this.sendChunk(messages, first, last, acks, contextFor, failed, options, slots));
    }
    const outcomes = await Promise.allSettled(chunks);
    const broken = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult | undefined;
    if (broken) throw broken.reason;
    failed.sort((a, b) => a.index - b.index);
    return { succeeded: messages.length - failed.length, failed };
  }

  /**
   * One chunk of a batch: messages `first` to `last` (excluded), in one sendmsg with the barrier
   * if acks are 'errors'.
   */
  private sendChunk(
    messages: Buffer[],
    first: number,
    last: number,
    acks: 'errors' | 'each',
    contextFor: (index: number) => RequestContext,
    failed: BatchFailure[],
    options: RequestOptions,
    slots: number,
  ): Promise<void> {
    return this.exchange({
      messages: messages.slice(first, last),
      flags: acks === 'each' ? { set: NLM_F_REQUEST | NLM_F_ACK } : { set: NLM_F_REQUEST, clear: NLM_F_ACK },
      barrier: acks === 'each' ? 'none' : 'same-datagram',
      contextAt: (k) => contextFor(first + k),
      slots,
      options,
      answered: (k, ack, context) => {
        if (ack.errno !== 0) failed.push({ index: first + k, error: this.errorFor(ack, context, first + k) });
      },
    });
  }

  /**
   * Sends prepared messages in ONE sendmsg (one datagram), for families that
   * treat a datagram as a unit (nfnetlink batches: BEGIN ... END), and
   * collects, for each message, its ack or error and any other reply that
   * carries its sequence number (NLM_F_ECHO copies). Flags are kept as given,
   * plus NLM_F_REQUEST: which messages ask for an ack is the caller's choice.
   *
   * The kernel handles the datagram inside sendmsg, so everything it has to
   * say about it is queued on the socket before a second sendmsg: the
   * barrier, in a datagram of its own, tells when the answers are complete,
   * whatever the family acks (or does not) for its control messages. The
   * timeout covers the whole group.
   */
  async sendGroup(
    messages: Buffer[],
    context: RequestContext | ((index: number) => RequestContext),
    options: RequestOptions = {},
  ): Promise<GroupReply[]> {
    const contextFor = typeof context === 'function' ? context : () => context;
    const operation = contextFor(0).operation;
    this.assertOpen(operation);
    const slots = messages.length + 1;
    await this.acquire(slots, options.signal, operation);
    // Requests queued earlier leave first, so the kernel sees calls in the order they were made.
    this.flush();
    const results: GroupReply[] = messages.map(() => ({ replies: [] }));
    await this.exchange({
      messages,
      flags: { set: NLM_F_REQUEST },
      barrier: 'next-datagram',
      contextAt: contextFor,
      slots,
      options,
      // `index` is a message's position (exchange's k): results has one entry per message.
      answered: (index, ack, messageContext) => {
        const result = results[index]!;
        result.errno = ack.errno;
        if (ack.errno !== 0) result.error = this.errorFor(ack, messageContext, index);
      },
      replied: (index, reply) => results[index]!.replies.push(reply),
    });
    return results;
  }

  /**
   * The batch engine under `batch` and `sendGroup`: stamps the messages,
   * sends them in one datagram, and reports each message's first
   * NLMSG_ERROR (`answered`: an ack or an error; a family may answer a
   * message twice, and the first answer counts) and any other reply carrying
   * its sequence number (`replied`). It settles when the barrier is
   * acknowledged: a NOOP asking for an ack, which the kernel answers only
   * after everything sent before it on this socket, so by then every answer
   * has arrived and a message that reported nothing succeeded. Without a
   * barrier, every message asks for its ack and the last one settles it.
   * With a barrier, the barrier carries the timeout for the whole exchange.
   * Settling unregisters every entry and frees `slots` window slots, which
   * the caller acquired.
   */
  private exchange(spec: Exchange): Promise<void> {
    const { messages, barrier, options } = spec;
    if (barrier === 'none') return this.exchangeEach(spec);
    // The messages and their barrier take numbers in a row, so one range entry finds any message's answer.
    const first = this.nextSeqs(messages.length + 1);
    for (let k = 0; k < messages.length; k++) this.stampAs(messages[k]!, first + k, spec.flags.set, spec.flags.clear);
    const barrierMessage = encodeRaw(NLMSG_NOOP, 0);
    const barrierSeq = first + messages.length;
    this.stampAs(barrierMessage, barrierSeq, NLM_F_REQUEST | NLM_F_ACK);

    return new Promise<void>((resolve, reject) => {
      const isAnswered = new Uint8Array(messages.length);
      let settled = false;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        this.ranges.delete(range);
        this.unregister(barrierEntry);
        this.release(spec.slots);
        if (error) reject(error);
        else resolve();
      };
      const range: PendingRange = {
        first,
        count: messages.length,
        context: spec.contextAt(0),
        // A message's context is made only if it answers (a failure, an echo): most never do.
        onMessage: (reply) => {
          const k = reply.seq - first;
          if (reply.type === NLMSG_ERROR) {
            if (isAnswered[k]) return;
            isAnswered[k] = 1;
            spec.answered(k, parseAck(reply), spec.contextAt(k));
          } else if (reply.type !== NLMSG_NOOP && reply.type !== NLMSG_DONE) {
            spec.replied?.(k, reply);
          }
        },
        fail: settle,
      };
      this.ranges.add(range);
      const barrierEntry = this.register(
        {
          seq: barrierSeq,
          context: range.context,
          request: barrierMessage,
          slots: 0,
          onMessage: (reply) => {
            if (reply.type === NLMSG_ERROR) settle();
          },
          fail: settle,
        },
        options,
      );
      if (barrier === 'same-datagram') {
        this.send([...messages, barrierMessage]).catch(settle);
      } else {
        this.send(messages).then(() => (settled ? undefined : this.send([barrierMessage]).catch(settle)), settle);
      }
    });
  }

  /** exchange without a barrier: every message asks for its ack, each with its own entry, timeout and signal. */
  private exchangeEach(spec: Exchange): Promise<void> {
    const { messages, options } = spec;
    const seqs = messages.map((message) => this.stampRequest(message, spec.flags.set, spec.flags.clear));
    return new Promise<void>((resolve, reject) => {
      const entries: Pending[] = [];
      const isAnswered = new Uint8Array(messages.length);
      let unanswered = messages.length;
      let settled = false;
      const settle = (error?: Error): void => {
        if (settled) return;
        settled = true;
        for (const entry of entries) this.unregister(entry);
        this.release(spec.slots);
        if (error) reject(error);
        else resolve();
      };
      seqs.forEach((seq, k) => {
        const context = spec.contextAt(k);
        entries.push(
          this.register(
            {
              seq,
              context,
              request: messages[k]!, // seqs = messages.map(...): same length
              slots: 0,
              onMessage: (reply) => {
                if (reply.type === NLMSG_ERROR) {
                  if (isAnswered[k]) return;
                  isAnswered[k] = 1;
                  spec.answered(k, parseAck(reply), context);
                  if (--unanswered === 0) settle();
                } else if (reply.type !== NLMSG_NOOP && reply.type !== NLMSG_DONE) {
                  spec.replied?.(k, reply);
                }
              },
              fail: settle,
            },
            options,
          ),
        );
      });
      this.send(messages).catch(settle);
    });
  }

  /**
   * Requests issued in the same tick leave in one sendmsg: the kernel
   * processes a datagram's messages in order, and one syscall for many
   * requests is most of the cost of a burst of small ones.
   */
  private enqueue(message: Buffer, failed: (error: Error) => void): void {
    this.outbox.push(message);
    this.outboxFailures.push(failed);
    this.outboxBytes += message.length;
    if (this.outboxBytes >= MAX_DATAGRAM || this.outbox.length >= MAX_IOVECS) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.outbox.length === 0) return;
    const messages = this.outbox;
    const failures = this.outboxFailures;
    this.outbox = [];
    this.outboxFailures = [];
    this.outboxBytes = 0;
    this.send(messages).catch((error) => {
      for (const failed of failures) failed(error);
    });
  }

  /** Every sendmsg of this connection goes through here (one datagram). */
  private send(messages: Buffer[]): Promise<void> {
    this.stats.messagesSent += messages.length;
    this.stats.datagramsSent++;
    return this.transport.send(messages);
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new ClosedError(operation);
  }

  private shutdown(why: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const pending of this.everyPending()) pending.fail(new ClosedError(pending.context.operation, why));
    for (const wake of this.waiters.splice(0)) wake();
    this.transport.close();
  }

  /** Closes the socket; pending requests reject with ClosedError. Nothing keeps the event loop alive afterwards. */
  close(): void {
    this.shutdown('the connection was closed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** Values handed to a dump's consumer at a time, at most (one datagram's worth, usually fewer). */
const DUMP_BATCH = 256;

/**
 * One dump between the receive callback, which adds what the kernel sends,
 * and the consumer, which takes the decoded values in batches. Each field
 * has one meaning; the dump is read to its end whatever the consumer does.
 */
class DumpState<T> {
  /** The kernel has ended the dump (DONE, or an error), or the request failed: nothing more will arrive. */
  ended = false;
  /** What the consumer is told once the dump has ended. */
  failure: Error | undefined;
  /** A message came flagged NLM_F_DUMP_INTR: what was read mixes states. */
  interrupted = false;
  /** Full batches waiting for the consumer. */
  private readonly ready: T[][] = [];
  /** The batch being filled. */
  private filling: T[] | undefined;
  /** A message failed to decode: nothing more is decoded or handed over. */
  private decodeFailed = false;
  /** The consumer has stopped: nothing more is decoded or handed over. */
  private abandoned = false;
  /** Resumes a consumer waiting in arrival(). */
  private wake: (() => void) | undefined;

  constructor(private readonly decode: (message: RawMessage) => T) {}

  /** A message of the dump (the receive callback). */
  add(message: RawMessage): void {
    if (!this.decodeFailed && !this.abandoned) {
      try {
        this.filling ??= [];
        this.filling.push(this.decode(message));
        if (this.filling.length >= DUMP_BATCH) {
          this.ready.push(this.filling);
          this.filling = undefined;
        }
      } catch (error) {
        // Decode no more, but the dump still runs to its end so the socket stays usable.
        this.failure = error as Error;
        this.decodeFailed = true;
      }
    }
    this.notify();
  }

  /** The kernel ended the dump; its error, if any, is what the consumer gets. */
  end(error: Error | undefined): void {
    if (error) this.failure = error;
    this.ended = true;
    this.notify();
  }

  /** The request failed (timeout, abort, a closed socket); a failure already known stands. */
  fail(error: Error): void {
    this.failure ??= error;
    this.ended = true;
    this.notify();
  }

  /** The next batch for the consumer, if one is there. */
  take(): T[] | undefined {
    if (this.decodeFailed || this.abandoned) return undefined;
    if (this.ready.length > 0) return this.ready.shift();
    const values = this.filling;
    this.filling = undefined;
    return values;
  }

  /** Resolves when the receive callback has been called again. */
  arrival(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** The consumer has stopped: what arrives from now on is dropped. */
  abandon(): void {
    this.abandoned = true;
    this.ready.length = 0;
    this.filling = undefined;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
