/**
 * ReplayTransport: plays the kernel's part of a recorded exchange. Each send
 * must carry the bytes that were recorded (sequence numbers and port ids
 * aside); the recorded replies that followed it are then delivered, with
 * their sequence numbers and port ids changed to what this connection used.
 * A request that differs fails with a hex diff, so a change in our encoding
 * shows exactly which bytes moved.
 */
import { NLMSG_HDRLEN } from './align.js';
import { NLMSG_ERROR } from './constants.js';
import { firstDifference, hexDiff } from './fixture-diff.js';
import { type Fixture, type FixtureEntry, type Recording, splitDatagram } from './fixture-format.js';
import { VxnetError } from './errors.js';
import { HOST_LE } from './layout.js';
import type { Transport, TransportHandlers } from './transport.js';

/**
 * The port a replay transport reports unless told otherwise. Deliberately
 * not the recorded one, so that every replay exercises the rewriting of
 * reply pids and the connection's check of them.
 */
export const DEFAULT_REPLAY_PORT = 0x5e9a7;

export interface ReplayOptions {
  /** Our port id during the replay; replies are rewritten to it. */
  port?: number;
  /** Names the fixture in errors (a file name); taken from a parsed fixture's header by default. */
  name?: string;
}

/** The replay went off the recording: a request that differs, one too many, or datagrams left over. */
export class ReplayMismatchError extends VxnetError {
  override name = 'ReplayMismatchError';
}

const readU32 = HOST_LE ? 'readUInt32LE' : 'readUInt32BE';
const writeU32 = HOST_LE ? 'writeUInt32LE' : 'writeUInt32BE';

export class ReplayTransport implements Transport {
  readonly protocol: number;
  readonly port: number;
  private readonly recordedPort: number;
  private readonly entries: FixtureEntry[];
  private readonly name: string;
  private cursor = 0;
  private sends = 0;
  /** Recorded sequence number → the one our connection used for the same message. */
  private readonly seqs = new Map<number, number>();
  private handlers?: TransportHandlers;
  private readonly queue: Buffer[] = [];
  private draining = false;
  private closed = false;
  private failure?: ReplayMismatchError;
  /** Recorded descriptors, handed out again in order; then made-up ones. */
  private readonly fds: number[];
  private fdsUsed = 0;
  private fakeFd = 1000;

