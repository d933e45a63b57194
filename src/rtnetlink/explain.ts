/**
 * After the kernel refuses a link request, look around and say why in
 * words: which device already has that name, or already holds that VNI on
 * that port; which kind this kernel lacks; which attribute an EINVAL most
 * likely refused. The kernel's own extended-ack text cannot be requested
 * over our socket, so this is how a person learns the cause without reading
 * code.
 */
import { NetlinkError } from '../netlink/errors.js';
import type { Rtnetlink } from './client.js';
import type { Link, LinkChanges, LinkRef, LinkSpec, VxlanOptions } from './links.js';
import type { VxlanInfoData } from './schema/kinds/vxlan.js';
import { isLinkLocal6 } from './validate.js';

/** The driver's default UDP port when none is given (VXLAN-GPE has its own IANA port). */
const VXLAN_DEFAULT_PORT = 8472;
const VXLAN_GPE_PORT = 4790;

/** Resolves to a NetlinkError with a sharper cause when one can be found; the original otherwise. */
export async function explainLinkError(rt: Rtnetlink, spec: LinkSpec, error: NetlinkError): Promise<NetlinkError> {
  return sharpen(error, () => findCause(rt, spec, error));
}

/** The same for a change (links.set): a rename onto a taken name, a master that is no bridge, an MTU out of range. */
export async function explainChangeError(rt: Rtnetlink, ref: LinkRef, changes: LinkChanges, error: NetlinkError): Promise<NetlinkError> {
  return sharpen(error, () => findChangeCause(rt, ref, changes, error));
}

async function sharpen(error: NetlinkError, find: () => Promise<string | undefined>): Promise<NetlinkError> {
  try {
    const cause = await find();
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
      if (spec.kind === 'veth' && 'peer' in spec) {
        if (spec.peer.namespace) return `the peer name ${spec.peer.ifname} may already be taken in namespace ${spec.peer.namespace}`;
        if (await rt.links.find(spec.peer.ifname)) return `the peer name ${spec.peer.ifname} is already taken in ${rt.where}`;
      }
      return undefined;
    }
    case 'EOPNOTSUPP':
      return `this kernel has no "${spec.kind}" link driver (load its module, or use a kernel built with it)`;
    case 'EINVAL':
      if (spec.kind === 'vxlan' && 'vxlan' in spec) return vxlanInvalid(spec.vxlan);
      if (spec.mtu !== undefined && 'link' in spec && spec.link !== undefined) {
        const lower = await rt.links.find(spec.link);
        if (lower?.mtu !== undefined && spec.mtu > lower.mtu) return `mtu: ${spec.mtu} exceeds the MTU of the lower device ${lower.ifname} (${lower.mtu})`;
      }
      if (spec.mtu !== undefined) return `mtu: ${spec.mtu} may be outside what a ${spec.kind} device accepts`;
      return undefined;
    case 'ERANGE':
      if (spec.mtu !== undefined) return `mtu: ${spec.mtu} is outside the range this device supports (see min_mtu/max_mtu)`;
      return undefined;
    default:
      return undefined;
  }
}

/** Options a VXLAN-GPE device cannot have (the kernel's VXLAN_F_ALLOWED_GPE leaves them out). */
const NOT_WITH_GPE = ['ttl_inherit', 'proxy', 'rsc', 'l2miss', 'l3miss', 'remcsum_tx', 'remcsum_rx', 'gbp'] as const;

/** What validation could not know: the combinations the kernel refuses with a bare EINVAL. */
function vxlanInvalid(v: VxlanOptions): string {
  if (v.gpe) {
    if (v.learning === undefined || v.learning) return 'vxlan.learning: a GPE device cannot learn, and the kernel turns learning on unless told: give learning: 0';
    const refused = NOT_WITH_GPE.filter((key) => v[key]);
    if (refused.length) return `vxlan.${refused[0]}: a GPE device does not support ${refused.map((key) => `vxlan.${key}`).join(', ')}`;
    if (!v.external) return 'vxlan.gpe: this kernel accepts GPE only on an external (collect-metadata) device: set external: 1';
  }
  return 'the kernel refused the vxlan options after every check vxnet makes (VNI, ports, TTL, addresses and their families, multicast and link-local need an underlay device): ' +
    'check that the underlay device (vxlan.link) is up to the job and that the options suit each other';
}

