import type { Command } from '@commander-js/extra-typings';
import { cloneService } from '../../pipeline/clone.ts';
import { formatReport } from '../../report/console.ts';
import { parseDurationS } from '../../spec/duration.ts';
import { loadTargetSpec } from '../../spec/load.ts';
import type { TargetSpec } from '../../spec/target-spec.ts';
import { printLine } from '../output.ts';

export interface CloneFlags {
  out: string;
  resume?: boolean;
  quick?: boolean;
  tuneIterations: string;
  tuneMinutes: string;
  window: string;
}

export async function runClone(spec: TargetSpec, flags: CloneFlags): Promise<void> {
  const result = await cloneService(spec, {
    dir: flags.out,
    resume: flags.resume ?? false,
    quickCache: flags.quick ?? false,
    tuneIterations: Number(flags.tuneIterations),
    tuneMinutes: Number(flags.tuneMinutes),
    windowS: parseDurationS(flags.window, '--window'),
  });
  printLine(formatReport(result.report));
  printLine(`\nreport: ${result.htmlPath}`);
}

export function registerClone(program: Command): void {
  program
    .command('clone')
    .description('profile, generate, build, tune and compare a clone of a service, ending in a report')
    .requiredOption('--target <spec.yaml>', 'target spec of the original')
    .requiredOption('--out <dir>', 'the clone directory (all artifacts land there)')
    .option('--resume', 'continue an interrupted run: keep the steps whose artifacts are on disk')
    .option('--quick', 'a shorter cache sweep while profiling (up to 32 KiB plus the platform geometries)')
    .option('--tune-iterations <n>', 'clones measured while tuning at most', '4')
    .option('--tune-minutes <m>', 'time budget of the tuning', '6')
    .option('--window <time>', 'measured time of each native window', '3s')
    .action(async (flags) => {
      await runClone(loadTargetSpec(flags.target), flags);
    });
}
