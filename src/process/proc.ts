/**
 * Reading processes from /proc and finding executables: what launching and
 * supervising a daemon (dnsmasq's, FRR's) needs to know about processes that
 * are not node's children.
 */
import { accessSync, constants as fsConstants, readdirSync, readFileSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter } from 'node:path';

/** How a process ended: its exit code, or the signal that killed it. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A shell's status of its command ($?) as a code or a signal: above 128 is 128 + the signal number. */
export function statusToExit(status: number): ExitStatus {
  if (status > 128) {
    const number = status - 128;
    const name = Object.entries(osConstants.signals).find(([, n]) => n === number)?.[0] as NodeJS.Signals | undefined;
    if (name) return { code: null, signal: name };
  }
  return { code: status, signal: null };
}

/** An executable by name: PATH first, then the sbin directories a non-root PATH often lacks. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const dirs = [...path.split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = `${dir}/${name}`;
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    // access(X_OK) alone passes directories, and for root any file with one x bit.
    accessSync(path, fsConstants.X_OK);
    const stat = statSync(path);
    return stat.isFile() && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Direct children of a process: /proc/PID/task/PID/children, or a scan of /proc when that file is absent. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    const out: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = procStat(Number(entry));
      if (stat?.ppid === pid) out.push(Number(entry));
    }
    return out;
  }
}

/** State, parent and start time (clock ticks since boot) of a process, from /proc/PID/stat. */
export function procStat(pid: number): { state: string; ppid: number; startTime: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces: read after the last ")".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state = '', ppid] = fields; // split gives at least one field
  return { state, ppid: Number(ppid), startTime: Number(fields[19]) };
}

/** Whether this exact process (pid and start time) still runs; a zombie has stopped. */
export function processAlive(pid: number, startTime?: number): boolean {
  const stat = procStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}
