/**
 * The rtnetlink half of the stateful fake kernel: links (vxlan, bridge,
 * veth, and the host's own ethernet and loopback devices), addresses, the
 * bridge/VXLAN forwarding database and IP neighbours, kept as state and
 * answered the way the kernel answers (see fake-host.ts for what is not).
 *
 * Requests are decoded and replies encoded with the project's schemas, so
 * what goes over the fake socket is the kernel's byte format.
 */
import type { Decoded } from '../../src/netlink/codec.js';
import {
  NLM_F_APPEND,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_MULTI,
  NLM_F_REPLACE,
} from '../../src/netlink/constants.js';
import { decodeMessage, type RawMessage } from '../../src/netlink/message.js';
import {
  AF_BRIDGE,
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  IFF_BROADCAST,
  IFF_LOOPBACK,
  IFF_LOWER_UP,
  IFF_MULTICAST,
  IFF_RUNNING,
  IFF_UP,
  NTF_MASTER,
  NTF_PROXY,
  NTF_SELF,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_REACHABLE,
  RTM_DELADDR,
  RTM_DELLINK,
  RTM_DELNEIGH,
  RTM_GETADDR,
  RTM_GETLINK,
  RTM_GETNEIGH,
  RTM_GETROUTE,
  RTM_NEWADDR,
  RTM_NEWLINK,
  RTM_NEWNEIGH,
} from '../../src/rtnetlink/constants.js';
import { addressSchema } from '../../src/rtnetlink/schema/address.js';
import { decodeVethPeer, linkSchema } from '../../src/rtnetlink/schema/link.js';
import { neighbourSchema } from '../../src/rtnetlink/schema/neighbour.js';
import {
  EADDRNOTAVAIL,
  EAFNOSUPPORT,
  EBUSY,
  EEXIST,
  EINVAL,
  ELOOP,
  ENODEV,
  ENOENT,
  EOPNOTSUPP,
  ERANGE,
  fail,
  reply,
} from './fake-wire.js';

const IFF_CHANGEABLE = IFF_UP | 0x100 /* PROMISC */ | 0x200 /* ALLMULTI */ | 0x80 /* NOARP */ | IFF_MULTICAST;
const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;
const IF_OPER_DOWN = 2;
const IF_OPER_UP = 6;
const IF_OPER_UNKNOWN = 0;
const VXLAN_DEFAULT_PORT = 8472;
const FLOOD_MAC = '00:00:00:00:00:00';

/** A device the fake host starts with. */
export interface InitialLink {
  ifname: string;
  ifindex?: number;
  /** 'ether' (default), 'loopback', or a kind the fake models. */
  type?: 'ether' | 'loopback' | 'bridge' | 'vxlan' | 'veth';
  mtu?: number;
  /** Default true. */
  up?: boolean;
  address?: string;
  ifalias?: string;
  /** Addresses with their prefix: "192.168.100.1/24", "fd00::1/64". */
  addresses?: string[];
  /** IFLA_INFO_DATA for a vxlan or bridge, as the schema decodes it. */
  data?: Decoded;
}

export interface LinkState {
  ifindex: number;
  ifname: string;
  /** IFLA_INFO_KIND; undefined for plain ethernet/loopback. */
  kind?: string;
  linkType: number;
  /** IFF_* as set (UP and the changeable bits); RUNNING/LOWER_UP are added when reported. */
  flags: number;
  mtu: number;
  /** A bridge whose MTU was set after creation stops following its ports. */
  mtuSet: boolean;
  address: string;
  txqlen: number;
  group: number;
  ifalias?: string;
  master?: number;
  /** IFLA_LINK: a veth's peer, a vxlan's underlay is in its data. */
  link?: number;
  /** IFLA_INFO_DATA as the kernel reports it (defaults filled in). */
  data?: Decoded;
  /** IFLA_INFO_SLAVE_DATA when enslaved to a bridge. */
  port?: Decoded;
}

export interface AddressState {
  family: number;
  prefixlen: number;
  ifindex: number;
  scope: number;
  flags: number;
  local: string;
  address: string;
  label?: string;
  broadcast?: string;
  metric?: number;
  valid: number;
  preferred: number;
}

/** One FDB destination (a VXLAN MAC can have many: one entry each, as the kernel dumps them). */
export interface FdbState {
  ifindex: number;
  lladdr: string;
  state: number;
  flags: number;
  /** The bridge, for entries in a bridge's table (NTF_MASTER). */
  master?: number;
  dst?: string;
  port?: number;
  vni?: number;
  viaIfIndex?: number;
  src_vni?: number;
  vlan?: number;
}

export interface NeighbourState {
  family: number;
  ifindex: number;
  dst: string;
  lladdr?: string;
  state: number;
  flags: number;
}

export interface RtnlState {
  nextIndex: number;
  links: LinkState[];
  addresses: AddressState[];
  fdb: FdbState[];
  neighbours: NeighbourState[];
}

function macFor(ifindex: number): string {
  return `02:00:00:00:${((ifindex >> 8) & 0xff).toString(16).padStart(2, '0')}:${(ifindex & 0xff).toString(16).padStart(2, '0')}`;
}

