/**
 * Which process serves a network's DHCP. The process that starts the
 * dnsmasq supervisor (an OverlayHost: `vxnet apply` in the foreground, or an
 * agent) writes its pid next to dnsmasq's own files, so another process — a
 * second apply, `vxnet status`, `vxnet destroy` — can tell the service is
 * running, and destroy can ask its owner to stop it (SIGTERM: the owner stops
 * dnsmasq gracefully). The files live in the instance's state directory, the
 * dnsmasq instance itself; there is no other registry.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { formatIdentity, isRunning, parseIdentity, thisProcess } from '../process/identity.js';
import { processAlive } from '../process/proc.js';

export const OWNER_FILE = 'owner.pid';

export interface DhcpOwner {
  /** The supervising process, if alive. */
  ownerPid?: number;
  /** dnsmasq, if alive and really serving this instance. */
  dnsmasqPid?: number;
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True if `pid` runs a command that mentions `needle` (a pid file can outlive its process, and pids are reused). */
function runs(pid: number, needle: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .some((arg) => arg.includes(needle));
  } catch {
    return false;
  }
}

/** Writes this process as the owner: its pid and start time, so a reused pid is never taken for it. */
export function recordOwner(stateDir: string): void {
  writeFileSync(`${stateDir}/${OWNER_FILE}`, formatIdentity(thisProcess()));
}

function readOwner(path: string): ReturnType<typeof parseIdentity> {
  try {
    return parseIdentity(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Who serves the instance in `stateDir` now. */
export function dhcpOwner(stateDir: string): DhcpOwner {
  const owner: DhcpOwner = {};
  const recorded = readOwner(`${stateDir}/${OWNER_FILE}`);
  if (recorded !== undefined && isRunning(recorded)) owner.ownerPid = recorded.pid;
  // dnsmasq writes its own pid file (a pid alone): the command line naming this instance tells it is still dnsmasq.
  const dnsmasqPid = readPid(`${stateDir}/dnsmasq.pid`);
  if (dnsmasqPid !== undefined && processAlive(dnsmasqPid) && runs(dnsmasqPid, stateDir)) owner.dnsmasqPid = dnsmasqPid;
  return owner;
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !processAlive(pid);
}

/**
 * Stops the DHCP service of an instance served by another process: asks the
 * owner to stop (SIGTERM), and makes sure dnsmasq is gone even if the owner
 * died without stopping it. Removes the state directory. Returns what it found.
 */
export async function stopForeignDhcp(stateDir: string, timeoutMs = 10_000): Promise<DhcpOwner> {
  const found = dhcpOwner(stateDir);
  if (found.ownerPid !== undefined && found.ownerPid !== process.pid) {
    process.kill(found.ownerPid, 'SIGTERM');
    await waitGone(found.ownerPid, timeoutMs);
  }
  const left = dhcpOwner(stateDir).dnsmasqPid;
  if (left !== undefined) {
    process.kill(left, 'SIGTERM');
    if (!(await waitGone(left, 5000))) process.kill(left, 'SIGKILL');
  }
  rmSync(stateDir, { recursive: true, force: true });
  return found;
}
