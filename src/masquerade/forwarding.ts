/**
 * IPv4 forwarding (net.ipv4.ip_forward): without it the host does not route
 * the overlay's traffic out at all, masquerade or not. The value belongs to
 * a network namespace and /proc/sys shows the one of the process that opens
 * it, so for another namespace a short-lived helper process is started in
 * it with nsenter (as the netlink relay is).
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { VxnetError } from '../netlink/errors.js';
import { namespacePath } from '../netlink/namespace.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const run = promisify(execFile);

async function inNamespace(namespace: string, script: string): Promise<string> {
  try {
    const { stdout } = await run(
      'nsenter',
      [`--net=${namespacePath(namespace)}`, '--', process.execPath, '-e', script],
      { timeout: 10_000 },
    );
    return stdout;
  } catch (error) {
    throw new VxnetError(`ip_forward in namespace ${namespace}: ${(error as Error).message.trim()}`);
  }
}

/** Whether IPv4 forwarding is on (in `namespace`, or this process's). */
export async function ipForwarding(namespace?: string): Promise<boolean> {
  const text = namespace
    ? await inNamespace(namespace, `process.stdout.write(require('fs').readFileSync('${IP_FORWARD}', 'utf8'))`)
    : await readFile(IP_FORWARD, 'utf8');
  return text.trim() === '1';
}

/** Turns IPv4 forwarding on. Needs root (CAP_NET_ADMIN and write access to /proc/sys). */
export function enableIpForwarding(namespace?: string): Promise<void> {
  return setIpForwarding(true, namespace);
}

/** Sets IPv4 forwarding on or off (off: to restore the value found before vxnet turned it on). */
export async function setIpForwarding(on: boolean, namespace?: string): Promise<void> {
  const value = on ? '1' : '0';
  try {
    if (namespace) await inNamespace(namespace, `require('fs').writeFileSync('${IP_FORWARD}', '${value}')`);
    else await writeFile(IP_FORWARD, value);
  } catch (error) {
    if (error instanceof VxnetError) throw error;
    throw new VxnetError(`set ip_forward to ${value}: ${(error as Error).message} (writing ${IP_FORWARD} needs root)`);
  }
}
