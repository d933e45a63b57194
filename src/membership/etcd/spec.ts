/**
 * The `membership: { etcd: { endpoints, prefix?, ttl?, tls? } }` section of
 * an overlay spec: validated with the rest of the spec, before anything is
 * sent or written. The TLS files are named here and read when the agent
 * starts (loadTls in tls.ts), so a spec stays a plain value.
 */
import { ValidationError } from '../../netlink/errors.js';

export interface EtcdTlsSpec {
  /** PEM file of the CA that signed the etcd servers' certificates. */
  ca?: string;
  /** PEM client certificate and its key (both or neither), for etcd's --client-cert-auth. */
  cert?: string;
  key?: string;
}

export interface EtcdMembershipSpec {
  /** Client URLs of the etcd members: "http://10.0.0.1:2379", "https://[fd00::1]:2379". Tried in order. */
  endpoints: string[];
  /** Key prefix of vxnet's records. Default "/vxnet". */
  prefix?: string;
  /** Seconds a registration outlives its host's last keep-alive. Default 10. */
  ttl?: number;
  tls?: EtcdTlsSpec;
}

export interface MembershipSpec {
  etcd: EtcdMembershipSpec;
}

export interface ResolvedEtcdMembership {
  endpoints: { url: string; target: string; secure: boolean }[];
  prefix: string;
  ttl: number;
  tls?: EtcdTlsSpec;
}

export interface ResolvedMembership {
  etcd: ResolvedEtcdMembership;
}

export const DEFAULT_PREFIX = '/vxnet';
/**
 * Short on purpose: a crashed host's flood entries go from every other host
 * within ttl + 2 s (flannel's 24 h leases keep a dead host programmed for a
 * day). A keep-alive every ttl/3 costs one small message per host.
 */
export const DEFAULT_TTL = 10;
/** etcd refuses shorter leases than about 1.5 election timeouts; 2 s stays clear of it with default timing. */
const MIN_TTL = 2;
const MAX_TTL = 3600;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: string[], at: string): void {
  for (const key of Object.keys(value))
    if (!allowed.includes(key))
      throw new ValidationError(`${at}.${key}`, `unknown field (known: ${allowed.join(', ')})`);
}

/** Validates the membership section (`at` is its field path, "membership"). */
export function resolveMembership(input: unknown, at = 'membership'): ResolvedMembership {
  if (!isObject(input)) throw new ValidationError(at, 'expected { etcd: { endpoints, ... } }', input);
  checkKeys(input, ['etcd'], at);
  if (input.etcd === undefined) throw new ValidationError(`${at}.etcd`, 'the only membership source is etcd');
  return { etcd: resolveEtcd(input.etcd, `${at}.etcd`) };
}

function resolveEtcd(input: unknown, at: string): ResolvedEtcdMembership {
  if (!isObject(input)) throw new ValidationError(at, 'expected { endpoints, prefix?, ttl?, tls? }', input);
  checkKeys(input, ['endpoints', 'prefix', 'ttl', 'tls'], at);
  if (!Array.isArray(input.endpoints) || input.endpoints.length === 0)
    throw new ValidationError(`${at}.endpoints`, 'a non-empty list of etcd client URLs', input.endpoints);
  const endpoints = input.endpoints.map((url, i) => parseEndpoint(url, `${at}.endpoints[${i}]`));
  const seen = new Set<string>();
  endpoints.forEach((endpoint, i) => {
    if (seen.has(endpoint.target)) throw new ValidationError(`${at}.endpoints[${i}]`, 'is listed twice', endpoint.url);
    seen.add(endpoint.target);
  });
  let prefix = DEFAULT_PREFIX;
  if (input.prefix !== undefined) {
    if (typeof input.prefix !== 'string' || !/^\/[\x21-\x7e]*$/.test(input.prefix))
      throw new ValidationError(`${at}.prefix`, 'a key prefix starting with "/", printable ASCII', input.prefix);
    prefix = input.prefix.replace(/\/+$/, '');
    if (prefix === '') throw new ValidationError(`${at}.prefix`, 'a prefix other than "/" itself', input.prefix);
  }
  let ttl = DEFAULT_TTL;
  if (input.ttl !== undefined) {
    if (typeof input.ttl !== 'number' || !Number.isInteger(input.ttl) || input.ttl < MIN_TTL || input.ttl > MAX_TTL)
      throw new ValidationError(`${at}.ttl`, `whole seconds from ${MIN_TTL} to ${MAX_TTL}`, input.ttl);
    ttl = input.ttl;
  }
  let tls: EtcdTlsSpec | undefined;
  if (input.tls !== undefined) {
    const t = input.tls;
    if (!isObject(t)) throw new ValidationError(`${at}.tls`, 'expected { ca?, cert?, key? } (file paths)', t);
    checkKeys(t, ['ca', 'cert', 'key'], `${at}.tls`);
    for (const key of ['ca', 'cert', 'key'] as const)
      if (t[key] !== undefined && (typeof t[key] !== 'string' || t[key] === ''))
        throw new ValidationError(`${at}.tls.${key}`, 'a file path', t[key]);
    if ((t.cert === undefined) !== (t.key === undefined))
      throw new ValidationError(`${at}.tls.${t.cert === undefined ? 'cert' : 'key'}`, 'give cert and key together');
    tls = { ...(t as EtcdTlsSpec) };
  }
  const secure = endpoints.map((e) => e.secure);
  if (secure.includes(true) && secure.includes(false))
    throw new ValidationError(`${at}.endpoints`, 'mixes http:// and https:// endpoints', input.endpoints);
  if (tls && !secure[0])
    throw new ValidationError(`${at}.tls`, 'is given, but the endpoints are http:// (use https:// URLs)');
  return { endpoints, prefix, ttl, ...(tls ? { tls } : {}) };
}

/** "http://10.0.0.1:2379" → grpc target "10.0.0.1:2379" (the port defaults to 2379). */
export function parseEndpoint(url: unknown, at: string): { url: string; target: string; secure: boolean } {
  if (typeof url !== 'string') throw new ValidationError(at, 'an etcd client URL like http://10.0.0.1:2379', url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(at, 'an etcd client URL like http://10.0.0.1:2379', url);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new ValidationError(at, 'the scheme is http:// or https://', url);
  if (parsed.username || parsed.password || (parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search)
    throw new ValidationError(at, 'only scheme, host and port (no path, query or credentials)', url);
  const port = parsed.port || '2379';
  return { url, target: `${parsed.hostname}:${port}`, secure: parsed.protocol === 'https:' };
}
