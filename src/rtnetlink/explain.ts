/**
 * After the kernel refuses a link request, look around and say why in
 * words: which device already has that name, or already holds that VNI on
 * that port; which kind this kernel lacks; which socket holds a VXLAN port;
 * which attribute an EINVAL most likely refused. The kernel's own
 * extended-ack text cannot be requested over our socket, so this is how a
 * person learns the cause without reading code.
 *
 * A cause is named only when it was checked (a device, a socket, the
 * request's own values against a rule of the kernel); when several remain,
 * the sentence says so and lists them. docs/errors.md has the table.
 */
import { socketOwners, socketsOnPorts, type BoundSocket } from '../dnsmasq/sockets.js';
import { NLM_F_CREATE, NLM_F_EXCL } from '../netlink/constants.js';
import { linkLabel } from '../common/link.js';
import { NetlinkError } from '../netlink/errors.js';
import { encodeMessage } from '../netlink/message.js';
import type { Rtnetlink } from './client.js';
import { AF_UNSPEC, ARPHRD_ETHER, ARPHRD_LOOPBACK, IF_OPER_UP, IFF_UP, RTM_NEWLINK } from './constants.js';
import type { Link, LinkChanges, LinkRef, LinkSpec, VxlanOptions } from './links.js';
import type { VxlanInfoData } from './schema/kinds/vxlan.js';
import { linkSchema } from './schema/link.js';
import { isLinkLocal6 } from './validate.js';

/** The driver's default UDP port when none is given (VXLAN-GPE has its own IANA port). */
const VXLAN_DEFAULT_PORT = 8472;
const VXLAN_GPE_PORT = 4790;

/** Resolves to a NetlinkError with a sharper cause when one can be found; the original otherwise. */
export async function explainLinkError(rt: Rtnetlink, spec: LinkSpec, error: NetlinkError): Promise<NetlinkError> {
  return sharpen(error, () => findCause(rt, spec, error));
}

/** The same for a change (links.set): a rename onto a taken name, a master that is no bridge, an MTU out of range. */
export async function explainChangeError(
  rt: Rtnetlink,
  ref: LinkRef,
  changes: LinkChanges,
  error: NetlinkError,
): Promise<NetlinkError> {
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
      // A device made in another namespace collides there: look there.
      const there = spec.namespace ? await lookIn(spec.namespace) : rt;
      try {
        const same = await there.links.find(spec.ifname);
        if (same) {
          return (
            `a device named ${spec.ifname} already exists in ${there.where} ` +
            `(index ${same.ifindex}, kind ${same.linkinfo?.info_kind ?? 'none'})`
          );
        }
      } finally {
        if (there !== rt) there.close();
      }
      // VNIs are unique within the namespace that creates the device (its sockets live there),
      // wherever the device is put.
      if (spec.kind === 'vxlan' && 'vxlan' in spec) return vxlanConflict(rt, spec.vxlan);
      if (spec.kind === 'veth' && 'peer' in spec) {
        const peerThere = spec.peer.namespace ? await lookIn(spec.peer.namespace) : rt;
        try {
          if (await peerThere.links.find(spec.peer.ifname))
            return `the peer name ${spec.peer.ifname} is already taken in ${peerThere.where}`;
        } finally {
          if (peerThere !== rt) peerThere.close();
        }
      }
      return undefined;
    }
    case 'EOPNOTSUPP':
      return unsupportedCreate(rt, spec);
    case 'EADDRINUSE':
      // Only a device brought up at creation opens its UDP socket.
      if (spec.kind === 'vxlan' && 'vxlan' in spec && spec.up)
        return vxlanPortTaken(rt, vxlanSocketOf(spec.vxlan), spec.ifname);
      return undefined;
    case 'EINVAL':
      if (spec.kind === 'vxlan' && 'vxlan' in spec) return vxlanInvalid(spec.vxlan);
      if (spec.mtu !== undefined && 'link' in spec && spec.link !== undefined) {
        const lower = await rt.links.find(spec.link);
        if (lower?.mtu !== undefined && spec.mtu > lower.mtu)
          return `mtu: ${spec.mtu} exceeds the MTU of the lower device ${lower.ifname} (${lower.mtu})`;
      }
      // Anything else about the MTU would be a guess: the generic sentence stays.
      return undefined;
    default:
      return undefined;
  }
}

