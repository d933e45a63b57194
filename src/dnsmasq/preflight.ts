/**
 * Checks before a start, each failing with a PreflightError that says what
 * to do. dnsmasq reports some of these itself, but late or not at all: a
 * second dnsmasq on the same bridge starts happily (both set SO_REUSEADDR)
 * and then two servers answer every client; a bridge without an address in
 * the subnet starts fine and then ignores every request.
 */
import { existsSync, readFileSync } from 'node:fs';
import { NetlinkError } from '../netlink/errors.js';
import { namespacePath } from '../netlink/namespace.js';
import { Rtnetlink } from '../rtnetlink/client.js';
import { findChainTools, PreflightError } from '../process/preflight.js';
import { findExecutable, processAlive } from '../process/proc.js';
import type { Tools } from './process.js';
import { type BoundSocket, socketOwners, socketsOnPorts } from './sockets.js';
import { toInt, type ValidInstance, type ValidSpec } from './spec.js';

export const INSTALL_DNSMASQ =
  'install it: Debian/Ubuntu: apt-get install dnsmasq-base (the binary alone; the "dnsmasq" package also starts a ' +
  'system-wide service that holds ports 53 and 67); ' +
  'Fedora/RHEL: dnf install dnsmasq; Alpine: apk add dnsmasq; Arch: pacman -S dnsmasq';

/** Finds dnsmasq and the util-linux tools the launch chain needs. */
export function findTools(options: { dnsmasqPath?: string; namespace?: string }): Tools {
  const dnsmasq = findExecutable(options.dnsmasqPath ?? 'dnsmasq');
  if (!dnsmasq) {
    const where = options.dnsmasqPath
      ? `${options.dnsmasqPath} is not an executable file`
      : 'dnsmasq is not installed (not in PATH, /usr/sbin or /sbin)';
    throw new PreflightError('dnsmasq-missing', `${where}; ${INSTALL_DNSMASQ}`, { path: options.dnsmasqPath });
  }
  return {
    dnsmasq,
    ...findChainTools({ ...(options.namespace !== undefined ? { namespace: options.namespace } : {}) }),
  };
}

/** Refuses to start a second supervisor on an instance whose dnsmasq still runs. */
export function checkNotRunning(pidPath: string, configPath: string, instance: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(pidPath, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.split('\0').includes(`--conf-file=${configPath}`)) return; // the pid was reused by something else
  throw new PreflightError(
    'already-running',
    `instance ${instance} is already served by dnsmasq pid ${pid} (another supervisor, or one that was not stopped): ` +
      'stop it, or use another instance name',
    { pid },
  );
}

export interface InterfaceFacts {
  ifindex: number;
  /** The interface's IPv4 addresses, "10.42.0.1/24". */
  addresses: string[];
}

/** The interface exists in the namespace and holds an IPv4 address inside the subnet. */
export async function checkInterface(spec: ValidSpec, namespace: string | undefined): Promise<InterfaceFacts> {
  const where = namespace ? `namespace ${namespace}` : 'this network namespace';
  await using rt = await Rtnetlink.open({ namespace });
  const link = await rt.links.find(spec.interface);
  if (!link) {
    throw new PreflightError(
      'interface-missing',
      `interface ${spec.interface} does not exist in ${where}: create the bridge first`,
      { interface: spec.interface, namespace },
    );
  }
  const all = await rt.addresses.list({ family: 4 });
  // An address whose reply carried neither IFA_LOCAL nor IFA_ADDRESS is left out.
  const mine = all.flatMap((a) => {
    const ip = a.local ?? a.address;
    return a.ifindex === link.ifindex && ip ? [{ ip, prefixlen: a.prefixlen }] : [];
  });
  const addresses = mine.map((a) => `${a.ip}/${a.prefixlen}`);
  const inside = mine.some((a) => {
    const n = toInt(a.ip);
    return n > spec.subnet.first && n < spec.subnet.last;
  });
  if (!inside) {
    throw new PreflightError(
      'no-address',
      `interface ${spec.interface} in ${where} has no IPv4 address inside ` +
        `${spec.subnet.network}/${spec.subnet.prefixlen} ` +
        `(it has ${addresses.length ? addresses.join(', ') : 'none'}): dnsmasq only answers on an interface with an ` +
        'address in the DHCP subnet; ' +
        `add one (normally the gateway, ${spec.gateway}/${spec.subnet.prefixlen})`,
      { interface: spec.interface, addresses },
    );
  }
  return { ifindex: link.ifindex, addresses };
}

