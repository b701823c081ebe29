// Console tables of a report: one per metric group, with the goal and the verdict of every metric.
import type { Report } from '../artifacts/report.ts';
import { formatNumber } from './comparison-table.ts';
import { formatTable } from './table.ts';

/** A relative error as a percentage; n/a when the original is 0 and the clone is not. */
export const formatError = (e: number | null) => (e === null ? 'n/a' : `${(100 * e).toFixed(1)}%`);

const verdict = (pass: boolean | null) => (pass === null ? '' : pass ? '✓' : '✗');

/** "3 of 4 within goal", or "no goals" for a group that is only shown. */
export const groupVerdict = (g: { passed: number; failed: number }) =>
  g.passed + g.failed === 0 ? 'no goals' : `${g.passed} of ${g.passed + g.failed} within goal`;

/** A load in requests per second, with thousands separators. */
export const formatRate = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`;

/** The cells of one group's table (the load and platform columns only where a row has one) and each verdict. */
export function groupTable(
  report: Report,
  g: Report['groups'][number],
): { headers: string[]; rows: string[][]; verdicts: (boolean | null)[] } {
  const noise = report.inputs.self;
  const withLoad = g.rows.some((r) => r.load !== null);
  const withPlatform = g.rows.some((r) => r.platform !== null);
  return {
    headers: [
      'metric',
      ...(withLoad ? ['load'] : []),
      ...(withPlatform ? ['platform'] : []),
      'original',
      'clone',
      'error',
      'goal',
      ...(noise ? ['noise'] : []),
    ],
    rows: g.rows.map((r) => [
      r.label,
      ...(withLoad ? [r.load === null ? '' : formatRate(r.load)] : []),
      ...(withPlatform ? [r.platform ?? ''] : []),
      formatNumber(r.original),
      formatNumber(r.clone),
      formatError(r.relError),
      r.goal === null ? '-' : `≤ ${formatError(r.goal)}`,
      ...(noise ? [r.noise === null ? '-' : formatError(r.noise)] : []),
    ]),
    verdicts: g.rows.map((r) => r.pass),
  };
}

export function formatReport(report: Report): string {
  const tables = report.groups.map((g) => {
    const { headers, rows, verdicts } = groupTable(report, g);
    const body = rows.map((r, i) => [...r, verdict(verdicts[i] ?? null)]);
    return `${g.group}: ${groupVerdict(g)}\n${formatTable([...headers, ''], body)}`;
  });
  const { passed, failed } = report.summary;
  const noise = report.inputs.self ? ' (noise: the original against a second run of itself)' : '';
  const lines = [
    `${report.target}: ${passed} of ${passed + failed} metrics within their goals${noise}`,
    ...tables,
  ];
  const t = report.tuning;
  if (t)
    lines.push(
      `tuning: ${t.iterations.length} iteration(s), kept iteration ${t.best}, stopped: ${t.stopReason}`,
    );
  return lines.join('\n\n');
}