/** A connection into another namespace, to look there (loaded on demand: client.ts imports this module). */
async function lookIn(namespace: string): Promise<Rtnetlink> {
  const { Rtnetlink } = await import('./client.js');
  return Rtnetlink.open({ namespace });
}

/** Options a VXLAN-GPE device cannot have (the kernel's VXLAN_F_ALLOWED_GPE leaves them out). */
const NOT_WITH_GPE = ['ttl_inherit', 'proxy', 'rsc', 'l2miss', 'l3miss', 'remcsum_tx', 'remcsum_rx', 'gbp'] as const;

/** What validation could not know: the combinations the kernel refuses with a bare EINVAL. */
function vxlanInvalid(v: VxlanOptions): string {
  if (v.gpe) {
    if (v.learning === undefined || v.learning)
      return (
        'vxlan.learning: a GPE device cannot learn, ' + 'and the kernel turns learning on unless told: give learning: 0'
      );
    const refused = NOT_WITH_GPE.filter((key) => v[key]);
    if (refused.length)
      return `vxlan.${refused[0]}: a GPE device does not support ${refused.map((key) => `vxlan.${key}`).join(', ')}`;
    if (!v.external)
      return 'vxlan.gpe: this kernel accepts GPE only on an external (collect-metadata) device: set external: 1';
  }
  if (v.label && v.group6 === undefined && v.local6 === undefined) {
    // The kernel's rule (vxlan_config_validate): a label only on a device whose addresses are IPv6.
    return (
      `vxlan.label: a flow label (${v.label}) is a field of the IPv6 header, ` +
      `so it needs an IPv6 device (group6 or local6): this one is IPv4`
    );
  }
  return (
    'the kernel refused the vxlan options, and none of the combinations vxnet knows it to refuse is in this request ' +
    '(VNI, ports, TTL, address families, multicast and link-local remotes without an underlay, ' +
    'GPE, flow label on IPv4 were checked): the kernel did not say which'
  );
}

/**
 * Optional VXLAN features that kernel builds differ on: one build of 6.18
 * refuses remcsum_nopartial with EOPNOTSUPP where another accepts it. Listed
 * in the order they are most likely to be the one refused.
 */
const VXLAN_OPTIONAL = [
  'remcsum_nopartial',
  'remcsum_tx',
  'remcsum_rx',
  'gbp',
  'gpe',
  'vnifilter',
  'external',
  'ttl_inherit',
  'udp_zero_csum6_tx',
  'udp_zero_csum6_rx',
] as const;

/**
 * EOPNOTSUPP on a create has two causes that read the same: the kernel has
 * no driver for the kind, or the driver refused an option this build lacks.
 * Which one is checked, never assumed: a device of that kind in this
 * namespace proves the driver; failing that, probeKind asks the kernel.
 * (/sys/module and /proc/modules cannot tell: a built-in driver without
 * parameters has no /sys/module entry — veth here — and a kernel without
 * module support has no /proc/modules.) Drivers are kernel-wide, so the
 * check holds for a device meant for another namespace too.
 */
