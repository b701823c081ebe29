// The console table of `ditto tune` (pure): each metric's error before tuning (iteration 0) and after (the best).
import type { Tuning } from '../artifacts/tuning.ts';
import { formatTable } from '../report/table.ts';
import { knobPairings } from './propose.ts';

const percent = (e: number | null) => (e === null ? 'n/a' : `${(100 * e).toFixed(1)}%`);
const value = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));

export function formatTuning(tuning: Tuning): string {
  const first = tuning.iterations[0];
  const best = tuning.iterations[tuning.best];
  if (!first || !best) return 'no iteration was measured';
  const tuned = new Set(knobPairings.map((p) => p.metric));
  const rows = first.metrics.map((m) => {
    const after = best.metrics.find((x) => x.metric === m.metric && x.platform === m.platform);
    const pass = after?.relError != null && after.relError <= m.goal + 1e-12;
    return [
      `${m.metric}${tuned.has(m.metric) ? ' *' : ''}`,
      m.platform ?? '',
      value(m.original),
      percent(m.relError),
      after ? value(after.clone) : 'n/a',
      percent(after?.relError ?? null),
      `≤ ${percent(m.goal)}`,
      pass ? '✓' : '✗',
    ];
  });
  const knobs = Object.entries(best.knobs)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    formatTable(
      ['metric', 'platform', 'original', 'error before', 'clone after', 'error after', 'goal', ''],
      rows,
    ),
    '',
    `* tuned. ${tuning.iterations.length} iteration(s) at ${tuning.load} req/s, stopped: ${tuning.stopReason}; ` +
      `best: iteration ${tuning.best} (${knobs || 'knobs as profiled'})`,
  ].join('\n');
}
