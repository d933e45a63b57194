/**
 * Which sockets hold a port, in a network namespace: a sock_diag dump
 * (NETLINK_SOCK_DIAG, inet_diag), the same source `ss` reads. Unlike
 * /proc/net/udp it reports the device a socket is bound to (SO_BINDTODEVICE),
 * which is what tells a second DHCP server on our bridge apart from one
 * serving another bridge on the same host.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Connection } from '../netlink/connection.js';
import { be16, be32, layout, pad, u32, u8 } from '../netlink/layout.js';
import { decodeMessage, encodeMessage, type MessageOf, messageSchema } from '../netlink/message.js';
import { fieldsOf } from '../netlink/uapi.js';
import { attr, attrSet } from '../netlink/schema.js';

export const NETLINK_SOCK_DIAG = 4;
export const SOCK_DIAG_BY_FAMILY = 20;
const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const TCP_LISTEN = 10;
const INET_DIAG_SKV6ONLY = 11;

// struct inet_diag_req_v2: the socket id (48 bytes) is left zero: a dump matches every socket.
const inetDiagReqV2 = layout('inet_diag_req_v2', [
  u8('family'),
  u8('protocol'),
  u8('ext'),
  pad('pad', 1),
  u32('states'),
  pad('id', 48),
]);

// struct inet_diag_msg, with struct inet_diag_sockid flattened into it.
const inetDiagMsg = layout('inet_diag_msg', [
  u8('family'),
  u8('state'),
  u8('timer'),
  u8('retrans'),
  be16('sport'),
  be16('dport'),
  be32('src0'),
  be32('src1'),
  be32('src2'),
  be32('src3'),
  be32('dst0'),
  be32('dst1'),
  be32('dst2'),
  be32('dst3'),
  u32('if'),
  u32('cookie0'),
  u32('cookie1'),
  u32('expires'),
  u32('rqueue'),
  u32('wqueue'),
  u32('uid'),
  u32('inode'),
]);

const requestSchema = messageSchema(
  'inet_diag request',
  inetDiagReqV2,
  attrSet('inet_diag_req', {}, ['family', 'protocol', 'ext', 'states']),
);
const diagSchema = messageSchema(
  'inet_diag',
  inetDiagMsg,
  attrSet('inet_diag', { skv6only: attr.u8(INET_DIAG_SKV6ONLY) }, fieldsOf(inetDiagMsg)),
);

/** A socket as sock_diag reports it: struct inet_diag_msg's fields and INET_DIAG_SKV6ONLY. */
export type DiagMessage = MessageOf<typeof diagSchema>;

export interface BoundSocket {
  protocol: 'udp' | 'tcp';
  family: 4 | 6;
  /** Local address ("0.0.0.0" / "::" for every address). */
  address: string;
  port: number;
  /** The device it is bound to (SO_BINDTODEVICE); 0 for none. */
  ifindex: number;
  /** For IPv6 sockets: whether IPv4 traffic is excluded (IPV6_V6ONLY). */
  v6only?: boolean;
  uid: number;
  inode: number;
}

export interface SocketOwner {
  pid: number;
  /** The process's command name (/proc/PID/comm). */
  command: string;
}

function ipv4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function ipv6Text(words: number[]): string {
  const groups: string[] = [];
  for (const w of words) groups.push(((w >>> 16) & 0xffff).toString(16), (w & 0xffff).toString(16));
  // Compress the longest run of zero groups, as inet_ntop does.
  let best = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength && j - i > 1) [best, bestLength] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLength).join(':')}`;
}

/**
 * Every TCP listener or UDP socket on one of `ports`, IPv4 and IPv6, in the
 * namespace (ours when omitted). One netlink socket: in another namespace
 * each costs a relay process (~0.1 s).
 */
export async function socketsOnPorts(
  ports: number[],
  protocols: ('udp' | 'tcp')[],
  namespace?: string,
): Promise<BoundSocket[]> {
  const wanted = new Set(ports);
  const connection = await Connection.open({ protocol: NETLINK_SOCK_DIAG, namespace });
  try {
    const found: BoundSocket[] = [];
    for (const protocol of protocols) {
      for (const family of [AF_INET, AF_INET6]) {
        const messages = await connection.dumpAll(
          () =>
            encodeMessage(SOCK_DIAG_BY_FAMILY, 0, requestSchema, {
              family,
              protocol: protocol === 'udp' ? IPPROTO_UDP : IPPROTO_TCP,
              // UDP sockets have no TCP state worth filtering on: take all. TCP: listeners.
              states: protocol === 'udp' ? 0xffffffff : 1 << TCP_LISTEN,
            }),
          { operation: `list ${protocol} sockets`, object: namespace ? `in namespace ${namespace}` : undefined },
          { decode: (m) => decodeMessage(diagSchema, m) },
        );
        for (const m of messages) {
          if (!wanted.has(m.sport)) continue;
          const v6 = m.family === AF_INET6;
          found.push({
            protocol,
            family: v6 ? 6 : 4,
            address: v6 ? ipv6Text([m.src0, m.src1, m.src2, m.src3]) : ipv4Text(m.src0),
            port: m.sport,
            ifindex: m.if,
            ...(v6 && m.skv6only !== undefined ? { v6only: m.skv6only !== 0 } : {}),
            uid: m.uid,
            inode: m.inode,
          });
        }
      }
    }
    return found;
  } finally {
    connection.close();
  }
}

/** The processes holding the given socket inodes, found through /proc/PID/fd (every namespace shares the PID space). */
export function socketOwners(inodes: number[]): Map<number, SocketOwner[]> {
  const wanted = new Map(inodes.map((inode) => [`socket:[${inode}]`, inode]));
  const owners = new Map<number, SocketOwner[]>();
  if (wanted.size === 0) return owners;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = wanted.get(target);
      if (inode === undefined) continue;
      let command = '?';
      try {
        command = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      } catch {
        // exited meanwhile
      }
      const list = owners.get(inode) ?? [];
      if (!list.some((o) => o.pid === Number(entry))) list.push({ pid: Number(entry), command });
      owners.set(inode, list);
    }
  }
  return owners;
}
