import assert from 'node:assert/strict';
import test from 'node:test';
import type { Comparison } from '../../../src/artifacts/measurement.ts';
import { tuningMetrics } from '../../../src/tune/metrics.ts';

test('local L2 and LLC miss ratios are negligible when both sides miss under 0.01 per 1000 instructions', () => {
  const row = (metric: string, platform: string, original: number, clone: number) => ({
    group: 'uarch' as const,
    metric,
    platform,
    load: null,
    original,
    clone,
    relError: Math.abs(clone - original) / original,
  });
  const simulated = (platform: string, l2: number, llc: number) => ({
    platform,
    mpki: { l1i: 50, l1d: 5, l2, llc },
  });
  const comparison = {
    metrics: [
      row('l2_miss_rate', 'A', 4.6e-6, 6.4e-6),
      row('llc_miss_rate', 'A', 1, 0.2),
      row('l2_miss_rate', 'B', 1.9e-5, 4.8e-3),
      row('llc_miss_rate', 'B', 1, 0.5),
      row('l1d_miss_rate', 'A', 0.0066, 0.0069),
    ],
    original: { simulated: [simulated('A', 0.0003, 0.0003), simulated('B', 0.001, 0.001)] },
    clone: { simulated: [simulated('A', 0.0004, 0.0001), simulated('B', 0.3, 0.15)] },
  } as unknown as Comparison;
  assert.deepEqual(
    tuningMetrics(comparison).map((m) => [m.metric, m.platform, m.negligible]),
    [
      ['l2_miss_rate', 'A', true],
      ['llc_miss_rate', 'A', true],
      // The clone's misses count on B: the ratio there is steered on.
      ['l2_miss_rate', 'B', false],
      ['llc_miss_rate', 'B', false],
      ['l1d_miss_rate', 'A', false],
    ],
  );
  // Measurements made before the misses per 1000 instructions were kept: never negligible.
  const older = {
    ...comparison,
    original: { simulated: [{ platform: 'A', mpki: null }] },
  } as unknown as Comparison;
  assert.ok(tuningMetrics(older).every((m) => !m.negligible));
});

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
