/**
 * The typed description of a DHCP service, and its validation.
 *
 * Every value ends up in a dnsmasq configuration file, where a newline starts
 * a new option, a comma starts a new field and some bare words ("ignore",
 * "infinite", "45m") change what a field means. So every string is checked
 * against a narrow pattern of its own, not escaped: what passes cannot say
 * anything but what its field means. Validation happens before anything is
 * written; the first fault raises a ValidationError naming its field.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { ValidationError } from '../netlink/errors.js';
import { validateNamespaceName } from '../netlink/namespace.js';
import { validateIfname, validateMtu, validatePort } from '../rtnetlink/validate.js';

/** Seconds, "45m" / "12h" / "2d" / "1w" / "3600s", or "infinite". dnsmasq's minimum is 2 minutes. */
export type LeaseTime = number | string;

export interface DhcpRange {
  /** First address handed out. */
  start: string;
  /** Last address handed out (inclusive). */
  end: string;
  /** Default: the spec's leaseTime. */
  leaseTime?: LeaseTime;
}

/** A fixed address for one client, by MAC. */
export interface StaticHost {
  /** "02:42:ac:11:00:02" (dashes accepted; stored lowercase with colons). */
  mac: string;
  /** Inside the subnet; may be inside or outside the dynamic ranges. */
  ip: string;
  /** A single DNS label (the domain is appended by dnsmasq). */
  name?: string;
  leaseTime?: LeaseTime;
}

export interface DnsOptions {
  /** Default 53. */
  port?: number;
  /** Upstream servers (IPv4 or IPv6). Given: /etc/resolv.conf is not read. Omitted: it is. */
  upstream?: string[];
}

/** What dnsmasq should serve on one interface (the overlay's bridge). */
export interface DnsmasqSpec {
  /** The interface to serve: the bridge. It must hold an address inside `subnet`. */
  interface: string;
  /** The IPv4 network, "10.42.0.0/24" (host bits zero). */
  subnet: string;
  /** Sent as the router option (3); normally the bridge's own address. */
  gateway: string;
  /** One or more dynamic ranges, inside the subnet, not covering the gateway, not overlapping. */
  ranges: DhcpRange[];
  /** Default lease time. Default "1h". */
  leaseTime?: LeaseTime;
  /** Interface MTU option (26), sent to every client (the overlay MTU: 50 bytes under the underlay's). */
  mtu?: number;
  /** DNS servers option (6). Omitted with DNS on: dnsmasq advertises itself. Omitted with DNS off: none is sent. */
  dnsServers?: string[];
  /** Domain option (15); with DNS on, names in it are answered locally, never forwarded. */
  domain?: string;
  /** Static mappings MAC → IP (and name). Changed later with `updateHosts`. */
  hosts?: StaticHost[];
  /** DNS service. Default off (port=0): dnsmasq serves DHCP only. */
  dns?: boolean | DnsOptions;
  /**
   * dnsmasq pings an address before offering it, and skips it if something
   * answers (a host configured by hand). Safe, but the first lease of each
   * client then takes about 3 s instead of about 0.1 s. Default true.
   */
  pingCheck?: boolean;
  /**
   * Answer requests for addresses this server has no lease for (a client
   * whose lease predates a lost lease file) at once, instead of ignoring them
   * until the client gives up. Right when this is the only DHCP server on the
   * overlay, which is the point of this module. Default true.
   */
  authoritative?: boolean;
  /** Log every DHCP option exchanged (dnsmasq's log-dhcp). Default false. */
  logDhcp?: boolean;
}

export interface ValidRange {
  start: string;
  end: string;
  leaseTime: number | 'infinite';
  /** Inclusive, as 32-bit integers. */
  first: number;
  last: number;
}

export interface ValidHost {
  mac: string;
  ip: string;
  name?: string;
  leaseTime?: number | 'infinite';
}

/** A spec after validation: normalized, with defaults filled in. */
export interface ValidSpec {
  interface: string;
  subnet: { network: string; prefixlen: number; netmask: string; broadcast: string; first: number; last: number };
  gateway: string;
  ranges: ValidRange[];
  leaseTime: number | 'infinite';
  mtu?: number;
  dnsServers: string[];
  domain?: string;
  hosts: ValidHost[];
  dns: false | { port: number; upstream: string[] };
  pingCheck: boolean;
  authoritative: boolean;
  logDhcp: boolean;
}

