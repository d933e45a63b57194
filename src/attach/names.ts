/**
 * Names and addresses an attachment derives from what identifies it, so that
 * the same container gets the same ones every time:
 *
 * - the host end of the veth: "vxc" + 12 hex digits of a hash of the
 *   container's namespace identity (nsfs device and inode) and its interface
 *   name. 15 bytes, the kernel's limit. A name already taken by a device
 *   that is not this attachment moves on to the next candidate (`attempt`).
 * - the container's MAC: locally administered, unicast, from the network,
 *   the container's stable identity (its id, or the namespace as named) and
 *   the interface name, so a DHCP lease or a static DHCP host follows the
 *   container across restarts that keep its name.
 * - the host end's MAC: locally administered and starting with 0xfe. A
 *   bridge takes the lowest MAC among its ports as its own unless one was
 *   set; with 0xfe the host ends never win, so the gateway's MAC does not
 *   change when containers come and go (neighbours' ARP caches stay right).
 */
import { createHash } from 'node:crypto';

/** What every host end's name starts with. */
export const HOST_VETH_PREFIX = 'vxc';

/** How many candidate names attach tries before it gives up (each taken by a device that is not ours). */
export const HOST_VETH_ATTEMPTS = 16;

function digest(...parts: (string | number)[]): Buffer {
  return createHash('sha256').update(parts.join('\0')).digest();
}

/**
 * The host end's name for the container interface `ifname` in the namespace
 * `namespaceId` ("ns-<dev>-<ino>", see namespaceIdentity). `attempt` 0 is the
 * first choice; later attempts are the fall-backs when a name is taken.
 */
export function hostVethName(namespaceId: string, ifname: string, attempt = 0): string {
  return HOST_VETH_PREFIX + digest('vxnet-veth', namespaceId, ifname, attempt).toString('hex').slice(0, 12);
}

function macText(bytes: Buffer): string {
  return [...bytes.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * The container interface's default MAC: locally administered (bit 1 of the
 * first byte set), unicast (bit 0 clear), never starting with 0xfe (kept for
 * host ends).
 */
export function containerMac(network: string, container: string, ifname: string): string {
  const bytes = digest('vxnet-mac', network, container, ifname);
  bytes[0] = (bytes.readUInt8(0) & 0xfc) | 0x02;
  if (bytes[0] === 0xfe) bytes[0] = 0xfa;
  return macText(bytes);
}

/** The host end's MAC: fe:xx:xx:xx:xx:xx, from its name. */
export function hostVethMac(hostIfname: string): string {
  const bytes = digest('vxnet-host-mac', hostIfname);
  bytes[0] = 0xfe;
  return macText(bytes);
}
