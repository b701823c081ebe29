// Parses memcaslap output (needs -S for latency statistics) into a LoadResult (pure).
import type { LoadResult } from '../../artifacts/load-result.ts';
import { DittoError } from '../../errors.ts';
import { loadWarnings } from './warnings.ts';

/**
 * The "Total Statistics" log2 histogram: in `k: c0 c1 c2 c3`, ci counts latencies in (2^(k+i-1), 2^(k+i)] µs
 * (memaslap files a latency under the smallest power of two that is not below it).
 */
function log2Buckets(block: string): [number, number][] {
  const buckets: [number, number][] = [];
  for (const m of block.matchAll(/^\s+(\d+):((?:\s+\d+)+)\s*$/gm)) {
    const first = Number(m[1]);
    (m[2] ?? '')
      .trim()
      .split(/\s+/)
      .forEach((count, i) => {
        buckets.push([2 ** (first + i), Number(count)]);
      });
  }
  return buckets;
}

function percentile(buckets: [number, number][], q: number): number | null {
  const total = buckets.reduce((s, [, c]) => s + c, 0);
  if (total === 0) return null;
  let seen = 0;
  for (const [upper, count] of buckets) {
    seen += count;
    if (seen >= q * total) return upper;
  }
  return buckets.at(-1)?.[0] ?? null;
}

export function parseMemcaslapOutput(text: string, target: string): LoadResult {
  const run = /Run time: ([\d.]+)s Ops: (\d+) TPS: (\d+)/.exec(text);
  if (!run)
    throw new DittoError('DITTO_LOAD_FAILED', `memcaslap output has no summary: ${text.slice(0, 200)}`);
  const totalBlock = /Total Statistics \(\d+ events\)([\s\S]*?)(?:\n\s*\n|$)/.exec(text)?.[1];
  if (!totalBlock) {
    throw new DittoError('DITTO_LOAD_FAILED', 'memcaslap output has no latency statistics', {
      hint: 'add -S <duration>s to the client args of the target spec',
    });
  }
  const stat = (name: string) => {
    const m = new RegExp(`${name}:\\s+([\\d.]+)`).exec(totalBlock);
    return m ? Number(m[1]) : null;
  };
  const buckets = log2Buckets(totalBlock);
  const p50 = percentile(buckets, 0.5);
  const p99 = percentile(buckets, 0.99);
  if (p50 === null || p99 === null)
    throw new DittoError('DITTO_LOAD_FAILED', 'memcaslap latency histogram is empty');
  const number = (name: string) => {
    const m = new RegExp(`^${name}: (\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  const ops = Number(run[2]);
  const result: LoadResult = {
    schemaVersion: 1,
    tool: 'memcaslap',
    protocol: 'memcached',
    target,
    mode: 'closed',
    requestedRate: null,
    achievedRate: Number(run[3]),
    durationS: Number(run[1]),
    connections: number('concurrency') ?? 0,
    requests: ops,
    responses: ops,
    errors: 0,
    timeouts: null,
    protocolErrors: null,
    bytesSent: number('written_bytes'),
    bytesReceived: number('read_bytes'),
    latencyUs: {
      min: stat('Min'),
      mean: stat('Avg'),
      p50,
      p90: percentile(buckets, 0.9),
      p95: percentile(buckets, 0.95),
      p99,
      p999: percentile(buckets, 0.999),
      max: stat('Max'),
    },
    rateReached: null,
    clientCpuPerRequestUs: null,
    histogram: buckets.filter(([, c]) => c > 0),
    warnings: [],
  };
  result.warnings = [
    ...loadWarnings(result),
    'memcaslap percentiles are upper bounds of log2 buckets (up to 2x coarse)',
  ];
  return result;
}
