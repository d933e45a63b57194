/**
 * How the container interface gets its address: 'dhcp' (nothing assigned:
 * the container's own client asks the network's DHCP server), a static
 * address (assigned, with a default route via the gateway), or nothing.
 * Checked in full before anything is written.
 */
import ipaddr from 'ipaddr.js';
import { ValidationError } from '../netlink/errors.js';
import { addressFamily, parsePrefix } from '../rtnetlink/validate.js';
import { canonicalAddress } from '../vxlan/spec.js';
import { AddressOutsideSubnetError } from './errors.js';

export type Addressing =
  | { mode: 'none' }
  | { mode: 'dhcp' }
  | {
      mode: 'static';
      /** Canonical CIDR: "10.10.0.5/24". */
      address: string;
      /** The address alone, canonical. */
      ip: string;
      prefixlen: number;
      family: 4 | 6;
      /** The default route's next hop, when one is wanted. */
      gateway?: string;
    };

export interface AddressingInput {
  /** 'dhcp', "10.10.0.5/24", or "10.10.0.5" (takes the subnet's prefix length). Omitted: none. */
  address?: string;
  /** The network's subnet ("10.10.0.0/24"; host bits are ignored, so a gateway's "10.10.0.1/24" will do). */
  subnet?: string;
  /** Next hop of the container's default route, inside the address's prefix. */
  gateway?: string;
  /** Add the default route via the gateway (default true when there is a gateway). */
  defaultRoute?: boolean;
}

/** "10.10.0.0/24" from "10.10.0.1/24": the network of a prefix, canonical. */
export function networkOf(cidr: string, field: string): { network: string; prefixlen: number; family: 4 | 6 } {
  const prefix = parsePrefix(cidr, field);
  const parsed = ipaddr.parseCIDR(`${prefix.address}/${prefix.prefixlen}`);
  const network =
    prefix.family === 4
      ? ipaddr.IPv4.networkAddressFromCIDR(`${prefix.address}/${prefix.prefixlen}`).toString()
      : networkOf6(parsed);
  return { network: `${network}/${prefix.prefixlen}`, prefixlen: prefix.prefixlen, family: prefix.family };
}

function networkOf6([address, length]: [ipaddr.IPv4 | ipaddr.IPv6, number]): string {
  // Byte i keeps its first (length - 8i) bits: all of them, some, or none.
  const bytes = address.toByteArray().map((byte, i) => byte & (0xff00 >> Math.min(8, Math.max(0, length - 8 * i))));
  return (ipaddr.fromByteArray(bytes) as ipaddr.IPv6).toRFC5952String();
}

function inside(ip: string, network: string): boolean {
  const [base, length] = ipaddr.parseCIDR(network);
  const parsed = ipaddr.parse(ip);
  return parsed.kind() === base.kind() && parsed.match(base, length);
}

export function resolveAddressing(input: AddressingInput): Addressing {
  const { address } = input;
  if (address === undefined) return { mode: 'none' };
  if (address === 'dhcp') return { mode: 'dhcp' };
  if (typeof address !== 'string')
    throw new ValidationError('address', "'dhcp', or a static address with its prefix length (10.10.0.5/24)", address);
  const subnet = input.subnet === undefined ? undefined : networkOf(input.subnet, 'subnet');
  const bare = !address.includes('/');
  const prefix = parsePrefix(address, 'address');
  const ip = canonicalAddress(prefix.address);
  let prefixlen = prefix.prefixlen;
  if (bare) {
    if (!subnet)
      throw new ValidationError(
        'address',
        'give the prefix length (10.10.0.5/24): without a subnet it cannot be known',
        address,
      );
    prefixlen = subnet.prefixlen;
  }
  if (subnet) {
    if (prefix.family !== subnet.family || !inside(ip, subnet.network))
      throw new AddressOutsideSubnetError(address, subnet.network);
    if (prefixlen !== subnet.prefixlen) {
      throw new ValidationError(
        'address',
        `the network ${subnet.network} is a /${subnet.prefixlen}: give ${ip}/${subnet.prefixlen} (or ${ip} alone)`,
        address,
      );
    }
  }
  const cidr = `${ip}/${prefixlen}`;
  const own = networkOf(cidr, 'address');
  if (prefix.family === 4 && prefixlen <= 30) {
    const broadcast = ipaddr.IPv4.broadcastAddressFromCIDR(cidr).toString();
    if (ip === own.network.split('/')[0])
      throw new ValidationError('address', `is the network address of ${own.network}`, address);
    if (ip === broadcast) throw new ValidationError('address', `is the broadcast address of ${own.network}`, address);
  }
  let gateway: string | undefined;
  if (input.gateway !== undefined && input.defaultRoute !== false) {
    if (addressFamily(input.gateway, 'gateway') !== prefix.family)
      throw new ValidationError('gateway', `is not IPv${prefix.family} like the address ${cidr}`, input.gateway);
    gateway = canonicalAddress(input.gateway);
    if (gateway === ip) throw new ValidationError('address', `is the gateway's address (${gateway})`, address);
    if (!inside(gateway, own.network))
      throw new ValidationError(
        'gateway',
        `is not inside ${own.network}, so the container could not reach it`,
        input.gateway,
      );
  }
  return { mode: 'static', address: cidr, ip, prefixlen, family: prefix.family, ...(gateway ? { gateway } : {}) };
}
