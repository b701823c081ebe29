import type { Command } from '@commander-js/extra-typings';
import { measureLatencyCurve } from '../../measure/curve.ts';
import { packagePath } from '../../package-root.ts';
import { demoBudget } from '../../pipeline/clone.ts';
import { formatLoadTable } from '../../report/load-table.ts';
import { parseDurationS } from '../../spec/duration.ts';
import { loadTargetSpec } from '../../spec/load.ts';
import { info, printJson, printLine } from '../output.ts';
import { runClone } from './clone.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('clone the bundled default target (memcached) end to end and print the report')
    .option('--spec <file>', 'another target spec instead of examples/memcached.yaml')
    .option('--out <dir>', 'where the clone and its artifacts go', '.ditto/demo')
    .option('--resume', 'continue an interrupted demo')
    .option(
      '--latency-only',
      "only sweep the target's load points with ditto-load and print the latency table",
    )
    .option('--duration <time>', 'with --latency-only: measured time per load point', '3s')
    .option('--json', 'with --latency-only: print the results as JSON')
    .action(async (flags) => {
      const specFile = flags.spec ?? packagePath('examples', 'memcached.yaml');
      const spec = loadTargetSpec(specFile);
      if (!flags.latencyOnly) {
        info(`demo: cloning ${spec.name} from ${specFile} into ${flags.out}`);
        // Short windows and a bounded tuning (demoBudget).
        await runClone(spec, {
          out: flags.out,
          resume: flags.resume ?? false,
          quick: demoBudget.quickCache,
          tuneIterations: String(demoBudget.tuneIterations),
          tuneMinutes: String(demoBudget.tuneMinutes),
          window: `${demoBudget.windowS}s`,
        });
        return;
      }
      const durationS = parseDurationS(flags.duration, '--duration');
      const results = await measureLatencyCurve(spec, { durationS }, (r) =>
        info(
          `  ${r.requestedRate} req/s: p50 ${r.latencyUs.p50?.toFixed(0)} us, p99 ${r.latencyUs.p99?.toFixed(0)} us`,
        ),
      );
      if (flags.json) return printJson(results);
      printLine(`${spec.name}: latency under open-loop load (ditto-load, ${durationS}s per point)`);
      printLine(formatLoadTable(results));
    });
}