const VXLAN_DEFAULTS: Decoded = {
  ttl: 0,
  ttl_inherit: 0,
  df: 0,
  tos: 0,
  label: 0,
  learning: 1,
  proxy: 0,
  rsc: 0,
  l2miss: 0,
  l3miss: 0,
  external: 0,
  vnifilter: 0,
  ageing: 300,
  limit: 0,
  port_range: { low: 0, high: 0 },
  port: VXLAN_DEFAULT_PORT,
  udp_csum: 1,
  udp_zero_csum6_tx: 0,
  udp_zero_csum6_rx: 0,
  remcsum_tx: 0,
  remcsum_rx: 0,
};
const BRIDGE_DEFAULTS: Decoded = {
  forward_delay: 1500,
  hello_time: 200,
  max_age: 2000,
  ageing_time: 30000,
  stp_state: 0,
  priority: 32768,
  vlan_filtering: 0,
  mcast_snooping: 1,
};
const PORT_DEFAULTS: Decoded = {
  state: 3,
  priority: 32,
  cost: 100,
  hairpin: 0,
  guard: 0,
  root_block: 0,
  fastleave: 0,
  learning: 1,
  flood: 1,
  proxy_arp: 0,
  mcast_flood: 1,
  bcast_flood: 1,
  neigh_suppress: 0,
  isolated: 0,
};

/** What the kernel reports of a vxlan's options: the defaults, then what was asked (flags as 0/1). */
function vxlanData(sent: Decoded): Decoded {
  const data: Decoded = { id: sent.id };
  for (const [key, value] of Object.entries({ ...VXLAN_DEFAULTS, ...sent })) {
    if (key === 'unknown' || value === undefined) continue;
    data[key] = key === 'ttl_inherit' && typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }
  return data;
}

function vxlanFamily(data: Decoded | undefined): 4 | 6 {
  return data && (data.local6 !== undefined || data.group6 !== undefined) ? 6 : 4;
}

function isMulticast(ip: string): boolean {
  if (ip.includes(':')) return ip.toLowerCase().startsWith('ff');
  const first = Number(ip.split('.')[0]);
  return first >= 224 && first <= 239;
}

function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

function ipv4Number(ip: string): number {
  return ip.split('.').reduce((n, part) => (n * 256 + Number(part)) >>> 0, 0);
}

function sameIPv4Prefix(a: string, b: string, prefixlen: number): boolean {
  if (prefixlen === 0) return true;
  const mask = prefixlen >= 32 ? 0xffffffff : ~((1 << (32 - prefixlen)) - 1) >>> 0;
  return (ipv4Number(a) & mask) >>> 0 === (ipv4Number(b) & mask) >>> 0;
}

export function initialRtnlState(links: InitialLink[]): RtnlState {
  const state: RtnlState = { nextIndex: 1, links: [], addresses: [], fdb: [], neighbours: [] };
  for (const l of links) {
    const ifindex = l.ifindex ?? Math.max(state.nextIndex, ...state.links.map((x) => x.ifindex + 1));
    if (state.links.some((x) => x.ifindex === ifindex || x.ifname === l.ifname))
      throw new Error(`fake host: link ${l.ifname} (${ifindex}) given twice`);
    const loopback = l.type === 'loopback';
    const kind = l.type === 'bridge' || l.type === 'vxlan' || l.type === 'veth' ? l.type : undefined;
    const link: LinkState = {
      ifindex,
      ifname: l.ifname,
      kind,
      linkType: loopback ? ARPHRD_LOOPBACK : ARPHRD_ETHER,
      flags: (loopback ? IFF_LOOPBACK : IFF_BROADCAST | IFF_MULTICAST) | (l.up === false ? 0 : IFF_UP),
      mtu: l.mtu ?? (loopback ? 65536 : 1500),
      mtuSet: l.mtu !== undefined,
      address: l.address ?? (loopback ? '00:00:00:00:00:00' : macFor(ifindex)),
      txqlen: loopback ? 0 : 1000,
      group: 0,
      ifalias: l.ifalias,
    };
    if (kind === 'vxlan') link.data = vxlanData(l.data ?? { id: 1 });
    if (kind === 'bridge') link.data = { ...BRIDGE_DEFAULTS, ...l.data };
    state.links.push(link);
    state.nextIndex = Math.max(state.nextIndex, ifindex + 1);
    for (const text of l.addresses ?? []) {
      const [ip, len] = text.split('/');
      const family = familyOf(ip!);
      state.addresses.push({
        family: family === 4 ? AF_INET : AF_INET6,
        prefixlen: Number(len ?? (family === 4 ? 32 : 128)),
        ifindex,
        scope: loopback ? 254 : 0,
        flags: 0x80,
        local: ip!,
        address: ip!,
        label: family === 4 ? l.ifname : undefined,
        valid: 0xffffffff,
        preferred: 0xffffffff,
      });
    }
  }
  return state;
}

