/**
 * The bridge: plan and ensure it (STP off and forward delay 0 by default, MTU,
 * gateway address, up), attach and detach ports, list them.
 */
import { constants } from 'node:os';
import { ConflictError } from '../common/conflict.js';
import { ownerAlias, ownerFromAlias } from '../common/ownership.js';
import { applyChanges, type Change } from '../common/plan.js';
import { NetlinkError, ValidationError } from '../netlink/errors.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import type { Link, LinkRef } from '../rtnetlink/links.js';
import type { BridgeInfoData } from '../rtnetlink/schema/kinds/bridge.js';
import { IFA_F_NODAD, IFF_UP } from '../rtnetlink/constants.js';
import { parsePrefix } from '../rtnetlink/validate.js';
import { canonicalAddress } from '../vxlan/spec.js';
import { type BridgeSpec, validateBridgeSpec } from './spec.js';

const { ENODEV } = constants.errno;

/** Bridge times are in centiseconds (USER_HZ) on the wire. */
const CENTISECONDS = 100;

/** The changes that make the host's bridge `spec.name` match `spec`: create it, or update what differs; its address. */
export async function planBridge(rt: Rtnetlink, spec: BridgeSpec): Promise<Change[]> {
  validateBridgeSpec(spec);
  const existing = await rt.links.find(spec.name);
  const changes = existing ? planBridgeUpdate(rt, spec, existing) : [planBridgeCreate(rt, spec)];
  if (spec.address !== undefined) changes.push(...(await planGatewayAddress(rt, spec.name, spec.address, existing)));
  return changes;
}

/** The bridge settings a spec asks for, as the kernel holds them. */
function wantedSettings(spec: BridgeSpec): BridgeInfoData {
  return {
    stp_state: spec.stp ? 1 : 0,
    forward_delay: Math.round((spec.forwardDelay ?? 0) * CENTISECONDS),
  };
}

function planBridgeCreate(rt: Rtnetlink, spec: BridgeSpec): Change {
  const alias = spec.owner !== undefined ? ownerAlias(spec.owner) : undefined;
  const mtu = spec.mtu ? `, mtu ${spec.mtu}` : '';
  return {
    action: 'create',
    target: `link ${spec.name}`,
    detail: `bridge, stp ${spec.stp ? 'on' : 'off'}, forward delay ${spec.forwardDelay ?? 0}s${mtu}`,
    apply: async () => {
      await rt.links.create({
        ifname: spec.name,
        kind: 'bridge',
        bridge: wantedSettings(spec),
        ...(alias ? { ifalias: alias } : {}),
        up: true,
      });
      // An MTU given at creation is not "set by the user" for the bridge driver, which then
      // follows its ports' MTUs (a 1500-byte veth would raise it). Setting it afterwards sticks.
      if (spec.mtu) await rt.links.set(spec.name, { mtu: spec.mtu });
    },
  };
}

/** An existing device of the bridge's name: refused if it is not a bridge or another network's; else what differs. */
function planBridgeUpdate(rt: Rtnetlink, spec: BridgeSpec, existing: Link): Change[] {
  if (existing.linkinfo?.info_kind !== 'bridge') {
    throw new ConflictError(
      `link ${spec.name}`,
      [{ field: 'kind', actual: existing.linkinfo?.info_kind ?? 'none', wanted: 'bridge' }],
      'pick another bridge name, or delete that device',
    );
  }
  // Ownership is given at creation only: a bridge someone else made stays theirs (destroy never removes it).
  const current = ownerFromAlias(existing.ifalias);
  if (spec.owner !== undefined && current !== undefined && current !== spec.owner) {
    throw new ConflictError(
      `link ${spec.name}`,
      [{ field: 'owner', actual: current, wanted: spec.owner }],
      'it belongs to another vxnet network',
    );
  }
  const wanted = wantedSettings(spec);
  const data = (existing.linkinfo.info_data ?? {}) as BridgeInfoData;
  const updates: string[] = [];
  const set: Parameters<Rtnetlink['links']['set']>[1] = {};
  const info: BridgeInfoData = {};
  if (data.stp_state !== wanted.stp_state) {
    info.stp_state = wanted.stp_state;
    updates.push(`stp ${spec.stp ? 'on' : 'off'}`);
  }
  if (data.forward_delay !== wanted.forward_delay) {
    info.forward_delay = wanted.forward_delay;
    updates.push(`forward delay ${(wanted.forward_delay ?? 0) / CENTISECONDS}s`);
  }
  if (Object.keys(info).length) set.linkinfo = { info_kind: 'bridge', info_data: info };
  if (spec.mtu !== undefined && existing.mtu !== spec.mtu) {
    set.mtu = spec.mtu;
    updates.push(`mtu ${existing.mtu} → ${spec.mtu}`);
  }
  if ((existing.flags & IFF_UP) === 0) {
    set.up = true;
    updates.push('up');
  }
  if (updates.length === 0) return [];
  return [
    {
      action: 'update',
      target: `link ${spec.name}`,
      detail: updates.join(', '),
      apply: () => rt.links.set(spec.name, set),
    },
  ];
}

