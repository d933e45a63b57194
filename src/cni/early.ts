/**
 * The relay into the container's namespace, started first thing on ADD.
 *
 * Node cannot setns(2): an rtnetlink socket inside the container is a relay
 * process there (nsenter + node, src/netlink/relay.ts), and its start-up
 * (another Node.js start) is most of what ADD costs above the floor. Started
 * before the plugin's own modules load, it boots on the other core while
 * this process loads, takes the lock, reads the host's side and runs IPAM.
 * It is only a socket: starting it writes nothing, and an ADD that stops
 * early (bad input) closes it, or leaves it to exit with this process.
 */
import { NETLINK_ROUTE } from '../netlink/constants.js';
import { RelayTransport } from '../netlink/relay.js';

export interface EarlyRelay {
  /** The namespace file it was started in (CNI_NETNS as given). */
  namespace: string;
  transport: Promise<RelayTransport>;
}

/** Starts the relay when the command is ADD and CNI_NETNS is a path; undefined otherwise. */
export function startEarlyRelay(env: NodeJS.ProcessEnv): EarlyRelay | undefined {
  const namespace = env.CNI_NETNS;
  if (env.CNI_COMMAND !== 'ADD' || !namespace?.startsWith('/')) return undefined;
  const transport = RelayTransport.open(NETLINK_ROUTE, { namespace });
  // A relay that cannot start (no such namespace) is reported by the plugin's own checks, not here.
  transport.catch(() => undefined);
  return { namespace, transport };
}