/** Answers one rtnetlink request against `state` (changing it), or throws KernelError. Returns the replies (without the ack). */
export function handleRtnl(state: RtnlState, m: RawMessage, port: number): Buffer[] {
  const dump = (m.flags & NLM_F_DUMP) === NLM_F_DUMP;
  switch (m.type) {
    case RTM_GETLINK:
      if (dump) return state.links.map((l) => linkReply(state, l, m, port, NLM_F_MULTI));
      return [linkReply(state, findLink(state, decodeMessage(linkSchema, m)), m, port, 0)];
    case RTM_NEWLINK:
      newLink(state, m);
      return [];
    case RTM_DELLINK:
      deleteLink(state, findLink(state, decodeMessage(linkSchema, m)));
      return [];
    case RTM_GETADDR: {
      if (!dump) fail(EOPNOTSUPP, 'RTM_GETADDR answers dumps only');
      const family = m.buffer[m.start]!;
      return state.addresses
        .filter((a) => family === AF_UNSPEC || a.family === family)
        .map((a) => addressReply(a, m, port));
    }
    case RTM_NEWADDR:
      newAddress(state, m);
      return [];
    case RTM_DELADDR:
      deleteAddress(state, m);
      return [];
    case RTM_GETNEIGH:
      if (!dump) fail(EOPNOTSUPP, 'the fake answers neighbour dumps only');
      return neighbourDump(state, m, port);
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: {
      const n = decodeMessage(neighbourSchema, m);
      if (n.family === AF_BRIDGE) {
        if (m.type === RTM_NEWNEIGH) newFdb(state, n, m.flags);
        else deleteFdb(state, n);
      } else if (m.type === RTM_NEWNEIGH) newNeighbour(state, n, m.flags);
      else deleteNeighbour(state, n);
      return [];
    }
    case RTM_GETROUTE:
      if (dump) return []; // no routes are modelled
      return fail(EOPNOTSUPP, 'routes are not modelled by the fake host');
    default:
      return fail(EOPNOTSUPP, `message type ${m.type} is not modelled by the fake host`);
  }
}

// ------------------------------------------------------------ links

export function linkByIndex(state: RtnlState, ifindex: number): LinkState | undefined {
  return state.links.find((l) => l.ifindex === ifindex);
}

function linkByName(state: RtnlState, ifname: string): LinkState | undefined {
  return state.links.find((l) => l.ifname === ifname);
}

/** By ifindex, else by ifname: ENODEV if there is no such device. */
function findLink(state: RtnlState, request: { ifindex?: number; ifname?: string }): LinkState {
  const link = request.ifindex
    ? linkByIndex(state, request.ifindex)
    : request.ifname !== undefined
      ? linkByName(state, request.ifname)
      : undefined;
  if (!link) fail(ENODEV, `no device ${request.ifindex || request.ifname}`);
  return link;
}

function linkMessage(state: RtnlState, l: LinkState): Decoded {
  const up = (l.flags & IFF_UP) !== 0;
  const flags = up ? l.flags | IFF_RUNNING | IFF_LOWER_UP : l.flags;
  const out: Decoded = {
    family: AF_UNSPEC,
    link_type: l.linkType,
    ifindex: l.ifindex,
    flags,
    change: 0,
    ifname: l.ifname,
    txqlen: l.txqlen,
    operstate: l.linkType === ARPHRD_LOOPBACK ? IF_OPER_UNKNOWN : up ? IF_OPER_UP : IF_OPER_DOWN,
    linkmode: 0,
    mtu: l.mtu,
    min_mtu: l.linkType === ARPHRD_LOOPBACK ? 0 : 68,
    max_mtu: 65535,
    group: l.group,
    promiscuity: 0,
    num_tx_queues: 1,
    num_rx_queues: 1,
    carrier: up ? 1 : 0,
  };
  if (l.master !== undefined) out.master = l.master;
  if (l.link !== undefined) out.link = l.link;
  if (l.ifalias !== undefined) out.ifalias = l.ifalias;
  out.address = l.address;
  out.broadcast = l.linkType === ARPHRD_LOOPBACK ? '00:00:00:00:00:00' : 'ff:ff:ff:ff:ff:ff';
  if (l.kind !== undefined || l.master !== undefined) {
    const linkinfo: Decoded = {};
    if (l.kind !== undefined) linkinfo.info_kind = l.kind;
    if (l.data !== undefined && l.kind !== 'veth') linkinfo.info_data = structuredClone(l.data);
    const master = l.master === undefined ? undefined : linkByIndex(state, l.master);
    if (master?.kind === 'bridge') {
      linkinfo.info_slave_kind = 'bridge';
      linkinfo.info_slave_data = { ...PORT_DEFAULTS, ...l.port };
    }
    out.linkinfo = linkinfo;
  }
  return out;
}

function linkReply(state: RtnlState, l: LinkState, m: RawMessage, port: number, flags: number): Buffer {
  return reply(RTM_NEWLINK, flags, linkSchema, linkMessage(state, l), m, port);
}

function checkName(state: RtnlState, ifname: string, self?: LinkState): void {
  if (ifname.length === 0 || Buffer.byteLength(ifname) > 15 || /[\s/:]/.test(ifname))
    fail(EINVAL, `bad interface name "${ifname}"`);
  const taken = linkByName(state, ifname);
  if (taken && taken !== self) fail(EEXIST, `a device named ${ifname} exists`);
}

function maxMtu(state: RtnlState, l: LinkState): number {
  if (l.kind === 'vxlan') {
    const overhead = vxlanFamily(l.data) === 6 ? 70 : 50;
    const lower = typeof l.data?.link === 'number' ? linkByIndex(state, l.data.link) : undefined;
    return (lower ? lower.mtu : 65535) - overhead;
  }
  return 65535;
}

