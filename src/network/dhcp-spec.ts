/**
 * The `dhcp` section of a network spec, the same in every mode (VXLAN and
 * routed): its shape and its validation, in one place. The checks of the
 * section itself are here; whether serving needs a gateway is the mode's
 * spec to say (a routed spec always has one), so the caller passes it in.
 */
import { type DhcpRange, type StaticHost, validateSpec as validateDnsmasqSpec } from '../dnsmasq/spec.js';
import { ValidationError } from '../netlink/errors.js';

export interface NetworkDhcp {
  /** Serve DHCP from this host (one host per overlay does). Default true when `dhcp` is given. */
  serve?: boolean;
  ranges: DhcpRange[];
  /** Fixed addresses by MAC. */
  hosts?: StaticHost[];
  /** Default lease time ("12h", seconds, ...). Default "1h". */
  leaseTime?: number | string;
  /** DNS servers handed to clients. */
  dnsServers?: string[];
  domain?: string;
}

export type ResolvedDhcp = NetworkDhcp & { serve: boolean };

const KEYS = ['serve', 'ranges', 'hosts', 'leaseTime', 'dnsServers', 'domain'];

/**
 * Validates `dhcp` (field paths under "dhcp.") for a subnet and gateway;
 * when it is served, dnsmasq's own checks run too (ranges inside the subnet,
 * not covering the gateway, MACs, names, no injection).
 */
export function resolveDhcp(
  value: unknown,
  subnet: { text: string; ipv4: boolean },
  gateway: string | undefined,
): ResolvedDhcp {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ValidationError('dhcp', 'expected { ranges, hosts?, ... }', value);
  const dhcp = value as NetworkDhcp & Record<string, unknown>;
  for (const key of Object.keys(dhcp))
    if (!KEYS.includes(key)) throw new ValidationError(`dhcp.${key}`, `unknown field (known: ${KEYS.join(', ')})`);
  const serve = dhcp.serve ?? true;
  if (typeof serve !== 'boolean') throw new ValidationError('dhcp.serve', 'true or false', serve);
  if (!serve) return { ...dhcp, serve };
  if (gateway === undefined)
    throw new ValidationError(
      'gateway',
      "serving DHCP needs this host's address on the bridge (the gateway) for dnsmasq to listen on",
    );
  if (!subnet.ipv4) throw new ValidationError('dhcp', 'DHCP is served for IPv4 subnets only');
  try {
    validateDnsmasqSpec({
      interface: 'bridge0',
      subnet: subnet.text,
      gateway,
      ranges: dhcp.ranges,
      ...(dhcp.hosts ? { hosts: dhcp.hosts } : {}),
      ...(dhcp.leaseTime !== undefined ? { leaseTime: dhcp.leaseTime } : {}),
      ...(dhcp.dnsServers ? { dnsServers: dhcp.dnsServers } : {}),
      ...(dhcp.domain ? { domain: dhcp.domain } : {}),
    });
  } catch (error) {
    if (error instanceof ValidationError) throw new ValidationError(`dhcp.${error.field}`, error.reason, error.value);
    throw error;
  }
  return { ...dhcp, serve };
}
