/**
 * Unicast peers: where a VXLAN device floods broadcast and unknown traffic
 * when there is no multicast group. Each peer is one all-zeros MAC entry in
 * the device's FDB (`bridge fdb append 00:00:00:00:00:00 dev vx0 dst PEER`).
 *
 * The flood list of a device is the peer list: setPeers makes it exactly the
 * given one. Entries for any other MAC (learned, or added by hand) are never
 * touched.
 */
import type { Change } from '../common/plan.js';
import { applyChanges } from '../common/plan.js';
import { ValidationError } from '../netlink/errors.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import type { FdbEntry, FdbSpec } from '../rtnetlink/neighbours.js';
import { NUD_NOARP, NUD_PERMANENT } from '../rtnetlink/constants.js';
import { addressFamily, isMulticast, validateIfname } from '../rtnetlink/validate.js';
import { canonicalAddress } from './spec.js';

export const FLOOD_MAC = '00:00:00:00:00:00';

/** A flood entry: the all-zeros MAC with a unicast destination. */
export function isFloodEntry(entry: FdbEntry): entry is FdbEntry & { lladdr: string; dst: string } {
  return entry.lladdr === FLOOD_MAC && entry.dst !== undefined && !isMulticast(entry.dst);
}

/** The device's unicast flood destinations, in the kernel's order. */
export async function listPeers(rt: Rtnetlink, device: string): Promise<string[]> {
  return (await rt.fdb.list({ dev: device })).filter(isFloodEntry).map((e) => e.dst);
}

/** One peer in its canonical form; `field` names it in errors. */
function validatePeer(peer: string, field: string): string {
  addressFamily(peer, field);
  if (isMulticast(peer)) throw new ValidationError(field, 'a peer is a unicast address', peer);
  return canonicalAddress(peer);
}

function validatePeers(peers: string[]): string[] {
  if (!Array.isArray(peers)) throw new ValidationError('peers', 'expected a list of addresses', peers);
  const seen = new Set<string>();
  return peers.map((peer, i) => {
    const canonical = validatePeer(peer, `peers[${i}]`);
    if (seen.has(canonical)) throw new ValidationError(`peers[${i}]`, 'is listed twice', peer);
    seen.add(canonical);
    return canonical;
  });
}

/** The changes that make the device's flood list exactly `peers`. */
export async function planPeers(rt: Rtnetlink, device: string, peers: string[]): Promise<Change[]> {
  validateIfname(device, 'device');
  const wanted = validatePeers(peers);
  const current = new Set((await listPeers(rt, device)).map(canonicalAddress));
  const missing = wanted.filter((p) => !current.has(p));
  const wantedSet = new Set(wanted);
  const stale = [...current].filter((p) => !wantedSet.has(p));
  const entry = (dst: string): FdbSpec => ({ dev: device, mac: FLOOD_MAC, dst });
  const changes: Change[] = [];
  if (stale.length) {
    changes.push({
      action: 'remove',
      target: `peers of ${device}`,
      detail: stale.length > 8 ? `${stale.length} peers` : stale.join(', '),
      apply: async () => {
        const result = await rt.fdb.deleteMany(stale.map(entry));
        // Gone already is what we wanted.
        const real = result.failed.find((f) => f.error.code !== 'ENOENT');
        if (real) throw real.error;
        await forgetLearned(rt, device, stale);
      },
    });
  }
  if (missing.length) {
    changes.push({
      action: 'add',
      target: `peers of ${device}`,
      detail: missing.length > 8 ? `${missing.length} peers` : missing.join(', '),
      apply: async () => {
        const [failed] = (await rt.fdb.appendMany(missing.map(entry))).failed;
        if (failed) throw failed.error;
      },
    });
  }
  return changes;
}

export interface PeerChanges {
  added: string[];
  removed: string[];
}

/** Converges the flood list to `peers`: adds the missing, removes the stale, leaves other entries alone. */
export async function setPeers(rt: Rtnetlink, device: string, peers: string[]): Promise<PeerChanges> {
  const wanted = validatePeers(peers);
  const before = new Set((await listPeers(rt, device)).map(canonicalAddress));
  await applyChanges(await planPeers(rt, device, peers));
  return { added: wanted.filter((p) => !before.has(p)), removed: [...before].filter((p) => !wanted.includes(p)) };
}

/** Adds one peer (no-op if present). */
export async function addPeer(rt: Rtnetlink, device: string, peer: string): Promise<boolean> {
  const canonical = validatePeer(peer, 'peers[0]');
  if ((await listPeers(rt, device)).map(canonicalAddress).includes(canonical)) return false;
  await rt.fdb.append({ dev: device, mac: FLOOD_MAC, dst: canonical });
  return true;
}

/** Removes one peer (no-op if absent), with what was learned from it. */
export async function removePeer(rt: Rtnetlink, device: string, peer: string): Promise<boolean> {
  const canonical = validatePeer(peer, 'peers[0]');
  if (!(await listPeers(rt, device)).map(canonicalAddress).includes(canonical)) return false;
  await rt.fdb.delete({ dev: device, mac: FLOOD_MAC, dst: canonical });
  await forgetLearned(rt, device, [canonical]);
  return true;
}

/**
 * Drops the MACs the device learned behind removed peers, so traffic to a
 * removed peer stops now rather than when those entries age out (300 s by
 * default). Entries someone added (permanent or static) stay.
 */
async function forgetLearned(rt: Rtnetlink, device: string, peers: string[]): Promise<void> {
  const gone = new Set(peers);
  // An entry without a MAC (no NDA_LLADDR in the reply) cannot be named in a delete: it is left alone.
  const learned = (await rt.fdb.list({ dev: device })).flatMap((e) =>
    e.lladdr !== undefined &&
    e.lladdr !== FLOOD_MAC &&
    e.dst !== undefined &&
    gone.has(canonicalAddress(e.dst)) &&
    (e.state & (NUD_PERMANENT | NUD_NOARP)) === 0
      ? [{ dev: device, mac: e.lladdr, dst: e.dst }]
      : [],
  );
  if (learned.length === 0) return;
  const result = await rt.fdb.deleteMany(learned);
  const real = result.failed.find((f) => f.error.code !== 'ENOENT');
  if (real) throw real.error;
}
