/**
 * RelayTransport: a netlink socket owned by a child process, optionally
 * inside a named network namespace, relayed over the child's stdio. Used for
 * connections into other namespaces and for event subscriptions, whose
 * overruns and crashes must never take the caller's process down.
 */
import type { ChildProcessWithoutNullStreams, SpawnOptionsWithoutStdio } from 'node:child_process';
import { createRequire } from 'node:module';
import { errnoCode, OverrunError, VxnetError } from './errors.js';
import { namespacePath } from './namespace.js';
import { RELAY_PROTOCOL, relayMain } from './relay-child.js';
import { DEFAULT_READ_SIZE, DEFAULT_RECEIVE_BUFFER, type Transport, type TransportHandlers } from './transport.js';

const { OP, FRAME_HEADER } = RELAY_PROTOCOL;

export interface RelayOptions {
  /** Network namespace name (/run/netns/NAME) or a path to a namespace file. Omitted: ours. */
  namespace?: string;
  /**
   * Bytes the child may hold for a parent that is not reading before it drops
   * datagrams and reports an overrun. Unlimited for request connections
   * (their replies are bounded by the window), bounded for subscriptions.
   */
  maxBacklog?: number;
  /**
   * Bytes per recvmsg (see NativeTransportOptions.readSize); 0: each datagram's own size, found by peeking
   * first. node-netlink allocates the full read size for every datagram it hands over, so for a stream of
   * small datagrams (events: one message each) fixed 64 KiB reads cost 64 KiB each until collected.
   */
  readSize?: number;
  receiveBufferSize?: number;
  /** Bind to this netlink port id (see NativeTransportOptions.localPort). */
  localPort?: number;
  /** How long the child may take to start and bind its socket. */
  startTimeoutMs?: number;
}

let relaySource: string | undefined;
function relayProgram(): string {
  // The child runs relayMain's own source text, so nothing has to be located on disk
  // (it works the same from src/ under tsx and from the ESM and CJS bundles).
  // Transpilers that keep function names (tsx does) wrap inner functions in a
  // `__name(fn, "name")` helper defined at module level: give the child a stand-in.
  relaySource ??=
    `var __name = (fn) => fn;\n` +
    `(${relayMain.toString()})(require, process.argv.slice(1), ${JSON.stringify(RELAY_PROTOCOL)});`;
  return relaySource;
}

function netlinkRawPath(): string {
  return createRequire(import.meta.url).resolve('netlink/dist/raw.js');
}

/**
 * node:child_process, loaded on the first relay: it pulls in node:net and
 * its streams, which a process using only its own namespace's socket never
 * needs.
 */
function spawn(
  command: string,
  args: readonly string[],
  options: SpawnOptionsWithoutStdio,
): ChildProcessWithoutNullStreams {
  const childProcess = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  return childProcess.spawn(command, args, options);
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 4);
  values.forEach((v, i) => {
    b.writeUInt32LE(v >>> 0, i * 4);
  });
  return b;
}

/** CAP_SYS_ADMIN's bit in the capability sets (linux/capability.h). */
const CAP_SYS_ADMIN = 21;

/** Whether this process holds a capability now (CapEff in /proc/self/status); undefined when that cannot be read. */
function hasCapability(bit: number): boolean | undefined {
  try {
    const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
    const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
    return effective === undefined ? undefined : ((BigInt(`0x${effective}`) >> BigInt(bit)) & 1n) === 1n;
  } catch {
    return undefined;
  }
}

/**
 * Why nsenter could not take the relay into a namespace, when its own words
 * and this process's credentials both say so: joining another network
 * namespace (setns) needs CAP_SYS_ADMIN, which an unprivileged user lacks;
 * or the namespace file is not there.
 */
function namespaceRefusal(namespace: string, stderr: string): string | undefined {
  if (/Operation not permitted/.test(stderr) && hasCapability(CAP_SYS_ADMIN) === false) {
    const uid = process.getuid?.();
    if (uid === 0)
      return (
        `entering network namespace ${namespace} needs CAP_SYS_ADMIN, ` +
        'which this process lacks (it runs as root without it)'
      );
    return (
      `entering network namespace ${namespace} needs root (CAP_SYS_ADMIN), ` +
      `and this process runs as uid ${uid} without it`
    );
  }
  if (/cannot open .*No such file or directory/.test(stderr)) {
    const create = namespace.startsWith('/') ? '' : ` (create it with ip netns add ${namespace})`;
    return `there is no network namespace ${namespace}: ${namespacePath(namespace)} does not exist${create}`;
  }
  return undefined;
}