const SPEC_KEYS = [
  'interface',
  'subnet',
  'gateway',
  'ranges',
  'leaseTime',
  'mtu',
  'dnsServers',
  'domain',
  'hosts',
  'dns',
  'pingCheck',
  'authoritative',
  'logDhcp',
];
const RANGE_KEYS = ['start', 'end', 'leaseTime'];
const HOST_KEYS = ['mac', 'ip', 'name', 'leaseTime'];
const DNS_KEYS = ['port', 'upstream'];

const MIN_LEASE = 120;
const MAX_LEASE = 0xffffffff - 1;
const LEASE_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
/** Bare words dnsmasq gives a meaning to inside a dhcp-host line. */
const DHCP_HOST_KEYWORDS = new Set(['ignore', 'infinite', 'deprecated']);
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
/** Interface names dnsmasq can read back unambiguously: no comma, "=", "#", quote, backslash or space. */
const SAFE_IFNAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/;

export function validateSpec(spec: unknown): ValidSpec {
  const s = object(spec, 'spec', SPEC_KEYS);
  const iface = text(s.interface, 'interface');
  validateIfname(iface, 'interface');
  if (!SAFE_IFNAME.test(iface)) {
    throw new ValidationError(
      'interface',
      'use letters, digits, "_", "." and "-" (not first): dnsmasq reads commas, "=", "#" and quotes as syntax',
      iface,
    );
  }

  const subnet = parseSubnet(s.subnet, 'subnet');
  const gateway = hostAddress(s.gateway, 'gateway', subnet);
  const leaseTime = s.leaseTime === undefined ? 3600 : parseLeaseTime(s.leaseTime, 'leaseTime');

  if (!Array.isArray(s.ranges) || s.ranges.length === 0) {
    throw new ValidationError('ranges', 'at least one DHCP range { start, end } is needed', s.ranges);
  }
  const ranges = s.ranges.map((range: unknown, i: number): ValidRange => {
    const field = `ranges[${i}]`;
    const r = object(range, field, RANGE_KEYS);
    const start = hostAddress(r.start, `${field}.start`, subnet);
    const end = hostAddress(r.end, `${field}.end`, subnet);
    const first = toInt(start);
    const last = toInt(end);
    if (first > last) throw new ValidationError(`${field}.end`, `the range ends before it starts (${start})`, end);
    const gw = toInt(gateway);
    if (gw >= first && gw <= last) {
      throw new ValidationError(
        field,
        `the range ${start}–${end} covers the gateway ${gateway}: ` +
          "dnsmasq would hand the gateway's address to a client",
        range,
      );
    }
    return {
      start,
      end,
      first,
      last,
      leaseTime: r.leaseTime === undefined ? leaseTime : parseLeaseTime(r.leaseTime, `${field}.leaseTime`),
    };
  });
  ranges.forEach((a, i) => {
    ranges.slice(0, i).forEach((b, j) => {
      if (a.first <= b.last && b.first <= a.last) {
        throw new ValidationError(`ranges[${i}]`, `overlaps ranges[${j}] (${b.start}–${b.end})`, {
          start: a.start,
          end: a.end,
        });
      }
    });
  });

  const mtu = s.mtu === undefined ? undefined : validateMtu(s.mtu, 'mtu');

  const dnsServers =
    s.dnsServers === undefined ? [] : list(s.dnsServers, 'dnsServers').map((a, i) => ipv4(a, `dnsServers[${i}]`));

  let domain: string | undefined;
  if (s.domain !== undefined) domain = domainName(s.domain, 'domain');

  const hosts = validateHosts(s.hosts === undefined ? [] : s.hosts, { subnet, gateway }, 'hosts');

  let dns: ValidSpec['dns'] = false;
  if (s.dns !== undefined && s.dns !== false) {
    if (s.dns === true) dns = { port: 53, upstream: [] };
    else {
      const d = object(s.dns, 'dns', DNS_KEYS);
      const port = d.port === undefined ? 53 : validatePort(d.port, 'dns.port');
      if (port === 67 || port === 68) throw new ValidationError('dns.port', 'is a DHCP port', port);
      const upstream =
        d.upstream === undefined ? [] : list(d.upstream, 'dns.upstream').map((a, i) => anyIp(a, `dns.upstream[${i}]`));
      dns = { port, upstream };
    }
  }

  return {
    interface: iface,
    subnet,
    gateway,
    ranges,
    leaseTime,
    mtu,
    dnsServers,
    domain,
    hosts,
    dns,
    pingCheck: flag(s.pingCheck, 'pingCheck', true),
    authoritative: flag(s.authoritative, 'authoritative', true),
    logDhcp: flag(s.logDhcp, 'logDhcp', false),
  };
}