function setMtu(state: RtnlState, l: LinkState, mtu: number): void {
  if (mtu < 68 || mtu > maxMtu(state, l)) fail(EINVAL, `mtu ${mtu} is outside 68–${maxMtu(state, l)} for ${l.ifname}`);
  l.mtu = mtu;
}

/** The bridge driver: a bridge whose MTU nobody set follows the smallest MTU of its ports. */
function followPorts(state: RtnlState, bridge: LinkState | undefined): void {
  if (!bridge || bridge.kind !== 'bridge' || bridge.mtuSet) return;
  const ports = state.links.filter((l) => l.master === bridge.ifindex);
  if (ports.length) bridge.mtu = Math.min(...ports.map((p) => p.mtu));
}

function setFlags(l: LinkState, flags: number, change: number): void {
  if (flags === 0 && change === 0) return;
  const wanted = change ? (flags & change) | (l.flags & ~change) : flags;
  l.flags = (l.flags & ~IFF_CHANGEABLE) | (wanted & IFF_CHANGEABLE);
}

function setMaster(state: RtnlState, l: LinkState, master: number): void {
  const previous = l.master === undefined ? undefined : linkByIndex(state, l.master);
  if (master === 0) {
    if (previous) release(state, l);
    return;
  }
  const bridge = linkByIndex(state, master);
  if (!bridge) fail(EINVAL, `no master device with index ${master}`);
  if (bridge === l) fail(ELOOP, `${l.ifname} cannot be its own master`);
  if (bridge.kind !== 'bridge') fail(EOPNOTSUPP, `${bridge.ifname} is not a bridge`);
  if (l.kind === 'bridge' && l.master === undefined && state.links.some((x) => x.master === l.ifindex && x === bridge))
    fail(ELOOP, 'a loop of bridges');
  if (l.master === master) return;
  if (previous) release(state, l);
  l.master = master;
  l.port = {};
  // The bridge learns the port's own address as a permanent local entry.
  state.fdb.push({
    ifindex: l.ifindex,
    lladdr: l.address,
    state: NUD_PERMANENT,
    flags: NTF_MASTER,
    master,
    vlan: undefined,
  });
  followPorts(state, bridge);
}

function release(state: RtnlState, l: LinkState): void {
  const bridge = l.master === undefined ? undefined : linkByIndex(state, l.master);
  state.fdb = state.fdb.filter((e) => !(e.ifindex === l.ifindex && e.master === l.master));
  l.master = undefined;
  l.port = undefined;
  followPorts(state, bridge);
}

function newLink(state: RtnlState, m: RawMessage): void {
  const req = decodeMessage(linkSchema, m);
  const existing = req.ifindex
    ? linkByIndex(state, req.ifindex as number)
    : typeof req.ifname === 'string'
      ? linkByName(state, req.ifname)
      : undefined;
  if (req.ifindex && !existing) fail(ENODEV, `no device with index ${req.ifindex}`);
  if (existing) {
    if (m.flags & NLM_F_EXCL) fail(EEXIST, `${existing.ifname} exists`);
    changeLink(state, existing, req);
    return;
  }
  if (!(m.flags & NLM_F_CREATE)) fail(ENODEV, `no device named ${req.ifname}`);
  createLink(state, req);
}