function describeHolder(
  socket: BoundSocket,
  owners: Map<number, { pid: number; command: string }[]>,
  names: Map<number, string>,
): string {
  const device = socket.ifindex
    ? ` on device ${names.get(socket.ifindex) ?? `#${socket.ifindex}`}`
    : ' on every interface';
  const who =
    owners
      .get(socket.inode)
      ?.map((o) => `${o.command} (pid ${o.pid})`)
      .join(', ') || `a process of uid ${socket.uid} that vxnet cannot see`;
  const address = socket.family === 6 ? `[${socket.address}]` : socket.address;
  return `${socket.protocol} ${address}:${socket.port}${device}, held by ${who}`;
}

/**
 * Port 67 (and the DNS port, when DNS is on) must be free for this interface:
 * a socket bound to it, or to no device at all, would compete with dnsmasq.
 * `sockets` lists what holds those ports in the namespace (socketsOnPorts).
 */
export function checkPorts(
  spec: ValidSpec,
  namespace: string | undefined,
  facts: InterfaceFacts,
  sockets: BoundSocket[],
): void {
  const where = namespace ? `namespace ${namespace}` : 'this network namespace';
  const names = new Map([[facts.ifindex, spec.interface]]);
  const onOurDevice = (s: BoundSocket): boolean => s.ifindex === 0 || s.ifindex === facts.ifindex;
  // An IPv6 socket that is not v6only receives IPv4 too.
  const seesIpv4 = (s: BoundSocket): boolean => s.family === 4 || s.v6only === false;

  const dhcp = sockets.filter((s) => s.protocol === 'udp' && s.port === 67 && onOurDevice(s) && seesIpv4(s));
  if (dhcp.length) {
    const owners = socketOwners(dhcp.map((s) => s.inode));
    throw new PreflightError(
      'dhcp-port-busy',
      `another DHCP server already listens for ${spec.interface} in ${where}: ` +
        `${dhcp.map((s) => describeHolder(s, owners, names)).join('; ')}. ` +
        'Two servers on one segment hand out conflicting leases: stop it (or bind it to another interface) first',
      { sockets: dhcp, owners: Object.fromEntries(owners) },
    );
  }

  if (spec.dns === false) return;
  const ours = new Set(['0.0.0.0', '::', ...facts.addresses.map((a) => a.replace(/\/.*$/, ''))]);
  const port = spec.dns.port;
  const dns = sockets.filter((s) => s.port === port && onOurDevice(s) && ours.has(s.address) && seesIpv4(s));
  if (dns.length) {
    const owners = socketOwners(dns.map((s) => s.inode));
    throw new PreflightError(
      'dns-port-busy',
      `DNS is enabled but port ${port} is taken in ${where}: ` +
        `${dns.map((s) => describeHolder(s, owners, names)).join('; ')}. ` +
        'Stop that server, choose another dns.port, or leave DNS off',
      { sockets: dns, owners: Object.fromEntries(owners) },
    );
  }
}

export interface PreflightResult {
  tools: Tools;
  interface: InterfaceFacts;
}

/** All checks, in the order that gives the most useful first failure. */
export async function preflight(
  spec: ValidSpec,
  instance: ValidInstance,
  paths: { pid: string; config: string },
): Promise<PreflightResult> {
  const tools = findTools(instance);
  if (instance.namespace !== undefined && !existsSync(namespacePath(instance.namespace))) {
    throw new PreflightError(
      'namespace-missing',
      `network namespace ${instance.namespace} does not exist (no ${namespacePath(instance.namespace)})`,
      {
        namespace: instance.namespace,
      },
    );
  }
  checkNotRunning(paths.pid, paths.config, instance.instance);
  let facts: InterfaceFacts;
  try {
    // Both need a netlink socket in the namespace (a relay process each): ask at once.
    const ports = spec.dns === false ? [67] : [67, spec.dns.port];
    const [found, sockets] = await Promise.all([
      checkInterface(spec, instance.namespace),
      socketsOnPorts(ports, spec.dns === false ? ['udp'] : ['udp', 'tcp'], instance.namespace),
    ]);
    facts = found;
    checkPorts(spec, instance.namespace, facts, sockets);
  } catch (error) {
    if (error instanceof NetlinkError && (error.code === 'EPERM' || error.code === 'EACCES')) {
      throw new PreflightError(
        'no-permission',
        `cannot inspect the network: ${error.message}. dnsmasq needs root (or CAP_NET_ADMIN and ` +
          'CAP_NET_BIND_SERVICE) anyway',
      );
    }
    throw error;
  }
  return { tools, interface: facts };
}
