/**
 * A spec with another peer list: the agent converges a unicast network's
 * flood list and firewall peer set to its membership source's members, not
 * to the spec's own `peers`, and does it through the ordinary plan and apply
 * of a spec. So the resolved spec is written back as a spec (specInput) and
 * resolved again with the members, through the same validation as any spec.
 */
import { type OverlaySpec, type ResolvedSpec, resolveSpec } from '../overlay/spec.js';
import type { MembershipSpec, ResolvedMembership } from './etcd/spec.js';

/** A spec that resolves to `spec` again (resolveSpec(specInput(s)) deep-equals s). */
export function specInput(spec: ResolvedSpec): OverlaySpec {
  return {
    name: spec.name,
    mode: 'vxlan',
    vni: spec.vni,
    port: spec.port,
    underlay: { ...spec.underlay },
    ...(spec.group !== undefined
      ? { group: spec.group }
      : spec.membership
        ? { membership: membershipInput(spec.membership) }
        : { peers: [...spec.peers] }),
    subnet: spec.subnet.text,
    ...(spec.gateway !== undefined ? { gateway: spec.gateway } : {}),
    vxlan: spec.vxlan,
    bridge: spec.bridge,
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    ...(spec.dhcp ? { dhcp: structuredClone(spec.dhcp) } : {}),
    ...(spec.masquerade
      ? {
          masquerade: {
            enabled: true,
            ...(spec.masquerade.egress !== undefined ? { egress: spec.masquerade.egress } : {}),
          },
        }
      : {}),
    ...(spec.firewall ? { firewall: { openPort: true, peersOnly: spec.firewall.peersOnly } } : {}),
  };
}

/**
 * `spec` with `peers` as its unicast flood list (this host's own address is
 * dropped, as from any spec). A multicast spec has no peer list and is
 * returned as it is; so is a spec whose list is `peers` already.
 */
export function withPeers(spec: ResolvedSpec, peers: readonly string[]): ResolvedSpec {
  if (spec.mode !== 'unicast') return spec;
  if (spec.peers.length === peers.length && spec.peers.every((peer, i) => peer === peers[i])) return spec;
  // The source's members become a static list: the kernel is converged to it as to any spec's.
  const { membership: _source, ...input } = specInput(spec);
  return resolveSpec({ ...input, peers: [...peers] });
}

/** The membership section as written (resolveMembership of it gives `membership` again). */
function membershipInput(membership: ResolvedMembership): MembershipSpec {
  const { endpoints, prefix, ttl, tls } = membership.etcd;
  return { etcd: { endpoints: endpoints.map((e) => e.url), prefix, ttl, ...(tls ? { tls: { ...tls } } : {}) } };
}
