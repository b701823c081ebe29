import type { Command } from '@commander-js/extra-typings';
import { namedPlatforms } from '../../collect/valgrind/geometry.ts';
import { DittoError } from '../../errors.ts';
import { runComparison } from '../../measure/comparison.ts';
import { formatComparison } from '../../report/comparison-table.ts';
import { parseDurationS } from '../../spec/duration.ts';
import { loadTargetSpec } from '../../spec/load.ts';
import { info, printJson, printLine } from '../output.ts';

function numbers(option: string, text: string): number[] {
  const values = text.split(',').map(Number);
  if (values.some((v) => !(v > 0)))
    throw new DittoError('DITTO_USAGE', `${option}: "${text}" is not a list of positive numbers`);
  return values;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('measure the original and the clone side by side and print the error of every metric')
    .requiredOption('--target <spec.yaml>', 'target spec of the original')
    .option('--clone <dir>', 'the clone directory (not needed with --self)')
    .option('--loads <list>', 'load points in req/s (default: three held-out points up to near saturation)')
    .option('--platform <list>', 'cache geometries to simulate', 'A,B')
    .option('--duration <time>', 'measured time per load point', '3s')
    .option('--repeat <n>', 'latency runs per load point (medians are compared)', '1')
    .option('--self', 'compare the original with a second run of itself: the noise floor')
    .option('--no-trace', 'skip the bpftrace measurements (syscalls, I/O bytes, threads)')
    .option('--no-simulate', 'skip the valgrind measurements (instructions, miss rates)')
    .option('--json', 'print the comparison as JSON')
    .action(async (flags) => {
      if (!flags.clone && !flags.self)
        throw new DittoError('DITTO_USAGE', 'give --clone DIR, or --self for the noise floor');
      const spec = loadTargetSpec(flags.target);
      const comparison = await runComparison(spec, flags.clone, {
        ...(flags.loads ? { loads: numbers('--loads', flags.loads) } : {}),
        durationS: parseDurationS(flags.duration, '--duration'),
        repeats: numbers('--repeat', flags.repeat)[0] ?? 1,
        platforms: namedPlatforms(flags.platform.split(',')).map((p) => p.name),
        traced: flags.trace,
        simulated: flags.simulate,
        tlb: flags.simulate,
        self: flags.self ?? false,
        outDir: flags.clone ?? '.',
        onProgress: (m) => info(`compare: ${m}`),
      });
      if (flags.json) printJson({ target: comparison.target, metrics: comparison.metrics });
      else printLine(formatComparison(comparison));
    });
}
