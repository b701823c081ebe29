// Benchmark of the load generator, side by side in one run on real servers at 127.0.0.1:
//  (a) requested vs achieved rate at 1k, 10k and 50k req/s (goal: within 1 %);
//  (b) closed-loop maximum throughput of ditto-load vs memcaslap (memcached) and vs redis-benchmark (redis),
//      alternating the tools and taking medians because this machine is shared and noisy (goal: ≥ 1.0×);
//  (c) the generator's own CPU time per request.
import type { LoadResult } from '../../src/artifacts/load-result.ts';
import { runDittoLoad, runExternalClient } from '../../src/collect/load/run.ts';
import { median, withTarget } from '../../src/measure/measure.ts';
import { loadOptionsForTarget } from '../../src/measure/sweep.ts';
import type { RunningTarget } from '../../src/measure/target.ts';
import { packagePath } from '../../src/package-root.ts';
import { formatTable } from '../../src/report/table.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';

const example = (name: string) => loadTargetSpec(packagePath('examples', `${name}.yaml`));
const durationS = Number(process.env.BENCH_DURATION_S ?? 5);
const repeats = Number(process.env.BENCH_REPEATS ?? 3);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function rateAccuracy(target: RunningTarget): Promise<void> {
  const rows: (string | number)[][] = [];
  for (const arrival of ['constant', 'poisson'] as const) {
    for (const rate of [1000, 10_000, 50_000]) {
      const r = await runDittoLoad(
        loadOptionsForTarget(target, {
          rate,
          arrival,
          durationS,
          warmupS: 1,
          connections: 16,
          threads: 2,
          preload: rate === 1000,
        }),
      );
      rows.push([
        arrival,
        fmt(rate),
        fmt(r.achievedRate, 1),
        `${fmt((100 * (r.achievedRate - rate)) / rate, 2)}%`,
        fmt(r.latencyUs.p50 ?? Number.NaN, 0),
        fmt(r.latencyUs.p99 ?? Number.NaN, 0),
        fmt(r.clientCpuPerRequestUs ?? Number.NaN, 2),
        r.errors + (r.timeouts ?? 0),
      ]);
    }
  }
  console.log('(a) memcached: requested vs achieved rate, and (c) generator CPU per request');
  console.log(
    formatTable(
      ['arrival', 'requested/s', 'achieved/s', 'error', 'p50 us', 'p99 us', 'client CPU us/req', 'errors'],
      rows,
    ),
  );
}

async function maxThroughput(
  target: RunningTarget,
  external: () => Promise<LoadResult>,
  label: string,
): Promise<void> {
  const ours: LoadResult[] = [];
  const theirs: LoadResult[] = [];
  for (let i = 0; i < repeats; i++) {
    ours.push(
      await runDittoLoad(
        loadOptionsForTarget(target, {
          rate: 0,
          durationS,
          warmupS: 0.5,
          connections: 32,
          threads: 2,
          preload: i === 0,
        }),
      ),
    );
    theirs.push(await external());
  }
  const a = median(ours.map((r) => r.achievedRate));
  const b = median(theirs.map((r) => r.achievedRate));
  console.log(
    `(b) ${label}: closed-loop max throughput, median of ${repeats}: ditto-load ${fmt(a)} req/s ` +
      `(client CPU ${fmt(median(ours.map((r) => r.clientCpuPerRequestUs ?? 0)), 2)} us/req), ` +
      `${theirs[0]?.tool} ${fmt(b)} req/s, ratio ${fmt(a / b, 2)}x`,
  );
}

await withTarget(example('memcached'), async (target) => {
  await rateAccuracy(target);
  const spec = { ...target.spec, workload: { ...target.spec.workload, connections: 32, durationS } };
  await maxThroughput(target, () => runExternalClient(spec, target.host, target.port), 'memcached');
});

await withTarget(example('redis'), async (target) => {
  // redis-benchmark runs -n requests per test (GET, SET): size it to last about durationS at ~100k req/s.
  const spec = {
    ...target.spec,
    workload: { ...target.spec.workload, connections: 32, qps: 50_000, durationS },
  };
  await maxThroughput(target, () => runExternalClient(spec, target.host, target.port), 'redis');
});
