// The fidelity goals of issue 5: the largest relative error each compared metric may have (pure). The report
// judges with them and the tuner aims at them, so this table is the one place they are written down.
import type { Comparison } from '../artifacts/measurement.ts';

export interface GoalRule {
  /** Metric names of src/compare/compare.ts this rule covers. */
  match: RegExp;
  /** The largest relative error |clone − original| / original that passes. */
  maxRelError: number;
  /** The goal in words, for the report. */
  text: string;
  /** Where the goal holds: only at loads below the original's saturation, only for calls of a large share, only
   * where the original's background threads take a large share of its CPU. */
  only?: 'below-saturation' | 'frequent-syscalls' | 'busy-background';
}

export const goalRules: readonly GoalRule[] = [
  {
    match: /^(branch_mispredict|l1i_miss|l1d_miss|l2_miss|llc_miss)_rate$/,
    maxRelError: 0.05,
    text: 'simulated branch mispredict and cache miss rates ≤ 5% each',
  },
  { match: /^instructions_per_request$/, maxRelError: 0.02, text: 'instructions per request ≤ 2%' },
  {
    match: /^syscall_.+_per_request$/,
    maxRelError: 0.05,
    text: 'syscalls per request ≤ 5% per call that makes ≥ 5% of calls',
    only: 'frequent-syscalls',
  },
  {
    match: /^(network_(in|out)|disk_(read|write))_bytes_per_request$/,
    maxRelError: 0.01,
    text: 'network and disk bytes per request ≤ 1%',
  },
  {
    match: /^cpu_(user|system)_us_per_request$/,
    maxRelError: 0.1,
    text: 'user and system CPU time per request ≤ 10%',
  },
  {
    match: /^cpu_background_us_per_request$/,
    maxRelError: 0.1,
    text: "CPU time per request of background threads ≤ 10%, where they take ≥ 5% of the original's",
    only: 'busy-background',
  },
  {
    match: /^p(50|99)_us$/,
    maxRelError: 0.1,
    text: "latency p50 and p99 ≤ 10% at every load below the original's saturation",
    only: 'below-saturation',
  },
  { match: /^saturation_rps$/, maxRelError: 0.1, text: 'saturation throughput ≤ 10%' },
];

/** A syscall has a goal only when it makes at least this share of the original's calls. */
export const syscallShareFloor = 0.05;
/** Background threads' CPU time has a goal only when it is at least this share of the original's. */
export const backgroundShareFloor = 0.05;

export interface GoalContext {
  /** The load the metric was measured at (latency metrics); null or absent for load-independent metrics. */
  load?: number | null;
  /** The original's saturation throughput: latency at or above it has no goal. */
  saturationRps?: number;
  /** For syscall metrics: the call's share of all the original's calls per request. */
  syscallShare?: number;
  /** The original's background threads' share of its CPU time (absent: unknown, and the metric is not judged). */
  backgroundShare?: number;
}

/** The largest relative error the metric may have, or null when no goal covers it (it is shown, not judged). */
export function goalFor(metric: string, context: GoalContext = {}): number | null {
  const rule = goalRules.find((r) => r.match.test(metric));
  if (!rule) return null;
  const { load, saturationRps, syscallShare, backgroundShare } = context;
  if (
    rule.only === 'below-saturation' &&
    load != null &&
    saturationRps !== undefined &&
    load >= saturationRps
  )
    return null;
  if (rule.only === 'frequent-syscalls' && syscallShare !== undefined && syscallShare < syscallShareFloor)
    return null;
  if (rule.only === 'busy-background' && (backgroundShare ?? 0) < backgroundShareFloor) return null;
  return rule.maxRelError;
}

/** The goal of one metric of a comparison, in its context: the load, the original's saturation, the call's share. */
export function comparedGoal(m: Comparison['metrics'][number], comparison: Comparison): number | null {
  const calls = comparison.original.kernel?.syscallsPerRequest ?? {};
  const total = Object.values(calls).reduce((s, v) => s + v, 0);
  const syscall = /^syscall_(.+)_per_request$/.exec(m.metric)?.[1];
  const cpu = comparison.original.perRequest;
  const cpuTotal = cpu ? cpu.cpuUserUs + cpu.cpuSystemUs : 0;
  return goalFor(m.metric, {
    load: m.load,
    saturationRps: comparison.original.saturationRps,
    ...(syscall !== undefined && total > 0 ? { syscallShare: (calls[syscall] ?? 0) / total } : {}),
    ...(cpuTotal > 0 ? { backgroundShare: (cpu?.cpuBackgroundUs ?? 0) / cpuTotal } : {}),
  });
}

/** Pass: the error is known and within the goal (an original of 0 passes only when the clone is 0 too). */
export function meetsGoal(relError: number | null, goal: number): boolean {
  return relError !== null && relError <= goal + 1e-12;
}
