import { writeFileSync } from 'node:fs';
import { type Command, Option } from '@commander-js/extra-typings';
import type { LoadResult } from '../../artifacts/load-result.ts';
import { type LoadOptions, loadOptionsFromWorkload } from '../../collect/load/options.ts';
import { runDittoLoad, runExternalClient } from '../../collect/load/run.ts';
import { DittoError } from '../../errors.ts';
import { startTarget } from '../../measure/target.ts';
import { formatLoadTable } from '../../report/load-table.ts';
import { parseDurationS } from '../../spec/duration.ts';
import { loadTargetSpec } from '../../spec/load.ts';
import { type Protocol, protocols, type TargetSpec, targetSpecSchema } from '../../spec/target-spec.ts';
import { info, printJson, printLine } from '../output.ts';

function parseEndpoint(text: string): { host: string; port: number } {
  const m = /^([\w.-]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (!m || !(port > 0 && port < 65536)) {
    throw new DittoError('DITTO_USAGE', `--target: "${text}" is not host:port`, {
      hint: 'e.g. --target 127.0.0.1:11211',
    });
  }
  return { host: m[1] ?? '127.0.0.1', port };
}

function positive(option: string) {
  return (text: string): number => {
    const n = Number(text);
    if (!(n >= 0) || !Number.isFinite(n))
      throw new DittoError('DITTO_USAGE', `${option}: "${text}" is not a number ≥ 0`);
    return n;
  };
}

interface CliLoadFlags {
  qps?: number;
  closed?: boolean;
  duration?: string;
  warmup?: string;
  connections?: number;
  threads?: number;
  depth?: number;
  arrival?: 'poisson' | 'constant';
  keys?: number;
  zipf?: boolean;
  getRatio?: number;
  valueSize?: number;
  paths?: string;
  preload?: boolean;
  seed?: number;
}

/** Command-line flags win over the spec's workload. */
function flagOverrides(flags: CliLoadFlags): Partial<LoadOptions> {
  const o: Partial<LoadOptions> = {};
  if (flags.qps !== undefined) o.rate = flags.qps;
  if (flags.closed) o.rate = 0;
  if (flags.duration !== undefined) o.durationS = parseDurationS(flags.duration, '--duration');
  if (flags.warmup !== undefined) o.warmupS = parseDurationS(flags.warmup, '--warmup', { allowZero: true });
  if (flags.connections !== undefined) o.connections = flags.connections;
  if (flags.threads !== undefined) o.threads = flags.threads;
  if (flags.depth !== undefined) o.depth = flags.depth;
  if (flags.arrival !== undefined) o.arrival = flags.arrival;
  if (flags.keys !== undefined) o.keys = flags.keys;
  if (flags.zipf) o.keyDistribution = 'zipf';
  if (flags.getRatio !== undefined) o.getRatio = flags.getRatio;
  if (flags.valueSize !== undefined) o.valueSize = flags.valueSize;
  if (flags.paths !== undefined) o.paths = flags.paths.split(',');
  if (flags.preload === false) o.preload = false;
  if (flags.seed !== undefined) o.seed = flags.seed;
  return o;
}

export function registerLoad(program: Command): void {
  program
    .command('load')
    .description(
      'drive a service at a fixed rate (open loop) or at maximum throughput (--closed) and report latency',
    )
    .option('--target <host:port>', 'the service to load; without it, --spec starts its own target')
    .addOption(new Option('--protocol <protocol>', 'wire protocol').choices(protocols))
    .option('--spec <file>', 'take protocol and workload from a target spec')
    .option('--qps <n>', 'requests per second (open loop)', positive('--qps'))
    .option('--closed', 'closed loop at maximum throughput instead of a fixed rate')
    .option('--duration <time>', 'measured duration, e.g. 10s')
    .option('--warmup <time>', 'warm-up before measuring, e.g. 1s')
    .option('--connections <n>', 'connections', positive('--connections'))
    .option('--threads <n>', 'generator threads', positive('--threads'))
    .option('--depth <n>', 'closed loop: requests in flight per connection', positive('--depth'))
    .addOption(
      new Option('--arrival <kind>', 'inter-arrival times').choices(['poisson', 'constant'] as const),
    )
    .option('--keys <n>', 'key space', positive('--keys'))
    .option('--zipf', 'zipf-distributed keys instead of uniform')
    .option('--get-ratio <f>', 'share of reads', positive('--get-ratio'))
    .option('--value-size <bytes>', 'value size of sets', positive('--value-size'))
    .option('--paths <list>', 'http: comma-separated paths')
    .option('--no-preload', 'do not set every key before the run')
    .option('--seed <n>', 'seed of the request sequence', positive('--seed'))
    .option('--client', "run the spec's own client (wrk, redis-benchmark, memcaslap) instead of ditto-load")
    .option('--out <file>', 'also write the result as JSON to this file')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (flags) => {
      const spec: TargetSpec | undefined = flags.spec ? loadTargetSpec(flags.spec) : undefined;
      const protocol: Protocol | undefined = flags.protocol ?? spec?.protocol;
      if (!protocol) throw new DittoError('DITTO_USAGE', 'give --protocol or --spec');
      if (!flags.target && !spec)
        throw new DittoError('DITTO_USAGE', 'give --target host:port, or --spec to start one');
      const workload = spec?.workload ?? targetSpecSchema.shape.workload.parse(undefined);
      const started = !flags.target && spec ? await startTarget(spec) : undefined;
      if (started) info(`started ${spec?.name} on ${started.host}:${started.port}`);
      const endpoint = started ?? parseEndpoint(flags.target ?? '');
      let result: LoadResult;
      try {
        if (flags.client) {
          if (!spec) throw new DittoError('DITTO_USAGE', '--client needs --spec (the client is named there)');
          result = await runExternalClient(spec, endpoint.host, endpoint.port);
        } else {
          const options = loadOptionsFromWorkload(workload, { ...endpoint, protocol }, flagOverrides(flags));
          info(
            `loading ${endpoint.host}:${endpoint.port} (${protocol}) ${options.rate > 0 ? `at ${options.rate} req/s` : 'closed loop'} for ${options.durationS}s`,
          );
          result = await runDittoLoad(options);
        }
      } finally {
        await started?.stop();
      }
      if (flags.out) writeFileSync(flags.out, `${JSON.stringify(result, null, 2)}\n`);
      for (const warning of result.warnings) info(`warning: ${warning}`);
      if (flags.json) printJson(result);
      else printLine(formatLoadTable([result]));
    });
}