async function unsupportedCreate(rt: Rtnetlink, spec: LinkSpec): Promise<string | undefined> {
  const one = (await rt.links.list({ kind: spec.kind }))[0];
  const known = one ? `${one.ifname} is one` : await probeKind(rt, spec.kind);
  if (known === undefined) return undefined;
  if (known === false)
    return (
      `this kernel has no "${spec.kind}" link driver: ` +
      `it does not know the kind (load its module, or use a kernel built with it)`
    );
  const driver = `the kernel has the ${spec.kind} driver (${known})`;
  const given = optionsGiven(spec);
  if (given.length === 0)
    return (
      `${driver}, yet refused to create one: no ${spec.kind} option was given, ` +
      `so the refusal is about the device itself (mtu, address, master)`
    );
  const what = spec.kind === 'vxlan' ? 'optional vxlan features' : `${spec.kind} options`;
  if (given.length === 1)
    return `${driver}; it refused the one of its ${what} the request sets, ${given[0]}, which not every build supports`;
  const note = given.includes('vxlan.remcsum_nopartial')
    ? ' (remcsum_nopartial is refused by some builds of a version that others accept it on)'
    : '';
  return (
    `${driver}; it refused one of the ${what} the request sets, which not every build supports: ` +
    `${given.join(', ')}${note}`
  );
}

/**
 * The kind's options the request sets, as the caller wrote them (`vxlan.gbp`); for vxlan only the optional
 * features.
 */
function optionsGiven(spec: LinkSpec): string[] {
  if (spec.kind === 'vxlan' && 'vxlan' in spec) {
    return VXLAN_OPTIONAL.filter(
      (key) => spec.vxlan[key] !== undefined && spec.vxlan[key] !== 0 && spec.vxlan[key] !== false,
    ).map((key) => `vxlan.${key}`);
  }
  const given: string[] = [];
  if ('mode' in spec && spec.mode !== undefined) given.push('mode');
  for (const field of ['bridge', 'macvlan', 'ipvlan'] as const) {
    const options = (spec as unknown as Record<string, unknown>)[field];
    if (options && typeof options === 'object') given.push(...Object.keys(options).map((key) => `${field}.${key}`));
  }
  const data = 'linkinfo' in spec ? spec.linkinfo?.info_data : undefined;
  if (data && typeof data === 'object')
    given.push(
      ...Object.keys(data)
        .filter((key) => key !== 'unknown')
        .map((key) => `linkinfo.info_data.${key}`),
    );
  return given;
}

/**
 * Whether the kernel knows a link kind, asked without creating anything: a
 * create with zero transmit queues, which rtnl_create_link refuses with
 * EINVAL only after the kind was found (an unknown kind is refused before,
 * with EOPNOTSUPP). The name is one nobody uses; should a kernel ever accept
 * the request, the device is deleted at once. undefined: it could not be told
 * (no privilege, say).
 */
async function probeKind(rt: Rtnetlink, kind: string): Promise<string | false | undefined> {
  const ifname = `vxnprobe${Math.random().toString(16).slice(2, 9)}`;
  const request = encodeMessage(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, linkSchema, {
    family: AF_UNSPEC,
    ifname,
    num_tx_queues: 0,
    linkinfo: { info_kind: kind },
  });
  try {
    await rt.connection.request(request, { operation: 'probe link kind', object: kind });
  } catch (error) {
    if (!(error instanceof NetlinkError)) throw error;
    if (error.code === 'EOPNOTSUPP') return false;
    if (error.code === 'EPERM' || error.code === 'EACCES') return undefined;
    return 'it knows the kind';
  }
  await rt.links.delete(ifname);
  return 'it knows the kind';
}

/**
 * The receive options that split devices sharing a VNI and port into separate sockets (the kernel's
 * VXLAN_F_RCV_FLAGS).
 */
