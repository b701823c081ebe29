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

/** The miss level whose misses per kilo-instruction a local miss ratio counts (its numerator). */
const missLevel: Record<string, 'l2' | 'llc'> = { l2_miss_rate: 'l2', llc_miss_rate: 'llc' };

/**
 * Below this many misses per 1000 instructions a level's misses neither matter (at 100 ns each, under 0.1% of the
 * time of instructions that take 1 ns) nor make a ratio worth steering: nginx's L2 missed 0.0001 per 1000
 * instructions on platform A, a dozen cold misses per window, and its LLC ratio (LLC misses over those) went from
 * 0.28 to 1 between identical runs; the tuner chasing it drove the LLC tail knob to 20 and platform B's L2 misses
 * to 250 times the original's.
 */
export const negligibleMpki = 0.01;

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
