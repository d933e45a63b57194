/**
 * A subscription is joined to its groups when Subscription.open resolves:
 * an event caused right afterwards is delivered. (The relay used to join as
 * it read its input, after open() had resolved; an event right after open()
 * was lost most of the time, and rtnetlink's listFirst could miss changes.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Subscription } from '../../src/netlink/subscription.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';
import { RTNLGRP_LINK } from '../../src/rtnetlink/constants.js';
import { integrationReady, withNamespaces } from '../helpers/netns.js';

const it = integrationReady() ? test : test.skip;

it('an event caused right after Subscription.open resolves is delivered, every time', async () => {
  await withNamespaces(['joined'], async (ns) => {
    await using rt = await Rtnetlink.open({ namespace: ns });
    const missed: number[] = [];
    for (let i = 0; i < 20; i++) {
      const subscription = await Subscription.open({ protocol: 0, groups: [RTNLGRP_LINK], namespace: ns });
      let delivered = false;
      subscription.on((event) => {
        if (event.kind === 'message') delivered = true;
      });
      await rt.links.create({ ifname: `br${i}`, kind: 'bridge' });
      for (let wait = 0; wait < 40 && !delivered; wait++) await new Promise((resolve) => setTimeout(resolve, 25));
      subscription.close();
      if (!delivered) missed.push(i);
    }
    assert.equal(missed, [], 'no subscription missed the link created right after it opened');
  });
});

test.run();
