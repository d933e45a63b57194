/**
 * What is checked before a daemon (dnsmasq, FRR) is launched, and the error
 * that says what stands in the way: a missing tool, a busy port, a missing
 * interface. Nothing is started when a check fails.
 */
import { VxnetError } from '../netlink/errors.js';
import type { ChainTools } from './chain.js';
import { findExecutable } from './proc.js';

/** What the checks before a start found: a missing tool, a busy port, a missing interface. */
export type PreflightCheck =
  | 'dnsmasq-missing'
  | 'tool-missing'
  | 'namespace-missing'
  | 'interface-missing'
  | 'no-address'
  | 'dhcp-port-busy'
  | 'dns-port-busy'
  | 'no-permission'
  | 'already-running';

/** Something on this host stands in the way of starting a daemon; nothing was started. */
export class PreflightError extends VxnetError {
  override name = 'PreflightError';
  constructor(
    readonly check: PreflightCheck,
    message: string,
    /** Facts behind the message (the process holding a port, the addresses found, ...). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** The launch chain's tools (chain.ts), nsenter only with a namespace; a PreflightError naming the package else. */
export function findChainTools(options: { namespace?: string; path?: string }): ChainTools {
  const tool = (name: string, from: string): string => {
    const found = findExecutable(name, options.path);
    if (!found)
      throw new PreflightError(
        'tool-missing',
        `${name} is missing; it comes with ${from} (Debian: apt-get install ${from})`,
        { tool: name },
      );
    return found;
  };
  return {
    setpriv: tool('setpriv', 'util-linux'),
    unshare: tool('unshare', 'util-linux'),
    sh: tool('sh', 'dash'),
    ...(options.namespace !== undefined ? { nsenter: tool('nsenter', 'util-linux') } : {}),
  };
}