export class RelayTransport implements Transport {
  readonly protocol: number;
  private boundPort = 0;
  private child!: ChildProcessWithoutNullStreams;
  private handlers?: TransportHandlers;
  private early: Buffer[] = [];
  private nextId = 1;
  private readonly sends = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly fds = new Map<number, { resolve: (fd: number) => void; reject: (e: Error) => void }>();
  private closed = false;
  private wanted = false;
  private input: Buffer = Buffer.alloc(0);
  private readonly where: string;

  private constructor(protocol: number, where: string) {
    this.protocol = protocol;
    this.where = where;
  }

  /** The relay socket's netlink port; known once the child is ready. */
  get port(): number {
    return this.boundPort;
  }

  /** Starts the child and waits until its socket is bound. */
  static async open(protocol: number, options: RelayOptions = {}): Promise<RelayTransport> {
    const where = options.namespace ? `netlink relay in namespace ${options.namespace}` : 'netlink relay';
    const relay = new RelayTransport(protocol, where);
    const nodeArgs = [
      // Sized like the vxnet bin (src/cli/main.ts): a subscription's relay lives as long as an agent, and V8 left to
      // itself keeps the young generation it grew in a burst. (What grew the relay most was node-netlink's 64 KiB
      // per datagram read: see the readSize a subscription asks for.)
      '--max-semi-space-size=1',
      '-e',
      relayProgram(),
      '--',
      netlinkRawPath(),
      String(protocol),
      String(options.maxBacklog ?? Number.MAX_SAFE_INTEGER),
      String(options.readSize ?? DEFAULT_READ_SIZE),
      String(options.receiveBufferSize ?? DEFAULT_RECEIVE_BUFFER),
      String(options.localPort ?? ''),
    ];
    const [command, args] = options.namespace
      ? ['nsenter', [`--net=${namespacePath(options.namespace)}`, '--', process.execPath, ...nodeArgs]]
      : [process.execPath, nodeArgs];
    // The child must not inherit loaders (tsx) meant for the parent: it runs plain JavaScript.
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    // Nor extra CA certificates: it makes no TLS connection, and Node.js reads them at start-up (measured: 35 ms).
    delete env.NODE_EXTRA_CA_CERTS;
    env.MALLOC_ARENA_MAX ??= '2';
    relay.child = spawn(command as string, args as string[], { stdio: ['pipe', 'pipe', 'pipe'], env });
    await relay.started(options.startTimeoutMs ?? 10_000, options.namespace);
    return relay;
  }