const RECEIVE_OPTIONS = [
  'gbp',
  'gpe',
  'udp_zero_csum6_rx',
  'remcsum_rx',
  'remcsum_nopartial',
  'external',
  'vnifilter',
] as const;

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
  const wantedLink =
    wanted.link === undefined
      ? undefined
      : typeof wanted.link === 'number'
        ? wanted.link
        : (await rt.links.find(wanted.link))?.ifindex;
  for (const link of await rt.links.list({ kind: 'vxlan' })) {
    const data = link.linkinfo?.info_data as VxlanInfoData | undefined;
    if (!data) continue;
    if ((data.port ?? VXLAN_DEFAULT_PORT) !== port) continue;
    if (isIPv6(data) !== (family === 'IPv6')) continue;
    if (receiveOptions(data) !== options) continue;
    if (linkLocal && data.link !== wantedLink) continue;
    if (data.vnifilter) {
      return (
        `${link.ifname} filters VNIs on UDP port ${port} (${family}) ` +
        `and may already hold VNI ${wanted.id} in its VNI filter (bridge vni show dev ${link.ifname})`
      );
    }
    if (data.id !== wanted.id) continue;
    return (
      `${link.ifname} already holds VNI ${wanted.id} on UDP port ${port} (${family}): ` +
      `a namespace has one VXLAN device per VNI, port and address family ` +
      `(among devices with the same receive options${options ? `, here ${options}` : ''}), ` +
      `whatever their local addresses or underlay devices`
    );
  }
  return undefined;
}

/** What decides which UDP socket a VXLAN device binds when it comes up (vxlan_sock_add). */
interface VxlanSocket {
  port: number;
  ipv4: boolean;
  ipv6: boolean;
  /** The receive options, as receiveOptions() lists them: devices share a socket only when these match. */
  options: string;
}

function vxlanSocketOf(data: VxlanOptions | VxlanInfoData): VxlanSocket {
  // An external (collect-metadata) device binds an IPv6 and an IPv4 socket.
  const external = Boolean(data.external);
  return {
    port: data.port ?? (data.gpe ? VXLAN_GPE_PORT : VXLAN_DEFAULT_PORT),
    ipv4: !isIPv6(data) || external,
    ipv6: isIPv6(data) || external,
    options: receiveOptions(data),
  };
}

function families(socket: VxlanSocket): string {
  return [socket.ipv4 && 'IPv4', socket.ipv6 && 'IPv6'].filter(Boolean).join(' and ');
}

/** Whether a bound UDP socket keeps a VXLAN device from binding its port (its IPv6 socket is v6-only). */
function blocks(bound: BoundSocket, wanted: VxlanSocket): boolean {
  if (bound.family === 4) return wanted.ipv4;
  return wanted.ipv6 || (wanted.ipv4 && bound.v6only === false && bound.address === '::');
}

/**
 * EADDRINUSE when a VXLAN device comes up: its UDP port is bound already.
 * Either another VXLAN device that is up holds it with other receive options
 * (devices on one port share one socket only when those match), or some
 * other socket holds it: the namespace's socket table (sock_diag, what `ss`
 * reads) says which, and /proc/PID/fd which process.
 */
async function vxlanPortTaken(rt: Rtnetlink, wanted: VxlanSocket, ifname: string): Promise<string | undefined> {
  for (const link of await rt.links.list({ kind: 'vxlan' })) {
    const data = link.linkinfo?.info_data as VxlanInfoData | undefined;
    if (!data || link.ifname === ifname || !(link.flags & IFF_UP)) continue;
    const other = vxlanSocketOf(data);
    if (other.port !== wanted.port || other.options === wanted.options) continue;
    if (!((other.ipv4 && wanted.ipv4) || (other.ipv6 && wanted.ipv6))) continue;
    return (
      `${link.ifname} is up on UDP port ${wanted.port} (${families(other)}) with other receive options ` +
      `(${other.options || 'none'}, where ${ifname} has ${wanted.options || 'none'}): ` +
      'VXLAN devices share a port only through one socket with one set of receive options: ' +
      'give one of them another port, or the same options'
    );
  }
  const bound = (await socketsOnPorts([wanted.port], ['udp'], rt.namespace)).filter((socket) => blocks(socket, wanted));
  if (bound.length === 0) return undefined;
  const owners = socketOwners(bound.map((socket) => socket.inode));
  const described = bound.map((socket) => {
    const holders = owners.get(socket.inode);
    const by = holders
      ? `held by ${holders.map((o) => `${o.command} (pid ${o.pid})`).join(', ')}`
      : 'held by no process: a socket of the kernel, such as another tunnel';
    return `${socket.family === 6 ? `[${socket.address}]` : socket.address}:${socket.port} ${by}`;
  });
  return (
    `a UDP socket already holds port ${wanted.port} in ${rt.where} (${described.join('; ')}): ` +
    `${ifname} binds that port on every ${families(wanted)} address when it comes up`
  );
}

