// Console table of a comparison: original, clone and relative error per metric.
import type { Comparison } from '../artifacts/measurement.ts';
import { formatTable } from './table.ts';

/** A metric value for tables: whole from 100 up, two decimals from 1, three significant digits below. */
export const formatNumber = (v: number) =>
  Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v === 0 ? '0' : v.toPrecision(3);

export function formatComparison(c: Comparison): string {
  const rows = c.metrics.map((m) => [
    m.group,
    m.metric,
    m.load === null ? '' : String(m.load),
    m.platform ?? '',
    formatNumber(m.original),
    formatNumber(m.clone),
    m.relError === null ? 'n/a' : `${(100 * m.relError).toFixed(1)}%`,
  ]);
  const title = c.self
    ? `${c.target}: original vs a second run of itself (noise floor)`
    : `${c.target}: original vs clone`;
  return `${title}\n${formatTable(['group', 'metric', 'load', 'platform', c.self ? 'run 1' : 'original', c.self ? 'run 2' : 'clone', 'error'], rows)}`;
}
