// Runs a load client against a target: ditto-load (native/load), or the user's own client named in the spec.
import { existsSync } from 'node:fs';
import type { LoadResult } from '../../artifacts/load-result.ts';
import { DittoError } from '../../errors.ts';
import { packagePath } from '../../package-root.ts';
import { substitute } from '../../spec/placeholders.ts';
import type { TargetSpec } from '../../spec/target-spec.ts';
import { describeExit } from '../../sys/exit.ts';
import { run, tail } from '../../sys/process.ts';
import { parseDittoLoadOutput } from './ditto-load.ts';
import { parseMemcaslapOutput } from './memcaslap.ts';
import { dittoLoadArgv, type LoadOptions } from './options.ts';
import { parseRedisBenchmarkCsv } from './redis-benchmark.ts';
import { parseWrkOutput } from './wrk.ts';

/** Exit status ditto-load uses when it cannot connect at start. */
const unreachableExit = 3;

export function dittoLoadBinary(): string {
  const path = packagePath('native', 'build', 'ditto-load');
  if (!existsSync(path)) {
    throw new DittoError('DITTO_TOOL_MISSING', `the load generator is not built (${path} is missing)`, {
      hint: 'run make setup',
    });
  }
  return path;
}

export async function runDittoLoad(options: LoadOptions): Promise<LoadResult> {
  const target = `${options.host}:${options.port}`;
  // Preloading sends one set per key; allow a generous margin, but never wait forever.
  const budgetMs =
    (options.warmupS + options.durationS) * 1000 + options.timeoutMs + options.keys / 10 + 30_000;
  const result = await run(dittoLoadBinary(), dittoLoadArgv(options), {
    timeoutMs: budgetMs,
    allowFailure: true,
  });
  if (result.exitCode === unreachableExit) {
    const reason = result.stderr.trim().split('\n')[0] ?? `cannot connect to ${target}`;
    throw new DittoError('DITTO_TARGET_UNREACHABLE', reason.replace(/^ditto-load: /, ''), {
      hint: `is the service running and listening on ${target}?`,
    });
  }
  if (result.exitCode !== 0 || result.signal) {
    const why = describeExit(result.exitCode, result.signal);
    throw new DittoError('DITTO_LOAD_FAILED', `ditto-load ${why}: ${tail(result.stderr, 3)}`);
  }
  return parseDittoLoadOutput(result.stdout, target);
}

/** Runs the client of `spec.client` against host:port and reads its output into the same result shape. */
export async function runExternalClient(spec: TargetSpec, host: string, port: number): Promise<LoadResult> {
  const client = spec.client;
  if (!client) {
    throw new DittoError('DITTO_SPEC_INVALID', `target spec ${spec.name} names no client`, {
      hint: 'add client: { tool, args } to the spec',
    });
  }
  const w = spec.workload;
  const requests = Math.max(1, Math.round(w.qps * w.durationS));
  const values = { host, port, connections: w.connections, durationS: w.durationS, requests };
  const args = client.args.map((a, i) => substitute(a, values, `client.args[${i}]`));
  const result = await run(client.tool, args, { timeoutMs: (w.durationS + 60) * 1000 * 4 });
  const target = `${host}:${port}`;
  switch (client.tool) {
    case 'wrk':
      return parseWrkOutput(result.stdout, target);
    case 'memcaslap':
      return parseMemcaslapOutput(result.stdout, target);
    case 'redis-benchmark':
      return parseRedisBenchmarkCsv(result.stdout, target, {
        requestsPerTest: requests,
        connections: w.connections,
      });
  }
}
