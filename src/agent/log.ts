/**
 * The agent's log: one line per change and per repair, as text for a
 * terminal or one JSON object per line (--log-format json) for journald and
 * log shippers. Every line has a time, a level, the network and an event.
 */
import { describePeerDiff } from '../membership/membership.js';
import type { OverlayAgent } from './agent.js';

export type LogFormat = 'text' | 'json';

export interface LogEntry {
  level: 'info' | 'warn' | 'error';
  network: string;
  event: string;
  message: string;
  [field: string]: unknown;
}

/**
 * Addresses a membership line lists at most, in each of `peers`, `added` and `removed` (the counts say how many
 * there are): a network of thousands would otherwise write lines of tens of KiB, and journald splits a line
 * longer than its LineMax (48 KiB by default), which breaks the JSON.
 */
export const LOGGED_ADDRESSES = 32;

export function formatLog(entry: LogEntry, format: LogFormat, now = new Date()): string {
  if (format === 'json') return JSON.stringify({ time: now.toISOString(), ...entry });
  return `${now.toISOString()} ${entry.level} ${entry.network}: ${entry.message}`;
}

/** Sends every event of `agent` to `write`, one line each. Returns the function that detaches it. */
export function logAgent(agent: OverlayAgent, format: LogFormat, write: (line: string) => void): () => void {
  const log = (entry: LogEntry): void => write(formatLog(entry, format));
  const onStarted: (...a: any[]) => void = (s) =>
    log({
      level: 'info',
      network: s.network,
      event: 'started',
      message:
        `agent running (pid ${s.pid}); watching ${s.watching.join(', ')}; ` +
        `resync every ${s.resyncMs / 1000} s; ${s.changes.length} change(s) at start`,
      pid: s.pid,
      watching: s.watching,
      resyncMs: s.resyncMs,
      changes: s.changes,
    });
  const onChange: (...a: any[]) => void = (c) =>
    log({
      level: 'info',
      network: c.network,
      event: 'change',
      message: `${c.cause === 'reload' ? 'reload: ' : ''}${c.change}`,
      cause: c.cause,
      change: c.change,
    });
  const onRepair: (...a: any[]) => void = (r) =>
    log({
      level: 'info',
      network: r.network,
      event: 'repair',
      message:
        `repaired in ${r.ms} ms after ${r.trigger}` +
        `${r.events?.length > 1 ? ` (+${r.events.length - 1} more event(s))` : ''}: ${r.changes.join('; ')}`,
      trigger: r.trigger,
      ms: r.ms,
      // When the last write was answered; `time` is when this line was written (after the record).
      ...(r.at ? { at: r.at } : {}),
      changes: r.changes,
      events: r.events ?? [r.trigger],
    });
  const onFailed: (...a: any[]) => void = (f) =>
    log({
      level: 'error',
      network: f.network,
      event: 'failed',
      message: `repair after ${f.trigger} failed (retrying): ${f.error.message}`,
      trigger: f.trigger,
      error: f.error.message,
    });
  const onNotice: (...a: any[]) => void = (n) =>
    log({ level: 'warn', network: n.network, event: 'notice', message: n.message });
  const onMembership: (...a: any[]) => void = (m) => {
    const changed = describePeerDiff({ added: m.added, removed: m.removed });
    log({
      level: m.health.state === 'fresh' ? 'info' : 'warn',
      network: m.network,
      event: 'membership',
      message:
        `membership ${m.source}: ${changed || 'same peers'}; ` +
        `${m.health.state} since ${m.health.since}${m.health.cause ? ` (${m.health.cause})` : ''}`,
      source: m.source,
      health: m.health,
      peers: m.peers.slice(0, LOGGED_ADDRESSES),
      peerCount: m.peers.length,
      added: m.added.slice(0, LOGGED_ADDRESSES),
      addedCount: m.added.length,
      removed: m.removed.slice(0, LOGGED_ADDRESSES),
      removedCount: m.removed.length,
    });
  };
  const onStopped: (...a: any[]) => void = (s) =>
    log({
      level: 'info',
      network: s.network,
      event: 'stopped',
      message: s.destroyed
        ? `agent stopped; network removed (${s.destroyed.length} change(s))`
        : 'agent stopped; the network stays in place',
      ...(s.destroyed ? { destroyed: s.destroyed } : {}),
    });
  const pairs: [string, (...a: any[]) => void][] = [
    ['started', onStarted],
    ['change', onChange],
    ['repair', onRepair],
    ['failed', onFailed],
    ['notice', onNotice],
    ['membership', onMembership],
    ['stopped', onStopped],
  ];
  const emitter = agent as unknown as NodeJS.EventEmitter;
  for (const [name, handler] of pairs) emitter.on(name, handler);
  return () => {
    for (const [name, handler] of pairs) emitter.off(name, handler);
  };
}
