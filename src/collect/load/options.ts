// Options of one ditto-load run and their command line (pure).
import type { Protocol, Workload } from '../../spec/target-spec.ts';

export interface LoadOptions {
  host: string;
  port: number;
  protocol: Protocol;
  /** Requests per second; 0 runs closed-loop at maximum throughput. */
  rate: number;
  arrival: 'poisson' | 'constant';
  connections: number;
  threads: number;
  durationS: number;
  warmupS: number;
  /** Closed loop: requests in flight per connection. */
  depth: number;
  keys: number;
  keySize: number;
  keyDistribution: 'uniform' | 'zipf';
  zipfS: number;
  getRatio: number;
  valueSize: number;
  valueSizes?: { size: number; weight: number }[];
  preload: boolean;
  paths: string[];
  timeoutMs: number;
  seed: number;
  histogram: boolean;
}

export function loadOptionsFromWorkload(
  workload: Workload,
  target: { host: string; port: number; protocol: Protocol },
  overrides: Partial<LoadOptions> = {},
): LoadOptions {
  return {
    host: target.host,
    port: target.port,
    protocol: target.protocol,
    rate: workload.qps,
    arrival: workload.arrival,
    connections: workload.connections,
    threads: workload.threads,
    durationS: workload.durationS,
    warmupS: workload.warmupS,
    depth: 1,
    keys: workload.keys,
    keySize: workload.keySize,
    keyDistribution: workload.keyDistribution,
    zipfS: workload.zipfS,
    getRatio: workload.getRatio,
    valueSize: workload.valueSize,
    ...(workload.valueSizes ? { valueSizes: workload.valueSizes } : {}),
    preload: workload.preload && target.protocol !== 'http',
    paths: workload.paths,
    timeoutMs: workload.timeoutMs,
    seed: 1,
    histogram: false,
    ...overrides,
  };
}

export function dittoLoadArgv(o: LoadOptions): string[] {
  const flags: [string, string | number][] = [
    ['--host', o.host],
    ['--port', o.port],
    ['--protocol', o.protocol],
    ['--rate', o.rate],
    ['--arrival', o.arrival],
    ['--connections', o.connections],
    ['--threads', o.threads],
    ['--duration', o.durationS],
    ['--warmup', o.warmupS],
    ['--depth', o.depth],
    ['--timeout-ms', o.timeoutMs],
    ['--seed', o.seed],
  ];
  if (o.protocol === 'http') {
    flags.push(['--paths', o.paths.join(',')]);
  } else {
    flags.push(
      ['--keys', o.keys],
      ['--key-size', o.keySize],
      ['--key-dist', o.keyDistribution],
      ['--zipf-s', o.zipfS],
      ['--get-ratio', o.getRatio],
      o.valueSizes
        ? ['--value-sizes', o.valueSizes.map((v) => `${v.size}:${v.weight}`).join(',')]
        : ['--value-size', o.valueSize],
    );
  }
  const argv = flags.flatMap(([flag, value]) => [flag, String(value)]);
  if (o.preload && o.protocol !== 'http') argv.push('--preload');
  if (o.histogram) argv.push('--histogram');
  return argv;
}
