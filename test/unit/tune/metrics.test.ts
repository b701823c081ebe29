import assert from 'node:assert/strict';
import test from 'node:test';
import type { Comparison } from '../../../src/artifacts/measurement.ts';
import { tuningMetrics } from '../../../src/tune/metrics.ts';

test("the tuner aims at the judged metrics and at the indirect jumps' share of the mispredicts", () => {
  const row = (metric: string, original: number, clone: number) => ({
    group: 'uarch' as const,
    metric,
    platform: 'A',
    load: null,
    original,
    clone,
    relError: Math.abs(clone - original) / original,
  });
  const comparison = {
    metrics: [
      row('branch_mispredict_rate', 0.03, 0.031),
      row('conditional_mispredict_rate', 0.012, 0.02),
      row('indirect_mispredict_rate', 0.26, 0.14),
      row('voluntary_switches_per_request', 1, 1.2),
    ],
    original: { saturationRps: 1000, kernel: null, perRequest: null },
  } as unknown as Comparison;
  const metrics = tuningMetrics(comparison);
  assert.deepEqual(
    metrics.map((m) => [m.metric, m.goal]),
    [
      ['branch_mispredict_rate', 0.05],
      ['indirect_mispredict_rate', 0.05],
    ],
  );
});
