/**
 * dnsmasq's lease file: parsing, watching, and finding leases a changed
 * static mapping has made stale.
 *
 * The file has one line per IPv4 lease,
 *   <expiry> <mac> <ip> <hostname|*> <client-id|*>
 * where expiry is seconds since the epoch (0: never), and the MAC is
 * prefixed with "<hardware type>-" when the client is not Ethernet. DHCPv6
 * leases follow a "duid <server duid>" line, as
 *   <expiry> <iaid> <ip> <hostname|*> <client duid|*>
 * dnsmasq rewrites the file in place after every change (truncate, write).
 */
import { EventEmitter } from 'node:events';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { isIP } from 'node:net';
import { toInt, type ValidHost, type ValidRange } from './spec.js';

export interface Lease {
  /** When it ends; null for an infinite lease. */
  expires: Date | null;
  /** Client hardware address, lowercase, colon-separated. */
  mac: string;
  /** ARP hardware type when it is not Ethernet (1); absent for Ethernet. */
  hwType?: number;
  ip: string;
  /** The name the client sent or the static mapping gave; absent when none. */
  hostname?: string;
  /** DHCP client identifier (option 61) as colon-separated hex; absent when none. */
  clientId?: string;
}

export interface Lease6 {
  expires: Date | null;
  iaid: number;
  ip: string;
  hostname?: string;
  /** The client's DUID, colon-separated hex. */
  duid?: string;
}

export interface LeaseFile {
  leases: Lease[];
  /** DHCPv6 leases (this module configures none; kept so nothing in the file is invisible). */
  leases6: Lease6[];
  /** The server DUID line's value, when the file has a DHCPv6 section. */
  serverDuid?: string;
  /** Lines that are not leases, with why (1-based line numbers). */
  invalid: { line: number; text: string; reason: string }[];
}

const HEX_BYTES = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/;

function expiry(field: string): Date | null | undefined {
  if (!/^\d+$/.test(field)) return undefined;
  const seconds = Number(field);
  return seconds === 0 ? null : new Date(seconds * 1000);
}

/**
 * Parses the whole file. A last line without its newline is being written
 * right now (dnsmasq truncates, then writes): it is left out, not reported.
 */
export function parseLeaseFile(text: string): LeaseFile {
  const out: LeaseFile = { leases: [], leases6: [], invalid: [] };
  const lines = text.split('\n');
  lines.pop(); // the part after the last newline: empty, or a line still being written
  let inV6 = false;
  // Reads one line into `out`; returns why it is invalid, if it is.
  const parseLine = (raw: string): string | undefined => {
    const line = raw.trim();
    if (line === '') return;
    const fields = line.split(/\s+/);
    const bad = (reason: string): string => reason;
    if (fields[0] === 'duid') {
      const [, duid] = fields;
      if (fields.length !== 2 || duid === undefined || !HEX_BYTES.test(duid))
        return bad('a duid line has one colon-separated hex value');
      out.serverDuid = duid.toLowerCase();
      inV6 = true;
      return;
    }
    if (fields.length !== 5) return bad(`expected 5 fields, found ${fields.length}`);
    const [expiresText, who, ip, hostname, id] = fields as [string, string, string, string, string];
    const expires = expiry(expiresText);
    if (expires === undefined) return bad('the expiry is not a number of seconds');
    const name = hostname === '*' ? undefined : hostname;
    const clientId = id === '*' ? undefined : id.toLowerCase();
    if (clientId !== undefined && !HEX_BYTES.test(clientId)) return bad('the client id is not colon-separated hex');
    if (inV6) {
      if (!/^\d+$/.test(who)) return bad('the IAID is not a number');
      if (isIP(ip) !== 6) return bad('the address is not IPv6');
      out.leases6.push({
        expires,
        iaid: Number(who),
        ip,
        ...(name ? { hostname: name } : {}),
        ...(clientId ? { duid: clientId } : {}),
      });
      return;
    }
    if (isIP(ip) !== 4) return bad('the address is not IPv4');
    const m = /^(?:([0-9a-fA-F]{1,2})-)?([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})*)$/.exec(who);
    const mac = m?.[2];
    if (!m || mac === undefined) return bad('the hardware address is not colon-separated hex');
    const lease: Lease = { expires, mac: mac.toLowerCase(), ip };
    if (m[1] !== undefined && parseInt(m[1], 16) !== 1) lease.hwType = parseInt(m[1], 16);
    if (name) lease.hostname = name;
    if (clientId) lease.clientId = clientId;
    out.leases.push(lease);
  };
  for (const [i, raw] of lines.entries()) {
    const reason = parseLine(raw);
    if (reason !== undefined) out.invalid.push({ line: i + 1, text: raw, reason });
  }
  return out;
}

/** The IPv4 leases of a lease file's text. */
export function parseLeases(text: string): Lease[] {
  return parseLeaseFile(text).leases;
}

