import assert from 'node:assert/strict';
import test from 'node:test';
import type { Measurement } from '../../../src/artifacts/measurement.ts';
import { medianSimulated } from '../../../src/measure/measure.ts';

type Simulated = Measurement['simulated'][number];

const window = (platform: string, llc: number, extra: Partial<Simulated> = {}): Simulated => ({
  platform,
  instructionsPerRequest: 8000 + llc * 1000,
  l1iMissRatio: 0.001,
  l1dMissRatio: 0.018,
  l2MissRatio: 0.05,
  llcMissRatio: llc,
  branchMispredictRate: 0.03,
  conditionalMispredictRate: 0.02,
  indirectMispredictRate: null,
  mpki: { l1i: 8, l1d: 40, l2: 2, llc: llc * 2 },
  tlbMpki: null,
  ...extra,
});

test("per platform, each figure's median over the windows: one outlier window moves nothing", () => {
  // redis-aof's LLC ratio in three starts under valgrind: 0.0024, 0.072 (the outlier the tuner once aimed at), 0.0012.
  const runs = [
    [window('A', 0.0024), window('B', 0.0004)],
    [window('A', 0.072, { tlbMpki: { itlb: 0, dtlb: 3, stlb: 0.2 } }), window('B', 0.0005)],
    [
      window('A', 0.0012, { indirectMispredictRate: 0.25, tlbMpki: { itlb: 0, dtlb: 1, stlb: 0.1 } }),
      window('B', 0.0003),
    ],
  ];
  const [a, b] = medianSimulated(runs);
  assert.equal(a?.platform, 'A');
  assert.equal(a?.llcMissRatio, 0.0024);
  assert.equal(a?.instructionsPerRequest, 8002.4);
  assert.equal(a?.mpki?.llc, 0.0048);
  assert.equal(b?.llcMissRatio, 0.0004);
  // A figure only some windows have: the median of those that have it.
  assert.equal(a?.indirectMispredictRate, 0.25);
  assert.equal(a?.tlbMpki?.dtlb, 2);
  assert.ok(Math.abs((a?.tlbMpki?.stlb ?? 0) - 0.15) < 1e-12);
  assert.equal(b?.tlbMpki, null);
  assert.deepEqual(medianSimulated([runs[0] ?? []]), runs[0]);
});
