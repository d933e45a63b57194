/**
 * ip_forward over rtnetlink: the RTM_GETNETCONF request the agent sends
 * (netconfmsg for IPv4, NETCONFA_IFINDEX = all), and NETCONFA_FORWARDING
 * read from a reply, as `ip netconf show` would (both values, a reply
 * without the attribute, another message type).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { forwardingOf, netconfRequest } from '../../src/agent/netconf.js';
import { parseMessages } from '../../src/netlink/message.js';

test('the request: RTM_GETNETCONF, AF_INET, NETCONFA_IFINDEX -1', () => {
  const [message] = parseMessages(netconfRequest());
  assert.is(message!.type, 82);
  assert.is(
    message!.buffer.subarray(message!.start, message!.end).toString('hex'),
    '02000000' + '08000100' + 'ffffffff',
  );
});

/** A reply as the kernel lays it out (inet_netconf_fill_devconf): netconfmsg, NETCONFA_IFINDEX, then the values. */
function reply(type: number, attrs: [number, number][]): Buffer {
  const body = Buffer.alloc(4 + attrs.length * 8);
  body[0] = 2;
  attrs.forEach(([attr, value], i) => {
    body.writeUInt16LE(8, 4 + i * 8);
    body.writeUInt16LE(attr, 6 + i * 8);
    body.writeInt32LE(value, 8 + i * 8);
  });
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(type, 4);
  return Buffer.concat([head, body]);
}

test('NETCONFA_FORWARDING from a reply', () => {
  const read = (b: Buffer) => forwardingOf(parseMessages(b)[0]!);
  assert.is(
    read(
      reply(80, [
        [1, -1],
        [2, 1],
        [3, 0],
      ]),
    ),
    true,
  );
  assert.is(
    read(
      reply(80, [
        [1, -1],
        [2, 0],
      ]),
    ),
    false,
  );
  assert.is(
    read(
      reply(80, [
        [1, -1],
        [3, 1],
      ]),
    ),
    undefined,
    'no forwarding attribute',
  );
  assert.is(read(reply(81, [[2, 1]])), undefined, 'not a RTM_NEWNETCONF');
});

test.run();
