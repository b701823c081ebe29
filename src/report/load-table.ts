// Console table of load results: one row per run.
import type { LoadResult } from '../artifacts/load-result.ts';
import { formatTable } from './table.ts';

const us = (v: number | null) =>
  v === null ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)}ms` : `${v.toFixed(0)}us`;
const rate = (v: number | null) => (v === null ? 'max' : Math.round(v).toLocaleString('en-US'));

export function formatLoadTable(results: readonly LoadResult[]): string {
  const rows = results.map((r) => [
    rate(r.requestedRate),
    rate(r.achievedRate),
    us(r.latencyUs.p50),
    us(r.latencyUs.p90),
    us(r.latencyUs.p99),
    us(r.latencyUs.p999),
    us(r.latencyUs.max),
    String(r.errors + (r.timeouts ?? 0) + (r.protocolErrors ?? 0)),
    r.rateReached === false ? 'saturated' : '',
  ]);
  return formatTable(['requested/s', 'achieved/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'errors', ''], rows);
}
