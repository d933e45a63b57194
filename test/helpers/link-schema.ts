/**
 * A deliberately small link schema for the core's own tests, so they do not
 * depend on the rtnetlink layer they sit under.
 */
import { layout, pad, s32, u16, u32, u8 } from '../../src/netlink/layout.js';
import { encodeMessage, messageSchema, type RequestMessageOf } from '../../src/netlink/message.js';
import { attr, attrSet } from '../../src/netlink/schema.js';

export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_NEWROUTE = 24;
export const RTNLGRP_IPV4_ROUTE = 7;

const ifinfomsg = layout('ifinfomsg', [
  u8('family'),
  pad('pad', 1),
  u16('link_type'),
  s32('ifindex'),
  u32('flags'),
  u32('change'),
]);
export const miniLinkSchema = messageSchema(
  'link',
  ifinfomsg,
  attrSet('link', { address: attr.mac(1), ifname: attr.string(3), mtu: attr.u32(4), net_ns_fd: attr.u32(28) }, [
    'family',
    'link_type',
    'ifindex',
    'flags',
    'change',
  ]),
);
/** A link of the small schema, as a request gives it (a decoded one will do). */
export type MiniLink = RequestMessageOf<typeof miniLinkSchema>;

export function getLink(value: MiniLink): Buffer {
  return encodeMessage(RTM_GETLINK, 0, miniLinkSchema, value);
}
