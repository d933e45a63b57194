#!/usr/bin/env node
/**
 * vxnet-cni: the CNI plugin's executable. A runtime runs it with CNI_* in
 * the environment and the network config on stdin; it prints the result (or
 * the error JSON) on stdout and exits 0 (or 1). Install it in the runtime's
 * plugin directory under the name of the config's type, "vxnet"
 * (docs/containers.md). Built as one CommonJS file with its pure-JS
 * dependencies inside (start-up: no ESM loader, no CJS export scanning);
 * stdin is read synchronously (it is a pipe the runtime closes).
 */
import { readFileSync } from 'node:fs';
import { runPlugin } from './plugin.js';

function readStdin(): Buffer {
  try {
    return readFileSync(0);
  } catch (error) {
    // A terminal or a closed descriptor: no config.
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN' || (error as NodeJS.ErrnoException).code === 'EOF')
      return Buffer.alloc(0);
    throw error;
  }
}

function main(): void {
  let stdin: Buffer;
  try {
    stdin = readStdin();
  } catch (error) {
    process.stdout.write(
      `${JSON.stringify({ cniVersion: '1.1.0', code: 5, msg: 'failed to read the network config from stdin', details: (error as Error).message })}\n`,
    );
    process.exitCode = 1;
    return;
  }
  void runPlugin(process.env, stdin, { log: (line) => process.stderr.write(`${line}\n`) }).then((output) => {
    if (output.stdout) process.stdout.write(`${output.stdout}\n`);
    process.exitCode = output.exitCode;
  });
}

main();
