/**
 * Decoded links carry `ifname` as optional, since the schema cannot promise
 * the kernel sent IFLA_IFNAME. It always does for a link it reports; should
 * one come without, this says so instead of passing `undefined` on as a name.
 */
import { DecodeError } from '../netlink/errors.js';

/** The link's name, or a DecodeError naming the link whose reply had none. */
export function linkName(link: { readonly ifindex?: number; readonly ifname?: string }): string {
  if (link.ifname !== undefined) return link.ifname;
  throw new DecodeError('RTM_NEWLINK', `link ${link.ifindex ?? '?'} has no name (no IFLA_IFNAME in the reply)`, -1, [
    'ifname',
  ]);
}

/** The link's name for a report: its ifindex ("#7") when the reply had no IFLA_IFNAME. */
export function linkLabel(link: { readonly ifindex?: number; readonly ifname?: string }): string {
  return link.ifname ?? `#${link.ifindex ?? '?'}`;
}
