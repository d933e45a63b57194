/**
 * Alignment rules of the netlink wire format. Each helper names the kernel
 * macro it mirrors (include/uapi/linux/netlink.h), so a reader can check them
 * side by side.
 */

/** NLMSG_ALIGNTO and NLA_ALIGNTO: messages and attributes start on 4-byte boundaries. */
export const ALIGNTO = 4;

/** NLMSG_ALIGN(len) and NLA_ALIGN(len): round a length up to the next 4-byte boundary. */
export function align(length: number): number {
  return (length + ALIGNTO - 1) & ~(ALIGNTO - 1);
}

/** NLMSG_HDRLEN: sizeof(struct nlmsghdr), already aligned. */
export const NLMSG_HDRLEN = 16;

/** NLA_HDRLEN: sizeof(struct nlattr), already aligned. */
export const NLA_HDRLEN = 4;

/** NLMSG_LENGTH(len): header plus payload, without trailing padding. */
export function messageLength(payloadLength: number): number {
  return payloadLength + NLMSG_HDRLEN;
}

/** NLMSG_SPACE(len): header plus payload, with trailing padding. */
export function messageSpace(payloadLength: number): number {
  return align(messageLength(payloadLength));
}

/** nla_total_size(payload): attribute header plus payload, with trailing padding. */
export function attrSpace(payloadLength: number): number {
  return align(NLA_HDRLEN + payloadLength);
}
