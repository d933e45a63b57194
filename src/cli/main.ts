#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1
/**
 * The vxnet command line: one spec file per host, one command per step.
 *
 *   vxnet plan FILE [--namespace NS]        what apply would change
 *   vxnet apply FILE [--namespace NS]       converge this host (and serve DHCP here if the spec says so)
 *   vxnet status NAME [--spec FILE]         devices, peers, leases, problems, drift from the spec
 *   vxnet destroy NAME                      remove exactly what vxnet created for NAME
 *   vxnet peers add|rm NAME ADDRESS         edit the unicast flood list
 *   vxnet attach NAME --netns NS            put a container's namespace on the network (veth to the bridge)
 *   vxnet detach NAME --netns NS            take it off again
 *   vxnet agent FILE [--namespace NS]       apply, then repair drift until stopped (docs/agent.md)
 *
 * Output is a line per step; --json prints one JSON document instead. Errors
 * are one line (no stack) unless --debug. Exit codes: 0 done (or, for plan,
 * nothing to change), 2 plan has changes / status found problems, 1 error,
 * 64 usage.
 *
 * The shebang sizes node for a long-running agent (docs/agent.md, "Memory";
 * bench/suites/agent-etcd.ts): V8's young generation capped at 1 MiB per
 * semi-space (left to itself V8 grows it to 16 MiB per semi-space after a
 * burst, 1,000 peers joining, and keeps it: ~75 → ~120 MiB RSS), and two
 * malloc arenas instead of one per thread (V8's compiler and GC threads each
 * kept a few MiB of freed memory in their own). One-shot commands allocate
 * too little to notice either.
 */
import { parseArgs } from 'node:util';
import { agentCommand } from './agent.js';
import { errorMessage, runCommand, UsageError } from './commands.js';

const USAGE = `usage:
  vxnet plan FILE [--namespace NS] [--adopt] [--json]
  vxnet apply FILE [--namespace NS] [--replace] [--adopt] [--json]
  vxnet status NAME [--spec FILE] [--namespace NS] [--json]
  vxnet destroy NAME [--namespace NS] [--json]
  vxnet peers add|rm NAME ADDRESS [--namespace NS] [--json]
  vxnet attach NAME --netns NS [--ifname eth0] [--ip CIDR|dhcp] [--mac MAC] [--mtu N] [--namespace NS] [--json]
  vxnet detach NAME --netns NS [--ifname eth0] [--namespace NS] [--json]
  vxnet agent FILE [--namespace NS] [--adopt] [--destroy-on-exit] [--log-format text|json] [--resync SECONDS]
                   [--require-membership]
options:
  --namespace NS   work inside the network namespace /run/netns/NS (the host's side)
  --netns NS       the container's namespace: a name under /run/netns, a path (/proc/PID/ns/net) or a pid
  --json           machine-readable output
  --replace        recreate a VXLAN device of vxnet's whose VNI, port, group or underlay differ
  --adopt          use a bridge of the spec's name that vxnet did not make (destroy gives back what it changed)
  --destroy-on-exit   agent: remove the network when stopped (default: it stays)
  --log-format F   agent: text (default) or json, one object per line
  --resync S       agent: seconds between full resyncs (default 30)
  --require-membership   agent: exit when etcd cannot be reached at start (default: start stale, keep retrying)
  --debug          show stack traces (and a spec file's parse error in full)
  --help`;

/**
 * --debug: the stack, then each cause's message in full (for a spec file that
 * does not parse, the parser's error with its excerpt of the file).
 */
function debugText(error: unknown): string {
  let text = `${error instanceof Error ? error.stack : String(error)}\n`;
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 8; depth++) {
    text += `caused by: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}\n`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: 'string', short: 'n' },
      spec: { type: 'string' },
      json: { type: 'boolean', default: false },
      debug: { type: 'boolean', default: false },
      replace: { type: 'boolean', default: false },
      adopt: { type: 'boolean', default: false },
      netns: { type: 'string' },
      ifname: { type: 'string' },
      ip: { type: 'string' },
      mac: { type: 'string' },
      mtu: { type: 'string' },
      'destroy-on-exit': { type: 'boolean', default: false },
      'require-membership': { type: 'boolean', default: false },
      'log-format': { type: 'string' },
      resync: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`vxnet: ${(error as Error).message}\n${USAGE}\n`);
    return 64;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 64;
  }
  try {
    const out = (line: string): void => void process.stdout.write(`${line}\n`);
    if (positionals[0] === 'agent') {
      if (positionals[1] === undefined) throw new UsageError('missing FILE');
      return await agentCommand(
        positionals[1],
        {
          ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
          destroyOnExit: values['destroy-on-exit'],
          adopt: values.adopt,
          requireMembership: values['require-membership'],
          ...(values['log-format'] !== undefined ? { logFormat: values['log-format'] } : {}),
          ...(values.resync !== undefined ? { resync: values.resync } : {}),
        },
        out,
      );
    }
    return await runCommand(positionals, values, out);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`vxnet: ${error.message}\n${USAGE}\n`);
      return 64;
    }
    const message = errorMessage(error);
    if (values.json) process.stdout.write(`${JSON.stringify({ error: { name: (error as Error).name, message } })}\n`);
    process.stderr.write(values.debug ? debugText(error) : `vxnet: ${message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