function createLink(state: RtnlState, req: Decoded): void {
  const linkinfo = req.linkinfo as Decoded | undefined;
  const kind = linkinfo?.info_kind as string | undefined;
  if (kind === undefined) fail(EOPNOTSUPP, 'a new device needs IFLA_INFO_KIND');
  if (!['vxlan', 'bridge', 'veth'].includes(kind))
    fail(EOPNOTSUPP, `kind ${kind} is not available (the fake models vxlan, bridge and veth)`);
  if (typeof req.ifname !== 'string') fail(EINVAL, 'a new device needs IFLA_IFNAME');
  checkName(state, req.ifname);
  const sent = (linkinfo!.info_data ?? {}) as Decoded;
  const ifindex = state.nextIndex;
  const link: LinkState = {
    ifindex,
    ifname: req.ifname,
    kind,
    linkType: ARPHRD_ETHER,
    flags: IFF_BROADCAST | IFF_MULTICAST,
    mtu: 1500,
    mtuSet: false,
    address: typeof req.address === 'string' ? req.address : macFor(ifindex),
    txqlen: typeof req.txqlen === 'number' ? req.txqlen : 1000,
    group: typeof req.group === 'number' ? req.group : 0,
  };
  let peer: LinkState | undefined;
  if (kind === 'vxlan') {
    if (typeof sent.id !== 'number') fail(EINVAL, 'a vxlan device needs IFLA_VXLAN_ID');
    if (sent.id >= 1 << 24) fail(ERANGE, 'VNI out of range');
    if (typeof sent.link === 'number' && !linkByIndex(state, sent.link))
      fail(ENODEV, `no underlay with index ${sent.link}`);
    link.data = vxlanData(sent);
    const clash = state.links.find(
      (l) =>
        l.kind === 'vxlan' &&
        l.data!.id === link.data!.id &&
        l.data!.port === link.data!.port &&
        vxlanFamily(l.data) === vxlanFamily(link.data) &&
        (l.data!.local ?? l.data!.local6) === (link.data!.local ?? link.data!.local6),
    );
    if (clash) fail(EEXIST, `vxlan ${clash.ifname} already has VNI ${sent.id} on port ${link.data.port}`);
    const lower = typeof sent.link === 'number' ? linkByIndex(state, sent.link) : undefined;
    link.mtu = (lower?.mtu ?? 1500) - (vxlanFamily(link.data) === 6 ? 70 : 50);
  } else if (kind === 'bridge') {
    link.data = { ...BRIDGE_DEFAULTS, ...withoutUnknown(sent) };
  } else {
    if (!(sent.peer instanceof Uint8Array)) fail(EINVAL, 'a veth needs VETH_INFO_PEER');
    const p = decodeVethPeer(sent.peer);
    if (p.net_ns_fd === undefined) {
      const peerName = p.ifname ?? `veth${ifindex + 1}`;
      if (peerName === req.ifname) fail(EEXIST, `the peer cannot also be named ${peerName}`);
      checkName(state, peerName);
      peer = {
        ifindex: ifindex + 1,
        ifname: peerName,
        kind: 'veth',
        linkType: ARPHRD_ETHER,
        flags: IFF_BROADCAST | IFF_MULTICAST,
        mtu: 1500,
        mtuSet: false,
        address: p.address ?? macFor(ifindex + 1),
        txqlen: 1000,
        group: 0,
        link: ifindex,
      };
      if (p.mtu !== undefined) setMtu(state, peer, p.mtu);
      link.link = peer.ifindex;
    }
  }
  if (typeof req.mtu === 'number') {
    // The vxlan driver clamps a new device's MTU to what its underlay carries (vxlan_config_apply), without a word;
    // only a change (vxlan_change_mtu) is refused with EINVAL.
    if (kind === 'vxlan' && req.mtu >= 68) link.mtu = Math.min(req.mtu, maxMtu(state, link));
    else setMtu(state, link, req.mtu);
  }
  if (req.net_ns_fd !== undefined || req.net_ns_pid !== undefined) {
    // Created in another namespace: nothing of it stays here (a peer would, but the fake keeps one namespace).
    state.nextIndex += peer ? 2 : 1;
    if (peer) state.links.push({ ...peer, link: undefined });
    return;
  }
  setFlags(link, (req.flags as number) ?? 0, (req.change as number) ?? 0);
  state.links.push(link);
  if (peer) state.links.push(peer);
  state.nextIndex += peer ? 2 : 1;
  if (typeof req.master === 'number' && req.master !== 0) setMaster(state, link, req.master);
  // A vxlan device with a group or remote floods there: the kernel adds the all-zeros entry itself.
  const remote = link.data?.group ?? link.data?.group6;
  if (kind === 'vxlan' && typeof remote === 'string') {
    state.fdb.push({
      ifindex,
      lladdr: FLOOD_MAC,
      state: NUD_PERMANENT | NUD_REACHABLE,
      flags: NTF_SELF,
      dst: remote,
      ...(typeof link.data!.link === 'number' ? { viaIfIndex: link.data!.link } : {}),
    });
  }
}

function withoutUnknown(d: Decoded): Decoded {
  const { unknown: _u, ...rest } = d;
  return rest;
}

function changeLink(state: RtnlState, l: LinkState, req: Decoded): void {
  // Checks first: a refused change leaves the device as it was.
  const draft: LinkState = structuredClone(l);
  if (typeof req.ifname === 'string' && req.ifname !== l.ifname) {
    checkName(state, req.ifname, l);
    if (l.flags & IFF_UP) fail(EBUSY, `${l.ifname} is up: a device is renamed while down`);
    draft.ifname = req.ifname;
  }
  const linkinfo = req.linkinfo as Decoded | undefined;
  if (linkinfo?.info_kind !== undefined && linkinfo.info_kind !== l.kind)
    fail(EOPNOTSUPP, `${l.ifname} is not a ${linkinfo.info_kind}`);
  if (linkinfo?.info_data !== undefined) {
    const data = withoutUnknown(linkinfo.info_data as Decoded);
    if (l.kind === 'vxlan') {
      for (const key of ['id', 'port', 'local', 'local6', 'external', 'vnifilter']) {
        if (data[key] !== undefined && data[key] !== l.data![key])
          fail(EOPNOTSUPP, `vxlan ${key} cannot be changed in place`);
      }
      draft.data = vxlanData({ ...l.data, ...data });
    } else if (l.kind === 'bridge') draft.data = { ...l.data, ...data };
    else fail(EOPNOTSUPP, `${l.ifname} takes no kind options`);
  }
  if (linkinfo?.info_slave_data !== undefined) {
    if (l.master === undefined) fail(EOPNOTSUPP, `${l.ifname} is not a bridge port`);
    draft.port = { ...l.port, ...withoutUnknown(linkinfo.info_slave_data as Decoded) };
  }
  if (typeof req.mtu === 'number') {
    setMtu(state, draft, req.mtu);
    draft.mtuSet = true;
  }
  if (typeof req.address === 'string') draft.address = req.address;
  if (typeof req.txqlen === 'number') draft.txqlen = req.txqlen;
  if (typeof req.group === 'number') draft.group = req.group;
  if (typeof req.ifalias === 'string') draft.ifalias = req.ifalias === '' ? undefined : req.ifalias;
  setFlags(draft, (req.flags as number) ?? 0, (req.change as number) ?? 0);
  if (typeof req.master === 'number') {
    // Validated against the live state; applied below with the rest.
    if (req.master !== 0) {
      const bridge = linkByIndex(state, req.master);
      if (!bridge) fail(EINVAL, `no master device with index ${req.master}`);
      if (bridge === l) fail(ELOOP, `${l.ifname} cannot be its own master`);
      if (bridge.kind !== 'bridge') fail(EOPNOTSUPP, `${bridge.ifname} is not a bridge`);
    }
  }
  if (req.net_ns_fd !== undefined || req.net_ns_pid !== undefined) {
    removeLink(state, l);
    return;
  }
  const { master: _m, port: _p, ...rest } = draft;
  Object.assign(l, rest);
  if (draft.port !== undefined) l.port = draft.port;
  if (typeof req.master === 'number') setMaster(state, l, req.master);
  if (typeof req.mtu === 'number') {
    followPorts(state, l.master === undefined ? undefined : linkByIndex(state, l.master));
  }
}

