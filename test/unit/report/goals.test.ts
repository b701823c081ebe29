import assert from 'node:assert/strict';
import test from 'node:test';
import { goalFor, goalRules, meetsGoal, syscallShareFloor } from '../../../src/report/goals.ts';

test('every goal of the issue, by metric name', () => {
  const expected: Record<string, number> = {
    branch_mispredict_rate: 0.05,
    l1i_miss_rate: 0.05,
    l1d_miss_rate: 0.05,
    l2_miss_rate: 0.05,
    llc_miss_rate: 0.05,
    instructions_per_request: 0.02,
    syscall_read_per_request: 0.05,
    network_in_bytes_per_request: 0.01,
    network_out_bytes_per_request: 0.01,
    disk_read_bytes_per_request: 0.01,
    disk_write_bytes_per_request: 0.01,
    cpu_user_us_per_request: 0.1,
    cpu_system_us_per_request: 0.1,
    p50_us: 0.1,
    p99_us: 0.1,
    saturation_rps: 0.1,
  };
  for (const [metric, goal] of Object.entries(expected)) assert.equal(goalFor(metric), goal, metric);
  assert.equal(goalRules.length, 8);
});

test('metrics without a goal are shown, not judged', () => {
  for (const metric of ['p95_us', 'voluntary_switches_per_request', 'threads_network', 'something_else'])
    assert.equal(goalFor(metric), null, metric);
});

test("background threads' CPU has a goal only where they take 5% of the original's CPU or more", () => {
  assert.equal(goalFor('cpu_background_us_per_request', { backgroundShare: 0.05 }), 0.1);
  assert.equal(goalFor('cpu_background_us_per_request', { backgroundShare: 0.049 }), null);
  assert.equal(goalFor('cpu_background_us_per_request'), null);
});

test('latency has a goal only below the original saturation', () => {
  assert.equal(goalFor('p99_us', { load: 50_000, saturationRps: 80_000 }), 0.1);
  assert.equal(goalFor('p99_us', { load: 80_000, saturationRps: 80_000 }), null);
  assert.equal(goalFor('p50_us', { load: 90_000, saturationRps: 80_000 }), null);
  // saturation throughput itself has no load
  assert.equal(goalFor('saturation_rps', { load: null, saturationRps: 80_000 }), 0.1);
});

test('a syscall has a goal only when it makes at least 5% of the calls', () => {
  assert.equal(syscallShareFloor, 0.05);
  assert.equal(goalFor('syscall_futex_per_request', { syscallShare: 0.01 }), null);
  assert.equal(goalFor('syscall_read_per_request', { syscallShare: 0.3 }), 0.05);
  // the share does not matter for other metrics
  assert.equal(goalFor('l1d_miss_rate', { syscallShare: 0.01 }), 0.05);
});

test('pass: known error within the goal; an unknown error (original 0, clone not) fails', () => {
  assert.equal(meetsGoal(0.05, 0.05), true);
  assert.equal(meetsGoal(0.0500001, 0.05), false);
  assert.equal(meetsGoal(0, 0.01), true);
  assert.equal(meetsGoal(null, 0.1), false);
});
