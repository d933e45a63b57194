/**
 * The netlink core, end to end, in a throwaway network namespace:
 * list links, watch link events, create a veth pair, see a kernel error
 * explained, and clean up. Run as root: npx tsx examples/walkthrough-core.ts
 *
 * (The full seed walkthrough — three hosts, VXLAN, DHCP, masquerade — arrives
 * with the overlay layer; until then this is `npm run demo`.)
 */
import { spawnSync } from 'node:child_process';
import {
  Connection,
  decodeMessage,
  encodeMessage,
  NETLINK_ROUTE,
  NetlinkError,
  NLM_F_CREATE,
  NLM_F_EXCL,
  Subscription,
} from '../src/index.js';
import { IFF_UP, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK, RTNLGRP_LINK } from '../src/rtnetlink/constants.js';
import { encodeVethPeer, type LinkMessage, linkSchema } from '../src/rtnetlink/schema/link.js';

const step = (text: string) => console.log(`\n== ${text}`);
const namespace = `vxdemo-${process.pid}`;

function ip(...args: string[]): void {
  // The example's scaffolding only: vxnet itself never runs ip.
  const run = spawnSync('ip', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`ip ${args.join(' ')}: ${run.stderr.trim()}`);
}

async function listLinks(conn: Connection): Promise<LinkMessage[]> {
  return conn.dumpAll(
    () => encodeMessage(RTM_GETLINK, 0, linkSchema, { family: 0 }),
    { operation: 'list links' },
    {
      decode: (m) => decodeMessage(linkSchema, m),
    },
  );
}

function show(links: LinkMessage[]): void {
  for (const link of links) {
    const kind = link.linkinfo?.info_kind ?? '-';
    console.log(
      `  ${String(link.ifindex).padStart(3)}  ${(link.ifname ?? '?').padEnd(12)} mtu ${String(link.mtu).padEnd(6)} kind ${kind.padEnd(8)} ${link.address ?? ''}`,
    );
  }
}

step(`links of this host's namespace`);
{
  await using host = await Connection.open({ protocol: NETLINK_ROUTE });
  show(await listLinks(host));
}

step(`a throwaway namespace: ${namespace}`);
ip('netns', 'add', namespace);
try {
  await using conn = await Connection.open({ protocol: NETLINK_ROUTE, namespace });
  await using events = await Subscription.open({ protocol: NETLINK_ROUTE, groups: [RTNLGRP_LINK], namespace });
  events.on((event) => {
    if (event.kind === 'overrun') console.log(`  event: overrun (${event.error.message})`);
    if (event.kind !== 'message') return;
    const type =
      event.message.type === RTM_NEWLINK
        ? 'new/changed'
        : event.message.type === RTM_DELLINK
          ? 'deleted'
          : `type ${event.message.type}`;
    const link = decodeMessage(linkSchema, event.message);
    console.log(`  event: link ${link.ifname} ${type}${link.flags & IFF_UP ? ' (up)' : ''}`);
  });

  step('create a veth pair demo0 <-> demo1, MTU 1450');
  const create = () =>
    encodeMessage(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, linkSchema, {
      ifname: 'demo0',
      mtu: 1450,
      linkinfo: { info_kind: 'veth', info_data: { peer: encodeVethPeer({ ifname: 'demo1', mtu: 1450 }) } },
    });
  await conn.request(create(), { operation: 'create link', object: 'demo0 (veth peer demo1)' });
  await conn.request(encodeMessage(RTM_NEWLINK, 0, linkSchema, { ifname: 'demo0', flags: IFF_UP, change: IFF_UP }), {
    operation: 'set link up',
    object: 'demo0',
  });
  show(await listLinks(conn));

  step('create it again: the kernel says EEXIST, vxnet says what to do');
  try {
    await conn.request(create(), { operation: 'create link', object: 'demo0 (veth peer demo1)' });
  } catch (error) {
    if (!(error instanceof NetlinkError)) throw error;
    console.log(`  ${error.name} ${error.code}: ${error.message}`);
  }

  step('delete demo0 (its peer goes with it)');
  await conn.request(encodeMessage(RTM_DELLINK, 0, linkSchema, { ifname: 'demo0' }), {
    operation: 'delete link',
    object: 'demo0',
  });
  show(await listLinks(conn));
  // Let the last events arrive before the namespace goes.
  await new Promise((resolve) => setTimeout(resolve, 300));
} finally {
  ip('netns', 'del', namespace);
  step('namespace deleted; done');
}