/** The gateway address on the bridge, unless it is there already. */
async function planGatewayAddress(
  rt: Rtnetlink,
  bridge: string,
  address: string,
  existing: Link | undefined,
): Promise<Change[]> {
  const prefix = parsePrefix(address, 'address');
  const canonical = canonicalAddress(prefix.address);
  if (existing) {
    const present = await rt.addresses.list({ dev: existing.ifindex });
    if (present.some((a) => (a.local ?? a.address) === canonical && a.prefixlen === prefix.prefixlen)) return [];
  }
  return [
    {
      action: 'add',
      target: `address ${address} on ${bridge}`,
      apply: () =>
        rt.addresses.add({
          dev: bridge,
          address,
          // The gateway is ours: no duplicate address detection delay.
          ...(prefix.family === 6 ? { flags: IFA_F_NODAD } : {}),
        }),
    },
  ];
}

export async function ensureBridge(rt: Rtnetlink, spec: BridgeSpec): Promise<Change[]> {
  const changes = await planBridge(rt, spec);
  await applyChanges(changes);
  return changes;
}

/** The change that enslaves `port` to `bridge` (and brings it up), or none if it already is. */
export async function planPort(rt: Rtnetlink, bridge: string, port: LinkRef): Promise<Change[]> {
  const [master, link] = await Promise.all([rt.links.find(bridge), rt.links.find(port)]);
  if (!link) throw new ValidationError('port', `no device ${port} in ${rt.where}`, port);
  if (master && master.linkinfo?.info_kind !== 'bridge')
    throw new ValidationError('bridge', `${bridge} is not a bridge`, bridge);
  if (master && link.master === master.ifindex && (link.flags & IFF_UP) !== 0) return [];
  return [
    {
      action: 'add',
      target: `port ${link.ifname} on ${bridge}`,
      apply: () => rt.links.set(link, { master: bridge, up: true }),
    },
  ];
}

/** Enslaves a device to the bridge and brings it up. Returns false if it already was. */
export async function attachPort(rt: Rtnetlink, bridge: string, port: LinkRef): Promise<boolean> {
  const changes = await planPort(rt, bridge, port);
  await applyChanges(changes);
  return changes.length > 0;
}

/** Releases a device from its bridge. Returns false if it was not enslaved. */
export async function detachPort(rt: Rtnetlink, port: LinkRef): Promise<boolean> {
  const link = await rt.links.find(port);
  if (!link) throw new ValidationError('port', `no device ${port} in ${rt.where}`, port);
  if (!link.master) return false;
  await rt.links.set(link, { master: null });
  return true;
}

/** The devices enslaved to a bridge. */
export async function listPorts(rt: Rtnetlink, bridge: string): Promise<Link[]> {
  const master = await rt.links.find(bridge);
  if (!master)
    throw new NetlinkError({
      errno: ENODEV,
      operation: 'list ports',
      object: bridge,
      cause: `no bridge named ${bridge} in ${rt.where}`,
    });
  return rt.links.list({ master: master.ifindex });
}
