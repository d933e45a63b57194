/**
 * vxnet/overlay: one declarative spec per host; plan, apply, destroy, status.
 */
export { loadSpec, type OverlayDhcp, type OverlayFirewall, type OverlayMasquerade, type OverlaySpec, resolveSpec, type ResolvedSpec, within } from './spec.js';
export { type ApplyOptions, OverlayHost, type OverlayHostOptions, type OverlayStatus } from './host.js';
export { type DhcpOwner, dhcpOwner, stopForeignDhcp } from './dhcp-owner.js';