function removeLink(state: RtnlState, l: LinkState): void {
  if (l.master !== undefined) release(state, l);
  for (const port of state.links.filter((x) => x.master === l.ifindex)) release(state, port);
  state.links = state.links.filter((x) => x !== l);
  state.addresses = state.addresses.filter((a) => a.ifindex !== l.ifindex);
  state.fdb = state.fdb.filter((e) => e.ifindex !== l.ifindex && e.master !== l.ifindex);
  state.neighbours = state.neighbours.filter((n) => n.ifindex !== l.ifindex);
}

function deleteLink(state: RtnlState, l: LinkState): void {
  if (l.kind === undefined) fail(EOPNOTSUPP, `${l.ifname} is not a virtual device: it cannot be deleted`);
  const peer = l.kind === 'veth' && l.link !== undefined ? linkByIndex(state, l.link) : undefined;
  removeLink(state, l);
  if (peer) removeLink(state, peer);
}

// ------------------------------------------------------------ addresses

function addressReply(a: AddressState, m: RawMessage, port: number): Buffer {
  const v4 = a.family === AF_INET;
  const out: Decoded = {
    family: a.family,
    prefixlen: a.prefixlen,
    ifa_flags: a.flags & 0xff,
    scope: a.scope,
    ifindex: a.ifindex,
    address: a.address,
  };
  if (v4) out.local = a.local;
  if (a.broadcast !== undefined) out.broadcast = a.broadcast;
  if (v4) out.label = a.label;
  out.cacheinfo = { preferred_life_time: a.preferred, valid_life_time: a.valid, cstamp: 0, tstamp: 0 };
  out.flags = a.flags;
  if (a.metric !== undefined) out.metric = a.metric;
  return reply(RTM_NEWADDR, NLM_F_MULTI, addressSchema, out, m, port);
}

function matchingAddress(state: RtnlState, req: Decoded): AddressState | undefined {
  const local = (req.local ?? req.address) as string | undefined;
  return state.addresses.find(
    (a) =>
      a.ifindex === req.ifindex &&
      a.family === req.family &&
      a.local === local &&
      (a.family === AF_INET6 ||
        (a.prefixlen === req.prefixlen && sameIPv4Prefix(a.address, (req.address ?? local) as string, a.prefixlen))),
  );
}

function newAddress(state: RtnlState, m: RawMessage): void {
  const req = decodeMessage(addressSchema, m);
  const link = linkByIndex(state, req.ifindex as number);
  if (!link) fail(ENODEV, `no device with index ${req.ifindex}`);
  if (req.family !== AF_INET && req.family !== AF_INET6) fail(EAFNOSUPPORT, `address family ${req.family}`);
  const local = (req.local ?? req.address) as string | undefined;
  if (local === undefined) fail(EINVAL, 'no IFA_LOCAL or IFA_ADDRESS');
  const cacheinfo = req.cacheinfo as Decoded | undefined;
  const fields = {
    scope: req.scope as number,
    flags:
      ((req.flags ?? req.ifa_flags ?? 0) as number) |
      (cacheinfo && cacheinfo.valid_life_time !== 0xffffffff ? 0 : 0x80),
    address: (req.address ?? local) as string,
    broadcast: req.broadcast as string | undefined,
    label: req.family === AF_INET ? ((req.label as string | undefined) ?? link.ifname) : undefined,
    metric: req.metric as number | undefined,
    valid: (cacheinfo?.valid_life_time as number | undefined) ?? 0xffffffff,
    preferred: (cacheinfo?.preferred_life_time as number | undefined) ?? 0xffffffff,
  };
  const existing =
    matchingAddress(state, req) ??
    (req.family === AF_INET6
      ? state.addresses.find((a) => a.ifindex === req.ifindex && a.family === AF_INET6 && a.local === local)
      : undefined);
  if (existing) {
    if (m.flags & NLM_F_EXCL || !(m.flags & NLM_F_REPLACE)) fail(EEXIST, `${local} is already on ${link.ifname}`);
    Object.assign(existing, fields);
    return;
  }
  if (!(m.flags & NLM_F_CREATE)) fail(ENOENT, `${local} is not on ${link.ifname}`);
  state.addresses.push({
    family: req.family,
    prefixlen: req.prefixlen as number,
    ifindex: link.ifindex,
    local,
    ...fields,
  });
}

