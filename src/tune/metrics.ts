// A comparison at the profiled load → the metric rows of one tuning iteration (pure): every metric that has a
// goal (src/report/goals.ts), with that goal.
import type { Comparison } from '../artifacts/measurement.ts';
import { goalFor } from '../report/goals.ts';
import type { TuningMetric } from './propose.ts';

export function tuningMetrics(comparison: Comparison): TuningMetric[] {
  const calls = Object.values(comparison.original.kernel?.syscallsPerRequest ?? {});
  const totalCalls = calls.reduce((s, v) => s + v, 0);
  return comparison.metrics.flatMap((m) => {
    const name = /^syscall_(.+)_per_request$/.exec(m.metric)?.[1];
    const share =
      name !== undefined && totalCalls > 0
        ? (comparison.original.kernel?.syscallsPerRequest[name] ?? 0) / totalCalls
        : undefined;
    const goal = goalFor(m.metric, {
      load: m.load,
      saturationRps: comparison.original.saturationRps,
      ...(share === undefined ? {} : { syscallShare: share }),
    });
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
