/**
 * The VXLAN device: plan what it takes to make it match a spec (create,
 * change in place, or replace), and carry that out. A device that already
 * matches costs no write at all.
 */
import { type Change, applyChanges } from '../common/plan.js';
import { ConflictError, type Difference, formatDifference } from '../common/conflict.js';
import { ETHERNET_MTU, MtuNotAppliedError } from '../common/mtu.js';
import { IFF_UP } from '../rtnetlink/constants.js';
import { ownerAlias, ownerFromAlias } from '../common/ownership.js';
import { ValidationError } from '../netlink/errors.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import type { Link, VxlanOptions } from '../rtnetlink/links.js';
import type { VxlanInfoData } from '../rtnetlink/schema/kinds/vxlan.js';
import { FLOOD_MAC, planPeers } from './peers.js';
import {
  type AddressFamily,
  canonicalAddress,
  validateVxlanSpec,
  VXLAN_OVERHEAD,
  VXLAN_PORT,
  type VxlanSpec,
} from './spec.js';

export interface VxlanPlanOptions {
  /**
   * Recreate a VXLAN device whose VNI, port, group, local address or underlay differ (else a
   * ConflictError). Only a device marked as this network's, or one without any vxnet mark, is
   * recreated, keeping its ownership; a device of another kind, or one marked by another vxnet
   * network, is refused whatever this says.
   */
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

/**
 * Fills in defaults from the host: the underlay's index and MTU. An MTU the
 * underlay cannot carry is refused here, before anything is written: the
 * kernel would clamp it on creation without a word, and refuse it on a change.
 */
export async function resolveVxlan(rt: Rtnetlink, spec: VxlanSpec): Promise<ResolvedVxlan> {
  const family = validateVxlanSpec(spec);
  let underlay: Link | undefined;
  if (spec.underlay !== undefined) {
    underlay = await rt.links.find(spec.underlay);
    if (!underlay)
      throw new ValidationError('underlay', `no device named ${spec.underlay} in ${rt.where}`, spec.underlay);
  }
  if (underlay?.mtu !== undefined && spec.mtu !== undefined) {
    const limit = underlayLimit(underlay, underlay.mtu, family);
    if (spec.mtu > limit.max)
      throw new ValidationError('mtu', `${spec.name} cannot carry more than ${limit.text}`, spec.mtu);
  }
  const mtu = spec.mtu ?? (underlay?.mtu ?? ETHERNET_MTU) - VXLAN_OVERHEAD[family];
  const options: VxlanOptions = { id: spec.vni, port: spec.port ?? VXLAN_PORT };
  if (spec.group !== undefined) options[family === 4 ? 'group' : 'group6'] = canonicalAddress(spec.group);
  if (spec.local !== undefined) options[family === 4 ? 'local' : 'local6'] = canonicalAddress(spec.local);
  if (underlay) options.link = underlay.ifindex;
  if (spec.ttl !== undefined) options.ttl = spec.ttl;
  options.learning = spec.learning === false ? 0 : 1;
  return { spec, family, underlayIndex: underlay?.ifindex, mtu, options };
}

/** The largest MTU a VXLAN device can have over `underlay` (whose MTU is `mtu`), and that limit in words. */
function underlayLimit(underlay: Link, mtu: number, family: AddressFamily): { max: number; text: string } {
  const overhead = VXLAN_OVERHEAD[family];
  const max = mtu - overhead;
  return {
    max,
    text:
      `${max} over its underlay ${underlay.ifname}: ${underlay.ifname}'s MTU ${mtu} - ${overhead} bytes of ` +
      `VXLAN over IPv${family} ` +
      '(outer IP, UDP and VXLAN headers and the inner Ethernet header)',
  };
}

/** Differences in what can only be set at creation (the kernel refuses to change them in place). */
export function structuralDifferences(link: Link, wanted: VxlanOptions): Difference[] {
  const data = (link.linkinfo?.info_kind === 'vxlan' ? link.linkinfo.info_data : undefined) as
    | VxlanInfoData
    | undefined;
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
 * update (MTU, up), or a replace (if allowed). Ownership is given at creation
 * only, and a replace keeps the old device's: what someone else made stays
 * theirs. Every refusal happens here, before anything is written.
 */
export async function planVxlan(rt: Rtnetlink, spec: VxlanSpec, options: VxlanPlanOptions = {}): Promise<Change[]> {
  const resolved = await resolveVxlan(rt, spec);
  const existing = await rt.links.find(spec.name);
  const target = `link ${spec.name}`;
  const alias = spec.owner !== undefined ? ownerAlias(spec.owner) : undefined;
  const peerEntries = (spec.peers ?? []).map((dst) => ({ dev: spec.name, mac: FLOOD_MAC, dst: canonicalAddress(dst) }));
  const addAllPeers = (): Change[] =>
    peerEntries.length === 0
      ? []
      : [
          {
            action: 'add',
            target: `peers of ${spec.name}`,
            detail: peerEntries.length > 8 ? `${peerEntries.length} peers` : peerEntries.map((e) => e.dst).join(', '),
            apply: async () => {
              const [failed] = (await rt.fdb.appendMany(peerEntries)).failed;
              if (failed) throw failed.error;
            },
          },
        ];
  const create = (ifalias: string | undefined, note = ''): Change => ({
    action: 'create',
    target,
    detail: `${describeVxlan(resolved)}${note}`,
    apply: async () => {
      const link = await rt.links.create({
        ifname: spec.name,
        kind: 'vxlan',
        vxlan: resolved.options,
        mtu: resolved.mtu,
        ...(spec.createAddress !== undefined ? { address: spec.createAddress } : {}),
        ...(ifalias ? { ifalias } : {}),
        up: true,
      });
      if (link.mtu !== resolved.mtu) throw await mtuNotApplied(rt, spec.name, resolved, link.mtu);
    },
  });
  if (!existing) return [create(alias), ...addAllPeers()];

  // Never a device of another kind, whatever the options say: it is someone else's (a veth, say), and
  // deleting it would take more with it (its peer) than this spec knows about.
  const kind = existing.linkinfo?.info_kind;
  if (kind !== 'vxlan') {
    throw new ConflictError(
      target,
      [{ field: 'kind', actual: kind ?? 'none', wanted: 'vxlan' }],
      `pick another name for the VXLAN device, or remove that ${kind ?? 'kindless'} device yourself: vxnet never ` +
        'deletes a device of another kind',
    );
  }
  const differences = await namingUnderlays(rt, structuralDifferences(existing, resolved.options), spec.underlay);
  // Never one marked by another vxnet network: it is that network's to change or destroy.
  const current = ownerFromAlias(existing.ifalias);
  if (current !== undefined && current !== spec.owner && (spec.owner !== undefined || differences.length > 0)) {
    throw new ConflictError(
      target,
      [{ field: 'owner', actual: current, wanted: spec.owner }, ...differences],
      `it belongs to the vxnet network ${current}: pick another device name, or destroy that network first`,
    );
  }
  if (differences.length > 0) {
    if (!options.replace) {
      // Unmarked while the spec names a network: made by hand or by another tool, which may still use it.
      const alternative =
        current === undefined && spec.owner !== undefined
          ? "it is not marked as vxnet's (made by hand or another tool, which may still use it): " +
            'change the spec, or pick another device name'
          : 'change the spec';
      throw new ConflictError(target, differences, alternative, { replaceable: true });
    }
    // The new device gets the old one's alias: marked only if the old one carried this network's
    // mark (any other alias is not a vxnet mark here), so destroy still leaves what someone else made.
    const keptAlias = existing.ifalias || undefined;
    const whose = current !== undefined ? `marked ${existing.ifalias}` : "not marked as vxnet's";
    return [
      {
        action: 'delete',
        target,
        detail: `${whose}, to recreate it: ${differences.map(formatDifference).join(', ')}`,
        apply: () => rt.links.delete(existing),
      },
      {
        ...create(keptAlias, current !== undefined ? '' : ', left unmarked like the device it replaces'),
        action: 'replace',
      },
      ...addAllPeers(),
    ];
  }

  const updates: string[] = [];
  const changes: Parameters<Rtnetlink['links']['set']>[1] = {};
  if (existing.mtu !== resolved.mtu) {
    changes.mtu = resolved.mtu;
    updates.push(`mtu ${existing.mtu} → ${resolved.mtu}`);
  }
  if ((existing.flags & IFF_UP) === 0) {
    changes.up = true;
    updates.push('up');
  }
  const device: Change[] =
    updates.length === 0
      ? []
      : [
          {
            action: 'update',
            target,
            detail: updates.join(', '),
            apply: async () => {
              await rt.links.set(existing, changes);
              if (changes.mtu === undefined) return;
              const after = await rt.links.get(existing.ifindex);
              if (after.mtu !== changes.mtu) throw await mtuNotApplied(rt, spec.name, resolved, after.mtu);
            },
          },
        ];
  // The flood list is part of the spec when peers are given; a group device's is left alone.
  return spec.peers === undefined ? device : [...device, ...(await planPeers(rt, spec.name, spec.peers))];
}

/**
 * The underlay in a difference by device name ("underlay is eth0, wanted
 * eth1"), as the spec names it: the kernel and structuralDifferences speak
 * ifindexes, which mean nothing to the person reading the refusal.
 */
async function namingUnderlays(
  rt: Rtnetlink,
  differences: Difference[],
  wanted: string | undefined,
): Promise<Difference[]> {
  return Promise.all(
    differences.map(async (d) => {
      if (d.field !== 'underlay') return d;
      let actual = d.actual;
      if (typeof actual === 'number') {
        const device = await rt.links.find(actual).catch(() => undefined);
        actual = device?.ifname ?? `ifindex ${actual} (no such device in ${rt.where})`;
      }
      return { ...d, actual, wanted: wanted ?? d.wanted };
    }),
  );
}

/** The kernel set another MTU than asked: say which, and why when the underlay tells. */
async function mtuNotApplied(
  rt: Rtnetlink,
  name: string,
  resolved: ResolvedVxlan,
  applied: number | undefined,
): Promise<MtuNotAppliedError> {
  const underlay =
    resolved.underlayIndex === undefined
      ? undefined
      : await rt.links.find(resolved.underlayIndex).catch(() => undefined);
  const cause =
    underlay?.mtu !== undefined && resolved.mtu > underlayLimit(underlay, underlay.mtu, resolved.family).max
      ? `${name} can carry no more than ${underlayLimit(underlay, underlay.mtu, resolved.family).text}`
      : undefined;
  return new MtuNotAppliedError(name, resolved.mtu, applied, cause);
}

/** Makes the device match the spec; returns what was done (empty: it already matched). */
export async function ensureVxlan(rt: Rtnetlink, spec: VxlanSpec, options: VxlanPlanOptions = {}): Promise<Change[]> {
  const changes = await planVxlan(rt, spec, options);
  await applyChanges(changes);
  return changes;
}

function describeVxlan(r: ResolvedVxlan): string {
  const o = r.options;
  const flood =
    (o.group ?? o.group6)
      ? `group ${o.group ?? o.group6}`
      : r.spec.peers
        ? `${r.spec.peers.length} unicast peer(s)`
        : 'no flooding';
  return `vxlan id ${o.id} ${flood}${r.spec.underlay ? ` dev ${r.spec.underlay}` : ''} dstport ${o.port} mtu ${r.mtu}`;
}
