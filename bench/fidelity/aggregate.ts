// The fidelity bench's figures from its comparisons (pure): per metric and platform, each comparison's error
// collapsed over the held-out loads, then the median over the clone comparisons and over the self comparisons
// (the noise floor), judged against the goals of src/report/goals.ts.
import type { Comparison } from '../../src/artifacts/measurement.ts';
import { metricGroupSchema } from '../../src/artifacts/report.ts';
import { median } from '../../src/measure/measure.ts';
import { metricLabel } from '../../src/report/build.ts';
import { comparedGoal, meetsGoal } from '../../src/report/goals.ts';

/** One metric of one comparison, collapsed over the loads (latency: the mean over the loads that have a goal). */
interface Collapsed {
  key: string;
  metric: string;
  group: Comparison['metrics'][number]['group'];
  platform: string | null;
  /** Infinity when some relError is null (original 0, the other run not): it can never pass. */
  error: number;
  goal: number | null;
  perLoad: { load: number; error: number }[];
}

function collapse(comparison: Comparison): Collapsed[] {
  const byKey = new Map<string, Comparison['metrics']>();
  for (const m of comparison.metrics) {
    const key = `${m.metric}@${m.platform ?? ''}`;
    byKey.set(key, [...(byKey.get(key) ?? []), m]);
  }
  return [...byKey].map(([key, rows]) => {
    // Latency at or above the original's saturation has no goal; it is averaged only when no load has one.
    const judged = rows.filter((m) => comparedGoal(m, comparison) !== null);
    const used = judged.length > 0 ? judged : rows;
    const errors = used.map((m) => m.relError ?? Number.POSITIVE_INFINITY);
    const first = rows[0]!;
    return {
      key,
      metric: first.metric,
      group: first.group,
      platform: first.platform,
      error: errors.reduce((s, e) => s + e, 0) / errors.length,
      goal: judged[0] ? comparedGoal(judged[0], comparison) : null,
      perLoad: used.flatMap((m, i) => (m.load === null ? [] : [{ load: m.load, error: errors[i] ?? 0 }])),
    };
  });
}

export interface Row {
  metric: string;
  label: string;
  group: Collapsed['group'];
  platform: string | null;
  /** Per clone comparison, then their median. */
  errors: number[];
  error: number;
  /** Latency: the median error at each load, and the worst of them (the goal holds at every load). */
  perLoad: { load: number; error: number }[];
  worstLoad: number | null;
  /** Per self comparison, then their median; null without a self run that has the metric. */
  noises: number[];
  noise: number | null;
  goal: number | null;
  passGoal: boolean | null;
  passBeyondNoise: boolean | null;
}

export function aggregate(clones: Comparison[], selves: Comparison[]): Row[] {
  const cloneRuns = clones.map(collapse);
  const selfRuns = selves.map(collapse);
  const keys = [...new Set(cloneRuns.flatMap((run) => run.map((m) => m.key)))];
  const groupRank = (g: Row['group']) => metricGroupSchema.options.indexOf(g);
  const rows = keys.map((key): Row => {
    const seen = cloneRuns.flatMap((run) => run.filter((m) => m.key === key));
    const noises = selfRuns.flatMap((run) => run.filter((m) => m.key === key).map((m) => m.error));
    const first = seen[0]!;
    const error = median(seen.map((m) => m.error));
    const loads = [...new Set(seen.flatMap((m) => m.perLoad.map((p) => p.load)))].sort((a, b) => a - b);
    const perLoad = loads.map((load) => ({
      load,
      error: median(seen.flatMap((m) => m.perLoad.filter((p) => p.load === load).map((p) => p.error))),
    }));
    const noise = noises.length > 0 ? median(noises) : null;
    const goal = seen.find((m) => m.goal !== null)?.goal ?? null;
    // An unbounded noise floor (the original 0 in one run, not in the other) excuses nothing.
    const floor = noise !== null && Number.isFinite(noise) ? noise : 0;
    return {
      metric: first.metric,
      label: metricLabel(first.metric),
      group: first.group,
      platform: first.platform,
      errors: seen.map((m) => m.error),
      error,
      perLoad,
      worstLoad: perLoad.length > 0 ? Math.max(...perLoad.map((p) => p.error)) : null,
      noises,
      noise,
      goal,
      passGoal: goal === null ? null : meetsGoal(error, goal),
      passBeyondNoise: goal === null ? null : Number.isFinite(error) && meetsGoal(error - floor, goal),
    };
  });
  return rows.sort((a, b) => groupRank(a.group) - groupRank(b.group));
}
