/**
 * vxnet-cni: the CNI plugin's program (bin.ts runs its bundle, with V8's
 * code cache for it). A runtime runs it with CNI_* in
 * the environment and the network config on stdin; it prints the result (or
 * the error JSON) on stdout and exits 0 (or 1). Install it in the runtime's
 * plugin directory under the name of the config's type, "vxnet"
 * (docs/containers.md). Built as one CommonJS file with its pure-JS
 * dependencies inside (start-up: no ESM loader, no CJS export scanning);
 * stdin is read synchronously (it is a pipe the runtime closes).
 *
 * On ADD the relay into the container's namespace starts before the
 * plugin's modules are even evaluated (early.ts): its start-up overlaps
 * everything else ADD does. The process exits as soon as the answer is
 * written (stdout and stderr are synchronous for pipes and files): a relay
 * still starting then sees its stdin close and exits too.
 */
import { readFileSync } from 'node:fs';
import { startEarlyRelay } from './early.js';

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

function trace(step: string): void {
  if (process.env.VXNET_CNI_TRACE === '1')
    process.stderr.write(`vxnet-cni: ${performance.now().toFixed(1)} ms ${step}\n`);
}

function main(): void {
  trace('started (node up, entry loaded)');
  const relay = startEarlyRelay(process.env);
  if (relay) trace('relay into the container namespace spawned');
  let stdin: Buffer;
  try {
    stdin = readStdin();
  } catch (error) {
    const failure = {
      cniVersion: '1.1.0',
      code: 5,
      msg: 'failed to read the network config from stdin',
      details: (error as Error).message,
    };
    process.stdout.write(`${JSON.stringify(failure)}\n`);
    process.exit(1);
  }
  // Evaluated now, after the relay's spawn: the bundle's modules initialise while it starts.
  void import('./plugin.js')
    .then(({ runPlugin }) => {
      trace('plugin modules loaded');
      return runPlugin(process.env, stdin, {
        log: (line) => process.stderr.write(`${line}\n`),
        ...(relay ? { relay } : {}),
      });
    })
    .then((output) => {
      if (output.stdout) process.stdout.write(`${output.stdout}\n`);
      trace('answered');
      process.exit(output.exitCode);
    });
}

main();
