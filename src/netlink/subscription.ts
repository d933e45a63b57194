/**
 * Multicast subscriptions (kernel events), isolated from the caller.
 *
 * A subscriber that falls behind makes the kernel drop events (ENOBUFS), and
 * node-netlink 0.3.0 can abort the whole process on that error. So the socket
 * lives in a relay process (relay-child.ts) that reads promptly, holds at most
 * `maxBacklog` bytes for a parent that is not reading, and reports what it
 * dropped. If the relay dies anyway it is restarted. Either way the consumer
 * receives an `overrun` event: its view may be stale, list again to resync.
 */
import { OverrunError, VxnetError } from './errors.js';
import { forEachMessage, type RawMessage } from './message.js';
import { RelayTransport } from './relay.js';

export interface SubscriptionOptions {
  protocol: number;
  /** Multicast group numbers (RTNLGRP_LINK, ...). */
  groups: number[];
  /** Subscribe inside this network namespace (/run/netns/NAME). */
  namespace?: string;
  /** Bytes the relay holds for a consumer that is not reading before it drops and reports an overrun. Default 8 MiB. */
  maxBacklog?: number;
  /** Events kept for an async-iterator consumer before dropping them (and reporting an overrun). Default 100,000. */
  maxQueued?: number;
  /** Restarts of a relay that died, within `restartWindowMs`, before giving up. Default 5. */
  maxRestarts?: number;
  restartWindowMs?: number;
}

export type SubscriptionEvent =
  | { kind: 'message'; message: RawMessage }
  /** Events were lost: list the objects again before trusting the view. */
  | { kind: 'overrun'; error: OverrunError }
  /** The subscription ended for good (relay restarts exhausted). */
  | { kind: 'error'; error: Error };

type Listener = (event: SubscriptionEvent) => void;

export class Subscription implements AsyncIterable<SubscriptionEvent>, AsyncDisposable {
  private transport?: RelayTransport;
  private readonly listeners = new Set<Listener>();
  // A queue with a moving head: Array#shift is O(n), and a burst can queue 100k events.
  private queue: SubscriptionEvent[] = [];
  private head = 0;
  private wake?: () => void;
  private closed = false;
  private restarts: number[] = [];
  private droppedFromQueue = 0;
  /** Overruns seen so far (a counter for monitoring). */
  overruns = 0;

  private constructor(private readonly options: SubscriptionOptions) {}

  static async open(options: SubscriptionOptions): Promise<Subscription> {
    const subscription = new Subscription(options);
    await subscription.start();
    return subscription;
  }

  /** The relay's process id, for tests that prove a crash there is contained. */
  get relayPid(): number | undefined {
    return this.transport?.pid;
  }

  private async start(): Promise<void> {
    const transport = await RelayTransport.open(this.options.protocol, {
      namespace: this.options.namespace,
      maxBacklog: this.options.maxBacklog ?? 8 * 1024 * 1024,
      // Events come one message per datagram, sized by the kernel for that message, and a subscription reads
      // no dumps: exact-size reads (a peek each) instead of 64 KiB allocated per event, which for the echo of
      // 1,000 flood entries grew the relay from 42 to 96–134 MiB.
      readSize: 0,
    });
    if (this.closed) {
      transport.close();
      return;
    }
    this.transport = transport;
    transport.attach({
      datagram: (datagram) => {
        try {
          forEachMessage(datagram, (message) => this.emit({ kind: 'message', message }));
        } catch (error) {
          this.emit({
            kind: 'overrun',
            error: new OverrunError('subscription', `a malformed datagram was dropped: ${(error as Error).message}`),
          });
        }
      },
      error: (error, fatal) => {
        if (fatal) void this.restart(error);
        else
          this.emit({
            kind: 'overrun',
            error: error instanceof OverrunError ? error : new OverrunError('subscription', error.message),
          });
      },
    });
    for (const group of this.options.groups) transport.addMembership(group);
    // The relay joins the groups as it reads its input, after open() would
    // otherwise have resolved: an event right after it was missed (27 times in
    // 40 in a test). It answers requests in order, so one round trip after the
    // memberships means they are in effect.
    await transport.openFd('/dev/null').then(
      (fd) => transport.closeFd(fd),
      () => undefined,
    );
    // Events alone must not keep the process alive; the consumer decides that.
    transport.unref();
  }

  private async restart(cause: Error): Promise<void> {
    if (this.closed) return;
    this.transport = undefined;
    const now = Date.now();
    const window = this.options.restartWindowMs ?? 60_000;
    this.restarts = this.restarts.filter((t) => now - t < window);
    this.restarts.push(now);
    if (this.restarts.length > (this.options.maxRestarts ?? 5)) {
      this.emit({
        kind: 'error',
        error: new VxnetError(
          `subscription: the event relay died ${this.restarts.length} times within ${window} ms; ` +
            `giving up (last: ${cause.message})`,
        ),
      });
      this.close();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (this.restarts.length - 1)).unref());
    try {
      await this.start();
    } catch (error) {
      await this.restart(error as Error);
      return;
    }
    // Whatever happened while the relay was down is unknown: the consumer must resync. Said once the new relay is
    // subscribed: a resync before that would leave a gap in which a change is neither listed nor announced.
    if (!this.closed)
      this.emit({
        kind: 'overrun',
        error: new OverrunError('subscription', `the event relay died and was restarted (${cause.message})`),
      });
  }

  private emit(event: SubscriptionEvent): void {
    if (event.kind === 'overrun') this.overruns++;
    for (const listener of this.listeners) listener(event);
    if (!this.iterating) return;
    const limit = this.options.maxQueued ?? 100_000;
    if (event.kind === 'message' && this.queue.length - this.head >= limit) {
      this.droppedFromQueue++;
      return;
    }
    if (this.droppedFromQueue > 0) {
      const dropped = this.droppedFromQueue;
      this.droppedFromQueue = 0;
      this.queue.push({
        kind: 'overrun',
        error: new OverrunError(
          'subscription',
          `${dropped} event(s) dropped: the consumer fell ${limit} events behind`,
        ),
      });
    }
    this.queue.push(event);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Calls `listener` for every event, synchronously as datagrams arrive. Returns an unsubscribe function. */
  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private iterating = false;

  async *[Symbol.asyncIterator](): AsyncIterator<SubscriptionEvent> {
    this.iterating = true;
    try {
      for (;;) {
        while (this.head < this.queue.length) {
          // head < queue.length, checked by the loop: kept as `!` (one event at a time, no extra branch).
          const event = this.queue[this.head++]!;
          if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
            this.queue = this.queue.slice(this.head);
            this.head = 0;
          }
          yield event;
          if (event.kind === 'error') return;
        }
        if (this.closed) return;
        this.transport?.ref();
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.transport?.unref();
      }
    } finally {
      this.iterating = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport?.close();
    this.transport = undefined;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