function deleteAddress(state: RtnlState, m: RawMessage): void {
  const req = decodeMessage(addressSchema, m);
  if (!linkByIndex(state, req.ifindex as number)) fail(ENODEV, `no device with index ${req.ifindex}`);
  const found =
    req.family === AF_INET6
      ? state.addresses.find(
          (a) =>
            a.ifindex === req.ifindex &&
            a.family === AF_INET6 &&
            a.local === (req.local ?? req.address) &&
            a.prefixlen === req.prefixlen,
        )
      : matchingAddress(state, req);
  if (!found) fail(EADDRNOTAVAIL, `${req.local ?? req.address}/${req.prefixlen} is not configured`);
  state.addresses = state.addresses.filter((a) => a !== found);
}

// ------------------------------------------------------------ FDB and neighbours

/** Which table an FDB request addresses: the vxlan/bridge device's own (self) or its bridge's (master). */
function fdbTable(state: RtnlState, n: Decoded): { link: LinkState; master?: LinkState } {
  const link = linkByIndex(state, n.ifindex as number);
  if (!link) fail(ENODEV, `no device with index ${n.ifindex}`);
  const flags = n.flags as number;
  if (flags & NTF_MASTER) {
    const master = link.master === undefined ? undefined : linkByIndex(state, link.master);
    if (!master) fail(EOPNOTSUPP, `${link.ifname} is not a bridge port`);
    return { link, master };
  }
  if (link.kind !== 'vxlan' && link.kind !== 'bridge')
    fail(EOPNOTSUPP, `${link.ifname} has no forwarding database of its own`);
  return { link };
}

function sameRemote(e: FdbState, n: Decoded): boolean {
  return (
    e.dst === n.dst &&
    (n.port === undefined || e.port === n.port) &&
    (n.vni === undefined || e.vni === n.vni) &&
    (n.viaIfIndex === undefined || e.viaIfIndex === n.viaIfIndex)
  );
}

function newFdb(state: RtnlState, n: Decoded, flags: number): void {
  const { link, master } = fdbTable(state, n);
  const lladdr = n.lladdr as string | undefined;
  if (lladdr === undefined || lladdr.split(':').length !== 6) fail(EINVAL, 'an FDB entry needs a 6-byte NDA_LLADDR');
  const nud = n.state as number;
  const entry: FdbState = {
    ifindex: link.ifindex,
    lladdr,
    state: nud,
    flags: ((n.flags as number) & ~(NTF_SELF | NTF_MASTER)) | (master ? NTF_MASTER : NTF_SELF),
  };
  if (master) entry.master = master.ifindex;
  if (typeof n.vlan === 'number') entry.vlan = n.vlan;
  const entries = state.fdb.filter(
    (e) => e.ifindex === link.ifindex && e.lladdr === lladdr && e.master === entry.master && e.vlan === entry.vlan,
  );
  if (link.kind === 'vxlan' && !master) {
    if (!(nud & (NUD_PERMANENT | NUD_REACHABLE))) fail(EINVAL, `invalid state ${nud}`);
    if (typeof n.dst !== 'string') fail(EINVAL, 'a VXLAN entry needs NDA_DST');
    if (familyOf(n.dst) !== vxlanFamily(link.data))
      fail(EAFNOSUPPORT, `${n.dst} is not of ${link.ifname}'s address family`);
    entry.dst = n.dst;
    if (typeof n.port === 'number' && n.port !== link.data!.port) entry.port = n.port;
    if (typeof n.vni === 'number' && n.vni !== link.data!.id) entry.vni = n.vni;
    if (typeof n.viaIfIndex === 'number') entry.viaIfIndex = n.viaIfIndex;
    if (typeof n.src_vni === 'number') entry.src_vni = n.src_vni;
    if (entries.length) {
      if (flags & NLM_F_EXCL) fail(EEXIST, `${lladdr} has an entry on ${link.ifname}`);
      if (flags & NLM_F_APPEND) {
        if (isMulticast(n.dst) !== isMulticast(entries[0]!.dst!) && lladdr !== FLOOD_MAC)
          fail(EINVAL, 'mixed multicast and unicast destinations');
        if (!entries.some((e) => sameRemote(e, n)))
          state.fdb.splice(state.fdb.indexOf(entries[entries.length - 1]!) + 1, 0, entry);
        return;
      }
      if (flags & NLM_F_REPLACE) {
        Object.assign(entries[0]!, entry);
        return;
      }
      return; // an existing destination: the kernel updates state and flags only
    }
    if (!(flags & NLM_F_CREATE)) fail(ENOENT, `no entry for ${lladdr} on ${link.ifname}`);
    state.fdb.push(entry);
    return;
  }
  if (typeof n.dst === 'string') fail(EINVAL, 'a bridge entry takes no NDA_DST');
  if (entries.length) {
    if (flags & NLM_F_EXCL) fail(EEXIST, `${lladdr} has an entry on ${link.ifname}`);
    Object.assign(entries[0]!, entry);
    return;
  }
  if (!(flags & NLM_F_CREATE)) fail(ENOENT, `no entry for ${lladdr} on ${link.ifname}`);
  state.fdb.push(entry);
}

