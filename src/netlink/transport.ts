/**
 * The transport seam: everything the connection needs from a socket. In
 * production that is node-netlink's RawNetlinkSocket, in this process
 * (NativeTransport) or in a helper process inside another network namespace
 * (RelayTransport); in tests, the recording and replaying transports.
 */
import { openSync, closeSync } from 'node:fs';
// The raw layer only: node-netlink's index also loads its rtnetlink/genl layers, which vxnet does not use.
import { RawNetlinkSocket } from 'netlink/dist/raw.js';
import { errnoCode, OverrunError, VxnetError } from './errors.js';

export interface TransportHandlers {
  /** A datagram from the kernel (one or more messages). */
  datagram(datagram: Buffer): void;
  /**
   * The transport lost messages (ENOBUFS) or failed; `fatal` means it is
   * closed now and will deliver nothing more.
   */
  error(error: Error, fatal: boolean): void;
}

export interface Transport {
  readonly protocol: number;
  /** Our netlink port id (nl_pid); unicast replies carry it. */
  readonly port: number;
  /**
   * The socket's receive buffer as the kernel granted it (SO_RCVBUF), if
   * known: the connection sizes its in-flight window after it.
   */
  readonly receiveBufferSize?: number;
  /** Starts delivery. Called once, by the connection that owns the transport. */
  attach(handlers: TransportHandlers): void;
  /**
   * Sends the messages in one sendmsg call: one datagram, processed by the
   * kernel in order. Never throws: every failure is a rejection.
   */
  send(messages: Buffer[]): Promise<void>;
  addMembership(group: number): void;
  dropMembership(group: number): void;
  /** Keeps the event loop alive (while requests are pending) or lets it exit. */
  ref(): void;
  unref(): void;
  /**
   * Opens a file (a /run/netns entry) as a descriptor valid in the process
   * that sends our messages, for attributes such as IFLA_NET_NS_FD.
   */
  openFd(path: string): Promise<number>;
  closeFd(fd: number): Promise<void>;
  close(): void;
}

export interface NativeTransportOptions {
  /**
   * SO_RCVBUF request. The kernel caps it at net.core.rmem_max (doubled);
   * the connection's in-flight window is what really protects against ENOBUFS.
   */
  receiveBufferSize?: number;
  sendBufferSize?: number;
  /**
   * Bytes per recvmsg. The kernel sizes dump datagrams after the largest
   * read it has seen (capped at 32 KiB), so fixed large reads mean far fewer
   * datagrams than node-netlink's peek-sized reads.
   */
  readSize?: number;
  /**
   * Bind to this netlink port id instead of a free one. A port is unique per
   * protocol and network namespace, and the kernel frees it when the socket
   * closes or its process dies: vxnet's per-network locks are such ports.
   * Taken already: the open fails with an error whose code is EADDRINUSE.
   */
  localPort?: number;
}

export const DEFAULT_READ_SIZE = 64 * 1024;
export const DEFAULT_RECEIVE_BUFFER = 4 * 1024 * 1024;

interface ErrnoLike extends Error {
  errno?: number;
  code?: string;
}

/** Maps node-netlink's error events onto ours. ENOBUFS means lost messages, not a dead socket. */
export function transportError(error: ErrnoLike, where: string): { error: Error; fatal: boolean } {
  const code = error.code ?? (error.errno ? errnoCode(error.errno) : undefined);
  if (code === 'ENOBUFS') {
    return { error: new OverrunError(where, 'the kernel dropped messages for this socket (ENOBUFS)'), fatal: false };
  }
  return { error: new VxnetError(`${where}: socket error ${code ?? ''} ${error.message}`.trim()), fatal: true };
}

/** node-netlink's RawNetlinkSocket in this process (this process's network namespace). */
export class NativeTransport implements Transport {
  readonly protocol: number;
  readonly port: number;
  readonly receiveBufferSize: number;
  private readonly socket: RawNetlinkSocket;
  private closed = false;

  constructor(protocol: number, options: NativeTransportOptions = {}) {
    this.protocol = protocol;
    this.socket = new RawNetlinkSocket(protocol, {
      messagePeeking: false,
      msgBufferSize: options.readSize ?? DEFAULT_READ_SIZE,
      recvBufferSize: options.receiveBufferSize ?? DEFAULT_RECEIVE_BUFFER,
      sendBufferSize: options.sendBufferSize ?? 1024 * 1024,
      ...(options.localPort !== undefined ? { localPort: options.localPort } : {}),
    });
    this.port = this.socket.address().port;
    this.receiveBufferSize = this.socket.getRecvBufferSize();
    // Idle until a connection attaches and has work: never hold the event loop by ourselves.
    this.socket.unref();
  }

  attach(handlers: TransportHandlers): void {
    this.socket.on('message', (datagram) => handlers.datagram(datagram));
    this.socket.on('truncatedMessage', (_datagram, info) => {
      handlers.error(
        new OverrunError(
          'netlink receive',
          `a ${info.truncated}-byte datagram did not fit the read buffer and was truncated`,
        ),
        false,
      );
    });
    // An 'error' listener must exist: without one, node-netlink's native
    // callback throws and the process aborts (seen with ENOBUFS).
    this.socket.on('error', (error) => {
      const mapped = transportError(error, 'netlink socket');
      handlers.error(mapped.error, mapped.fatal);
    });
  }

  send(messages: Buffer[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new VxnetError('netlink send: the socket is closed'));
        return;
      }
      this.socket.send(messages, {}, (error) =>
        error ? reject(transportError(error, 'netlink send').error) : resolve(),
      );
    });
  }

  addMembership(group: number): void {
    this.socket.addMembership(group);
  }

  dropMembership(group: number): void {
    this.socket.dropMembership(group);
  }

  ref(): void {
    if (!this.closed) this.socket.ref();
  }

  unref(): void {
    if (!this.closed) this.socket.unref();
  }

  async openFd(path: string): Promise<number> {
    return openSync(path, 'r');
  }

  async closeFd(fd: number): Promise<void> {
    closeSync(fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}