/** Header sizes, for the MTU a VXLAN device can carry. */
const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
const UDP_HEADER = 8;
const VXLAN_HEADER = 8;
/** ETH_HLEN: destination, source, EtherType. */
const ETHERNET_HEADER = 14;

/**
 * Bytes a VXLAN device adds in front of a frame (the kernel's vxlan_headroom): outer IP, UDP, VXLAN, and the
 * inner Ethernet header unless GPE.
 */
function vxlanOverhead(data: VxlanInfoData): number {
  return (isIPv6(data) ? IPV6_HEADER : IPV4_HEADER) + UDP_HEADER + VXLAN_HEADER + (data.gpe ? 0 : ETHERNET_HEADER);
}

async function findChangeCause(
  rt: Rtnetlink,
  ref: LinkRef,
  changes: LinkChanges,
  error: NetlinkError,
): Promise<string | undefined> {
  const slaveData = changes.linkinfo?.info_slave_data !== undefined || changes.linkinfo?.info_slave_kind !== undefined;
  switch (error.code) {
    case 'EEXIST':
      if (changes.ifname !== undefined) {
        const same = await rt.links.find(changes.ifname);
        if (same)
          return (
            `ifname: a device named ${changes.ifname} already exists in ${rt.where} ` +
            `(index ${same.ifindex}, kind ${same.linkinfo?.info_kind ?? 'none'})`
          );
      }
      return undefined;
    case 'EADDRINUSE': {
      if (!changes.up) return undefined;
      const link = await rt.links.find(ref);
      const data =
        link?.linkinfo?.info_kind === 'vxlan' ? (link.linkinfo.info_data as VxlanInfoData | undefined) : undefined;
      return link && data ? vxlanPortTaken(rt, vxlanSocketOf(data), linkLabel(link)) : undefined;
    }
    case 'EOPNOTSUPP': {
      const info = changes.linkinfo;
      if (info?.info_data !== undefined) {
        const keys = Object.keys(info.info_data).filter((k) => k !== 'unknown');
        if (info.info_kind === 'vxlan') return vxlanUnchangeable(keys, changes);
        return (
          `linkinfo.info_data: a ${info.info_kind ?? ''} device ` +
          `cannot change ${keys.join(', ')} after creation: delete it and create it again`
        );
      }
      if (changes.master !== undefined && changes.master !== null) {
        const master = await rt.links.find(changes.master);
        if (master)
          return (
            `master: ${master.ifname} is ${kindOf(master)}, which cannot take ports: ` +
            `a master is a bridge (or a bond, team or VRF)`
          );
      }
      if (slaveData) {
        const link = await rt.links.find(ref);
        if (link && link.master === undefined)
          return (
            `${link.ifname} has no master: bridge-port options apply to a port, ` +
            `so enslave it to a bridge first (master)`
          );
        if (link) return `${link.ifname}'s master is not a bridge: bridge-port options apply only to bridge ports`;
      }
      return undefined;
    }
    case 'EINVAL':
    case 'ERANGE': {
      if (changes.namespace !== undefined) {
        const link = await rt.links.find(ref);
        if (link && netnsImmutable(link)) {
          return (
            `namespace: ${link.ifname} (${kindOf(link)}) cannot leave its network namespace: ` +
            `the kernel marks it immutable (bridges and loopback are); ` +
            `create one in the other namespace instead`
          );
        }
      }
      if (changes.mtu !== undefined) {
        const link = await rt.links.find(ref);
        if (link && (changes.mtu < (link.min_mtu ?? 0) || (link.max_mtu && changes.mtu > link.max_mtu))) {
          return `mtu: ${changes.mtu} is outside what ${link.ifname} accepts (${link.min_mtu} to ${link.max_mtu})`;
        }
        // A VXLAN device does not report IFLA_LINK: its underlay is in its own options, and its limit is the
        // underlay's MTU less the headers it adds.
        const vxlan =
          link?.linkinfo?.info_kind === 'vxlan' ? (link.linkinfo.info_data as VxlanInfoData | undefined) : undefined;
        const underlay = vxlan?.link ? await rt.links.find(vxlan.link) : undefined;
        if (link && vxlan && underlay?.mtu !== undefined && changes.mtu > underlay.mtu - vxlanOverhead(vxlan)) {
          const overhead = vxlanOverhead(vxlan);
          return (
            `mtu: ${changes.mtu} is more than ${link.ifname} can carry over its underlay ${underlay.ifname}: ` +
            `${underlay.mtu} (the underlay's MTU) - ${overhead} ` +
            `(VXLAN over IPv${isIPv6(vxlan) ? 6 : 4}: outer IP, UDP and VXLAN headers` +
            `${vxlan.gpe ? '' : ' and the inner Ethernet header'}) = ${underlay.mtu - overhead} at most`
          );
        }
        const lower = link?.link && link.link_netnsid === undefined ? await rt.links.find(link.link) : undefined;
        if (
          link &&
          lower &&
          lower.mtu !== undefined &&
          changes.mtu > lower.mtu &&
          link.linkinfo?.info_kind !== 'veth'
        ) {
          return `mtu: ${changes.mtu} exceeds the MTU of ${link.ifname}'s lower device ${lower.ifname} (${lower.mtu})`;
        }
      }
      if (changes.master !== undefined && changes.master !== null) {
        const [link, master] = await Promise.all([rt.links.find(ref), rt.links.find(changes.master)]);
        if (link && master && link.link_type !== ARPHRD_ETHER)
          return (
            `master: ${link.ifname} is not an Ethernet device (link type ${link.link_type}) ` +
            `and cannot be a bridge port`
          );
      }
      const info = changes.linkinfo;
      if (info?.info_kind === 'vxlan' && (info.info_data as VxlanInfoData | undefined)?.id !== undefined) {
        return 'linkinfo.info_data.id: the VNI of a VXLAN device cannot change: delete the device and create it again';
      }
      if (info?.info_data !== undefined) {
        const refused = Object.keys(info.info_data)
          .filter((k) => k !== 'unknown')
          .join(', ');
        return (
          `linkinfo.info_data: the kernel refused one of ${refused} for a ${info.info_kind ?? 'device of this'} kind ` +
          '(a value out of its range, or one that cannot change after creation)'
        );
      }
      if (slaveData) {
        const refused = Object.keys(changes.linkinfo?.info_slave_data ?? {}).join(', ');
        return (
          `linkinfo.info_slave_data: the bridge refused one of ${refused} ` +
          '(out of range, or a state the port cannot take while it or its bridge is down)'
        );
      }
      return undefined;
    }
    case 'ELOOP':
      if (changes.master !== undefined && changes.master !== null) {
        const [link, master] = await Promise.all([rt.links.find(ref), rt.links.find(changes.master)]);
        if (link && master && link.ifindex === master.ifindex) return `master: ${link.ifname} cannot be its own master`;
        if (link && master)
          return (
            `master: ${link.ifname} (${kindOf(link)}) cannot be a port of ${master.ifname}: ` +
            `that would nest a bridge in a bridge, or make a loop`
          );
      }
      return undefined;
    case 'ENETDOWN':
      if (slaveData) return portDown(rt, ref);
      return undefined;
    case 'EADDRNOTAVAIL':
      if (changes.address !== undefined)
        return `address: ${changes.address} is not a usable unicast MAC address (multicast bit set, or all zeros)`;
      return undefined;
    default:
      return undefined;
  }
}

