/**
 * One writer per network per network namespace. Two `vxnet apply` on one
 * spec, or an apply racing a destroy, must not interleave their steps: the
 * second waits until the first is done, then plans from what the first left.
 *
 * The lock is a netlink socket bound to a port derived from the network's
 * name, opened inside the network's namespace. A netlink port is unique per
 * protocol and namespace, so a second bind fails with EADDRINUSE while the
 * first socket lives; and the kernel frees the port when the socket closes
 * or its process dies, however it dies, so a crashed writer never leaves the
 * network locked. The protocol is NETLINK_USERSOCK, which the kernel sends
 * nothing on. Beside the lock, a note (pid, command, since) says who holds it.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { NETLINK_USERSOCK } from '../netlink/constants.js';
import { VxnetError } from '../netlink/errors.js';
import { RelayTransport } from '../netlink/relay.js';
import { NativeTransport, type Transport } from '../netlink/transport.js';

export interface LockHolder {
  pid: number;
  command: string;
  /** ISO time it took the lock. */
  since: string;
}

export interface LockOptions {
  /** How long to wait for a lock another process holds. Default 60 s; 0 fails at once. */
  timeoutMs?: number;
  /** Called once, when the lock is found taken and the wait begins. */
  onWait?: (holder: LockHolder | undefined) => void;
}

export class NetworkLockedError extends VxnetError {
  override name = 'NetworkLockedError';
  constructor(
    readonly network: string,
    readonly where: string,
    readonly holder: LockHolder | undefined,
    waitedMs: number,
  ) {
    super(
      `network ${network} in ${where} is being changed by ` +
        `${describeHolder(holder)}${waitedMs > 0 ? `; waited ${(waitedMs / 1000).toFixed(1)} s` : ''}: ` +
        'try again when it is done, or stop that process',
    );
  }
}

export function describeHolder(holder: LockHolder | undefined): string {
  return holder ? `pid ${holder.pid} (${holder.command}, since ${holder.since})` : 'another vxnet process';
}

/** FNV-1a of the name, into ports no autobind hands out (node-netlink's and the kernel's are pid-based or negative). */
export function lockPort(network: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(`vxnet:${network}`)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (0x40000000 | (hash & 0x3fffffff)) >>> 0;
}

const POLL_MS = 200;

export class NetworkLock {
  private released = false;

  private constructor(
    private readonly transport: Transport,
    private readonly notePath: string,
  ) {}

  /**
   * Takes the lock of `network` in `namespace` (this process's when
   * omitted), waiting for another holder up to `timeoutMs`.
   */
  static async acquire(
    network: string,
    namespace: string | undefined,
    notePath: string,
    options: LockOptions = {},
  ): Promise<NetworkLock> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const where = namespace ? `namespace ${namespace}` : 'this network namespace';
    const started = Date.now();
    let waiting = false;
    for (;;) {
      const transport = await bind(lockPort(network), namespace);
      if (transport) {
        const lock = new NetworkLock(transport, notePath);
        lock.writeNote();
        return lock;
      }
      const holder = readHolder(notePath);
      const waited = Date.now() - started;
      if (waited >= timeoutMs) throw new NetworkLockedError(network, where, holder, waited);
      if (!waiting) {
        waiting = true;
        options.onWait?.(holder);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, timeoutMs - waited)));
    }
  }

  private writeNote(): void {
    const holder: LockHolder = { pid: process.pid, command: commandLine(), since: new Date().toISOString() };
    try {
      mkdirSync(dirname(this.notePath), { recursive: true });
      writeFileSync(this.notePath, `${JSON.stringify(holder)}\n`);
    } catch {
      // The note only helps a waiter name us; the lock holds without it (no state directory yet).
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    rmSync(this.notePath, { force: true });
    if (this.transport instanceof RelayTransport) this.transport.kill();
    else this.transport.close();
  }
}

async function bind(port: number, namespace: string | undefined): Promise<Transport | undefined> {
  try {
    // Small buffers: nothing is ever received on it.
    return namespace === undefined
      ? new NativeTransport(NETLINK_USERSOCK, { localPort: port, receiveBufferSize: 4096, readSize: 4096 })
      : await RelayTransport.open(NETLINK_USERSOCK, {
          namespace,
          localPort: port,
          receiveBufferSize: 4096,
          readSize: 4096,
        });
  } catch (error) {
    if ((error as { code?: string }).code === 'EADDRINUSE') return undefined;
    throw error;
  }
}

function readHolder(notePath: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(notePath, 'utf8')) as LockHolder;
    return typeof holder.pid === 'number' ? holder : undefined;
  } catch {
    return undefined;
  }
}

function commandLine(): string {
  const args = process.argv.slice(1).map((arg) => arg.replace(/^.*\/(src\/cli\/main\.ts|dist\/cli\.js)$/, 'vxnet'));
  return args.join(' ').slice(0, 200);
}
