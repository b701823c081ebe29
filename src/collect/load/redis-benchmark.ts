// Parses redis-benchmark --csv output into a LoadResult (pure). One row per test (GET, SET, ...).
import type { LoadResult } from '../../artifacts/load-result.ts';
import { DittoError } from '../../errors.ts';
import { loadWarnings } from './warnings.ts';

interface Row {
  test: string;
  rps: number;
  avg: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

function parseRows(text: string): Row[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('"'));
  const header = lines[0]?.split(',').map((c) => c.replaceAll('"', ''));
  if (header?.[0] !== 'test' || !header.includes('p99_latency_ms')) {
    throw new DittoError('DITTO_LOAD_FAILED', 'redis-benchmark output has no CSV header', {
      hint: 'add --csv to the client args of the target spec',
    });
  }
  return lines.slice(1).map((line) => {
    const cells = line.split(',').map((c) => c.replaceAll('"', ''));
    const get = (name: string) => Number(cells[header.indexOf(name)]);
    return {
      test: cells[0] ?? '',
      rps: get('rps'),
      avg: get('avg_latency_ms') * 1000,
      min: get('min_latency_ms') * 1000,
      p50: get('p50_latency_ms') * 1000,
      p95: get('p95_latency_ms') * 1000,
      p99: get('p99_latency_ms') * 1000,
      max: get('max_latency_ms') * 1000,
    };
  });
}

/** `requestsPerTest` is the -n the benchmark ran with: each test sends that many requests in turn. */
export function parseRedisBenchmarkCsv(
  text: string,
  target: string,
  run: { requestsPerTest: number; connections: number },
): LoadResult {
  const rows = parseRows(text);
  if (rows.length === 0) throw new DittoError('DITTO_LOAD_FAILED', 'redis-benchmark printed no results');
  const seconds = rows.reduce((s, r) => s + run.requestsPerTest / r.rps, 0);
  const requests = run.requestsPerTest * rows.length;
  // Tests run one after the other with equal request counts, so their mean is the request-weighted mean.
  const mean = (pick: (r: Row) => number) => rows.reduce((s, r) => s + pick(r), 0) / rows.length;
  const result: LoadResult = {
    schemaVersion: 1,
    tool: 'redis-benchmark',
    protocol: 'redis',
    target,
    mode: 'closed',
    requestedRate: null,
    achievedRate: requests / seconds,
    durationS: seconds,
    connections: run.connections,
    requests,
    responses: requests,
    errors: 0,
    timeouts: null,
    protocolErrors: null,
    bytesSent: null,
    bytesReceived: null,
    latencyUs: {
      min: Math.min(...rows.map((r) => r.min)),
      mean: mean((r) => r.avg),
      p50: mean((r) => r.p50),
      p90: null,
      p95: mean((r) => r.p95),
      p99: mean((r) => r.p99),
      p999: null,
      max: Math.max(...rows.map((r) => r.max)),
    },
    rateReached: null,
    clientCpuPerRequestUs: null,
    warnings: [],
  };
  result.warnings = [
    ...loadWarnings(result),
    ...(rows.length > 1
      ? [`percentiles are the mean over the tests ${rows.map((r) => r.test).join(', ')}`]
      : []),
  ];
  return result;
}
