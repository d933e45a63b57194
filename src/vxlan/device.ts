/**
 * The VXLAN device: plan what it takes to make it match a spec (create,
 * change in place, or replace), and carry that out. A device that already
 * matches costs no write at all.
 */
import { type Change, applyChanges } from '../common/plan.js';
import { ConflictError, type Difference } from '../common/conflict.js';
import { ownerAlias, ownerFromAlias } from '../common/ownership.js';
import { ValidationError } from '../netlink/errors.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import type { Link, VxlanOptions } from '../rtnetlink/links.js';
import type { VxlanInfoData } from '../rtnetlink/schema/kinds/vxlan.js';
import { FLOOD_MAC, planPeers } from './peers.js';
import { type AddressFamily, canonicalAddress, validateVxlanSpec, VXLAN_OVERHEAD, VXLAN_PORT, type VxlanSpec } from './spec.js';

export interface VxlanPlanOptions {
  /** Recreate a device whose VNI, port, group, local address or underlay differ (else a ConflictError). */
  replace?: boolean;
}

/** What the device should look like, resolved against the host (underlay index, MTU). */
export interface ResolvedVxlan {
  spec: VxlanSpec;
  family: AddressFamily;
  underlayIndex?: number;
  mtu: number;
  options: VxlanOptions;
}

/** Fills in defaults from the host: the underlay's index and MTU. */
export async function resolveVxlan(rt: Rtnetlink, spec: VxlanSpec): Promise<ResolvedVxlan> {
  const family = validateVxlanSpec(spec);
  let underlay: Link | undefined;
  if (spec.underlay !== undefined) {
    underlay = await rt.links.find(spec.underlay);
    if (!underlay) throw new ValidationError('underlay', `no device named ${spec.underlay} in ${rt.where}`, spec.underlay);
  }
  const mtu = spec.mtu ?? (underlay?.mtu ?? 1500) - VXLAN_OVERHEAD[family];
  const options: VxlanOptions = { id: spec.vni, port: spec.port ?? VXLAN_PORT };
  if (spec.group !== undefined) options[family === 4 ? 'group' : 'group6'] = canonicalAddress(spec.group);
  if (spec.local !== undefined) options[family === 4 ? 'local' : 'local6'] = canonicalAddress(spec.local);
  if (underlay) options.link = underlay.ifindex;
  if (spec.ttl !== undefined) options.ttl = spec.ttl;
  options.learning = spec.learning === false ? 0 : 1;
  return { spec, family, underlayIndex: underlay?.ifindex, mtu, options };
}

/** Differences in what can only be set at creation (the kernel refuses to change them in place). */
export function structuralDifferences(link: Link, wanted: VxlanOptions): Difference[] {
  const data = (link.linkinfo?.info_kind === 'vxlan' ? link.linkinfo.info_data : undefined) as VxlanInfoData | undefined;
  if (!data) return [{ field: 'kind', actual: link.linkinfo?.info_kind ?? 'none', wanted: 'vxlan' }];
  const differences: Difference[] = [];
  const check = (field: string, actual: unknown, want: unknown): void => {
    if (actual !== want) differences.push({ field, actual, wanted: want });
  };
  check('vni', data.id, wanted.id);
  check('port', data.port, wanted.port);
  check('group', data.group ?? data.group6, wanted.group ?? wanted.group6);
  check('local', data.local ?? data.local6, wanted.local ?? wanted.local6);
  check('underlay', data.link, wanted.link);
  if (wanted.ttl !== undefined) check('ttl', data.ttl, wanted.ttl);
  check('learning', data.learning, wanted.learning);
  return differences;
}

/**
 * What it takes to make the device match: nothing, a create, an in-place
 * update (MTU, up), or a replace (if allowed). Ownership is given at creation only.
 */
export async function planVxlan(rt: Rtnetlink, spec: VxlanSpec, options: VxlanPlanOptions = {}): Promise<Change[]> {
  const resolved = await resolveVxlan(rt, spec);
  const existing = await rt.links.find(spec.name);
  const alias = spec.owner !== undefined ? ownerAlias(spec.owner) : undefined;
  const peerEntries = (spec.peers ?? []).map((dst) => ({ dev: spec.name, mac: FLOOD_MAC, dst: canonicalAddress(dst) }));
  const addAllPeers = (): Change[] => (peerEntries.length === 0 ? [] : [{
    action: 'add',
    target: `peers of ${spec.name}`,
    detail: peerEntries.length > 8 ? `${peerEntries.length} peers` : peerEntries.map((e) => e.dst).join(', '),
    apply: async () => {
      const result = await rt.fdb.appendMany(peerEntries);
      if (result.failed.length) throw result.failed[0]!.error;
    },
  }]);
  const create = (): Change => ({
    action: 'create',
    target: `link ${spec.name}`,
    detail: describeVxlan(resolved),
    apply: async () => {
      await rt.links.create({ ifname: spec.name, kind: 'vxlan', vxlan: resolved.options, mtu: resolved.mtu, ...(alias ? { ifalias: alias } : {}), up: true });
    },
  });
  if (!existing) return [create(), ...addAllPeers()];

  const differences = structuralDifferences(existing, resolved.options);
  if (differences.length > 0) {
    if (!options.replace) throw new ConflictError(`link ${spec.name}`, differences, 'change the spec, or ask for { replace: true } to recreate the device (traffic stops briefly)');
    return [
      { action: 'delete', target: `link ${spec.name}`, detail: 'to recreate it', apply: () => rt.links.delete(existing.ifindex) },
      { ...create(), action: 'replace' },
      ...addAllPeers(),
    ];
  }

  const updates: string[] = [];
  const changes: Parameters<Rtnetlink['links']['set']>[1] = {};
  if (existing.mtu !== resolved.mtu) {
    changes.mtu = resolved.mtu;
    updates.push(`mtu ${existing.mtu} → ${resolved.mtu}`);
  }
  // Ownership is given at creation only: a device someone else made stays theirs (destroy never
  // removes it), even when it matches the spec and is used as it is.
  const current = ownerFromAlias(existing.ifalias);
  if (spec.owner !== undefined && current !== undefined && current !== spec.owner) {
    throw new ConflictError(`link ${spec.name}`, [{ field: 'owner', actual: current, wanted: spec.owner }], 'it belongs to another vxnet network');
  }
  if ((existing.flags & 1) === 0) {
    changes.up = true;
    updates.push('up');
  }
  const device: Change[] = updates.length === 0
    ? []
    : [{ action: 'update', target: `link ${spec.name}`, detail: updates.join(', '), apply: () => rt.links.set(existing.ifindex, changes) }];
  // The flood list is part of the spec when peers are given; a group device's is left alone.
  return spec.peers === undefined ? device : [...device, ...(await planPeers(rt, spec.name, spec.peers))];
}

/** Makes the device match the spec; returns what was done (empty: it already matched). */
export async function ensureVxlan(rt: Rtnetlink, spec: VxlanSpec, options: VxlanPlanOptions = {}): Promise<Change[]> {
  const changes = await planVxlan(rt, spec, options);
  await applyChanges(changes);
  return changes;
}

function describeVxlan(r: ResolvedVxlan): string {
  const o = r.options;
  const flood = o.group ?? o.group6 ? `group ${o.group ?? o.group6}` : r.spec.peers ? `${r.spec.peers.length} unicast peer(s)` : 'no flooding';
  return `vxlan id ${o.id} ${flood}${r.spec.underlay ? ` dev ${r.spec.underlay}` : ''} dstport ${o.port} mtu ${r.mtu}`;
}
