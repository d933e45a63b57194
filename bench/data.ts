/**
 * The objects the benchmarks create: the same entries for every tool, as
 * `ip -batch` / `bridge -batch` scripts and as JSON specs for the library
 * children (vxnet's RouteSpec / FdbSpec shape; the node-netlink and pyroute2
 * children translate them to their own calls).
 */
import { writeFileSync } from 'node:fs';
import { cachePath } from './lib.js';

/** The i-th address of 10.0.0.0/8 (i < 2^24). */
export function address10(i: number, second = 0): string {
  return `10.${((i >> 16) & 0xff) + second}.${(i >> 8) & 0xff}.${i & 0xff}`;
}

/** `ip -batch` lines adding `count` /32 routes via `dev` (10.0.0.0, 10.0.0.1, ...). */
export function routeScript(count: number, dev: string): string {
  const lines: string[] = new Array(count);
  for (let i = 0; i < count; i++) lines[i] = `route add ${address10(i)}/32 dev ${dev}`;
  return `${lines.join('\n')}\n`;
}

export function fdbMac(i: number): string {
  const hex = (v: number) => v.toString(16).padStart(2, '0');
  return `02:00:00:${hex((i >> 16) & 0xff)}:${hex((i >> 8) & 0xff)}:${hex(i & 0xff)}`;
}

/** A VXLAN remote in 192.0.2.0/24 (TEST-NET-1): 250 distinct VTEPs. */
export function fdbRemote(i: number): string {
  return `192.0.2.${(i % 250) + 2}`;
}

/** `bridge -batch` lines appending `count` unicast entries on a VXLAN device. */
export function fdbScript(count: number, dev: string): string {
  const lines: string[] = new Array(count);
  for (let i = 0; i < count; i++) lines[i] = `fdb append ${fdbMac(i)} dev ${dev} dst ${fdbRemote(i)} self permanent`;
  return `${lines.join('\n')}\n`;
}

export interface RouteSpecJson {
  dst: string;
  dev?: string;
  gateway?: string;
}

export interface FdbSpecJson {
  dev: string;
  mac: string;
  dst?: string;
}

/**
 * A create workload: `count` entries, some deliberately bad so that the
 * kernel refuses them; every tool must report those, by index.
 */
export interface CreateSet<T> {
  specs: T[];
  /** Indices the kernel must refuse, in order. */
  bad: number[];
  /** The same entries as an iproute2 batch script (line i+1 is spec i). */
  script: string;
  /** Where the JSON ({ specs }) and the script were written. */
  jsonFile: string;
  scriptFile: string;
}

/**
 * 10k routes `10.200.x.y/32 dev DEV`, with three refused: two duplicates of
 * earlier routes (EEXIST) and one via a gateway that no connected route
 * reaches (ENETUNREACH).
 */
export function createRoutes(count: number, dev: string): CreateSet<RouteSpecJson> {
  const specs: RouteSpecJson[] = [];
  for (let i = 0; i < count; i++) specs.push({ dst: `${address10(i, 200)}/32`, dev });
  const bad = [Math.floor(count / 10), Math.floor(count / 2), count - 1];
  specs[bad[0]!] = { dst: specs[0]!.dst, dev };
  specs[bad[1]!] = { dst: '10.199.0.1/32', gateway: '198.51.100.1' };
  specs[bad[2]!] = { dst: specs[1]!.dst, dev };
  const script = specs
    .map((s) => `route add ${s.dst}${s.gateway ? ` via ${s.gateway}` : ''}${s.dev ? ` dev ${s.dev}` : ''}`)
    .join('\n');
  return write('create-routes', specs, bad, `${script}\n`);
}

/**
 * 10k FDB entries appended on a VXLAN device (IPv4 underlay), with three
 * refused: two IPv6 remotes (EAFNOSUPPORT) and one without a remote (EINVAL).
 */
export function createFdb(count: number, dev: string): CreateSet<FdbSpecJson> {
  const specs: FdbSpecJson[] = [];
  for (let i = 0; i < count; i++) specs.push({ dev, mac: fdbMac(0x100000 + i), dst: fdbRemote(i) });
  const bad = [Math.floor(count / 10), Math.floor(count / 2), count - 1];
  specs[bad[0]!] = { dev, mac: fdbMac(0x200000), dst: '2001:db8::1' };
  specs[bad[1]!] = { dev, mac: fdbMac(0x200001) };
  specs[bad[2]!] = { dev, mac: fdbMac(0x200002), dst: '2001:db8::2' };
  const script = specs
    .map((s) => `fdb append ${s.mac} dev ${s.dev}${s.dst ? ` dst ${s.dst}` : ''} self permanent`)
    .join('\n');
  return write('create-fdb', specs, bad, `${script}\n`);
}

function write<T>(name: string, specs: T[], bad: number[], script: string): CreateSet<T> {
  const jsonFile = cachePath(`${name}.json`);
  const scriptFile = cachePath(`${name}.batch`);
  writeFileSync(jsonFile, JSON.stringify({ specs }));
  writeFileSync(scriptFile, script);
  return { specs, bad, script, jsonFile, scriptFile };
}

/** Indices (0-based) of the lines `ip -force -batch FILE` reported as failed ("Command failed FILE:LINE"). */
export function batchFailures(stderr: string): number[] {
  return [...stderr.matchAll(/Command failed [^\n]*:(\d+)\s*$/gm)].map((m) => Number(m[1]) - 1);
}
