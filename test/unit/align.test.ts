import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { align, attrSpace, messageSpace } from '../../src/netlink/align.js';

test('align rounds up to 4 (NLMSG_ALIGN / NLA_ALIGN)', () => {
  assert.equal([0, 1, 2, 3, 4, 5, 8, 13].map(align), [0, 4, 4, 4, 4, 8, 8, 16]);
});

test('attrSpace and messageSpace include headers and padding', () => {
  assert.is(attrSpace(0), 4);
  assert.is(attrSpace(1), 8);
  assert.is(attrSpace(4), 8);
  assert.is(messageSpace(0), 16);
  assert.is(messageSpace(17), 36);
});

test.run();