/**
 * Static hosts against a validated subnet and gateway: each MAC, IP and name
 * used once, each IP a host address of the subnet other than the gateway.
 */
export function validateHosts(
  value: unknown,
  around: Pick<ValidSpec, 'subnet' | 'gateway'>,
  field = 'hosts',
): ValidHost[] {
  const hosts = list(value, field).map((entry, i): ValidHost => {
    const at = `${field}[${i}]`;
    const h = object(entry, at, HOST_KEYS);
    const mac = macAddress(h.mac, `${at}.mac`);
    const ip = hostAddress(h.ip, `${at}.ip`, around.subnet);
    if (ip === around.gateway) throw new ValidationError(`${at}.ip`, 'is the gateway address', ip);
    const host: ValidHost = { mac, ip };
    if (h.name !== undefined) host.name = hostName(h.name, `${at}.name`);
    if (h.leaseTime !== undefined) host.leaseTime = parseLeaseTime(h.leaseTime, `${at}.leaseTime`);
    return host;
  });
  const seen = { mac: new Map<string, number>(), ip: new Map<string, number>(), name: new Map<string, number>() };
  hosts.forEach((host, i) => {
    for (const key of ['mac', 'ip', 'name'] as const) {
      const v = key === 'name' ? host.name?.toLowerCase() : host[key];
      if (v === undefined) continue;
      const before = seen[key].get(v);
      if (before !== undefined)
        throw new ValidationError(`${field}[${i}].${key}`, `already used by ${field}[${before}]`, host[key]);
      seen[key].set(v, i);
    }
  });
  return hosts;
}

/** Seconds, or "infinite". */
export function parseLeaseTime(value: unknown, field: string): number | 'infinite' {
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else if (typeof value === 'string') {
    text(value, field);
    if (value === 'infinite') return 'infinite';
    const m = /^(\d{1,10})([smhdw]?)$/.exec(value);
    const unit = LEASE_UNITS[m?.[2] ?? ''];
    if (!m || unit === undefined)
      throw new ValidationError(
        field,
        'a lease time is seconds, or a number with s, m, h, d or w ("45m", "12h"), or "infinite"',
        value,
      );
    seconds = Number(m[1]) * unit;
  } else throw new ValidationError(field, 'a lease time is seconds, a string such as "12h", or "infinite"', value);
  if (!Number.isInteger(seconds) || seconds < MIN_LEASE || seconds > MAX_LEASE) {
    throw new ValidationError(
      field,
      `a lease time is a whole number of seconds from ${MIN_LEASE} (dnsmasq's minimum) to ${MAX_LEASE}`,
      value,
    );
  }
  return seconds;
}

/** "02:42:AC:11:00:02" or "02-42-ac-11-00-02" → "02:42:ac:11:00:02"; a unicast, non-zero Ethernet address. */
export function macAddress(value: unknown, field: string): string {
  const raw = text(value, field);
  if (!/^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/.test(raw)) {
    throw new ValidationError(field, 'a MAC address is six hex bytes separated by ":" (or "-")', raw);
  }
  const mac = raw.toLowerCase().replaceAll('-', ':');
  if (mac === '00:00:00:00:00:00')
    throw new ValidationError(field, 'the all-zero MAC address belongs to no client', raw);
  if (parseInt(mac.slice(0, 2), 16) & 1)
    throw new ValidationError(field, 'is a multicast/broadcast MAC address; a client has a unicast one', raw);
  return mac;
}

