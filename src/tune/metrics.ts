// A comparison at the profiled load → the metric rows of one tuning iteration (pure): every metric that has a
// goal (src/report/goals.ts), with that goal, and the parts of a judged metric the tuner moves apart, with its.
import type { Comparison } from '../artifacts/measurement.ts';
import { negligibleMpki } from '../collect/valgrind/geometry.ts';
import { comparedGoal, goalFor } from '../report/goals.ts';
import type { TuningMetric } from './propose.ts';

/** Metrics shown, not judged, that the tuner aims at with the goal of the metric they are part of. */
const partOf: Record<string, string> = { indirect_mispredict_rate: 'branch_mispredict_rate' };

/** The judged metric a metric is part of, if it is a part: it steers its knob, and counts neither in an
 * iteration's score nor in convergence. */
export const wholeOf = (metric: string): string | undefined => partOf[metric];

/** The miss level whose misses per kilo-instruction a local miss ratio counts (its numerator). */
const missLevel: Record<string, 'l2' | 'llc'> = { l2_miss_rate: 'l2', llc_miss_rate: 'llc' };

function negligible(comparison: Comparison, metric: string, platform: string | null): boolean {
  const level = missLevel[metric];
  if (!level) return false;
  const mpki = (m: Comparison['original']) => m.simulated.find((s) => s.platform === platform)?.mpki?.[level];
  const o = mpki(comparison.original);
  const c = mpki(comparison.clone);
  return o !== undefined && c !== undefined && o < negligibleMpki && c < negligibleMpki;
}

export function tuningMetrics(comparison: Comparison): TuningMetric[] {
  return comparison.metrics.flatMap((m) => {
    const whole = wholeOf(m.metric);
    const goal = whole ? goalFor(whole) : comparedGoal(m, comparison);
    if (goal === null) return [];
    return [
      {
        metric: m.metric,
        platform: m.platform,
        original: m.original,
        clone: m.clone,
        relError: m.relError,
        goal,
        negligible: negligible(comparison, m.metric, m.platform),
      },
    ];
  });
}