function deleteFdb(state: RtnlState, n: Decoded): void {
  const { link, master } = fdbTable(state, n);
  const lladdr = n.lladdr as string;
  const vlan = typeof n.vlan === 'number' ? n.vlan : undefined;
  const entries = state.fdb.filter(
    (e) => e.ifindex === link.ifindex && e.lladdr === lladdr && e.master === master?.ifindex && e.vlan === vlan,
  );
  const gone =
    link.kind === 'vxlan' && !master && typeof n.dst === 'string' ? entries.filter((e) => sameRemote(e, n)) : entries;
  if (gone.length === 0) fail(ENOENT, `no entry for ${lladdr}${n.dst ? ` dst ${n.dst}` : ''} on ${link.ifname}`);
  state.fdb = state.fdb.filter((e) => !gone.includes(e));
}

function fdbReply(e: FdbState, m: RawMessage, port: number): Buffer {
  const out: Decoded = {
    family: AF_BRIDGE,
    ifindex: e.ifindex,
    state: e.state,
    flags: e.flags,
    type: 0,
    lladdr: e.lladdr,
  };
  if (e.dst !== undefined) out.dst = e.dst;
  if (e.port !== undefined) out.port = e.port;
  if (e.vni !== undefined) out.vni = e.vni;
  if (e.viaIfIndex !== undefined) out.viaIfIndex = e.viaIfIndex;
  if (e.src_vni !== undefined) out.src_vni = e.src_vni;
  if (e.vlan !== undefined) out.vlan = e.vlan;
  if (e.master !== undefined) out.master = e.master;
  out.cacheinfo = { confirmed: 0, used: 0, updated: 0, refcnt: 0 };
  return reply(RTM_NEWNEIGH, NLM_F_MULTI, neighbourSchema, out, m, port);
}

/**
 * A neighbour dump. AF_BRIDGE dumps are read as the kernel does on a socket
 * without strict checking (valid_fdb_dump_legacy): a bare ndmsg filters
 * nothing, an ifinfomsg filters by its ifi_index (and IFLA_MASTER).
 */
function neighbourDump(state: RtnlState, m: RawMessage, port: number): Buffer[] {
  const family = m.buffer[m.start]!;
  const length = m.end - m.start;
  let portIndex = 0;
  let bridgeIndex = 0;
  if (family === AF_BRIDGE && length !== 12 && length !== 20) {
    const req = decodeMessage(linkSchema, m);
    portIndex = req.ifindex;
    bridgeIndex = req.master ?? 0;
  }
  const replies: Buffer[] = [];
  if (family === AF_UNSPEC || family === AF_INET || family === AF_INET6) {
    const proxy = length >= 12 && (m.buffer[m.start + 10]! & NTF_PROXY) !== 0;
    for (const n of state.neighbours) {
      if ((family !== AF_UNSPEC && n.family !== family) || ((n.flags & NTF_PROXY) !== 0) !== proxy) continue;
      const out: Decoded = {
        family: n.family,
        ifindex: n.ifindex,
        state: n.state,
        flags: n.flags,
        type: 1,
        dst: n.dst,
      };
      if (n.lladdr !== undefined) out.lladdr = n.lladdr;
      replies.push(reply(RTM_NEWNEIGH, NLM_F_MULTI, neighbourSchema, out, m, port));
    }
  }
  if (family === AF_UNSPEC || family === AF_BRIDGE) {
    for (const e of state.fdb) {
      if (portIndex && e.ifindex !== portIndex) continue;
      if (bridgeIndex && e.master !== bridgeIndex) continue;
      replies.push(fdbReply(e, m, port));
    }
  }
  return replies;
}

function newNeighbour(state: RtnlState, n: Decoded, flags: number): void {
  const link = linkByIndex(state, n.ifindex as number);
  if (!link) fail(ENODEV, `no device with index ${n.ifindex}`);
  if (typeof n.dst !== 'string') fail(EINVAL, 'a neighbour needs NDA_DST');
  const proxy = ((n.flags as number) & NTF_PROXY) !== 0;
  const nud = n.state as number;
  if (!proxy && n.lladdr === undefined && nud & (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE))
    fail(EINVAL, 'a neighbour in this state needs NDA_LLADDR');
  const existing = state.neighbours.find(
    (x) => x.ifindex === link.ifindex && x.dst === n.dst && ((x.flags & NTF_PROXY) !== 0) === proxy,
  );
  const entry: NeighbourState = {
    family: n.family as number,
    ifindex: link.ifindex,
    dst: n.dst,
    state: nud,
    flags: n.flags as number,
    ...(n.lladdr !== undefined ? { lladdr: n.lladdr as string } : {}),
  };
  if (existing) {
    if (flags & NLM_F_EXCL) fail(EEXIST, `${n.dst} has an entry on ${link.ifname}`);
    Object.assign(existing, entry);
    return;
  }
  if (!(flags & NLM_F_CREATE)) fail(ENOENT, `no entry for ${n.dst} on ${link.ifname}`);
  state.neighbours.push(entry);
}

function deleteNeighbour(state: RtnlState, n: Decoded): void {
  const proxy = ((n.flags as number) & NTF_PROXY) !== 0;
  const existing = state.neighbours.find(
    (x) => x.ifindex === n.ifindex && x.dst === n.dst && ((x.flags & NTF_PROXY) !== 0) === proxy,
  );
  if (!existing) fail(ENOENT, `no neighbour ${n.dst}`);
  state.neighbours = state.neighbours.filter((x) => x !== existing);
}
