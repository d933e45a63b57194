/**
 * Addresses (RTM_*ADDR): list, add, replace, delete — IPv4 and IPv6, with
 * prefix, label, broadcast, scope, flags and lifetimes.
 */
import { constants } from 'node:os';
import { NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants.js';
import { ValidationError } from '../netlink/errors.js';
import { decodeMessage, encodeMessage } from '../netlink/message.js';
import type { Rtnetlink } from './client.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_NOWHERE,
  RT_SCOPE_SITE,
  RT_SCOPE_UNIVERSE,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
} from './constants.js';
import type { LinkRef } from './links.js';
import { type AddressMessage, addressSchema, type AddressRequest } from './schema/address.js';
import { parsePrefix, sameFamily } from './validate.js';

export type Address = AddressMessage;

export type Scope = 'global' | 'site' | 'link' | 'host' | 'nowhere' | number;
const SCOPES: Record<string, number> = {
  global: RT_SCOPE_UNIVERSE,
  universe: RT_SCOPE_UNIVERSE,
  site: RT_SCOPE_SITE,
  link: RT_SCOPE_LINK,
  host: RT_SCOPE_HOST,
  nowhere: RT_SCOPE_NOWHERE,
};
const { EADDRNOTAVAIL, EEXIST } = constants.errno;

export function scopeNumber(scope: Scope, field = 'scope'): number {
  const value = typeof scope === 'number' ? scope : SCOPES[scope];
  if (value === undefined || !Number.isInteger(value) || value < 0 || value > 255) {
    throw new ValidationError(field, `a scope is one of ${Object.keys(SCOPES).join(', ')} or 0–255`, scope);
  }
  return value;
}

export interface AddressSpec {
  dev: LinkRef;
  /** "10.0.0.1/24", "fd00::1/64"; a bare address gets /32 or /128. */
  address: string;
  /** Point-to-point peer (IFA_ADDRESS when it differs from the local address). */
  peer?: string;
  broadcast?: string;
  /** IPv4 label such as "eth0:1" (ip insists that it starts with the device's name; the kernel takes any). */
  label?: string;
  scope?: Scope;
  /** IFA_F_* bits (e.g. IFA_F_NOPREFIXROUTE). */
  flags?: number;
  /** Lifetimes in seconds; omitted: forever. */
  validLifetime?: number;
  preferredLifetime?: number;
  /** Metric of the prefix route the kernel adds. */
  metric?: number;
}

const FOREVER = 0xffffffff;
/** Why deleting an address given without a prefix length can miss (the kernel matches it as /32 or /128). */
const PREFIX_LENGTH_HINT = ' as a /32 or /128: give the prefix length it was added with (e.g. 10.0.0.1/24)';

export class Addresses {
  constructor(private readonly rt: Rtnetlink) {}

  /** Every address, or those of one family or device. */
  async list(filter: { family?: 4 | 6; dev?: LinkRef } = {}): Promise<Address[]> {
    const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : AF_UNSPEC;
    const ifindex =
      filter.dev === undefined
        ? undefined
        : await this.rt.links.indexOf(filter.dev, 'dev', 'list addresses', `on ${filter.dev}`);
    const all = await this.rt.connection.dumpAll(
      () => encodeMessage(RTM_GETADDR, 0, addressSchema, { family }),
      { operation: 'list addresses' },
      { decode: (m) => decodeMessage(addressSchema, m), retries: 3 },
    );
    return ifindex === undefined ? all : all.filter((a) => a.ifindex === ifindex);
  }

  add(spec: AddressSpec): Promise<void> {
    return this.write(spec, NLM_F_CREATE | NLM_F_EXCL, 'add address');
  }

  /** Adds the address, or updates it in place (lifetimes, flags) if it exists. */
  replace(spec: AddressSpec): Promise<void> {
    return this.write(spec, NLM_F_CREATE | NLM_F_REPLACE, 'replace address');
  }

  async delete(spec: Pick<AddressSpec, 'dev' | 'address' | 'peer'>): Promise<void> {
    const message = await this.message(spec, 'delete address');
    await this.rt.connection.request(encodeMessage(RTM_DELADDR, 0, addressSchema, message), {
      operation: 'delete address',
      object: `${spec.address} on ${spec.dev}`,
      explain: (errno) =>
        errno === EADDRNOTAVAIL
          ? `${spec.address} is not configured on ${spec.dev}${spec.address.includes('/') ? '' : PREFIX_LENGTH_HINT}`
          : undefined,
    });
  }

  private async write(spec: AddressSpec, flags: number, operation: string): Promise<void> {
    const message = await this.message(spec, operation);
    await this.rt.connection.request(encodeMessage(RTM_NEWADDR, flags, addressSchema, message), {
      operation,
      object: `${spec.address} on ${spec.dev}`,
      explain: (errno) =>
        errno === EEXIST ? `${spec.address} is already configured on ${spec.dev}; use replace to update it` : undefined,
    });
  }

  private async message(spec: AddressSpec, operation: string): Promise<AddressRequest> {
    const prefix = parsePrefix(spec.address, 'address');
    sameFamily([
      ['address', prefix.address],
      ['peer', spec.peer],
      ['broadcast', spec.broadcast],
    ]);
    if (spec.broadcast !== undefined && prefix.family !== 4)
      throw new ValidationError('broadcast', 'only IPv4 addresses have a broadcast address', spec.broadcast);
    if (spec.label !== undefined && prefix.family !== 4)
      throw new ValidationError('label', 'only IPv4 addresses have labels', spec.label);
    const ifindex = await this.rt.links.indexOf(spec.dev, 'dev', operation, `${spec.address} on ${spec.dev}`);
    const message: AddressRequest = {
      family: prefix.family === 4 ? AF_INET : AF_INET6,
      prefixlen: prefix.prefixlen,
      scope: spec.scope === undefined ? RT_SCOPE_UNIVERSE : scopeNumber(spec.scope),
      ifindex,
      local: prefix.address,
      address: spec.peer ?? prefix.address,
    };
    if (spec.label !== undefined) message.label = spec.label;
    if (spec.broadcast !== undefined) message.broadcast = spec.broadcast;
    if (spec.flags !== undefined) message.flags = spec.flags;
    if (spec.metric !== undefined) message.metric = spec.metric;
    if (spec.validLifetime !== undefined || spec.preferredLifetime !== undefined) {
      const valid = spec.validLifetime ?? FOREVER;
      const preferred = spec.preferredLifetime ?? valid;
      if (preferred > valid) throw new ValidationError('preferredLifetime', 'cannot exceed validLifetime', preferred);
      message.cacheinfo = { preferred_life_time: preferred, valid_life_time: valid, cstamp: 0, tstamp: 0 };
    }
    return message;
  }
}
