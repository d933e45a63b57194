/**
 * Failures of the dnsmasq building block. Each says what went wrong and what
 * to do about it; the ones that come from dnsmasq itself carry its own words
 * (its stderr), because those name the cause better than any guess of ours.
 */
import type { ProcessExit } from '../process/chain.js';
import { VxnetError } from '../netlink/errors.js';

/** How a dnsmasq process ended, as reported by the shell that waited for it. */
/** How dnsmasq ended (its exit code: 1 configuration, 2 network, 3 filesystem, 4 memory, 5 other). */
export type DnsmasqExit = ProcessExit;

export function describeExit(exit: Pick<DnsmasqExit, 'code' | 'signal'>): string {
  if (exit.signal) return `was killed by ${exit.signal}`;
  if (exit.code === null) return 'ended for an unknown reason';
  return `exited with code ${exit.code}${EXIT_MEANINGS[exit.code] ? ` (${EXIT_MEANINGS[exit.code]})` : ''}`;
}

// dnsmasq(8), EXIT CODES.
const EXIT_MEANINGS: Record<number, string> = {
  1: 'a problem with the configuration',
  2: 'a problem with network access: address in use, privileged port without permission, missing interface',
  3: 'a problem with a file: missing, or no permission',
  4: 'memory allocation failure',
  5: 'another problem',
};

// The checks before a start are the launch chain's (src/process/preflight.ts), shared with FRR.
export { type PreflightCheck, PreflightError } from '../process/preflight.js';

/** dnsmasq did not come up: it exited during its start, or did not report ready in time. */
export class DnsmasqStartError extends VxnetError {
  override name = 'DnsmasqStartError';
  constructor(
    readonly instance: string,
    /** Why, in words: "exited with code 2 (...)", "not ready within 5000 ms". */
    readonly reason: string,
    /** dnsmasq's own words, oldest first. */
    readonly stderr: string[],
    readonly exit?: Pick<DnsmasqExit, 'code' | 'signal'>,
  ) {
    const said = stderr.filter((line) => line.trim() !== '');
    super(
      `dnsmasq (instance ${instance}) failed to start: ` +
        `${reason}${said.length ? `; dnsmasq said:\n  ${said.join('\n  ')}` : ''}`,
    );
  }
}

/** dnsmasq crashed too often within the window: the supervisor stopped restarting it. */
export class DnsmasqGaveUpError extends VxnetError {
  override name = 'DnsmasqGaveUpError';
  constructor(
    readonly instance: string,
    readonly crashes: number,
    readonly windowMs: number,
    readonly lastExit: DnsmasqExit | undefined,
    /** The last start attempt's error, when the last failure was a failed start. */
    readonly lastError?: Error,
  ) {
    const last = lastError
      ? lastError.message
      : lastExit
        ? `dnsmasq ${describeExit(lastExit)}${tail(lastExit.stderr)}`
        : 'no exit recorded';
    super(
      `dnsmasq (instance ${instance}) failed ${crashes} times within ${Math.round(windowMs / 1000)} s; no more ` +
        `restarts. Last failure: ${last}`,
    );
  }
}

/** dnsmasq did not confirm a reload (SIGHUP) of its static hosts. */
export class DnsmasqReloadError extends VxnetError {
  override name = 'DnsmasqReloadError';
  constructor(
    readonly instance: string,
    readonly reason: string,
    readonly stderr: string[] = [],
  ) {
    super(`dnsmasq (instance ${instance}) did not reload its static hosts: ${reason}${tail(stderr)}`);
  }
}

function tail(lines: string[]): string {
  const said = lines.filter((line) => line.trim() !== '').slice(-5);
  return said.length ? `; dnsmasq said:\n  ${said.join('\n  ')}` : '';
}
