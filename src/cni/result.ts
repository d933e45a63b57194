/**
 * The ADD result in the config's version: 1.x { interfaces, ips (interface
 * index), routes, dns }, 1.1.0 with interface MTUs, 0.3.x/0.4.0 with
 * `version` on each IP. A prevResult (chained plugins) is kept, with this
 * attachment's interfaces appended and its IPs pointing at them. Routes say
 * what the container has: the default route vxnet set replaces a previous
 * plugin's entry for the same destination; when the container routes through
 * another device already, vxnet sets none and the previous entry stays.
 */
import { compareVersions } from './version.js';

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}
export interface CniIp {
  address: string;
  gateway?: string;
  interface?: number;
  version?: string;
}
export interface CniRoute {
  dst: string;
  gw?: string;
}
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIp[];
  routes?: CniRoute[];
  dns?: Record<string, unknown>;
}

export interface Added {
  host: { name: string; mac: string };
  container: { name: string; mac: string; mtu: number; sandbox: string };
  ip?: { address: string; gateway?: string };
  defaultRoute?: CniRoute;
  dns?: Record<string, unknown>;
}

export function buildResult(version: string, added: Added, prev?: Record<string, unknown>): CniResult {
  const withMtu = compareVersions(version, '1.1.0') >= 0;
  const old = compareVersions(version, '1.0.0') < 0;
  const interfaces = Array.isArray(prev?.interfaces) ? [...(prev.interfaces as CniInterface[])] : [];
  const ips = Array.isArray(prev?.ips) ? [...(prev.ips as CniIp[])] : [];
  const routes = Array.isArray(prev?.routes) ? [...(prev.routes as CniRoute[])] : [];
  const base = interfaces.length;
  interfaces.push({ name: added.host.name, mac: added.host.mac });
  interfaces.push({
    name: added.container.name,
    mac: added.container.mac,
    ...(withMtu ? { mtu: added.container.mtu } : {}),
    sandbox: added.container.sandbox,
  });
  if (added.ip) {
    ips.push({
      ...(old ? { version: added.ip.address.includes(':') ? '6' : '4' } : {}),
      address: added.ip.address,
      ...(added.ip.gateway ? { gateway: added.ip.gateway } : {}),
      interface: base + 1,
    });
  }
  if (added.defaultRoute) {
    // vxnet set it only finding no default route of the family in the container (attach leaves another
    // device's alone): an entry for the same destination from earlier in the chain is not in the container.
    const dst = added.defaultRoute.dst;
    const others = routes.filter((r) => r.dst !== dst);
    routes.splice(0, routes.length, ...others, added.defaultRoute);
  }
  const dns = (prev?.dns as Record<string, unknown> | undefined) ?? added.dns;
  return {
    cniVersion: version,
    interfaces,
    ...(ips.length ? { ips } : {}),
    ...(routes.length ? { routes } : {}),
    ...(dns && Object.keys(dns).length ? { dns } : {}),
  };
}