  private started(timeoutMs: number, namespace?: string): Promise<void> {
    const child = this.child;
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (stderr.length < 4096) stderr += text;
    });
    return new Promise((resolve, reject) => {
      const fail = (why: string, code?: string): void => {
        clearTimeout(timer);
        this.closed = true;
        child.kill('SIGKILL');
        const cause = namespace === undefined ? undefined : namespaceRefusal(namespace, stderr);
        const words = stderr ? `${cause ? ' (' : ': '}${stderr.trim()}${cause ? ')' : ''}` : '';
        const error = new VxnetError(`${this.where}: could not start: ${cause ?? why}${words}`);
        reject(code ? Object.assign(error, { code }) : error);
      };
      const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
      child.once('error', (error) => fail(error.message));
      child.once('exit', (code, signal) => {
        if (this.boundPort === 0)
          fail(
            `exited (${signal ?? `code ${code}`})`,
            code === RELAY_PROTOCOL.EXIT_PORT_IN_USE ? 'EADDRINUSE' : undefined,
          );
        else this.died(code, signal, stderr);
      });
      child.stdout.on('data', (chunk: Buffer) => {
        this.onData(chunk);
        if (this.boundPort !== 0 && timer) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  private died(code: number | null, signal: NodeJS.Signals | null, stderr: string): void {
    const wasClosed = this.closed;
    this.closed = true;
    const error = new VxnetError(
      `${this.where}: the relay process exited (${signal ?? `code ${code}`})` +
        `${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`,
    );
    for (const pending of this.sends.values()) pending.reject(error);
    for (const pending of this.fds.values()) pending.reject(error);
    this.sends.clear();
    this.fds.clear();
    if (!wasClosed) this.handlers?.error(error, true);
  }

  private onData(chunk: Buffer): void {
    this.input = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    let input = this.input;
    while (input.length >= FRAME_HEADER) {
      const length = input.readUInt32LE(0);
      if (input.length < FRAME_HEADER + length) break;
      const op = input[4];
      const body = input.subarray(FRAME_HEADER, FRAME_HEADER + length);
      input = input.subarray(FRAME_HEADER + length);
      // input.length >= FRAME_HEADER (5) above: byte 4 is there.
      this.onFrame(op!, body);
    }
    this.input = input;
  }

  private onFrame(op: number, body: Buffer): void {
    switch (op) {
      case OP.READY:
        this.boundPort = body.readUInt32LE(0);
        break;
      case OP.DATAGRAM:
        // The frame buffer is shared with following frames: hand out a copy.
        if (this.handlers) this.handlers.datagram(Buffer.from(body));
        else this.early.push(Buffer.from(body));
        break;
      case OP.SENT: {
        const id = body.readUInt32LE(0);
        const status = body.readInt32LE(4);
        const pending = this.sends.get(id);
        this.sends.delete(id);
        if (status === 0) pending?.resolve();
        else pending?.reject(new VxnetError(`${this.where}: sendmsg failed: ${errnoCode(-status)}`));
        break;
      }
      case OP.FD: {
        const id = body.readUInt32LE(0);
        const fd = body.readInt32LE(4);
        const pending = this.fds.get(id);
        this.fds.delete(id);
        this.applyRef();
        if (fd >= 0) pending?.resolve(fd);
        else pending?.reject(new VxnetError(`${this.where}: cannot open namespace file: ${errnoCode(-fd)}`));
        break;
      }
      case OP.ERROR: {
        const errno = body.readInt32LE(0);
        this.handlers?.error(
          new VxnetError(`${this.where}: socket error ${body.subarray(4).toString() || errnoCode(errno)}`),
          false,
        );
        break;
      }
      case OP.OVERRUN:
        this.handlers?.error(new OverrunError(this.where, `${body.readUInt32LE(0)} datagram(s) dropped`), false);
        break;
    }
  }

  attach(handlers: TransportHandlers): void {
    this.handlers = handlers;
    for (const datagram of this.early.splice(0)) handlers.datagram(datagram);
  }

  private write(op: number, body: Buffer): void {
    if (this.closed) throw new VxnetError(`${this.where}: closed`);
    const head = Buffer.allocUnsafe(FRAME_HEADER);
    head.writeUInt32LE(body.length, 0);
    head[4] = op;
    this.child.stdin.write(Buffer.concat([head, body]));
  }

  send(messages: Buffer[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++ >>> 0;
      const parts: Buffer[] = [u32s(id, messages.length)];
      for (const message of messages) parts.push(u32s(message.length), message);
      try {
        this.write(OP.SEND, Buffer.concat(parts));
        this.sends.set(id, { resolve, reject });
      } catch (error) {
        reject(error);
      }
    });
  }

  addMembership(group: number): void {
    this.write(OP.ADD, u32s(group));
  }

  dropMembership(group: number): void {
    this.write(OP.DROP, u32s(group));
  }

  openFd(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++ >>> 0;
      try {
        this.write(OP.OPEN, Buffer.concat([u32s(id), Buffer.from(path)]));
        this.fds.set(id, { resolve, reject });
        this.applyRef();
      } catch (error) {
        reject(error);
      }
    });
  }

  async closeFd(fd: number): Promise<void> {
    if (!this.closed) this.write(OP.CLOSE, u32s(fd));
  }

  /** The owner wants the event loop held (answers are awaited). */
  ref(): void {
    this.wanted = true;
    this.applyRef();
  }

  unref(): void {
    this.wanted = false;
    this.applyRef();
  }

  /** Held while the owner wants it or while we await an answer of our own (openFd). */
  private applyRef(): void {
    if (this.closed) return;
    const hold = this.wanted || this.fds.size > 0;
    // The pipes are handles of their own: an idle relay must release them too.
    for (const handle of [this.child, this.child.stdout, this.child.stdin, this.child.stderr] as any[]) {
      if (hold) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  /** The relay's process id (for tests that prove a crash is contained). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * Ends the child at once (SIGKILL), for a socket whose closing others
   * must see even while this process's event loop is blocked (a lock): the
   * signal is sent now, while close()'s end of stdin waits for the loop.
   */
  kill(): void {
    this.close();
    this.child.kill('SIGKILL');
  }

  close(): void {
    if (this.closed) return;
    // Release the child's handles while applyRef still acts (it does nothing once closed).
    this.unref();
    this.closed = true;
    this.child.stdin.end();
    // Closing stdin makes the child exit by itself; make sure of it.
    const child = this.child;
    const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
    timer.unref();
    child.once('exit', () => clearTimeout(timer));
  }
}