/** The receive options that split devices sharing a VNI and port into separate sockets (the kernel's VXLAN_F_RCV_FLAGS). */
const RECEIVE_OPTIONS = ['gbp', 'gpe', 'udp_zero_csum6_rx', 'remcsum_rx', 'remcsum_nopartial', 'external', 'vnifilter'] as const;

function receiveOptions(data: Partial<Record<(typeof RECEIVE_OPTIONS)[number], unknown>>): string {
  return RECEIVE_OPTIONS.filter((key) => data[key]).join(',');
}

function isIPv6(data: { group6?: string; local6?: string }): boolean {
  return data.group6 !== undefined || data.local6 !== undefined;
}

/**
 * Which existing device the kernel's vxlan_vni_in_use() matched: the same
 * VNI (or one in its VNI filter), the same UDP port, the same address family
 * and the same receive options. Local addresses and underlay devices do not
 * count (except for link-local IPv6, where the underlay must match too).
 */
async function vxlanConflict(rt: Rtnetlink, wanted: VxlanOptions): Promise<string | undefined> {
  const port = wanted.port ?? (wanted.gpe ? VXLAN_GPE_PORT : VXLAN_DEFAULT_PORT);
  const family = isIPv6(wanted) ? 'IPv6' : 'IPv4';
  const options = receiveOptions(wanted);
  const linkLocal = [wanted.group6, wanted.local6].some((a) => a !== undefined && isLinkLocal6(a));
  const wantedLink = wanted.link === undefined ? undefined : typeof wanted.link === 'number' ? wanted.link : (await rt.links.find(wanted.link))?.ifindex;
  for (const link of await rt.links.list({ kind: 'vxlan' })) {
    const data = link.linkinfo?.info_data as VxlanInfoData | undefined;
    if (!data) continue;
    if ((data.port ?? VXLAN_DEFAULT_PORT) !== port) continue;
    if (isIPv6(data) !== (family === 'IPv6')) continue;
    if (receiveOptions(data) !== options) continue;
    if (linkLocal && data.link !== wantedLink) continue;
    if (data.vnifilter) {
      return `${link.ifname} filters VNIs on UDP port ${port} (${family}) and may already hold VNI ${wanted.id} in its VNI filter (bridge vni show dev ${link.ifname})`;
    }
    if (data.id !== wanted.id) continue;
    return `${link.ifname} already holds VNI ${wanted.id} on UDP port ${port} (${family}): a namespace has one VXLAN device per VNI, port and address family ` +
      `(among devices with the same receive options${options ? `, here ${options}` : ''}), whatever their local addresses or underlay devices`;
  }
  return undefined;
}

