/**
 * How many netlink messages each recorded operation sends, by message type.
 * Replaying a fixture already holds our requests to the recording byte for
 * byte, but a fixture is re-recorded from the code: a change that adds
 * round trips (a second dump of every link, a lookup repeated) would be
 * recorded with it. This table is the number the change has to update on
 * purpose, in the same commit that explains why.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NLMSG_NOOP } from '../../src/netlink/constants.js';
import { forEachMessage } from '../../src/netlink/message.js';
import { nftablesTypeName } from '../../src/nftables/nfgenmsg.js';
import * as rt from '../../src/rtnetlink/constants.js';
import { fixtureRecipes } from '../fixtures/registry.js';
import { fixturePath, loadFixture } from '../helpers/fixtures.js';

const RTM_NAMES = new Map(
  Object.entries(rt)
    .filter(([name, value]) => /^RTM_(NEW|DEL|GET|SET)[A-Z]+$/.test(name) && typeof value === 'number')
    .map(([name, value]) => [value as number, name]),
);

function typeName(protocol: number, type: number): string {
  if (type === NLMSG_NOOP) return 'NLMSG_NOOP';
  return (protocol === 0 ? RTM_NAMES.get(type) : nftablesTypeName(type)) ?? String(type);
}

/** Datagrams sent (sendmsg calls), and the messages in them by type. */
const EXPECTED: Record<string, { sends: number; messages: Record<string, number> }> = {
  'core/link-dump': { sends: 1, messages: { RTM_GETLINK: 1 } },
  'core/errors': { sends: 2, messages: { RTM_GETLINK: 1, RTM_NEWLINK: 1 } },
  'core/batch': { sends: 1, messages: { RTM_GETLINK: 20, NLMSG_NOOP: 1 } },
  'core/route-dump': { sends: 1, messages: { RTM_GETROUTE: 1 } },
  'vxlan/multicast': { sends: 11, messages: { RTM_GETLINK: 8, RTM_NEWLINK: 2, RTM_GETNEIGH: 1 } },
  'vxlan/peers': {
    sends: 32,
    messages: { RTM_GETLINK: 17, RTM_NEWLINK: 1, RTM_NEWNEIGH: 4, NLMSG_NOOP: 1, RTM_GETNEIGH: 9, RTM_DELNEIGH: 2 },
  },
  'vxlan/conflict': { sends: 10, messages: { RTM_GETLINK: 7, RTM_DELLINK: 1, RTM_NEWLINK: 1, RTM_GETNEIGH: 1 } },
  'bridge/ensure': { sends: 20, messages: { RTM_GETLINK: 15, RTM_NEWLINK: 5, RTM_NEWADDR: 1, RTM_GETADDR: 1 } },
  'nftables/tables': {
    sends: 10,
    messages: {
      NFNL_MSG_BATCH_BEGIN: 3,
      NFT_MSG_NEWTABLE: 2,
      NFNL_MSG_BATCH_END: 3,
      NLMSG_NOOP: 3,
      NFT_MSG_GETTABLE: 4,
      NFT_MSG_DELTABLE: 1,
    },
  },
  'nftables/chains': {
    sends: 7,
    messages: {
      NFNL_MSG_BATCH_BEGIN: 2,
      NFT_MSG_NEWTABLE: 1,
      NFT_MSG_NEWCHAIN: 4,
      NFNL_MSG_BATCH_END: 2,
      NLMSG_NOOP: 2,
      NFT_MSG_GETCHAIN: 3,
      NFT_MSG_DELCHAIN: 1,
    },
  },
  'nftables/rules': {
    sends: 11,
    messages: {
      NFNL_MSG_BATCH_BEGIN: 4,
      NFT_MSG_NEWTABLE: 1,
      NFT_MSG_NEWCHAIN: 4,
      NFT_MSG_NEWSET: 1,
      NFT_MSG_NEWSETELEM: 1,
      NFT_MSG_NEWRULE: 10,
      NFNL_MSG_BATCH_END: 4,
      NLMSG_NOOP: 4,
      NFT_MSG_GETRULE: 3,
      NFT_MSG_DELRULE: 1,
    },
  },
  'nftables/sets': {
    sends: 14,
    messages: {
      NFNL_MSG_BATCH_BEGIN: 5,
      NFT_MSG_NEWTABLE: 1,
      NFNL_MSG_BATCH_END: 5,
      NLMSG_NOOP: 5,
      NFT_MSG_NEWSET: 1,
      NFT_MSG_NEWSETELEM: 1,
      NFT_MSG_GETSET: 2,
      NFT_MSG_GETSETELEM: 2,
      NFT_MSG_DELSETELEM: 1,
      NFT_MSG_DELSET: 1,
    },
  },
  'nftables/foreign-rules': {
    sends: 4,
    messages: {
      NFT_MSG_GETRULE: 2,
      NFNL_MSG_BATCH_BEGIN: 1,
      NFT_MSG_DELRULE: 9,
      NFT_MSG_NEWRULE: 9,
      NFNL_MSG_BATCH_END: 1,
      NLMSG_NOOP: 1,
    },
  },
  'nftables/atomic': {
    sends: 12,
    messages: {
      NFT_MSG_GETGEN: 2,
      NFT_MSG_GETTABLE: 2,
      NFT_MSG_GETCHAIN: 2,
      NFT_MSG_GETSET: 2,
      NFT_MSG_GETRULE: 2,
      NFNL_MSG_BATCH_BEGIN: 1,
      NFT_MSG_NEWTABLE: 1,
      NFT_MSG_NEWCHAIN: 1,
      NFT_MSG_NEWRULE: 1,
      NFT_MSG_DELRULE: 1,
      NFNL_MSG_BATCH_END: 1,
      NLMSG_NOOP: 1,
    },
  },
  'nftables/generation': {
    sends: 9,
    messages: {
      NFT_MSG_GETGEN: 2,
      NFNL_MSG_BATCH_BEGIN: 3,
      NFT_MSG_NEWTABLE: 3,
      NFNL_MSG_BATCH_END: 3,
      NLMSG_NOOP: 3,
      NFT_MSG_GETTABLE: 1,
    },
  },
  'nftables/errors': {
    sends: 18,
    messages: {
      NFNL_MSG_BATCH_BEGIN: 9,
      NFT_MSG_NEWTABLE: 2,
      NFNL_MSG_BATCH_END: 9,
      NLMSG_NOOP: 9,
      NFT_MSG_NEWCHAIN: 2,
      NFT_MSG_NEWRULE: 4,
      NFT_MSG_DELCHAIN: 1,
    },
  },
  'masquerade/ensure': {
    sends: 26,
    messages: {
      NFT_MSG_GETGEN: 3,
      NFT_MSG_GETTABLE: 4,
      NFNL_MSG_BATCH_BEGIN: 2,
      NFT_MSG_NEWTABLE: 1,
      NFT_MSG_NEWSET: 1,
      NFT_MSG_NEWSETELEM: 2,
      NFT_MSG_NEWCHAIN: 3,
      NFT_MSG_NEWRULE: 6,
      NFNL_MSG_BATCH_END: 2,
      NLMSG_NOOP: 2,
      NFT_MSG_GETCHAIN: 6,
      NFT_MSG_GETRULE: 3,
      NFT_MSG_GETSET: 3,
      NFT_MSG_GETSETELEM: 3,
      NFT_MSG_DELRULE: 1,
      NFT_MSG_DELSETELEM: 1,
    },
  },
  'masquerade/remove': {
    sends: 12,
    messages: {
      NFT_MSG_GETGEN: 3,
      NFT_MSG_GETTABLE: 4,
      NFNL_MSG_BATCH_BEGIN: 2,
      NFT_MSG_NEWTABLE: 1,
      NFT_MSG_NEWCHAIN: 2,
      NFT_MSG_NEWRULE: 4,
      NFNL_MSG_BATCH_END: 2,
      NLMSG_NOOP: 2,
      NFT_MSG_GETCHAIN: 1,
      NFT_MSG_DELTABLE: 1,
    },
  },
  'masquerade/not-owned': { sends: 5, messages: { NFT_MSG_GETGEN: 2, NFT_MSG_GETTABLE: 2, NFT_MSG_GETRULE: 1 } },
  'masquerade/blocking': {
    sends: 5,
    messages: {
      NFT_MSG_GETGEN: 1,
      NFT_MSG_GETTABLE: 1,
      NFNL_MSG_BATCH_BEGIN: 1,
      NFT_MSG_NEWTABLE: 1,
      NFT_MSG_NEWSET: 1,
      NFT_MSG_NEWSETELEM: 1,
      NFT_MSG_NEWCHAIN: 3,
      NFT_MSG_NEWRULE: 5,
      NFNL_MSG_BATCH_END: 1,
      NLMSG_NOOP: 1,
      NFT_MSG_GETCHAIN: 1,
    },
  },
  // list({ master: 'br0' }) looks the master up (one GET) so the kernel can filter the dump by its index.
  'rtnetlink/links-list': { sends: 7, messages: { RTM_GETLINK: 7 } },
  'rtnetlink/links-create': { sends: 27, messages: { RTM_GETLINK: 15, RTM_NEWLINK: 12 } },
  'rtnetlink/links-change': { sends: 20, messages: { RTM_GETLINK: 13, RTM_NEWLINK: 6, RTM_DELLINK: 1 } },
  'rtnetlink/addresses': { sends: 17, messages: { RTM_GETLINK: 8, RTM_NEWADDR: 6, RTM_DELADDR: 1, RTM_GETADDR: 2 } },
  'rtnetlink/routes': {
    sends: 23,
    messages: { RTM_GETLINK: 6, RTM_NEWROUTE: 15, RTM_DELROUTE: 1, NLMSG_NOOP: 1, RTM_GETROUTE: 3 },
  },
  'rtnetlink/neighbours': {
    sends: 20,
    messages: { RTM_GETLINK: 10, RTM_NEWNEIGH: 7, RTM_DELNEIGH: 1, RTM_GETNEIGH: 2 },
  },
  'rtnetlink/fdb': {
    sends: 32,
    messages: { RTM_GETLINK: 16, RTM_NEWNEIGH: 15, RTM_DELNEIGH: 4, NLMSG_NOOP: 2, RTM_GETNEIGH: 2 },
  },
  'rtnetlink/errors': {
    sends: 55,
    messages: { RTM_NEWLINK: 12, RTM_GETLINK: 37, RTM_NEWROUTE: 3, RTM_DELADDR: 1, RTM_NEWNEIGH: 3 },
  },
};

for (const fixture of fixtureRecipes) {
  const expected = EXPECTED[fixture.name];
  if (!expected) continue;
  test(`${fixture.name}: ${expected.sends} datagrams, ${Object.values(expected.messages).reduce((a, b) => a + b)} messages`, () => {
    const recorded = loadFixture(fixturePath(fixture.name));
    let sends = 0;
    const messages: Record<string, number> = {};
    for (const entry of recorded.entries) {
      if (entry.kind !== 'send') continue;
      sends++;
      forEachMessage(entry.datagram, (m) => {
        const name = typeName(recorded.protocol, m.type);
        messages[name] = (messages[name] ?? 0) + 1;
      });
    }
    assert.equal({ sends, messages }, expected);
  });
}

test('every fixture with a recipe has its counts pinned', () => {
  assert.equal(
    fixtureRecipes.map((f) => f.name).filter((name) => !EXPECTED[name]),
    [],
  );
});

test.run();
