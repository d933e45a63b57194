/**
 * How node was started, where it matters to a long-running process: the
 * `vxnet` bin's shebang gives node `--max-semi-space-size=1` (src/cli/main.ts);
 * a `node dist/cli.js agent` started by hand does not, unless NODE_OPTIONS does.
 */

/** The V8 option that caps the young generation (MiB per semi-space). */
export const YOUNG_GENERATION_OPTION = '--max-semi-space-size';

/** Whether node was told to cap its young generation (on its command line or in NODE_OPTIONS). */
export function youngGenerationCapped(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions = process.env.NODE_OPTIONS ?? '',
): boolean {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)];
  return given.some((option) => option === YOUNG_GENERATION_OPTION || option.startsWith(`${YOUNG_GENERATION_OPTION}=`));
}
