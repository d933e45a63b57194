/**
 * RecordingTransport: sits between a connection and a real transport and
 * notes every datagram that crosses, in order, so the exchange can be
 * written as a fixture (fixture-format.ts) and replayed without a kernel.
 *
 * Recording happens in userspace because this machine's kernel has no nlmon
 * device to capture netlink traffic; it also means the recording holds
 * exactly what our socket saw, datagram boundaries included.
 */
import type { FixtureEntry, Recording } from './fixture-format.js';
import type { Transport, TransportHandlers } from './transport.js';

export class RecordingTransport implements Transport {
  private readonly entries: FixtureEntry[] = [];

  constructor(readonly inner: Transport) {}

  get protocol(): number {
    return this.inner.protocol;
  }

  get port(): number {
    return this.inner.port;
  }

  /** Everything recorded so far. The entries hold copies, safe to keep. */
  get recording(): Recording {
    return { protocol: this.protocol, port: this.port, entries: [...this.entries] };
  }

  attach(handlers: TransportHandlers): void {
    this.inner.attach({
      datagram: (datagram) => {
        // The transport may reuse its receive buffer: keep a copy.
        this.entries.push({ kind: 'recv', datagram: Buffer.from(datagram) });
        handlers.datagram(datagram);
      },
      error: (error, fatal) => handlers.error(error, fatal),
    });
  }

  send(messages: Buffer[]): Promise<void> {
    // Noted before the send: the replies must come after it in the recording.
    this.entries.push({ kind: 'send', datagram: Buffer.concat(messages) });
    return this.inner.send(messages);
  }

  addMembership(group: number): void {
    this.inner.addMembership(group);
  }

  dropMembership(group: number): void {
    this.inner.dropMembership(group);
  }

  ref(): void {
    this.inner.ref();
  }

  unref(): void {
    this.inner.unref();
  }

  async openFd(path: string): Promise<number> {
    const fd = await this.inner.openFd(path);
    this.entries.push({ kind: 'openfd', fd });
    return fd;
  }

  closeFd(fd: number): Promise<void> {
    return this.inner.closeFd(fd);
  }

  close(): void {
    this.inner.close();
  }
}
