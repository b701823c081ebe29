import assert from 'node:assert/strict';
import test from 'node:test';
import { comparisonSchema, type Measurement } from '../../../src/artifacts/measurement.ts';
import { compareMeasurements } from '../../../src/compare/compare.ts';
import { heldOutLoads } from '../../../src/measure/comparison.ts';
import { comparedGoal, goalFor } from '../../../src/report/goals.ts';

const measurement = (scale: number): Measurement => ({
  schemaVersion: 1,
  role: scale === 1 ? 'original' : 'clone',
  protocol: 'memcached',
  loads: [{ rate: 2000, achievedRate: 2000, p50Us: 50 * scale, p95Us: 90 * scale, p99Us: 200 * scale }],
  saturationRps: 100_000,
  perRequest: {
    cpuUserUs: 5,
    cpuSystemUs: 15 * scale,
    cpuBackgroundUs: 2 * scale,
    voluntarySwitches: 1,
    involuntarySwitches: 0,
    cpuSplit: 'perf',
  },
  kernel: {
    syscallsPerRequest: { read: 1, sendmsg: 1, epoll_wait: 0.98, clock_nanosleep: 0.02 * scale },
    networkInBytes: 30,
    networkOutBytes: 1000 * scale,
    diskReadBytes: 0,
    diskWriteBytes: 0,
    threadsByRole: { network: 4, acceptor: 1 },
  },
  simulated: [
    {
      platform: 'A',
      instructionsPerRequest: 3500,
      l1iMissRatio: 0.001,
      l1dMissRatio: 0.02 * scale,
      l2MissRatio: 0.1,
      llcMissRatio: 0.5,
      branchMispredictRate: 0.03,
      conditionalMispredictRate: 0.025,
      indirectMispredictRate: 0.2 * scale,
      mpki: null,
      tlbMpki: { itlb: 0, dtlb: 2.4 * scale, stlb: 0.2 },
    },
  ],
});

test('relative errors per metric, with load and platform', () => {
  const c = comparisonSchema.parse(
    compareMeasurements(measurement(1), measurement(1.1), { target: 't', self: false }),
  );
  const get = (metric: string) => c.metrics.find((m) => m.metric === metric);
  assert.ok(Math.abs((get('p50_us')?.relError ?? 0) - 0.1) < 1e-9);
  assert.equal(get('p50_us')?.load, 2000);
  assert.equal(get('l1d_miss_rate')?.platform, 'A');
  assert.ok(Math.abs((get('l1d_miss_rate')?.relError ?? 0) - 0.1) < 1e-9);
  assert.equal(get('saturation_rps')?.relError, 0);
  assert.equal(get('disk_read_bytes_per_request')?.relError, 0);
  assert.equal(get('threads_network')?.clone, 4);
  // Syscalls under 5 % of the original's calls are not compared: noise.
  assert.equal(get('syscall_clock_nanosleep_per_request'), undefined);
  assert.ok(get('syscall_sendmsg_per_request'));
  assert.ok(Math.abs((get('indirect_mispredict_rate')?.relError ?? 0) - 0.1) < 1e-9);
  assert.equal(get('conditional_mispredict_rate')?.relError, 0);
});

test('TLB misses per 1000 instructions are shown per platform, without a goal; measurements without them show none', () => {
  const c = compareMeasurements(measurement(1), measurement(1.1), { target: 't', self: false });
  const dtlb = c.metrics.find((m) => m.metric === 'dtlb_mpki');
  assert.equal(dtlb?.platform, 'A');
  assert.ok(Math.abs((dtlb?.relError ?? 0) - 0.1) < 1e-9);
  assert.equal(c.metrics.find((m) => m.metric === 'itlb_mpki')?.relError, 0);
  assert.equal(goalFor('dtlb_mpki'), null);
  const older = measurement(1.1);
  for (const s of older.simulated) s.tlbMpki = null;
  const without = compareMeasurements(measurement(1), older, { target: 't', self: false });
  assert.ok(!without.metrics.some((m) => m.metric.endsWith('tlb_mpki')));
});

test('mispredicts of conditional branches and of indirect jumps are shown apart, judged only in total', () => {
  const c = compareMeasurements(measurement(1), measurement(1.1), { target: 't', self: false });
  const metrics = c.metrics.map((m) => m.metric);
  assert.ok(metrics.includes('conditional_mispredict_rate') && metrics.includes('indirect_mispredict_rate'));
  assert.equal(goalFor('indirect_mispredict_rate'), null);
  assert.equal(goalFor('conditional_mispredict_rate'), null);
  assert.equal(goalFor('branch_mispredict_rate'), 0.05);
});

test("background threads' CPU is judged where they take 5% of the original's CPU or more", () => {
  const busy = compareMeasurements(measurement(1), measurement(1.1), { target: 't', self: false });
  const row = busy.metrics.find((m) => m.metric === 'cpu_background_us_per_request');
  assert.ok(row && Math.abs((row.relError ?? 0) - 0.1) < 1e-9);
  assert.equal(comparedGoal(row, busy), 0.1);
  const original = measurement(1);
  if (original.perRequest) original.perRequest.cpuBackgroundUs = 0.5;
  const idle = compareMeasurements(original, measurement(1.1), { target: 't', self: false });
  const idleRow = idle.metrics.find((m) => m.metric === 'cpu_background_us_per_request');
  assert.ok(idleRow);
  assert.equal(comparedGoal(idleRow, idle), null);
  // Measurements made before background threads were told apart have no such row.
  const older = measurement(1);
  if (older.perRequest) older.perRequest.cpuBackgroundUs = null;
  const none = compareMeasurements(older, measurement(1.1), { target: 't', self: false });
  assert.equal(
    none.metrics.find((m) => m.metric === 'cpu_background_us_per_request'),
    undefined,
  );
});

test('an original of 0 gives no relative error unless the clone is 0 too', () => {
  const o = measurement(1);
  const c = measurement(1);
  if (o.kernel && c.kernel) c.kernel.diskWriteBytes = 10;
  const result = compareMeasurements(o, c, { target: 't', self: false });
  assert.equal(result.metrics.find((m) => m.metric === 'disk_write_bytes_per_request')?.relError, null);
});

test('held-out loads avoid the profiled rate and stay below saturation', () => {
  assert.deepEqual(heldOutLoads(100_000, 5000), [20_000, 45_000, 75_000]);
  // 20 % of 25k is the profiled 5k: the low point moves to 30 %.
  assert.deepEqual(heldOutLoads(25_000, 5000), [7500, 11_300, 18_800]);
});
