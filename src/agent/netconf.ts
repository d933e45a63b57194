/**
 * net.ipv4.ip_forward of a namespace, read over rtnetlink (RTM_GETNETCONF,
 * what `ip netconf show` asks) instead of /proc/sys. /proc/sys shows the
 * reader's own namespace, so for another one the overlay's default control
 * starts a helper process inside it for every read — tens of milliseconds a
 * plan, and the agent plans on every event. Over the agent's rtnetlink
 * connection the same read is one request. Writes stay with /proc/sys
 * (netconf is read-only): they happen only when something is repaired.
 */
import { readS32, readU16, writeU16, writeU32 } from '../netlink/bytes.js';
import { encodeRaw, type RawMessage } from '../netlink/message.js';
import type { IpForwardControl } from '../network/forwarding.js';
import { procIpForward } from '../network/forwarding.js';
import type { Rtnetlink } from '../rtnetlink/client.js';
import { AF_INET } from '../rtnetlink/constants.js';

const RTM_NEWNETCONF = 80;
const RTM_GETNETCONF = 82;
const NETCONFA_IFINDEX = 1;
const NETCONFA_FORWARDING = 2;
const NETCONFA_IFINDEX_ALL = -1;

/** The request: struct netconfmsg (the family, padded to 4 bytes), then NETCONFA_IFINDEX = all. */
export function netconfRequest(family = AF_INET): Buffer {
  const payload = Buffer.alloc(12);
  payload[0] = family;
  writeU16(payload, 4, 8); // nla_len, nla_type, then the s32: host order
  writeU16(payload, 6, NETCONFA_IFINDEX);
  writeU32(payload, 8, NETCONFA_IFINDEX_ALL >>> 0);
  return encodeRaw(RTM_GETNETCONF, 0, payload);
}

/** NETCONFA_FORWARDING of a RTM_NEWNETCONF reply, or undefined when it has none. */
export function forwardingOf(message: RawMessage): boolean | undefined {
  if (message.type !== RTM_NEWNETCONF) return undefined;
  const { buffer, end } = message;
  let offset = message.start + 4;
  while (offset + 4 <= end) {
    const length = readU16(buffer, offset);
    if (length < 4 || offset + length > end) return undefined;
    if ((readU16(buffer, offset + 2) & 0x3fff) === NETCONFA_FORWARDING && length >= 8)
      return readS32(buffer, offset + 4) !== 0;
    offset += (length + 3) & ~3;
  }
  return undefined;
}

/** ip_forward read over `rt` (falling back to /proc/sys if the kernel says nothing), written through /proc/sys. */
export function netconfIpForward(rt: Rtnetlink, namespace: string | undefined): IpForwardControl {
  const proc = procIpForward(namespace);
  return {
    async get() {
      const replies = await rt.connection.request(netconfRequest(), { operation: 'get netconf', object: 'ipv4 all' });
      for (const reply of replies) {
        const forwarding = forwardingOf(reply);
        if (forwarding !== undefined) return forwarding;
      }
      return proc.get();
    },
    set: (on) => proc.set(on),
  };
}