/**
 * ENETDOWN on a bridge port's state: br_set_port_state takes a state only
 * while the bridge is up and the port is operationally up (up, with a
 * carrier: a veth has one only while its peer is up).
 */
async function portDown(rt: Rtnetlink, ref: LinkRef): Promise<string | undefined> {
  const port = await rt.links.find(ref);
  const bridge = port?.master ? await rt.links.find(port.master) : undefined;
  if (!port || !bridge) return undefined;
  if (!(bridge.flags & IFF_UP)) return `the bridge ${bridge.ifname} is down: bring it up before setting a port's state`;
  if (port.operstate !== IF_OPER_UP) {
    const why = !(port.flags & IFF_UP)
      ? 'it is down'
      : port.carrier === 0
        ? 'it has no carrier (a veth has one only while its peer is up)'
        : `its operational state is ${port.operstate}`;
    return (
      `the port ${port.ifname} is not operationally up (${why}): ` +
      `a port takes a state only while it is up with a carrier`
    );
  }
  return undefined;
}

/** VXLAN options fixed at creation: vxlan_nl2conf refuses each in a change with EOPNOTSUPP, whatever its value. */
const VXLAN_FIXED = new Set([
  'port',
  'port_range',
  'limit',
  'external',
  'proxy',
  'rsc',
  'l2miss',
  'l3miss',
  'ttl_inherit',
  'udp_csum',
  'udp_zero_csum6_tx',
  'udp_zero_csum6_rx',
  'remcsum_tx',
  'remcsum_rx',
  'remcsum_nopartial',
  'gbp',
  'gpe',
  'vnifilter',
]);

