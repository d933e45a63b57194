/**
 * A bridge vxnet uses but did not make. An overlay's bridge is normally
 * vxnet's own (created with its owner's mark, deleted by destroy). A bridge
 * of that name that someone else made is theirs: vxnet refuses to change it
 * unless asked to adopt it, and then records what the bridge was before its
 * first change (settings, and each address vxnet adds), so destroy gives
 * back exactly that and leaves the bridge itself in place.
 *
 * The record is written before the first write to the bridge, so an apply
 * interrupted half-way still leaves what destroy needs to undo it.
 */
import { linkName } from '../common/link.js';
import { ownerFromAlias } from '../common/ownership.js';
import type { Change } from '../common/plan.js';
import { VxnetError } from '../netlink/errors.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { IFF_UP } from '../rtnetlink/constants.js';
import type { Link } from '../rtnetlink/links.js';
import type { BridgeInfoData } from '../rtnetlink/schema/kinds/bridge.js';
import { canonicalAddress } from '../vxlan/spec.js';
import { planBridge } from './bridge.js';
import type { BridgeSpec } from './spec.js';

/** How the library asks for an adoption; the CLI says `--adopt`. */
export const LIBRARY_ADOPT = '{ adopt: true }';

/** What an adopted bridge was before vxnet changed it. */
export interface AdoptedBridge {
  /** The device (index and name both: a bridge deleted and made again by someone else is not this one). */
  ifindex: number;
  ifname: string;
  /**
   * `mac`: the bridge's own address. A bridge whose address was never set takes its lowest port's, and the
   * kernel's after the last port leaves (all zeros): vxnet's port passing through changes it.
   */
  before: { stp_state: number; forward_delay: number; mtu: number; up: boolean; mac?: string };
  /** Addresses vxnet added ("10.0.0.1/24"); one the bridge had already is not vxnet's to remove. */
  addressesAdded: string[];
}

/** Where the overlay keeps its adoption record (the network's state). */
export interface AdoptionStore {
  read(): AdoptedBridge | undefined;
  write(adopted: AdoptedBridge): void;
}

/** A bridge of the spec's name exists, vxnet did not make it, and the caller did not ask to adopt it. */
export class BridgeNotOwnedError extends VxnetError {
  override name = 'BridgeNotOwnedError';

  constructor(
    readonly bridge: string,
    readonly network: string,
    /** What applying would do to it ("forward delay 0s, mtu 1450", "add address 10.0.0.1/24"). */
    readonly wouldChange: string[],
  ) {
    super(notOwnedMessage(bridge, network, wouldChange, LIBRARY_ADOPT));
  }

  /** The message with the adoption asked for in the caller's words (`--adopt` on the command line). */
  messageFor(adopt: string): string {
    return notOwnedMessage(this.bridge, this.network, this.wouldChange, adopt);
  }
}

function notOwnedMessage(bridge: string, network: string, wouldChange: string[], adopt: string): string {
  const changes = [...wouldChange, `enslave network ${network}'s devices`].join('; ');
  return (
    `bridge ${bridge} exists and vxnet did not make it (it has no vxnet mark): using it for network ${network} ` +
    `would change it (${changes}). Pick another bridge name, or ask for ${adopt} to use it: ` +
    'destroy then gives back what vxnet changed and leaves the bridge'
  );
}

/** The bridge's own settings, as an adoption records them. */
export function bridgeSettings(link: Link): AdoptedBridge['before'] {
  const data = (link.linkinfo?.info_data ?? {}) as BridgeInfoData;
  return {
    stp_state: data.stp_state ?? 0,
    forward_delay: data.forward_delay ?? 0,
    mtu: link.mtu ?? 0,
    up: (link.flags & IFF_UP) !== 0,
    ...(link.address !== undefined ? { mac: link.address } : {}),
  };
}

/**
 * The bridge's plan for an owned network (spec.owner set): planBridge's,
 * unless the bridge exists without any vxnet mark. Then it is refused
 * (BridgeNotOwnedError) unless `adopt` is asked for or the store already
 * records this bridge's adoption; an adoption's first step records the
 * bridge as it is, and each address added is recorded before it is added.
 */
