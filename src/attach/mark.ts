/**
 * The marks an attachment carries on its two veth ends (IFLA_IFALIAS, shown
 * by `ip link` as "alias"), in the form vxnet marks everything it owns:
 *
 *   host end:       vxnet:<network> attach netns=<ns-dev-ino> ifname=<ifname>[ container=<id>]
 *   container end:  vxnet:<network> attach[ address=<cidr>|dhcp][ gateway=<ip>]
 *
 * The host end's mark says whose it is and which container interface it
 * serves: detach, list and destroy find attachments by it, never by a name,
 * so a device that merely has the name of one is never touched. The
 * container end's mark says what vxnet configured there (the static address,
 * the gateway of the default route it added), so a later attach with other
 * arguments removes exactly that, and status can show it from the host.
 *
 * The kernel keeps at most 255 bytes of alias (IFALIASZ 256 with the NUL).
 */
import { ownerAlias, ownerFromAlias } from '../common/ownership.js';
import { ValidationError } from '../netlink/errors.js';

const KIND = 'attach';
/** IFALIASZ − 1. */
export const ALIAS_MAX_BYTES = 255;

export interface HostMark {
  network: string;
  /** The container namespace's identity, "ns-<dev>-<ino>". */
  netnsId: string;
  /** The interface's name inside the container. */
  ifname: string;
  /** The caller's stable name for the container (a CNI container id), when given. */
  containerId?: string;
}

export interface ContainerMark {
  network: string;
  /** 'dhcp', or the static address (CIDR) vxnet assigned. */
  address?: string;
  /** The gateway of the default route vxnet added. */
  gateway?: string;
}

function encode(network: string, fields: [string, string | undefined][]): string {
  const text = [
    ownerAlias(network),
    KIND,
    ...fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`),
  ].join(' ');
  if (Buffer.byteLength(text) > ALIAS_MAX_BYTES) {
    throw new ValidationError(
      'containerId',
      `the mark "${text}" would exceed the kernel's ${ALIAS_MAX_BYTES} bytes of alias: use a shorter container id or ` +
        'network name',
    );
  }
  return text;
}

/** Fields of an attach mark of `alias`, or undefined if it is not one. */
function decode(alias: string | undefined): { network: string; fields: Map<string, string> } | undefined {
  const network = ownerFromAlias(alias);
  if (alias === undefined || network === undefined) return undefined;
  const [, kind, ...rest] = alias.split(' ');
  if (kind !== KIND) return undefined;
  const fields = new Map<string, string>();
  for (const item of rest) {
    const at = item.indexOf('=');
    if (at > 0) fields.set(item.slice(0, at), item.slice(at + 1));
  }
  return { network, fields };
}

export function hostMark(mark: HostMark): string {
  return encode(mark.network, [
    ['netns', mark.netnsId],
    ['ifname', mark.ifname],
    ['container', mark.containerId],
  ]);
}

/** The host end's mark read back; undefined for any other alias (or a mark missing its fields). */
export function parseHostMark(alias: string | undefined): HostMark | undefined {
  const decoded = decode(alias);
  const netnsId = decoded?.fields.get('netns');
  const ifname = decoded?.fields.get('ifname');
  if (!decoded || !netnsId || !ifname) return undefined;
  const containerId = decoded.fields.get('container');
  return { network: decoded.network, netnsId, ifname, ...(containerId ? { containerId } : {}) };
}

export function containerMark(mark: ContainerMark): string {
  return encode(mark.network, [
    ['address', mark.address],
    ['gateway', mark.gateway],
  ]);
}

export function parseContainerMark(alias: string | undefined): ContainerMark | undefined {
  const decoded = decode(alias);
  if (!decoded || decoded.fields.has('netns')) return undefined;
  const address = decoded.fields.get('address');
  const gateway = decoded.fields.get('gateway');
  return { network: decoded.network, ...(address ? { address } : {}), ...(gateway ? { gateway } : {}) };
}