/** The leases in a file; none when it does not exist yet (dnsmasq creates it at its first start). */
export async function readLeases(path: string): Promise<Lease[]> {
  return parseLeases(await readText(path));
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Changes

export interface LeaseChanges {
  /** Every lease now. */
  leases: Lease[];
  /** Addresses leased that were not. */
  added: Lease[];
  /** Addresses no longer leased (released, expired and cleaned, or pruned). */
  removed: Lease[];
  /** Addresses still leased, with another client, expiry or name. */
  changed: { before: Lease; after: Lease }[];
}

function sameLease(a: Lease, b: Lease): boolean {
  return (
    a.mac === b.mac &&
    a.ip === b.ip &&
    a.hostname === b.hostname &&
    a.clientId === b.clientId &&
    a.hwType === b.hwType &&
    (a.expires?.getTime() ?? 0) === (b.expires?.getTime() ?? 0)
  );
}

/** What changed between two lists of leases, keyed by address (an address has one lease at most). */
export function diffLeases(before: readonly Lease[], after: readonly Lease[]): LeaseChanges {
  const old = new Map(before.map((l) => [l.ip, l]));
  const now = new Map(after.map((l) => [l.ip, l]));
  const changes: LeaseChanges = { leases: [...after], added: [], removed: [], changed: [] };
  for (const lease of after) {
    const was = old.get(lease.ip);
    if (!was) changes.added.push(lease);
    else if (!sameLease(was, lease)) changes.changed.push({ before: was, after: lease });
  }
  for (const lease of before) if (!now.has(lease.ip)) changes.removed.push(lease);
  return changes;
}

export function hasChanges(changes: LeaseChanges): boolean {
  return changes.added.length + changes.removed.length + changes.changed.length > 0;
}

/**
 * Watches a lease file and reports each change once. Events on the directory
 * (not the file) are watched, so a file that does not exist yet, or that is
 * replaced, is still seen. A burst of writes is read once, `debounceMs` after
 * it settles.
 */
export class LeaseWatcher extends EventEmitter<{ change: [LeaseChanges]; error: [Error] }> {
  private watcher?: FSWatcher;
  private timer?: ReturnType<typeof setTimeout>;
  private reading = Promise.resolve();
  private last: Lease[] = [];
  private closed = false;

  constructor(
    readonly path: string,
    private readonly debounceMs = 20,
  ) {
    super();
  }

  /** The leases as last read. */
  get current(): Lease[] {
    return [...this.last];
  }

  /** Reads the file once, then watches it. */
  async start(): Promise<void> {
    this.last = await readLeases(this.path);
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
      if (file === null || file === name) this.schedule();
    });
    this.watcher.on('error', (error) => this.emit('error', error));
  }

  /** Reads now (after a change vxnet made itself, such as pruning), reporting any difference. */
  refresh(): Promise<void> {
    this.reading = this.reading.then(async () => {
      if (this.closed) return;
      let leases: Lease[];
      try {
        leases = await readLeases(this.path);
      } catch (error) {
        this.emit('error', error as Error);
        return;
      }
      const changes = diffLeases(this.last, leases);
      this.last = leases;
      if (hasChanges(changes) && !this.closed) this.emit('change', changes);
    });
    return this.reading;
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), this.debounceMs);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}

// ---------------------------------------------------------------------------
// Stale leases

export interface StaleLease {
  lease: Lease;
  /** Why it must go, in a sentence. */
  reason: string;
}

/**
 * Leases that static mappings have made wrong. dnsmasq handles one case
 * itself (a client renewing an address other than its fixed one gets a NAK)
 * but not the harmful one: while another client's lease holds an address
 * that is now fixed to a MAC, dnsmasq refuses that MAC its fixed address
 * ("not using configured address ... because it is leased to ...") until
 * the old lease expires. Those leases, and the ones left outside every
 * dynamic range by a removed mapping, are returned.
 */
export function staleLeases(
  leases: readonly Lease[],
  hosts: readonly ValidHost[],
  ranges: readonly Pick<ValidRange, 'first' | 'last'>[],
): StaleLease[] {
  const byMac = new Map(hosts.map((h) => [h.mac, h]));
  const byIp = new Map(hosts.map((h) => [h.ip, h]));
  const stale: StaleLease[] = [];
  for (const lease of leases) {
    const mine = lease.hwType === undefined ? byMac.get(lease.mac) : undefined;
    const owner = byIp.get(lease.ip);
    if (mine && mine.ip !== lease.ip) {
      stale.push({ lease, reason: `${lease.mac} is now fixed to ${mine.ip}` });
    } else if (owner && (owner.mac !== lease.mac || lease.hwType !== undefined)) {
      stale.push({ lease, reason: `${lease.ip} is now fixed to ${owner.mac}` });
    } else if (!mine) {
      const n = toInt(lease.ip);
      if (!ranges.some((r) => n >= r.first && n <= r.last)) {
        stale.push({
          lease,
          reason: `${lease.ip} is outside every dynamic range and is no static mapping of ${lease.mac}`,
        });
      }
    }
  }
  return stale;
}

/** The lease file's text without the given leases; every other line is kept as it was. */
export function pruneLeaseText(text: string, remove: readonly Lease[]): string {
  if (remove.length === 0) return text;
  const doomed = new Set(remove.map((l) => `${l.ip} ${l.mac}`));
  let inV6 = false;
  const kept = text.split('\n').filter((line) => {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === 'duid') inV6 = true;
    const [, who, ip] = fields;
    if (inV6 || fields.length !== 5 || who === undefined) return true;
    const mac = who.replace(/^[0-9a-fA-F]{1,2}-/, '').toLowerCase();
    return !doomed.has(`${ip} ${mac}`);
  });
  return kept.join('\n');
}
