#!/usr/bin/env node
/**
 * vxnet-cni: the CNI plugin's executable. A runtime runs it with CNI_* in
 * the environment and the network config on stdin; it prints the result (or
 * the error JSON) on stdout and exits 0 (or 1). Install it in the runtime's
 * plugin directory under the name of the config's type, "vxnet"
 * (docs/containers.md). It loads only the plugin's own modules.
 */
import { runPlugin } from './plugin.js';

async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

let stdin: Buffer;
try {
  stdin = await readStdin();
} catch (error) {
  process.stdout.write(`${JSON.stringify({ cniVersion: '1.1.0', code: 5, msg: 'failed to read the network config from stdin', details: (error as Error).message })}\n`);
  process.exit(1);
}
const output = await runPlugin(process.env, stdin, { log: (line) => process.stderr.write(`${line}\n`) });
if (output.stdout) process.stdout.write(`${output.stdout}\n`);
process.exitCode = output.exitCode;
