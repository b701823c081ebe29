// A comparison at the profiled load → the metric rows of one tuning iteration (pure): every metric that has a
// goal (src/report/goals.ts), with that goal, and the parts of a judged metric the tuner moves apart, with its.
import type { Comparison } from '../artifacts/measurement.ts';
import { comparedGoal, goalFor } from '../report/goals.ts';
import type { TuningMetric } from './propose.ts';

/** Metrics shown, not judged, that the tuner aims at with the goal of the metric they are part of. */
const partOf: Record<string, string> = { indirect_mispredict_rate: 'branch_mispredict_rate' };

/** The judged metric a metric is part of, if it is a part: it steers its knob, and counts neither in an
 * iteration's score nor in convergence. */
export const wholeOf = (metric: string): string | undefined => partOf[metric];

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
      },
    ];
  });
}
