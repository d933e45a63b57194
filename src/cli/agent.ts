/**
 * `vxnet agent FILE`: runs an OverlayAgent in the foreground until SIGTERM
 * or SIGINT (exit 0; the network stays unless --destroy-on-exit). SIGHUP
 * re-reads FILE and applies the difference. One log line per change and
 * repair on stdout (--log-format json: one object per line).
 */
import { OverlayAgent } from '../agent/agent.js';
import { formatLog, type LogFormat, logAgent } from '../agent/log.js';
import { loadAnySpec } from '../overlay/spec.js';
import { UsageError } from './commands.js';
import { YOUNG_GENERATION_OPTION, youngGenerationCapped } from './runtime.js';

export interface AgentCommandOptions {
  namespace?: string;
  destroyOnExit?: boolean;
  /** Use a bridge of the spec's name that vxnet did not make. */
  adopt?: boolean;
  /** Exit non-zero when the spec's etcd cannot be reached at start. */
  requireMembership?: boolean;
  logFormat?: string;
  /** Seconds between full resyncs (decimals allowed). */
  resync?: string;
}

export async function agentCommand(
  file: string,
  options: AgentCommandOptions,
  out: (line: string) => void,
): Promise<number> {
  const format = (options.logFormat ?? 'text') as LogFormat;
  if (format !== 'text' && format !== 'json')
    throw new UsageError(`--log-format takes text or json, not ${options.logFormat}`);
  let resyncMs: number | undefined;
  if (options.resync !== undefined) {
    const seconds = Number(options.resync);
    if (!/^\d+(\.\d+)?$/.test(options.resync) || seconds <= 0)
      throw new UsageError(`--resync takes a number of seconds, not ${options.resync}`);
    resyncMs = Math.round(seconds * 1000);
  }
  const spec = await loadAnySpec(file);
  const agent = new OverlayAgent({
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    ...(resyncMs !== undefined ? { resyncMs } : {}),
    destroyOnExit: options.destroyOnExit === true,
    adopt: options.adopt === true,
    requireMembership: options.requireMembership === true,
    file,
  });
  const detach = logAgent(agent, format, out);
  // Signals are taken before start: a SIGTERM during the first apply waits for it, then stops.
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onStop = (): void => stop();
  let reloading = Promise.resolve();
  const onHup = (): void => {
    reloading = reloading.then(async () => {
      try {
        const next = await loadAnySpec(file);
        const changes = await agent.reload(next);
        out(
          formatLog(
            {
              level: 'info',
              network: next.name,
              event: 'reload',
              message: `reloaded ${file}: ${changes.length ? `${changes.length} change(s)` : 'nothing to change'}`,
              changes,
            },
            format,
          ),
        );
      } catch (error) {
        out(
          formatLog(
            {
              level: 'error',
              network: spec.name,
              event: 'reload',
              message: `reload of ${file} failed (the running spec stays): ${(error as Error).message}`,
              error: (error as Error).message,
            },
            format,
          ),
        );
      }
    });
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  try {
    await agent.start(spec);
    if (!youngGenerationCapped())
      out(
        formatLog(
          {
            level: 'warn',
            network: spec.name,
            event: 'notice',
            message:
              `node runs without ${YOUNG_GENERATION_OPTION}: the agent's memory grows by tens of MiB after a burst ` +
              `of changes; start it as the vxnet command (its shebang gives the option) or give node ` +
              `${YOUNG_GENERATION_OPTION}=1 (docs/agent.md, "Memory")`,
          },
          format,
        ),
      );
    await stopped;
    await reloading;
    await agent.stop();
    return 0;
  } finally {
    await agent.stop().catch(() => undefined);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
    detach();
  }
}
