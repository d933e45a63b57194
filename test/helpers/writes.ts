/**
 * Counting what a piece of code writes to the kernel: an Rtnetlink client
 * whose transport records every datagram (RecordingTransport), and a count of
 * the messages that were not GET requests.
 */
import { Connection } from '../../src/netlink/connection.js';
import { RecordingTransport } from '../../src/netlink/fixture-recording.js';
import { forEachMessage } from '../../src/netlink/message.js';
import { RelayTransport } from '../../src/netlink/relay.js';
import { NETLINK_ROUTE, NLMSG_MIN_TYPE } from '../../src/netlink/constants.js';
import { Rtnetlink } from '../../src/rtnetlink/client.js';

export interface CountingClient {
  rt: Rtnetlink;
  /** Messages sent so far that change something (RTM_NEW*, RTM_DEL*, RTM_SET*). */
  writes(): number;
  /** Every message type sent so far. */
  sentTypes(): number[];
}

export async function countingRtnetlink(namespace: string): Promise<CountingClient> {
  const recording = new RecordingTransport(await RelayTransport.open(NETLINK_ROUTE, { namespace }));
  const rt = Rtnetlink.over(Connection.over(recording), namespace);
  const sentTypes = (): number[] => {
    const types: number[] = [];
    for (const entry of recording.recording.entries) {
      if (entry.kind === 'send') forEachMessage(entry.datagram, (m) => types.push(m.type));
    }
    return types;
  };
  // rtnetlink GET requests are the types ≡ 2 (mod 4): RTM_GETLINK 18, GETADDR 22, GETROUTE 26, GETNEIGH 30.
  const writes = (): number => sentTypes().filter((t) => t >= NLMSG_MIN_TYPE && (t & 3) !== 2).length;
  return { rt, writes, sentTypes };
}
