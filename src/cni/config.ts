/**
 * What a runtime hands the plugin: CNI_* variables and the network config
 * on stdin, checked before anything is touched. Each refusal is the spec's
 * error: 4 names the variable, 6 is stdin that is not a JSON object, 7 a
 * config that does not validate, 1 a version not spoken.
 */
import { validateOwner } from '../common/ownership.js';
import { validatePortableIfname } from '../rtnetlink/validate.js';
import { CNI_ERRORS, CniError } from './errors.js';
import { checkVersion } from './version.js';

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
export type Command = (typeof COMMANDS)[number];

export interface CniEnv {
  command: Command;
  containerId?: string;
  netns?: string;
  ifname?: string;
  args?: string;
  path: string[];
}

export interface IpamConfig {
  type: string;
  [key: string]: unknown;
}

export interface NetConfig {
  cniVersion: string;
  name: string;
  type: string;
  /** The vxnet overlay network on this host. */
  network: string;
  ipam?: IpamConfig;
  /** Without IPAM: 'dhcp' marks the interface for the container's own DHCP client (the overlay's dnsmasq answers). */
  address?: 'dhcp';
  /** The container interface's MTU (default: the overlay's). */
  mtu?: number;
  prevResult?: Record<string, unknown>;
  /** GC: the attachments still valid. */
  validAttachments?: { containerID: string; ifname: string }[];
  /** The config exactly as read (IPAM plugins get it unchanged). */
  raw: Buffer;
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function invalidEnv(name: string, why: string): CniError {
  return new CniError(CNI_ERRORS.INVALID_ENVIRONMENT, `invalid environment variable ${name}`, why);
}

/** CNI_COMMAND alone: it decides what else is required. */
export function readCommand(env: NodeJS.ProcessEnv): Command {
  const command = env.CNI_COMMAND;
  if (!command) throw invalidEnv('CNI_COMMAND', `CNI_COMMAND is not set (one of ${COMMANDS.join(', ')})`);
  if (!(COMMANDS as readonly string[]).includes(command))
    throw invalidEnv('CNI_COMMAND', `unknown command "${command}" (one of ${COMMANDS.join(', ')})`);
  return command as Command;
}

/** The variables `command` needs, checked (spec Section 2, "CNI operations"). */
export function readEnv(env: NodeJS.ProcessEnv, command: Command): CniEnv {
  const required: Record<Command, string[]> = {
    ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
    CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
    DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
    GC: ['CNI_PATH'],
    STATUS: [],
    VERSION: [],
  };
  const missing = required[command].filter((name) => !env[name]);
  if (missing.length) throw invalidEnv(missing.join(', '), `${command} needs ${missing.join(', ')} (not set or empty)`);
  const containerId = env.CNI_CONTAINERID || undefined;
  if (containerId !== undefined && (!CONTAINER_ID.test(containerId) || containerId.length > 100)) {
    throw invalidEnv(
      'CNI_CONTAINERID',
      `"${containerId}" is not a container id (a letter or digit, then letters, digits, "_", "." or "-"; at most 100 ` +
        `here, the length vxnet's marks hold)`,
    );
  }
  const ifname = env.CNI_IFNAME || undefined;
  if (ifname !== undefined) {
    try {
      validatePortableIfname(ifname, 'CNI_IFNAME');
    } catch (error) {
      throw invalidEnv('CNI_IFNAME', (error as Error).message);
    }
    if (ifname === 'lo') throw invalidEnv('CNI_IFNAME', "lo is the container's loopback device");
  }
  const netns = env.CNI_NETNS || undefined;
  if (netns !== undefined && !netns.startsWith('/'))
    throw invalidEnv(
      'CNI_NETNS',
      `"${netns}" is not a path to a network namespace (/run/netns/NAME, /proc/PID/ns/net)`,
    );
  return {
    command,
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
    ...(containerId ? { containerId } : {}),
    ...(netns ? { netns } : {}),
    ...(ifname ? { ifname } : {}),
    ...(env.CNI_ARGS ? { args: env.CNI_ARGS } : {}),
  };
}

function parseJson(raw: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new CniError(
      CNI_ERRORS.DECODE_FAILED,
      'failed to decode the network config',
      raw.length === 0
        ? 'stdin was empty: the runtime passes the network config as JSON on stdin'
        : `stdin is not JSON: ${(error as Error).message}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CniError(
      CNI_ERRORS.DECODE_FAILED,
      'failed to decode the network config',
      'stdin is JSON but not an object',
    );
  return value as Record<string, unknown>;
}

/** The version named on stdin, for VERSION (any well-formed object will do) and for error replies. */
export function peekVersion(raw: Buffer): string | undefined {
  try {
    const value = JSON.parse(raw.toString('utf8')) as { cniVersion?: unknown };
    return typeof value?.cniVersion === 'string' ? value.cniVersion : undefined;
  } catch {
    return undefined;
  }
}

function invalid(field: string, why: string): CniError {
  return new CniError(CNI_ERRORS.INVALID_CONFIG, 'invalid network config', `${field}: ${why}`);
}

export function readConfig(raw: Buffer, command: Command): NetConfig {
  const json = parseJson(raw);
  const cniVersion = checkVersion(json.cniVersion, command);
  if (typeof json.name !== 'string' || json.name.length === 0)
    throw invalid('name', "the network config's name is missing");
  if (json.network === undefined)
    throw invalid('network', 'missing: name the vxnet overlay network to attach to ("network": "demo")');
  let network: string;
  try {
    network = validateOwner(json.network, 'network');
  } catch {
    throw invalid(
      'network',
      `${JSON.stringify(json.network)} is not a vxnet network name (1–64 of letters, digits, "_", "." and "-")`,
    );
  }
  const config: NetConfig = {
    cniVersion,
    name: json.name,
    type: typeof json.type === 'string' ? json.type : 'vxnet',
    network,
    raw,
  };
  if (json.ipam !== undefined && json.ipam !== null) {
    const ipam = json.ipam as Record<string, unknown>;
    if (typeof ipam !== 'object' || Array.isArray(ipam))
      throw invalid('ipam', 'an object ({ "type": "host-local", … })');
    if (Object.keys(ipam).length > 0) {
      if (typeof ipam.type !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(ipam.type))
        throw invalid('ipam.type', "the IPAM plugin's name (host-local, static, dhcp)");
      config.ipam = ipam as IpamConfig;
    }
  }
  if (json.address !== undefined) {
    if (json.address !== 'dhcp')
      throw new CniError(
        CNI_ERRORS.UNSUPPORTED_FIELD,
        `unsupported field address=${JSON.stringify(json.address)}`,
        'address takes "dhcp" only (the container runs its own DHCP client); static addresses come from IPAM (ipam: ' +
          '{ type: "static" | "host-local" })',
      );
    if (config.ipam)
      throw new CniError(
        CNI_ERRORS.UNSUPPORTED_FIELD,
        'unsupported field address="dhcp" with ipam',
        'give either ipam (the address comes from the IPAM plugin) or "address": "dhcp" (the container asks the ' +
          "overlay's dnsmasq), not both",
      );
    config.address = 'dhcp';
  }
  if (json.mtu !== undefined) {
    if (typeof json.mtu !== 'number' || !Number.isInteger(json.mtu) || json.mtu < 68 || json.mtu > 65535)
      throw invalid('mtu', 'an integer from 68 to 65535');
    config.mtu = json.mtu;
  }
  if (json.prevResult !== undefined && json.prevResult !== null) {
    if (typeof json.prevResult !== 'object' || Array.isArray(json.prevResult))
      throw invalid('prevResult', 'a result object');
    config.prevResult = json.prevResult as Record<string, unknown>;
  }
  if (command === 'GC') {
    const valid = json['cni.dev/valid-attachments'] ?? [];
    if (
      !Array.isArray(valid) ||
      !valid.every((v) => typeof v?.containerID === 'string' && typeof v?.ifname === 'string')
    ) {
      throw invalid('cni.dev/valid-attachments', 'a list of { "containerID", "ifname" }');
    }
    config.validAttachments = valid;
  }
  return config;
}