/** A single DNS label that dnsmasq cannot read as a lease time, an address or a keyword. */
export function hostName(value: unknown, field: string): string {
  const name = text(value, field);
  if (!LABEL.test(name)) {
    throw new ValidationError(
      field,
      'a host name is one DNS label: 1–63 letters, digits or "-", not starting or ending with "-"',
      name,
    );
  }
  if (/^\d+[smhdw]?$/i.test(name) || DHCP_HOST_KEYWORDS.has(name.toLowerCase())) {
    throw new ValidationError(field, 'dnsmasq would read this name as a lease time or a keyword, not a name', name);
  }
  return name;
}

export function domainName(value: unknown, field: string): string {
  const name = text(value, field);
  if (name.length > 253 || !name.split('.').every((label) => LABEL.test(label))) {
    throw new ValidationError(
      field,
      'a domain is dot-separated DNS labels (letters, digits, "-"), at most 253 characters',
      name,
    );
  }
  return name;
}

// ---------------------------------------------------------------------------
// Addresses

export function toInt(address: string): number {
  const b = ipaddr.IPv4.parse(address).octets;
  return b.reduce((sum, byte) => ((sum << 8) | byte) >>> 0, 0);
}

export function fromInt(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseSubnet(value: unknown, field: string): ValidSpec['subnet'] {
  const raw = text(value, field);
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(raw);
  const address = m?.[1];
  if (!m || address === undefined || !ipaddr.IPv4.isValidFourPartDecimal(address)) {
    throw new ValidationError(
      field,
      isIP(raw.replace(/\/.*$/, '')) === 6
        ? 'IPv6 is not served: this module runs DHCPv4'
        : 'expected an IPv4 network such as "10.42.0.0/24"',
      raw,
    );
  }
  const prefixlen = Number(m[2]);
  if (prefixlen < 1 || prefixlen > 30)
    throw new ValidationError(field, 'a DHCP subnet has a prefix length from 1 to 30 (room for hosts)', raw);
  const mask = prefixlen === 0 ? 0 : (0xffffffff << (32 - prefixlen)) >>> 0;
  const base = toInt(address);
  const first = (base & mask) >>> 0;
  if (first !== base)
    throw new ValidationError(field, `host bits are set: the network is ${fromInt(first)}/${prefixlen}`, raw);
  const last = (first | (~mask >>> 0)) >>> 0;
  return { network: fromInt(first), prefixlen, netmask: fromInt(mask), broadcast: fromInt(last), first, last };
}

/** An IPv4 address of a host inside the subnet: not its network or broadcast address. */
function hostAddress(value: unknown, field: string, subnet: ValidSpec['subnet']): string {
  const address = ipv4(value, field);
  const n = toInt(address);
  if (n < subnet.first || n > subnet.last)
    throw new ValidationError(field, `is outside the subnet ${subnet.network}/${subnet.prefixlen}`, address);
  if (n === subnet.first) throw new ValidationError(field, 'is the network address of the subnet', address);
  if (n === subnet.last) throw new ValidationError(field, 'is the broadcast address of the subnet', address);
  return address;
}

function ipv4(value: unknown, field: string): string {
  const raw = text(value, field);
  if (!ipaddr.IPv4.isValidFourPartDecimal(raw)) {
    throw new ValidationError(
      field,
      isIP(raw) === 6 ? 'IPv6 is not served: this module runs DHCPv4' : 'expected an IPv4 address in dotted-quad form',
      raw,
    );
  }
  return ipaddr.IPv4.parse(raw).toString();
}

function anyIp(value: unknown, field: string): string {
  const raw = text(value, field);
  if (ipaddr.IPv4.isValidFourPartDecimal(raw)) return ipaddr.IPv4.parse(raw).toString();
  if (!raw.includes('%') && ipaddr.IPv6.isValid(raw)) return ipaddr.IPv6.parse(raw).toString();
  throw new ValidationError(field, 'expected an IPv4 or IPv6 address', raw);
}

// ---------------------------------------------------------------------------
// Shapes

/** A string without control characters: a newline would start a new dnsmasq option. */
export function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new ValidationError(field, 'expected a non-empty string', value);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(value))
    throw new ValidationError(field, 'contains a newline or another control character', value);
  return value;
}

