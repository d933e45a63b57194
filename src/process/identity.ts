/**
 * Processes named in files (an agent's record, a DHCP owner's pid file). A
 * pid alone names a process only while it runs: once it exits, the kernel
 * hands the number to the next process, and a stale file would then point
 * at a stranger, one that `destroy` might signal. So vxnet records a pid
 * with the process's start time (procStat's, clock ticks since boot), and
 * takes a recorded process as running only when both still match.
 */
import { processAlive, procStat } from './proc.js';

export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot; absent in records written before it was kept (pid alone then). */
  start?: number;
}

/** This process, as others should find it. */
export function thisProcess(): ProcessIdentity {
  const start = procStat(process.pid)?.startTime;
  return start === undefined ? { pid: process.pid } : { pid: process.pid, start };
}

/** Whether the recorded process still runs: its pid is alive and, when its start was recorded, started then. */
export function isRunning(id: ProcessIdentity): boolean {
  return processAlive(id.pid, id.start);
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
