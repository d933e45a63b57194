/**
 * The vxnet command line as a user runs it, for tests written from the
 * outside: a real process, its exit code and both of its streams.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** node's arguments that run the CLI from source, with the V8 option the bin's shebang gives (src/cli/main.ts). */
export const CLI = ['--max-semi-space-size=1', '--import', 'tsx', join(process.cwd(), 'src/cli/main.ts')];

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Start it inside this named namespace with `ip netns exec` (instead of passing --namespace). */
  inside?: string;
  /** Run it as nobody (setpriv), without privileges. */
  user?: boolean;
}

/** `vxnet ARGS` to completion. */
export function vxnet(args: string[], options: CliOptions = {}): CliRun {
  let command = process.execPath;
  let argv = [...CLI, ...args];
  if (options.user)
    [command, argv] = ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', command, ...argv]];
  if (options.inside) [command, argv] = ['ip', ['netns', 'exec', options.inside, command, ...argv]];
  const run = spawnSync(command, argv, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}