  constructor(recording: Recording | Fixture, options: ReplayOptions = {}) {
    const header = 'header' in recording ? recording.header : undefined;
    if (header && header.byteOrder !== (HOST_LE ? 'little-endian' : 'big-endian')) {
      throw new VxnetError(
        `fixture ${header.name} was recorded on a ${header.byteOrder} host and cannot be replayed on this one`,
      );
    }
    this.protocol = recording.protocol;
    this.recordedPort = recording.port;
    this.port = options.port ?? DEFAULT_REPLAY_PORT;
    this.entries = recording.entries;
    this.name = options.name ?? header?.name ?? 'recording';
    this.fds = this.entries.flatMap((e) => (e.kind === 'openfd' ? [e.fd] : []));
  }

  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
    // Datagrams recorded before any send (events on a subscribed socket) arrive at once.
    this.deliverRepliesUpToNextSend();
  }

  send(messages: Buffer[]): Promise<void> {
    // Always a promise, never a throw: the connection handles failures through it.
    try {
      this.replaySend(Buffer.concat(messages));
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private replaySend(actual: Buffer): void {
    if (this.closed) throw new VxnetError(`replay of ${this.name}: send after close`);
    if (this.failure) throw this.failure;
    this.sends++;
    this.skipFdEntries();
    const entry = this.entries[this.cursor];
    if (!entry || entry.kind !== 'send') {
      const where = entry ? `the recording expects a ${entry.kind} here${lineOf(entry)}` : 'the recording has ended';
      throw this.fail(
        `request ${this.sends} was not recorded: ${where}. Our request:\n${hexDiff(Buffer.alloc(0), actual)}`,
      );
    }
    const difference = firstDifference(entry.datagram, actual);
    if (difference >= 0) {
      const sizes =
        entry.datagram.length === actual.length
          ? `${actual.length} bytes`
          : `recorded ${entry.datagram.length} bytes, ours ${actual.length}`;
      throw this.fail(
        `request ${this.sends} differs from the recording (send block${lineOf(entry)}; ${sizes}; ` +
          `first difference at byte ${difference}, seq and pid masked as ..):\n` +
          hexDiff(entry.datagram, actual, { expectedLabel: 'recorded', actualLabel: 'ours' }),
      );
    }
    this.cursor++;
    this.mapSequenceNumbers(entry.datagram, actual);
    this.deliverRepliesUpToNextSend();
  }

  private mapSequenceNumbers(recorded: Buffer, actual: Buffer): void {
    const ours = splitDatagram(actual);
    splitDatagram(recorded).forEach((chunk, i) => {
      const mine = ours[i];
      if (chunk.header && mine?.header) this.seqs.set(chunk.header.seq, mine.header.seq);
    });
  }

  /** openfd entries only mark when a descriptor was opened; openFd hands them out in order. */
  private skipFdEntries(): void {
    while (this.entries[this.cursor]?.kind === 'openfd') this.cursor++;
  }

  /** Queues every recv entry up to the next send, rewritten for this connection. */
  private deliverRepliesUpToNextSend(): void {
    for (let entry = this.entries[this.cursor]; entry !== undefined; entry = this.entries[this.cursor]) {
      if (entry.kind === 'send') break;
      this.cursor++;
      if (entry.kind === 'recv') this.queue.push(this.rewrite(entry.datagram));
    }
    this.drain();
  }

  /** A copy of a recorded reply with our sequence numbers and port id in place of the recorded ones. */
  private rewrite(datagram: Buffer): Buffer {
    const copy = Buffer.from(datagram);
    const fix = (at: number): void => {
      const seq = copy[readU32](at);
      const mapped = this.seqs.get(seq);
      if (mapped !== undefined) copy[writeU32](mapped, at);
      if (copy[readU32](at + 4) === this.recordedPort) copy[writeU32](this.port, at + 4);
    };
    for (const chunk of splitDatagram(copy)) {
      if (!chunk.header) continue;
      fix(chunk.start + 8);
      // An error or ack echoes the request's header after the errno: keep it consistent too.
      if (chunk.header.type === NLMSG_ERROR && chunk.header.len >= NLMSG_HDRLEN + 4 + NLMSG_HDRLEN)
        fix(chunk.start + NLMSG_HDRLEN + 4 + 8);
    }
    return copy;
  }

  /** One datagram per turn of the event loop, as a socket would deliver them. */
  private drain(): void {
    if (this.draining || !this.handlers) return;
    this.draining = true;
    const next = (): void => {
      const datagram = this.queue.shift();
      if (datagram === undefined || this.closed) {
        this.draining = false;
        return;
      }
      // Set before drain starts (checked above) and never cleared.
      this.handlers?.datagram(datagram);
      setImmediate(next);
    };
    setImmediate(next);
  }

  /** The first failure sticks: later sends fail with it, and assertConsumed reports it. */
  private fail(message: string): ReplayMismatchError {
    const error = new ReplayMismatchError(`replay of ${this.name}: ${message}`);
    this.failure ??= error;
    return error;
  }

  /** Throws unless every recorded datagram was replayed and no request went off the recording. */
  assertConsumed(): void {
    if (this.failure) throw this.failure;
    if (this.fdsUsed < this.fds.length) {
      throw new ReplayMismatchError(
        `replay of ${this.name}: ${this.fds.length - this.fdsUsed} recorded openFd call(s) were not made again`,
      );
    }
    this.skipFdEntries();
    const left = this.entries.slice(this.cursor);
    const first = left[0];
    if (first === undefined) return;
    const sends = left.filter((e) => e.kind === 'send').length;
    throw new ReplayMismatchError(
      `replay of ${this.name}: ${left.length} recorded entr${left.length === 1 ? 'y was' : 'ies were'} not replayed ` +
        `(${sends} request${sends === 1 ? '' : 's'} never sent), starting with a ${first.kind}${lineOf(first)}`,
    );
  }

  /** True once every recorded entry has been replayed. */
  get consumed(): boolean {
    return this.entries.slice(this.cursor).every((e) => e.kind === 'openfd') && this.fdsUsed >= this.fds.length;
  }

  addMembership(_group: number): void {}

  dropMembership(_group: number): void {}

  ref(): void {}

  unref(): void {}

  async openFd(_path: string): Promise<number> {
    // A descriptor number can be part of a request (IFLA_NET_NS_FD): hand out the recorded one.
    const recorded = this.fds[this.fdsUsed];
    if (recorded === undefined) return this.fakeFd++;
    this.fdsUsed++;
    return recorded;
  }

  async closeFd(_fd: number): Promise<void> {}

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }
}

function lineOf(entry: FixtureEntry): string {
  return entry.line ? ` at line ${entry.line}` : '';
}
