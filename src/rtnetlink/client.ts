/**
 * The rtnetlink client: one NETLINK_ROUTE connection, in this network
 * namespace or a named one, and the object APIs on top of it.
 *
 *   await using rt = await Rtnetlink.open({ namespace: 'host1' });
 *   const vx = await rt.links.create({
 *     ifname: 'vx0', kind: 'vxlan', vxlan: { id: 42, group: '239.1.1.1', link: 'eth0', port: 4789 },
 *   });
 */
import { Connection, type ConnectionOptions } from '../netlink/connection.js';
import { NETLINK_ROUTE } from '../netlink/constants.js';
import { validateNamespaceName } from '../netlink/namespace.js';
import { Addresses } from './addresses.js';
import { type EventOptions, type RtEvent, watch } from './events.js';
import { Links } from './links.js';
import { Fdb, Neighbours } from './neighbours.js';
import { Routes } from './routes.js';

export interface RtnetlinkOptions extends Omit<ConnectionOptions, 'protocol' | 'namespace'> {
  /** Work inside this network namespace (/run/netns/NAME). Omitted: this process's. */
  namespace?: string;
}

export class Rtnetlink implements AsyncDisposable {
  readonly links: Links;
  readonly addresses: Addresses;
  readonly routes: Routes;
  readonly neighbours: Neighbours;
  readonly fdb: Fdb;

  private constructor(
    readonly connection: Connection,
    readonly namespace: string | undefined,
  ) {
    this.links = new Links(this);
    this.addresses = new Addresses(this);
    this.routes = new Routes(this);
    this.neighbours = new Neighbours(this);
    this.fdb = new Fdb(this);
  }

  static async open(options: RtnetlinkOptions = {}): Promise<Rtnetlink> {
    if (options.namespace !== undefined && !options.namespace.startsWith('/')) validateNamespaceName(options.namespace);
    const connection = await Connection.open({ ...options, protocol: NETLINK_ROUTE });
    return new Rtnetlink(connection, options.namespace);
  }

  /** Wraps an existing connection (tests replaying fixtures, or a caller managing its own). */
  static over(connection: Connection, namespace?: string): Rtnetlink {
    return new Rtnetlink(connection, namespace);
  }

  /** "namespace host1", or "this network namespace": used in error messages. */
  get where(): string {
    return this.namespace ? `namespace ${this.namespace}` : 'this network namespace';
  }

  /** Live events (typed), optionally after a listing of what exists. See events.ts. */
  events(options: EventOptions): AsyncGenerator<RtEvent, void, undefined> {
    return watch(this, options);
  }

  close(): void {
    this.connection.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
