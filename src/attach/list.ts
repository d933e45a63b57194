/**
 * The attachments in a host namespace, found by their host ends' marks and
 * read from the host's side only: the container end through the peer's
 * namespace id (IFLA_TARGET_NETNSID), so listing opens no socket in any
 * container. A namespace's path is looked up by its identity (/run/netns
 * first, then a process in it).
 */
import { linkName } from '../common/link.js';
import { NetlinkError } from '../netlink/errors.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { IFF_UP } from '../rtnetlink/constants.js';
import type { Link } from '../rtnetlink/links.js';
import { parseContainerMark, parseHostMark } from './mark.js';
import { namespacePaths } from './netns.js';

export interface Attachment {
  network: string;
  /** The container namespace's identity, "ns-<dev>-<ino>". */
  netnsId: string;
  /**
   * A path that reaches that namespace now (/run/netns/NAME, or /proc/PID/ns/net of a process in it); undefined if none
   * was found.
   */
  netns?: string;
  /** The interface inside the container. */
  ifname: string;
  containerId?: string;
  host: {
    ifname: string;
    ifindex: number;
    mac?: string;
    mtu: number;
    up: boolean /** The bridge it is a port of. */;
    bridge?: string;
  };
  /** The container's end as the kernel reports it; undefined when it cannot be read from here. */
  container?: {
    ifname: string;
    mac?: string;
    mtu: number;
    up: boolean;
    /** 'dhcp', or the static address vxnet assigned (from its mark). */
    address?: string;
    /** The gateway of the default route vxnet added. */
    gateway?: string;
  };
  /** What is wrong with it, in words. */
  problems: string[];
}

/** Attachments in `rt`'s namespace, of one network or of all. */
export async function listAttachments(rt: Rtnetlink, filter: { network?: string } = {}): Promise<Attachment[]> {
  const links = await rt.links.list();
  const byIndex = new Map(links.map((l) => [l.ifindex, l]));
  const found: { link: Link; mark: NonNullable<ReturnType<typeof parseHostMark>> }[] = [];
  for (const link of links) {
    const mark = parseHostMark(link.ifalias);
    if (mark && (filter.network === undefined || mark.network === filter.network)) found.push({ link, mark });
  }
  const paths = namespacePaths(new Set(found.map((f) => f.mark.netnsId)));
  const attachments: Attachment[] = [];
  for (const { link, mark } of found) {
    const bridge = link.master ? byIndex.get(link.master) : undefined;
    const problems: string[] = [];
    const netns = paths.get(mark.netnsId);
    const attachment: Attachment = {
      network: mark.network,
      netnsId: mark.netnsId,
      ifname: mark.ifname,
      ...(netns !== undefined ? { netns } : {}),
      ...(mark.containerId ? { containerId: mark.containerId } : {}),
      host: {
        ifname: linkName(link),
        ifindex: link.ifindex,
        mac: link.address,
        mtu: link.mtu ?? 0,
        up: (link.flags & IFF_UP) !== 0,
        ...(bridge ? { bridge: linkName(bridge) } : {}),
      },
      problems,
    };
    if (!bridge)
      problems.push(`${link.ifname} (${mark.ifname} in ${attachment.netns ?? mark.netnsId}) is not on a bridge`);
    if (!attachment.host.up)
      problems.push(`${link.ifname} (${mark.ifname} in ${attachment.netns ?? mark.netnsId}) is down`);
    const peer = await peerOf(rt, link);
    if (peer) {
      const inside = parseContainerMark(peer.ifalias);
      const container = {
        ifname: linkName(peer),
        mac: peer.address,
        mtu: peer.mtu ?? 0,
        up: (peer.flags & IFF_UP) !== 0,
        ...(inside?.address ? { address: inside.address } : {}),
        ...(inside?.gateway ? { gateway: inside.gateway } : {}),
      };
      attachment.container = container;
      if (peer.ifname !== mark.ifname)
        problems.push(`the container end of ${link.ifname} is named ${peer.ifname}, not ${mark.ifname}`);
      if (!container.up) problems.push(`${peer.ifname} in ${attachment.netns ?? mark.netnsId} is down`);
    } else {
      problems.push(`the container end of ${link.ifname} cannot be read from ${rt.where}`);
    }
    attachments.push(attachment);
  }
  return attachments;
}

/** A veth's peer, read in the peer's namespace from this one; undefined when that is not possible. */
async function peerOf(rt: Rtnetlink, link: Link): Promise<Link | undefined> {
  if (link.link === undefined || link.link === 0) return undefined;
  try {
    return await rt.links.find(link.link, link.link_netnsid === undefined ? {} : { netnsid: link.link_netnsid });
  } catch (error) {
    // EINVAL: no such namespace id (gone meanwhile); EPERM/EACCES: no CAP_NET_ADMIN over it.
    if (error instanceof NetlinkError) return undefined;
    throw error;
  }
}
