import type { Command } from '@commander-js/extra-typings';
import { namedPlatforms, tuningPlatform } from '../../collect/valgrind/geometry.ts';
import { DittoError } from '../../errors.ts';
import { parseDurationS } from '../../spec/duration.ts';
import { loadTargetSpec } from '../../spec/load.ts';
import { formatTuning } from '../../tune/table.ts';
import { tuneClone } from '../../tune/tune.ts';
import { info, printJson, printLine } from '../output.ts';

function positive(option: string, text: string, integer: boolean): number {
  const n = Number(text);
  if (!(n > 0) || (integer && !Number.isInteger(n)))
    throw new DittoError(
      'DITTO_USAGE',
      `${option}: "${text}" is not a positive ${integer ? 'integer' : 'number'}`,
    );
  return n;
}

export function registerTune(program: Command): void {
  program
    .command('tune')
    .description(
      "adjust the clone's knobs until its simulated metrics match the original's at the profiled load",
    )
    .requiredOption('--target <spec.yaml>', 'target spec of the original')
    .requiredOption('--clone <dir>', 'the clone directory (regenerated and rebuilt in place)')
    .option('--iterations <n>', 'clones measured at most, the first with its current knobs', '6')
    .option('--minutes <m>', 'time budget', '10')
    .option('--seed <n>', "seed of the generated code (default: the clone's)")
    .option(
      '--platform <list>',
      `cache geometries to simulate (the d-cache L2 knob moves platform ${tuningPlatform.name}'s L2 tail: the others are judged, not tuned)`,
      tuningPlatform.name,
    )
    .option('--duration <time>', 'measured time per native measurement', '2s')
    .option('--json', 'print tuning.json on stdout')
    .action(async (flags) => {
      const spec = loadTargetSpec(flags.target);
      const tuning = await tuneClone(spec, flags.clone, {
        iterations: positive('--iterations', flags.iterations, true),
        minutes: positive('--minutes', flags.minutes, false),
        ...(flags.seed === undefined ? {} : { seed: Number(flags.seed) }),
        platforms: namedPlatforms(flags.platform.split(',')).map((p) => p.name),
        durationS: parseDurationS(flags.duration, '--duration'),
        onProgress: info,
      });
      if (flags.json) printJson(tuning);
      else printLine(formatTuning(tuning));
    });
}
