/**
 * The BGP session settings every mode that runs FRR takes (a routed
 * network's `routes.bgp`, a VXLAN network's `membership.evpn`): AS, router
 * ID, neighbours, listen range, hold time. Validated here once, with field
 * paths under the section that holds them.
 */
import ipaddr from 'ipaddr.js';
import { ValidationError } from '../netlink/errors.js';
import { addressFamily } from '../rtnetlink/validate.js';

export interface BgpSession {
  /** This host's AS number, 1..4294967295; the same on every host (iBGP). */
  asn: number;
  /** Default: underlay.address. */
  routerId?: string;
  /** Underlay addresses of the hosts this one connects to. */
  neighbors?: string[];
  /**
   * Accept sessions from any host in this network (FRR's `bgp listen range`): new hosts join without this
   * spec changing.
   */
  listen?: string;
  /** Hold time in seconds (3..65535, default 9); keepalives every third of it. A dead peer's routes go within it. */
  holdTime?: number;
}

export interface ResolvedBgpSession {
  asn: number;
  routerId: string;
  /** Canonical, in the spec's order. */
  neighbors: string[];
  listen?: { text: string; address: string; prefixlen: number };
  holdTime: number;
  keepalive: number;
}

export const DEFAULT_HOLD_TIME = 9;
const KEYS = ['asn', 'routerId', 'neighbors', 'listen', 'holdTime'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function ipv4Address(text: unknown, field: string): string {
  if (typeof text !== 'string' || addressFamily(text, field) !== 4)
    throw new ValidationError(field, 'expected an IPv4 address (BGP runs over an IPv4 underlay here)', text);
  return ipaddr.parse(text).toString();
}

function ipv4Range(text: unknown, field: string): { text: string; address: string; prefixlen: number } {
  if (
    typeof text !== 'string' ||
    !ipaddr.isValidCIDR(text) ||
    !ipaddr.IPv4.isValidFourPartDecimal(text.replace(/\/.*$/, ''))
  )
    throw new ValidationError(field, 'expected an IPv4 network like 192.168.100.0/24', text);
  const [base, prefixlen] = ipaddr.parseCIDR(text);
  const network = ipaddr.IPv4.networkAddressFromCIDR(text).toString();
  if (network !== base.toString())
    throw new ValidationError(field, `has host bits set: did you mean ${network}/${prefixlen}?`, text);
  return { text: `${network}/${prefixlen}`, address: network, prefixlen };
}

/** Validates a BGP section found at `at` ("routes.bgp", "membership.evpn"); `local` is this host's underlay address. */
export function resolveBgpSession(
  input: unknown,
  local: string | undefined,
  at: string,
  extraKeys: string[] = [],
): ResolvedBgpSession {
  if (!isObject(input))
    throw new ValidationError(at, 'expected { asn, routerId?, neighbors?, listen?, holdTime? }', input);
  const known = [...KEYS, ...extraKeys];
  for (const key of Object.keys(input))
    if (!known.includes(key)) throw new ValidationError(`${at}.${key}`, `unknown field (known: ${known.join(', ')})`);
  const bgp = input as unknown as BgpSession;
  if (typeof bgp.asn !== 'number' || !Number.isInteger(bgp.asn) || bgp.asn < 1 || bgp.asn > 4294967295) {
    throw new ValidationError(`${at}.asn`, 'expected an AS number from 1 to 4294967295', bgp.asn);
  }
  let routerId: string;
  if (bgp.routerId !== undefined) {
    if (typeof bgp.routerId !== 'string' || !ipaddr.IPv4.isValidFourPartDecimal(bgp.routerId))
      throw new ValidationError(
        `${at}.routerId`,
        'expected an IPv4 address in dotted-quad form (a BGP router ID)',
        bgp.routerId,
      );
    routerId = ipaddr.parse(bgp.routerId).toString();
    if (routerId === '0.0.0.0') throw new ValidationError(`${at}.routerId`, 'cannot be 0.0.0.0', bgp.routerId);
  } else if (local !== undefined && ipaddr.IPv4.isValidFourPartDecimal(local)) {
    routerId = local;
  } else {
    throw new ValidationError(
      `${at}.routerId`,
      'is needed when underlay.address is not an IPv4 address (the default router ID is the underlay address)',
    );
  }
  const neighbors: string[] = [];
  if (bgp.neighbors !== undefined) {
    if (!Array.isArray(bgp.neighbors))
      throw new ValidationError(`${at}.neighbors`, 'expected a list of underlay addresses', bgp.neighbors);
    bgp.neighbors.forEach((n, i) => {
      const address = ipv4Address(n, `${at}.neighbors[${i}]`);
      if (address === local)
        throw new ValidationError(`${at}.neighbors[${i}]`, "is this host's own underlay address", n);
      const seen = neighbors.indexOf(address);
      if (seen >= 0) throw new ValidationError(`${at}.neighbors[${i}]`, `repeats neighbors[${seen}]`, n);
      neighbors.push(address);
    });
  }
  const listen = bgp.listen === undefined ? undefined : ipv4Range(bgp.listen, `${at}.listen`);
  if (neighbors.length === 0 && listen === undefined)
    throw new ValidationError(
      `${at}.neighbors`,
      'BGP needs neighbors to connect to, or listen to accept them (or both)',
    );
  const holdTime = bgp.holdTime ?? DEFAULT_HOLD_TIME;
  if (typeof holdTime !== 'number' || !Number.isInteger(holdTime) || holdTime < 3 || holdTime > 65535) {
    throw new ValidationError(`${at}.holdTime`, 'expected whole seconds from 3 to 65535', bgp.holdTime);
  }
  return {
    asn: bgp.asn,
    routerId,
    neighbors,
    ...(listen ? { listen } : {}),
    holdTime,
    keepalive: Math.max(1, Math.floor(holdTime / 3)),
  };
}
