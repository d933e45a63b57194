/**
 * Static membership: the peers a spec lists (unicast mode), or none at all
 * (multicast mode: the group floods, no peer list). Always fresh: the spec
 * is the whole truth until it is reloaded, and a reload makes a new one.
 */
import type { Membership, MembershipView } from './membership.js';

export class StaticMembership implements Membership {
  readonly source = 'static';
  private readonly current: MembershipView;

  /** `peers`: the other hosts' underlay addresses, as a resolved spec has them (canonical, this host excluded). */
  constructor(peers: readonly string[], since = new Date()) {
    this.current = { peers: [...peers], health: { state: 'fresh', since: since.toISOString() } };
  }

  async start(): Promise<void> {}

  view(): MembershipView {
    return this.current;
  }

  async resync(): Promise<void> {}

  onChange(_listener: () => void): () => void {
    // A static list never changes: a reload replaces the whole source.
    return () => undefined;
  }

  async close(): Promise<void> {}
}
