/**
 * The agent's record in the network's state directory (agent.json): who
 * runs it, since when, and its last repairs, for `vxnet status`. The lock
 * that keeps a second agent out is a socket (overlay/lock.ts), not this
 * file: a record whose process is gone only says what it last did.
 */
import { isRunning } from '../process/identity.js';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { NetworkState } from '../network/state.js';

export interface AgentRepair {
  /** ISO time the repair finished: its last write answered (before the log line and the record). */
  at: string;
  /** What started it: the first kernel event, "resync (timer)", "resync (overrun)", "reload". */
  trigger: string;
  /** The distinct events that joined it, first to last (at most 8). */
  events?: string[];
  /** From the triggering event to repaired. */
  ms: number;
  changes: string[];
}

export interface AgentRecord {
  pid: number;
  /** The process's start time (clock ticks since boot): with the pid, it tells the agent from a later process. */
  start?: number;
  /** ISO time the agent started. */
  since: string;
  /** The spec file it runs, when it was started from one. */
  file?: string;
  resyncMs: number;
  /** The last few repairs, newest last. */
  repairs: AgentRepair[];
  /** The last failed apply, until one succeeds. */
  failing?: { at: string; error: string };
  /** Where the peers come from, and how far they can be trusted (VXLAN networks). */
  membership?: { source: string; state: 'fresh' | 'stale'; since: string; cause?: string; peers: number };
}

/** As status reports it: the record, and whether its process still runs. */
export interface AgentStatus extends AgentRecord {
  running: boolean;
}

export const KEEP_REPAIRS = 5;

export function agentRecordPath(state: NetworkState): string {
  return `${state.dir}/agent.json`;
}

/** The note the agent lock writes (who holds it), beside the network lock's. */
export function agentLockNote(state: NetworkState): string {
  return `${state.dir}/agent.lock`;
}

export function writeAgentRecord(state: NetworkState, record: AgentRecord): void {
  state.ensureDir();
  const path = agentRecordPath(state);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(temporary, path);
}

export function removeAgentRecord(state: NetworkState): void {
  rmSync(agentRecordPath(state), { force: true });
}

export function readAgentRecord(state: NetworkState): AgentRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(agentRecordPath(state), 'utf8')) as AgentRecord;
    return typeof record.pid === 'number' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The record with whether its process is alive (a pid seen from this pid namespace). */
export function agentStatus(state: NetworkState): AgentStatus | undefined {
  const record = readAgentRecord(state);
  if (!record) return undefined;
  return { ...record, running: isRunning(record) };
}

/**
 * "running (pid 123, since T), last repair at T2 after link vx0 deleted (37 ms): 2 change(s);
 * membership static: fresh since T, 2 peer(s)"
 */
export function describeAgent(agent: AgentStatus): string {
  const head = agent.running
    ? `running (pid ${agent.pid}, since ${agent.since})`
    : `not running (pid ${agent.pid} is gone; it started ${agent.since})`;
  const last = agent.repairs.at(-1);
  const repair = last
    ? `, last repair at ${last.at} after ${last.trigger} (${last.ms} ms): ${last.changes.join('; ')}`
    : ', no repair yet';
  const m = agent.membership;
  const membership = m
    ? `; membership ${m.source}: ${m.state} since ${m.since}${m.cause ? ` (${m.cause})` : ''}, ${m.peers} peer(s)`
    : '';
  const failing = agent.failing ? `; failing since ${agent.failing.at}: ${agent.failing.error}` : '';
  return `${head}${repair}${failing}${membership}`;
}
