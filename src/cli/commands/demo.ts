import type { Command } from '@commander-js/extra-typings';
import { measureLatencyCurve } from '../../measure/curve.ts';
import { packagePath } from '../../package-root.ts';
import { formatLoadTable } from '../../report/load-table.ts';
import { parseDurationS } from '../../spec/duration.ts';
import { loadTargetSpec } from '../../spec/load.ts';
import { info, printJson, printLine } from '../output.ts';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run ditto on the bundled default target (memcached) and print what it measured')
    .option('--spec <file>', 'another target spec instead of examples/memcached.yaml')
    .option('--duration <time>', 'measured time per load point', '3s')
    .option('--json', 'print the results as JSON')
    .action(async (flags) => {
      const specFile = flags.spec ?? packagePath('examples', 'memcached.yaml');
      const spec = loadTargetSpec(specFile);
      const durationS = parseDurationS(flags.duration, '--duration');
      info(
        `demo: ${spec.name} from ${specFile}, open-loop load at ${(spec.workload.loads ?? [spec.workload.qps]).join(', ')} req/s`,
      );
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
