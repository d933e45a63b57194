/**
 * After the kernel refuses a link request, look around and say why in
 * words: which device already has that name, or already holds that VNI on
 * that port; which kind this kernel lacks. The kernel's own extended-ack
 * text cannot be requested over our socket, so this is how a person learns
 * the cause without reading code.
 */
import { NetlinkError } from '../netlink/errors.js';
import type { Rtnetlink } from './client.js';
import type { LinkSpec, VxlanOptions } from './links.js';

/** Resolves to a NetlinkError with a sharper cause when one can be found; the original otherwise. */
export async function explainLinkError(rt: Rtnetlink, spec: LinkSpec, error: NetlinkError): Promise<NetlinkError> {
  try {
    const cause = await findCause(rt, spec, error);
    return cause ? error.withCause(cause) : error;
  } catch {
    // Looking around failed too (connection gone, ...): the original error is still true.
    return error;
  }
}

async function findCause(rt: Rtnetlink, spec: LinkSpec, error: NetlinkError): Promise<string | undefined> {
  switch (error.code) {
    case 'EEXIST': {
      if (spec.namespace) return `a device named ${spec.ifname} may already exist in namespace ${spec.namespace}`;
      const same = await rt.links.find(spec.ifname);
      if (same) {
        return `a device named ${spec.ifname} already exists in ${rt.where} (index ${same.ifindex}, kind ${same.linkinfo?.info_kind ?? 'none'})`;
      }
      if (spec.kind === 'vxlan' && 'vxlan' in spec) return vxlanConflict(rt, spec.vxlan);
      if (spec.kind === 'veth' && 'peer' in spec && !spec.peer.namespace && (await rt.links.find(spec.peer.ifname))) {
        return `the peer name ${spec.peer.ifname} is already taken in ${rt.where}`;
      }
      return undefined;
    }
    case 'EOPNOTSUPP':
      return `this kernel has no "${spec.kind}" link driver (load its module, or use a kernel built with it)`;
    case 'EINVAL':
      if (spec.kind === 'vxlan' && 'vxlan' in spec) {
        const v = spec.vxlan;
        if (v.external && v.id) return 'a device in external (collect-metadata) mode takes no VNI';
        if (v.gpe && v.learning) return 'GPE needs learning off';
        return 'the kernel refused the vxlan options: check that id, group/remote, local and the underlay device are consistent';
      }
      if (spec.mtu !== undefined) return `the MTU ${spec.mtu} may be outside what the device accepts`;
      return undefined;
    case 'ERANGE':
      if (spec.mtu !== undefined) return `the MTU ${spec.mtu} is outside the range this device supports (see min_mtu/max_mtu)`;
      return undefined;
    default:
      return undefined;
  }
}

/** The kernel allows one VXLAN device per (VNI, UDP port, local address, underlay) in a namespace. */
async function vxlanConflict(rt: Rtnetlink, wanted: VxlanOptions): Promise<string | undefined> {
  const port = wanted.port ?? 8472; // the driver's default when no port is given
  for (const link of await rt.links.list({ kind: 'vxlan' })) {
    const data = link.linkinfo?.info_data as { id?: number; port?: number; external?: number } | undefined;
    if (!data) continue;
    if (data.id === wanted.id && (data.port ?? 8472) === port) {
      return `${link.ifname} already uses VNI ${wanted.id} on UDP port ${port}: a namespace has one VXLAN device per VNI and port (unless their local addresses or underlay devices differ)`;
    }
    if (data.external && (data.port ?? 8472) === port) {
      return `${link.ifname} is an external (collect-metadata) VXLAN device on UDP port ${port}, which takes every VNI on that port`;
    }
  }
  return undefined;
}
