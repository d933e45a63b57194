/**
 * Processes named in files (an agent's record, a DHCP owner's pid file). A
 * pid alone names a process only while it runs: once it exits, the kernel
 * hands the number to the next process, and a stale file would then point
 * at a stranger, one that `destroy` might signal. So vxnet records a pid
 * with the process's start time (field 22 of /proc/PID/stat, clock ticks
 * since boot), and takes a recorded process as running only when both
 * still match.
 */
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot; absent in records written before it was kept (pid alone then). */
  start?: number;
}

/** The start time of `pid` as /proc says it, or undefined when there is no such process (in this pid namespace). */
export function processStart(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces or ")": count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[19]); // field 22 overall: the 20th after "pid (comm)"
  return Number.isSafeInteger(start) ? start : undefined;
}

/** This process, as others should find it. */
export function thisProcess(): ProcessIdentity {
  const start = processStart(process.pid);
  return start === undefined ? { pid: process.pid } : { pid: process.pid, start };
}

/** Whether some process has this pid (one that may belong to another user: EPERM still means it exists). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the recorded process still runs: its pid exists and, when its start was recorded, started then. */
export function isRunning(id: ProcessIdentity): boolean {
  if (!pidExists(id.pid)) return false;
  return id.start === undefined || processStart(id.pid) === id.start;
}

/** "PID START" (or "PID"), one line, for a pid file. */
export function formatIdentity(id: ProcessIdentity): string {
  return id.start === undefined ? `${id.pid}\n` : `${id.pid} ${id.start}\n`;
}

/** A pid file's identity: "PID START" or a plain "PID"; undefined when it holds neither. */
export function parseIdentity(text: string): ProcessIdentity | undefined {
  const [pidText, startText, ...rest] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 1 || rest.length > 0) return undefined;
  if (startText === undefined) return { pid };
  const start = Number(startText);
  return Number.isSafeInteger(start) && start >= 0 ? { pid, start } : undefined;
}
