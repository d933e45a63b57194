/**
 * Which kernel events touch what a network owns on this host: its marked
 * links (and the devices the spec names, marked or not yet), the ports of
 * its bridge, the addresses on its bridge and VXLAN device, and the flood
 * entries (all-zeros MAC) of its VXLAN device. Anything else — another
 * network's devices, learned MACs, ARP — is not the agent's business.
 *
 * The view keeps the ifindexes of the VXLAN device and the bridge from the
 * link events themselves, so an address or FDB event (which carries only an
 * ifindex) can be placed without a dump.
 */
import { ownerAlias } from '../common/ownership.js';
import type { RtEvent } from '../rtnetlink/events.js';
import type { Link } from '../rtnetlink/links.js';
import type { AnyResolvedSpec } from '../overlay/spec.js';

export class OwnedView {
  readonly alias: string;
  /** Device names the spec gives: VXLAN device, bridge, underlay. */
  readonly names: Map<string, 'vxlan' | 'bridge' | 'underlay'>;
  /** The spec's VXLAN device and bridge by name (a routed network has no VXLAN device). */
  private readonly vxlanName?: string;
  private readonly bridgeName: string;
  vxlanIndex?: number;
  bridgeIndex?: number;

  constructor(spec: AnyResolvedSpec) {
    this.alias = ownerAlias(spec.name);
    this.names = new Map();
    if (spec.mode !== 'routed') {
      this.names.set(spec.vxlan, 'vxlan');
      this.names.set(spec.underlay.device, 'underlay');
    }
    this.names.set(spec.bridge, 'bridge');
    if (spec.mode !== 'routed') this.vxlanName = spec.vxlan;
    this.bridgeName = spec.bridge;
  }

  /** Takes the ifindexes from a listing (after an apply, or at start). */
  seed(links: Link[]): void {
    this.vxlanIndex = undefined;
    this.bridgeIndex = undefined;
    for (const link of links) this.track(link, 'existing');
  }

  private track(link: Link, action: 'existing' | 'new' | 'del'): void {
    const role = link.ifname === undefined ? undefined : this.names.get(link.ifname);
    const kind = link.linkinfo?.info_kind;
    const isVxlan = role === 'vxlan' || (link.ifalias === this.alias && kind === 'vxlan');
    const isBridge = role === 'bridge' || (link.ifalias === this.alias && kind === 'bridge');
    if (isVxlan)
      this.vxlanIndex =
        action === 'del' ? (this.vxlanIndex === link.ifindex ? undefined : this.vxlanIndex) : link.ifindex;
    if (isBridge)
      this.bridgeIndex =
        action === 'del' ? (this.bridgeIndex === link.ifindex ? undefined : this.bridgeIndex) : link.ifindex;
  }

  private nameOf(ifindex: number | undefined): string {
    if (ifindex !== undefined && ifindex === this.vxlanIndex) return this.vxlanName ?? `ifindex ${ifindex}`;
    if (ifindex !== undefined && ifindex === this.bridgeIndex) return this.bridgeName;
    return `ifindex ${ifindex}`;
  }

  /**
   * What the event did to the network, in words ("link vx0 deleted"), or
   * undefined when it does not touch it. Link events also update the view.
   */
  relevant(event: RtEvent): string | undefined {
    switch (event.kind) {
      case 'link': {
        const { link, action } = event;
        const wasOurs = link.ifindex === this.vxlanIndex || link.ifindex === this.bridgeIndex;
        const port = this.bridgeIndex !== undefined && link.master === this.bridgeIndex;
        const named = link.ifname !== undefined && this.names.has(link.ifname);
        this.track(link, action);
        if (action === 'existing') return undefined;
        if (!(wasOurs || port || named || link.ifalias === this.alias)) return undefined;
        const what =
          action === 'del' ? 'deleted' : port && !wasOurs && !named ? 'changed (a port of the bridge)' : 'changed';
        return `link ${link.ifname ?? link.ifindex} ${what}`;
      }
      case 'address': {
        const { address, action } = event;
        // Only global addresses are the spec's (the gateway); link-local ones come and go with the link.
        if (action === 'existing' || address.scope !== 0) return undefined;
        if (address.ifindex !== this.bridgeIndex && address.ifindex !== this.vxlanIndex) return undefined;
        return (
          `address ${address.local ?? address.address}/${address.prefixlen} on ${this.nameOf(address.ifindex)} ` +
          `${action === 'del' ? 'deleted' : 'changed'}`
        );
      }
      case 'fdb': {
        const { entry, action } = event;
        if (action === 'existing' || entry.ifindex !== this.vxlanIndex) return undefined;
        if (!isZeroMac(entry.lladdr)) return undefined;
        return (
          `flood entry ${entry.dst ?? '?'} on ${this.nameOf(entry.ifindex)} ` +
          `${action === 'del' ? 'deleted' : 'changed'}`
        );
      }
      default:
        return undefined;
    }
  }
}

function isZeroMac(mac: unknown): boolean {
  if (typeof mac !== 'string') return false;
  return /^(00[:-]?){5}00$/i.test(mac);
}
