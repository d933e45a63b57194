/**
 * Membership: where an agent learns which hosts are in the network. A
 * source (the spec's static peer list today; etcd later) only says who the
 * members are and how much that can be trusted; converging the kernel to it
 * stays with the building blocks (flood entries in vxlan/, the firewall's
 * peer set in masquerade/), driven by the agent.
 *
 * The one rule that keeps a control-plane fault from breaking the data
 * plane lives here, in desiredPeers(): while the source is stale (cannot
 * reach its store, or cannot tell whether what it saw is current), nothing
 * is removed; members it still reports are added.
 */
import { canonicalAddress } from '../vxlan/spec.js';

/** How far the member list can be trusted. */
export type MembershipHealth =
  /** The list is current as of `since` (static lists always are). */
  | { state: 'fresh'; since: string }
  /** The source lost track at `since` (etcd unreachable, a watch that went quiet...): `cause` says why. */
  | { state: 'stale'; since: string; cause: string };

/** One other member, with what a routed network needs of it. */
export interface MembershipMember {
  /** Underlay address (canonical). */
  address: string;
  /** Its container subnet (a routed network's members register one). */
  subnet?: string;
}

/** Whether two member lists are the same members, in the same order, with the same subnets. */
export function sameMembers(a: readonly MembershipMember[], b: readonly MembershipMember[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x?.address !== y?.address || x?.subnet !== y?.subnet) return false;
  }
  return true;
}

export interface MembershipView {
  /** The other members' underlay addresses (this host excluded), canonical and without duplicates. */
  peers: readonly string[];
  /** The other members with their registrations' details, in `peers`' order (a source that has them). */
  members?: readonly MembershipMember[];
  health: MembershipHealth;
  /**
   * When what changed the view last reached this process (performance.now()), for a source that knows it
   * better than its listeners: etcd's, the watch response's arrival, before it was decoded. The agent counts a
   * membership repair's time from there.
   */
  changedAt?: number;
}

/**
 * A source of members. The agent calls start() once, view() whenever it
 * converges, resync() on every full resync (a source with a store re-lists
 * it there), and close() when it stops. A source calls the listeners given
 * to onChange whenever its view changes (peers or health).
 */
export interface Membership {
  /** What the source is, for logs and status: "static", "etcd". */
  readonly source: string;
  start(): Promise<void>;
  view(): MembershipView;
  resync(): Promise<void>;
  /** Returns the function that removes the listener. */
  onChange(listener: () => void): () => void;
  close(): Promise<void>;
  /**
   * This host's part of the network exists (after the first apply, and a
   * reload's): a source with a store registers the host with what the other
   * hosts need (the VXLAN device's MAC, or a routed network's subnet).
   * Optional: static has none.
   */
  announce?(local: { mac: string } | { subnet: string }): Promise<void>;
  /** Things the operator should know (an ignored malformed record, a refused registration). */
  onNotice?(listener: (message: string) => void): () => void;
}

/** The peers (canonical) after a converge, and the kernel's peers kept only because the source is stale. */
export interface DesiredPeers {
  peers: string[];
  /** Peers the kernel has that the view does not list, kept because the view is stale (empty when fresh). */
  kept: string[];
}

/**
 * The flood list to converge to. Fresh: exactly the members (vxnet-owned
 * entries of non-members are collected). Stale: the members plus whatever
 * the kernel has now, so nothing is removed on the word of a source that
 * lost track. Order: the members' order, then the kept ones in the kernel's.
 */
export function desiredPeers(view: MembershipView, kernelPeers: readonly string[]): DesiredPeers {
  const peers = unique(view.peers.map(canonicalAddress));
  if (view.health.state === 'fresh') return { peers, kept: [] };
  const listed = new Set(peers);
  const kept = unique(kernelPeers.map(canonicalAddress)).filter((peer) => !listed.has(peer));
  return { peers: [...peers, ...kept], kept };
}

/** A static route of a routed network: a member's subnet through its underlay address. */
export interface RouteEntry {
  subnet: string;
  via: string;
}

/** The routes after a converge, and the kernel's routes kept only because the source is stale. */
export interface DesiredRoutes {
  routes: RouteEntry[];
  /** vxnet's routes the kernel has for subnets the view does not route, kept because it is stale. */
  kept: RouteEntry[];
}

/**
 * desiredPeers' rule for a routed network's table. Fresh: exactly the
 * routes from the members (vxnet's routes to anything else are removed).
 * Stale: those, plus each route the kernel has now for a subnet that none
 * of them covers or overlaps, so a host is never cut off on the word of a
 * source that lost track; a member's new next hop still replaces the old.
 */
export function desiredRoutes(
  health: MembershipHealth,
  fromMembers: readonly RouteEntry[],
  kernelRoutes: readonly RouteEntry[],
  overlapping: (a: string, b: string) => boolean,
): DesiredRoutes {
  const routes = fromMembers.map((r) => ({ ...r }));
  if (health.state === 'fresh') return { routes, kept: [] };
  const kept: RouteEntry[] = [];
  for (const route of kernelRoutes) {
    if ([...routes, ...kept].some((r) => overlapping(r.subnet, route.subnet))) continue;
    kept.push({ ...route });
  }
  return { routes: [...routes, ...kept], kept };
}

export interface PeerDiff {
  added: string[];
  removed: string[];
}

/** What changes between two peer lists (for logs: "peers +192.0.2.4 -192.0.2.9"). */
export function diffPeers(before: readonly string[], after: readonly string[]): PeerDiff {
  const from = new Set(before.map(canonicalAddress));
  const to = new Set(after.map(canonicalAddress));
  return { added: [...to].filter((p) => !from.has(p)), removed: [...from].filter((p) => !to.has(p)) };
}

/** Peers named one by one in a change's description; a larger change is summarised. */
const NAMED_PEERS = 8;

/**
 * A peer diff in words for a log line or a repair's trigger: "+192.0.2.4
 * -192.0.2.9"; a large one names its first three and counts the rest
 * ("+10.1.0.1 +10.1.0.2 +10.1.0.3 … (1000 added, 0 removed)"), so that 1,000
 * hosts joining at once do not make every log line and the agent's record
 * (rewritten on each change) tens of KiB.
 */
export function describePeerDiff({ added, removed }: PeerDiff): string {
  const total = added.length + removed.length;
  const shown = total <= NAMED_PEERS ? total : 3;
  const named = [...added.slice(0, shown).map((p) => `+${p}`), ...removed.slice(0, shown).map((p) => `-${p}`)];
  const first = named.slice(0, shown).join(' ');
  return total <= NAMED_PEERS ? first : `${first} … (${added.length} added, ${removed.length} removed)`;
}

/** The health in words: "fresh since T", "stale since T: cause". */
export function describeHealth(health: MembershipHealth): string {
  return health.state === 'fresh' ? `fresh since ${health.since}` : `stale since ${health.since}: ${health.cause}`;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
