/**
 * IPv4 forwarding belongs to the namespace, not to a network: several
 * vxnet networks may need it, and the host may have had it on before any of
 * them. So each network that needs it says so in its state, and the one that
 * turned it on records the value it found. When the last network that needs
 * it is destroyed, forwarding goes back to that value; while another still
 * needs it, the record passes to that one. A record counts only while its
 * network has devices here: `live` is the set of those networks.
 */
import type { Change } from '../common/plan.js';
import { enableIpForwarding, ipForwarding, setIpForwarding } from '../masquerade/forwarding.js';
import type { NetworkState } from './state.js';

/** Reads and writes net.ipv4.ip_forward of the namespace an OverlayHost works in. */
export interface IpForwardControl {
  get(): Promise<boolean>;
  set(on: boolean): Promise<void>;
}

export function procIpForward(namespace: string | undefined): IpForwardControl {
  return {
    get: () => ipForwarding(namespace),
    set: (on) => (on ? enableIpForwarding(namespace) : setIpForwarding(false, namespace)),
  };
}

/** What it takes for `state`'s network to have forwarding on: a sysctl write, a record, or nothing. */
export async function planForwarding(control: IpForwardControl, state: NetworkState): Promise<Change[]> {
  const on = await control.get();
  const recorded = state.read().ipForward !== undefined;
  if (on && recorded) return [];
  if (on) {
    // Already on (set by the host or another network): only note that this network needs it too.
    return [
      {
        action: 'update',
        target: 'net.ipv4.ip_forward',
        detail: `needed by ${state.network} (already 1)`,
        apply: async () => void state.update((r) => (r.ipForward = r.ipForward ?? {})),
      },
    ];
  }
  return [
    {
      action: 'update',
      target: 'net.ipv4.ip_forward',
      detail: "0 → 1 (masquerade routes the containers' traffic)",
      apply: async () => {
        // Recorded first: if the write succeeds and the process dies, destroy still knows to restore.
        state.update((r) => (r.ipForward = { before: r.ipForward?.before ?? false }));
        await control.set(true);
      },
    },
  ];
}

/**
 * The change a destroy makes for forwarding, if any: restore the value
 * found before vxnet turned it on, once no other network of this namespace
 * needs it; hand the record to one that still does.
 */
export function planForwardingRelease(
  control: IpForwardControl,
  state: NetworkState,
  live: ReadonlySet<string>,
): Change | undefined {
  // Only records of networks that exist here count (see OverlayHost's stale state).
  const mine = live.has(state.network) ? state.read().ipForward : undefined;
  if (mine === undefined) return undefined;
  // Another live network that recorded ip_forward, if any, inherits the record.
  const [heir] = state.siblings().filter((s) => live.has(s.network) && s.read().ipForward !== undefined);
  if (heir) {
    if (mine.before === undefined) return undefined;
    return {
      action: 'update',
      target: 'net.ipv4.ip_forward',
      detail: `stays 1 (network ${heir.network} needs it)`,
      apply: async () => void heir.update((r) => (r.ipForward = { before: r.ipForward?.before ?? mine.before })),
    };
  }
  if (mine.before !== false) return undefined;
  return {
    action: 'update',
    target: 'net.ipv4.ip_forward',
    detail: '1 → 0 (restored: it was 0 before vxnet)',
    apply: async () => {
      if (await control.get()) await control.set(false);
    },
  };
}
