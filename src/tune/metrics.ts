// A comparison at the profiled load → the metric rows of one tuning iteration (pure): every metric that has a
// goal (src/report/goals.ts), with that goal.
import type { Comparison } from '../artifacts/measurement.ts';
import { comparedGoal } from '../report/goals.ts';
import type { TuningMetric } from './propose.ts';

export function tuningMetrics(comparison: Comparison): TuningMetric[] {
  return comparison.metrics.flatMap((m) => {
    const goal = comparedGoal(m, comparison);
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