export async function planNetworkBridge(
  rt: Rtnetlink,
  spec: BridgeSpec & { owner: string },
  options: { adopt?: boolean; store: AdoptionStore },
): Promise<Change[]> {
  const existing = await rt.links.find(spec.name);
  // planBridge refuses another kind and another network's mark; an unmarked bridge is what is decided here.
  if (!existing || existing.linkinfo?.info_kind !== 'bridge' || ownerFromAlias(existing.ifalias) !== undefined)
    return planBridge(rt, spec);
  const changes = await planBridge(rt, { ...spec, owner: undefined });
  const recorded = options.store.read();
  const adopted = recorded?.ifindex === existing.ifindex && recorded.ifname === existing.ifname ? recorded : undefined;
  if (!adopted && !options.adopt) {
    throw new BridgeNotOwnedError(
      spec.name,
      spec.owner,
      changes.map((c) => (c.action === 'update' ? (c.detail ?? '') : `${c.action} ${c.target.replace(/ on .*$/, '')}`)),
    );
  }
  const record: AdoptedBridge = adopted ?? {
    ifindex: existing.ifindex,
    ifname: linkName(existing),
    before: bridgeSettings(existing),
    addressesAdded: [],
  };
  // The one address planBridge adds is the spec's (the gateway): recorded before it is added.
  const address = spec.address;
  const tracked = changes.map((change): Change => {
    if (address === undefined || change.target !== `address ${address} on ${spec.name}`) return change;
    return {
      ...change,
      apply: async () => {
        if (!record.addressesAdded.includes(address)) {
          record.addressesAdded.push(address);
          options.store.write(record);
        }
        await change.apply();
      },
    };
  });
  if (adopted) return tracked;
  return [
    {
      action: 'update',
      target: `link ${spec.name}`,
      detail: 'adopt: a bridge vxnet did not make; its settings are recorded, and destroy gives them back',
      apply: async () => options.store.write(record),
    },
    ...tracked,
  ];
}

/**
 * The change that gives an adopted bridge back as it was (its settings, and
 * without the addresses vxnet added), or none when the bridge is gone or is
 * another device by now. Ports are not its concern: vxnet's own devices are
 * deleted by destroy, and a port someone else enslaved stays.
 */
export async function planBridgeRelease(rt: Rtnetlink, adopted: AdoptedBridge): Promise<Change[]> {
  const link = (await rt.links.list()).find((l) => l.ifindex === adopted.ifindex);
  if (!link || link.ifname !== adopted.ifname) return [];
  const present = new Set(
    (await rt.addresses.list({ dev: link.ifindex })).map((a) => `${a.local ?? a.address}/${a.prefixlen}`),
  );
  const remove = adopted.addressesAdded.filter((a) => present.has(canonicalPrefix(a)));
  const now = bridgeSettings(link);
  const { before } = adopted;
  const restored: string[] = [];
  if (now.stp_state !== before.stp_state) restored.push(`stp ${before.stp_state ? 'on' : 'off'}`);
  if (now.forward_delay !== before.forward_delay) restored.push(`forward delay ${before.forward_delay / 100}s`);
  if (now.mtu !== before.mtu) restored.push(`mtu ${now.mtu} → ${before.mtu}`);
  if (now.up !== before.up) restored.push(before.up ? 'up' : 'down');
  // Checked again when the step runs: once vxnet's devices are gone the bridge may have its address back by itself.
  if (before.mac !== undefined && now.mac !== before.mac) restored.push(`address back to ${before.mac}`);
  const details = [...restored, ...remove.map((a) => `remove address ${a}`)];
  if (details.length === 0) return [];
  return [
    {
      action: 'update',
      target: `link ${adopted.ifname}`,
      detail: `give back the adopted bridge: ${details.join(', ')}`,
      apply: async () => {
        for (const address of remove) await rt.addresses.delete({ dev: link.ifindex, address });
        await rt.links.set(link.ifindex, {
          linkinfo: {
            info_kind: 'bridge',
            info_data: { stp_state: before.stp_state, forward_delay: before.forward_delay },
          },
          mtu: before.mtu,
          up: before.up,
        });
        const after = await rt.links.get(link.ifindex);
        if (before.mac !== undefined && after.address !== before.mac)
          await rt.links.set(link.ifindex, { address: before.mac });
      },
    },
  ];
}

/** "10.0.0.1/24" with its address as the kernel prints it (IPv6 compressed), to compare with what is read back. */
function canonicalPrefix(prefix: string): string {
  const slash = prefix.lastIndexOf('/');
  return `${canonicalAddress(prefix.slice(0, slash))}/${prefix.slice(slash + 1)}`;
}