async function findChangeCause(rt: Rtnetlink, ref: LinkRef, changes: LinkChanges, error: NetlinkError): Promise<string | undefined> {
  const slaveData = changes.linkinfo?.info_slave_data !== undefined || changes.linkinfo?.info_slave_kind !== undefined;
  switch (error.code) {
    case 'EEXIST':
      if (changes.ifname !== undefined) {
        const same = await rt.links.find(changes.ifname);
        if (same) return `ifname: a device named ${changes.ifname} already exists in ${rt.where} (index ${same.ifindex}, kind ${same.linkinfo?.info_kind ?? 'none'})`;
      }
      return undefined;
    case 'EOPNOTSUPP': {
      const info = changes.linkinfo;
      if (info?.info_data !== undefined) {
        // vxlan_changelink refuses options fixed at creation (VNI, port, ageing, ...) with EOPNOTSUPP.
        const keys = Object.keys(info.info_data).filter((k) => k !== 'unknown');
        if (info.info_kind === 'vxlan' && keys.includes('id')) return 'linkinfo.info_data.id: the VNI of a VXLAN device cannot change: delete the device and create it again';
        return `linkinfo.info_data: a ${info.info_kind ?? ''} device cannot change ${keys.join(', ')} after creation: delete it and create it again`;
      }
      if (changes.master !== undefined && changes.master !== null) {
        const master = await rt.links.find(changes.master);
        if (master) return `master: ${master.ifname} is ${kindOf(master)}, which cannot take ports: a master is a bridge (or a bond, team or VRF)`;
      }
      if (slaveData) {
        const link = await rt.links.find(ref);
        if (link && link.master === undefined) return `${link.ifname} has no master: bridge-port options apply to a port, so enslave it to a bridge first (master)`;
        if (link) return `${link.ifname}'s master is not a bridge: bridge-port options apply only to bridge ports`;
      }
      return undefined;
    }
    case 'EINVAL':
    case 'ERANGE': {
      if (changes.namespace !== undefined) {
        const link = await rt.links.find(ref);
        if (link && netnsImmutable(link)) {
          return `namespace: ${link.ifname} (${kindOf(link)}) cannot leave its network namespace: the kernel marks it immutable (bridges and loopback are); create one in the other namespace instead`;
        }
      }
      if (changes.mtu !== undefined) {
        const link = await rt.links.find(ref);
        if (link && (changes.mtu < (link.min_mtu ?? 0) || (link.max_mtu && changes.mtu > link.max_mtu))) {
          return `mtu: ${changes.mtu} is outside what ${link.ifname} accepts (${link.min_mtu} to ${link.max_mtu})`;
        }
        const lower = link?.link && link.link_netnsid === undefined ? await rt.links.find(link.link) : undefined;
        if (link && lower && lower.mtu !== undefined && changes.mtu > lower.mtu && link.linkinfo?.info_kind !== 'veth') {
          return `mtu: ${changes.mtu} exceeds the MTU of ${link.ifname}'s lower device ${lower.ifname} (${lower.mtu})`;
        }
      }
      if (changes.master !== undefined && changes.master !== null) {
        const [link, master] = await Promise.all([rt.links.find(ref), rt.links.find(changes.master)]);
        if (link && master && link.link_type !== 1) return `master: ${link.ifname} is not an Ethernet device (link type ${link.link_type}) and cannot be a bridge port`;
      }
      const info = changes.linkinfo;
      if (info?.info_kind === 'vxlan' && (info.info_data as VxlanInfoData | undefined)?.id !== undefined) {
        return 'linkinfo.info_data.id: the VNI of a VXLAN device cannot change: delete the device and create it again';
      }
      if (info?.info_data !== undefined) {
        return `linkinfo.info_data: the kernel refused one of ${Object.keys(info.info_data).filter((k) => k !== 'unknown').join(', ')} for a ${info.info_kind ?? 'device of this'} kind (a value out of its range, or one that cannot change after creation)`;
      }
      if (slaveData) return `linkinfo.info_slave_data: the bridge refused one of ${Object.keys(changes.linkinfo?.info_slave_data ?? {}).join(', ')} (out of range, or a state the port cannot take while it or its bridge is down)`;
      return undefined;
    }
    case 'ELOOP':
      if (changes.master !== undefined && changes.master !== null) {
        const [link, master] = await Promise.all([rt.links.find(ref), rt.links.find(changes.master)]);
        if (link && master && link.ifindex === master.ifindex) return `master: ${link.ifname} cannot be its own master`;
        if (link && master) return `master: ${link.ifname} (${kindOf(link)}) cannot be a port of ${master.ifname}: that would nest a bridge in a bridge, or make a loop`;
      }
      return undefined;
    case 'ENETDOWN':
      if (slaveData) return 'the port or its bridge is down: bring both up before setting the port state';
      return undefined;
    case 'EADDRNOTAVAIL':
      if (changes.address !== undefined) return `address: ${changes.address} is not a usable unicast MAC address (multicast bit set, or all zeros)`;
      return undefined;
    default:
      return undefined;
  }
}

/** IFLA_NETNS_IMMUTABLE (67, Linux 6.12+, newer than the installed uapi headers, so kept raw by the schema). */
const IFLA_NETNS_IMMUTABLE = 67;

function netnsImmutable(link: Link): boolean {
  const raw = link.unknown?.find((a) => a.type === IFLA_NETNS_IMMUTABLE);
  if (raw) return raw.data.length === 1 && raw.data[0] === 1;
  // Older kernels do not say; their rule was NETIF_F_NETNS_LOCAL, set by these drivers.
  return link.linkinfo?.info_kind === 'bridge' || link.link_type === 772;
}

function kindOf(link: Link): string {
  const kind = link.linkinfo?.info_kind;
  return kind ? `a ${kind} device` : 'a device without a kind (physical or loopback)';
}
