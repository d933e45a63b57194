import { VxnetError } from '../netlink/errors.js';
import { describeHolder, type LockHolder } from '../overlay/lock.js';

/** A second agent for a network in one namespace: the first one is named. */
export class AgentRunningError extends VxnetError {
  override name = 'AgentRunningError';
  constructor(
    readonly network: string,
    readonly where: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(
      `an agent for network ${network} already runs in ${where}: ${describeHolder(holder)}; stop it first (one agent ` +
        'per network per namespace)',
    );
  }
}