/** Which part of a change vxlan_nl2conf refused with EOPNOTSUPP, by its own rules, in its order. */
function vxlanUnchangeable(keys: string[], changes: LinkChanges): string | undefined {
  if (keys.includes('id'))
    return 'linkinfo.info_data.id: the VNI of a VXLAN device cannot change: delete the device and create it again';
  const fixed = keys.filter((key) => VXLAN_FIXED.has(key));
  if (fixed.length)
    return (
      `linkinfo.info_data: a vxlan device cannot change ${fixed.join(', ')} after creation: ` +
      `delete it and create it again`
    );
  if (changes.mtu !== undefined)
    return (
      'mtu: the vxlan driver refuses an MTU sent together with vxlan options (linkinfo.info_data): ' +
      'change the mtu in a request of its own'
    );
  const addresses = keys.filter((key) => ['group', 'group6', 'local', 'local6'].includes(key));
  if (addresses.length)
    return (
      `linkinfo.info_data: ${addresses.join(', ')} would change the address family ` +
      `of the device's remote or local address, which is fixed at creation`
    );
  return undefined;
}

/** IFLA_NETNS_IMMUTABLE (67, Linux 6.12+, newer than the installed uapi headers, so kept raw by the schema). */
const IFLA_NETNS_IMMUTABLE = 67;

function netnsImmutable(link: Link): boolean {
  const raw = link.unknown?.find((a) => a.type === IFLA_NETNS_IMMUTABLE);
  if (raw) return raw.data.length === 1 && raw.data[0] === 1;
  // Older kernels do not say; their rule was NETIF_F_NETNS_LOCAL, set by these drivers.
  return link.linkinfo?.info_kind === 'bridge' || link.link_type === ARPHRD_LOOPBACK;
}

function kindOf(link: Link): string {
  const kind = link.linkinfo?.info_kind;
  return kind ? `a ${kind} device` : 'a device without a kind (physical or loopback)';
}