export function object(value: unknown, field: string, keys: readonly string[]): Record<string, any> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError(field, 'expected an object', value);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key))
      throw new ValidationError(
        field === 'spec' ? key : `${field}.${key}`,
        `unknown field; expected one of ${keys.join(', ')}`,
        (value as any)[key],
      );
  }
  return value as Record<string, any>;
}

function list(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) throw new ValidationError(field, 'expected an array', value);
  return value;
}

function flag(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ValidationError(field, 'expected true or false', value);
  return value;
}

// ---------------------------------------------------------------------------
// Where it runs

export interface InstanceOptions {
  /** Names the instance's state directory. Default: the interface name, prefixed with the namespace's. */
  instance?: string;
  /**
   * Run dnsmasq inside this network namespace: a name (/run/netns/NAME) or a namespace file's path (/proc/PID/ns/net).
   */
  namespace?: string;
  /** Directory for the configuration, hosts, lease and pid files. Default /run/vxnet/dnsmasq/<instance>. */
  stateDir?: string;
  /** The dnsmasq binary. Default: "dnsmasq" found in PATH, /usr/sbin or /sbin. */
  dnsmasqPath?: string;
  /** User and group dnsmasq drops to after binding its sockets. Default: dnsmasq's own (Debian: nobody). */
  user?: string;
  group?: string;
}

export interface ValidInstance {
  instance: string;
  namespace?: string;
  stateDir: string;
  dnsmasqPath?: string;
  user?: string;
  group?: string;
}

export const DEFAULT_STATE_ROOT = '/run/vxnet/dnsmasq';
const INSTANCE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Paths written into the configuration: no commas, "=", spaces, quotes or "#". */
const SAFE_PATH = /^\/(?:[A-Za-z0-9_@+.-]+\/?)*$/;
const ACCOUNT = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

export function validateInstance(options: InstanceOptions, spec: Pick<ValidSpec, 'interface'>): ValidInstance {
  const valid: ValidInstance = { instance: '', stateDir: '' };
  if (options.namespace !== undefined) {
    if (typeof options.namespace === 'string' && options.namespace.startsWith('/'))
      safePath(options.namespace, 'namespace');
    else validateNamespaceName(options.namespace, 'namespace');
    valid.namespace = options.namespace;
  }
  if (options.instance !== undefined) {
    valid.instance = text(options.instance, 'instance');
    if (!INSTANCE.test(valid.instance) || valid.instance.includes('..')) {
      throw new ValidationError(
        'instance',
        'an instance name is 1–64 letters, digits, "_", "." or "-", starting with a letter or digit',
        options.instance,
      );
    }
  } else {
    if (options.namespace?.startsWith('/'))
      throw new ValidationError(
        'instance',
        'with a namespace given as a path, give an instance name',
        options.instance,
      );
    valid.instance = options.namespace ? `${options.namespace}.${spec.interface}` : spec.interface;
    if (!INSTANCE.test(valid.instance) || valid.instance.includes('..')) {
      throw new ValidationError(
        'instance',
        `the default name "${valid.instance}" (namespace.interface) is not a safe file name: give an instance name`,
        valid.instance,
      );
    }
  }
  valid.stateDir =
    options.stateDir === undefined ? `${DEFAULT_STATE_ROOT}/${valid.instance}` : safePath(options.stateDir, 'stateDir');
  if (options.dnsmasqPath !== undefined) valid.dnsmasqPath = safePath(options.dnsmasqPath, 'dnsmasqPath');
  for (const key of ['user', 'group'] as const) {
    if (options[key] === undefined) continue;
    const name = text(options[key], key);
    if (!ACCOUNT.test(name))
      throw new ValidationError(
        key,
        'an account name is letters, digits, "_", "." or "-", starting with a letter or "_"',
        name,
      );
    valid[key] = name;
  }
  return valid;
}

function safePath(value: unknown, field: string): string {
  const path = text(value, field);
  if (!SAFE_PATH.test(path) || path.split('/').some((part) => part === '.' || part === '..')) {
    throw new ValidationError(
      field,
      'an absolute path of letters, digits and "_@+.-", without "." or ".." parts',
      path,
    );
  }
  return path.length > 1 ? path.replace(/\/$/, '') : path;
}
