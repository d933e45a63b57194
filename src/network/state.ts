/**
 * What vxnet must remember about a network between processes, and nothing
 * the kernel already says: the DHCP server's files, who supervises it, the
 * lock holder's note, and the value of ip_forward before vxnet turned it on.
 *
 * One directory per network per network namespace, keyed by the namespace's
 * identity (its nsfs device and inode), never by how the process got there:
 * `ip netns exec H vxnet …` and `vxnet … --namespace H` find the same state,
 * and a process in another namespace finds none of it.
 *
 *   /run/vxnet/ns-<dev>-<ino>/<network>/state.json   this file's record (and an adopted bridge's settings before)
 *                                      /lock         who holds the network's lock (a note; the lock is a socket)
 *                                      /dhcp/        dnsmasq's instance: config, hosts, leases, pid, owner.pid
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AdoptedBridge, AdoptionStore } from '../bridge/adopt.js';
import { VxnetError } from '../netlink/errors.js';
import type { NamespaceIdentity } from '../netlink/namespace.js';

export const DEFAULT_STATE_ROOT = '/run/vxnet';

export interface NetworkRecord {
  /** Set while the network needs IPv4 forwarding; `before` is the value vxnet found, when vxnet changed it. */
  ipForward?: { before?: boolean };
  /** The network's DHCP server: when its supervisor gave up, and why. */
  dhcp?: { gaveUp?: { at: string; reason: string } };
  /** A bridge vxnet uses but did not make (adopted), as it was before vxnet changed it: destroy gives it back. */
  adoptedBridge?: AdoptedBridge;
}

export class NetworkState {
  readonly namespaceDir: string;
  readonly dir: string;

  constructor(
    readonly root: string,
    readonly namespace: NamespaceIdentity,
    readonly network: string,
  ) {
    this.namespaceDir = `${root}/${namespace.id}`;
    this.dir = `${this.namespaceDir}/${network}`;
  }

  /** dnsmasq's instance directory. */
  get dhcpDir(): string {
    return `${this.dir}/dhcp`;
  }

  get lockNote(): string {
    return `${this.dir}/lock`;
  }

  private get recordPath(): string {
    return `${this.dir}/state.json`;
  }

  /** The adopted bridge's record, kept in this network's record. */
  adoptionStore(): AdoptionStore {
    return {
      read: () => this.read().adoptedBridge,
      write: (adopted) => this.write({ ...this.read(), adoptedBridge: adopted }),
    };
  }

  ensureDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
  }

  read(): NetworkRecord {
    let text: string;
    try {
      text = readFileSync(this.recordPath, 'utf8');
    } catch {
      return {};
    }
    try {
      return JSON.parse(text) as NetworkRecord;
    } catch (error) {
      throw new VxnetError(
        `the state of network ${this.network} (${this.recordPath}) is not valid JSON: ${(error as Error).message}; ` +
          'delete the file if no vxnet process uses it',
      );
    }
  }

  /** Replaces the record atomically (write, then rename), so a reader never sees half of it. */
  write(record: NetworkRecord): void {
    this.ensureDir();
    const temporary = `${this.recordPath}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
    renameSync(temporary, this.recordPath);
  }

  update(change: (record: NetworkRecord) => void): NetworkRecord {
    const record = this.read();
    change(record);
    this.write(record);
    return record;
  }

  /** Removes the network's directory, and the namespace's when no other network is left in it. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
    try {
      rmdirSync(this.namespaceDir);
    } catch {
      // Another network's state is still there (ENOTEMPTY), or it was never made: both fine.
    }
  }

  /** Forgets the record and the DHCP files (the lock note stays with its holder). */
  clear(): void {
    rmSync(this.recordPath, { force: true });
    rmSync(this.dhcpDir, { recursive: true, force: true });
  }

  /** Removes the directory if nothing is left in it (a lock taken for a network that has no state). */
  removeIfEmpty(): void {
    try {
      rmdirSync(this.dir);
      rmdirSync(this.namespaceDir);
    } catch {
      // Not empty, or already gone: either way nothing to do.
    }
  }

  /** The other networks with state in the same namespace. */
  siblings(): NetworkState[] {
    let names: string[];
    try {
      names = readdirSync(this.namespaceDir);
    } catch {
      return [];
    }
    return names
      .filter((name) => name !== this.network)
      .map((name) => new NetworkState(this.root, this.namespace, name));
  }
}
