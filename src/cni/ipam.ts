/**
 * IPAM delegation (spec Section 4): the plugin named by ipam.type is looked
 * up in CNI_PATH and run with this process's environment and the same
 * config bytes on stdin; its stderr goes to ours. A failure is passed on
 * with the IPAM plugin's own code, message and details.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { CNI_ERRORS, CniError, VXNET_CNI_ERRORS } from './errors.js';

export interface IpamIp {
  address: string;
  gateway?: string;
  version?: string;
}

export interface IpamResult {
  cniVersion?: string;
  ips?: IpamIp[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
}

export function findPlugin(type: string, path: string[]): string {
  for (const dir of path) {
    const candidate = `${dir}/${type}`;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  throw new CniError(
    CNI_ERRORS.INVALID_CONFIG,
    `failed to find IPAM plugin "${type}"`,
    path.length
      ? `no executable ${type} in CNI_PATH (${path.join(':')})`
      : 'CNI_PATH is empty: the runtime names the plugin directories there',
  );
}

/** Runs the IPAM plugin for `command`; resolves with its parsed stdout (undefined when empty). */
export function execIpam(
  type: string,
  command: string,
  env: NodeJS.ProcessEnv,
  path: string[],
  stdin: Buffer,
): Promise<IpamResult | undefined> {
  const file = findPlugin(type, path);
  return new Promise((resolve, reject) => {
    const child = spawn(file, [], { env: { ...env, CNI_COMMAND: command }, stdio: ['pipe', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('error', (error) =>
      reject(new CniError(CNI_ERRORS.IO_FAILURE, `failed to run IPAM plugin ${file}`, error.message)),
    );
    child.stdin.on('error', () => undefined); // A plugin that exits without reading stdin.
    child.stdin.end(stdin);
    child.on('close', (code, signal) => {
      const text = Buffer.concat(out).toString('utf8').trim();
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      } catch {
        parsed = undefined;
      }
      if (code === 0) {
        if (text && !parsed)
          reject(
            new CniError(
              VXNET_CNI_ERRORS.IPAM_RESULT,
              `IPAM plugin ${type} printed no JSON result`,
              text.slice(0, 500),
            ),
          );
        else resolve(parsed as IpamResult | undefined);
        return;
      }
      if (parsed && typeof parsed.code === 'number') {
        reject(
          new CniError(
            parsed.code,
            typeof parsed.msg === 'string' ? parsed.msg : `IPAM plugin ${type} failed`,
            typeof parsed.details === 'string' && parsed.details ? parsed.details : undefined,
          ),
        );
      } else {
        reject(
          new CniError(
            VXNET_CNI_ERRORS.IPAM_RESULT,
            `IPAM plugin ${type} failed (${signal ?? `exit ${code}`})`,
            text.slice(0, 500) || 'it printed no error JSON',
          ),
        );
      }
    });
  });
}

/** Whether the IPAM plugin speaks spec `version` (STATUS and GC are 1.1.0), asked with VERSION. */
export async function ipamSpeaks(
  type: string,
  version: string,
  env: NodeJS.ProcessEnv,
  path: string[],
): Promise<boolean> {
  const reply = (await execIpam(type, 'VERSION', env, path, Buffer.from(JSON.stringify({ cniVersion: version })))) as
    | { supportedVersions?: unknown }
    | undefined;
  return Array.isArray(reply?.supportedVersions) && reply.supportedVersions.includes(version);
}
