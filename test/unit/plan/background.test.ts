import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { clonePlanSchema } from '../../../src/artifacts/clone-plan.ts';
import { type Profile, profileSchema } from '../../../src/artifacts/profile.ts';
import { backgroundPlan, wakeupRateExponent } from '../../../src/plan/background.ts';
import { planClone } from '../../../src/plan/plan.ts';

const memcached = (): Profile =>
  profileSchema.parse(
    JSON.parse(readFileSync(new URL('../../fixtures/profile/memcached.json', import.meta.url), 'utf8')),
  );

/** memcached's profile with the wake-ups its LRU maintainer showed natively (5000 and 20000 req/s). */
function withWakeups(points: { requestsPerSecond: number; wakeupsPerSecond: number }[]): Profile {
  const p = memcached();
  const observed = p.observed;
  assert.ok(observed);
  return { ...p, observed: { ...observed, backgroundWakeups: points } };
}

test('the mixed window rescales the periods the one-class skeleton windows gave; the busier one gives the slope', () => {
  const p = withWakeups([
    { requestsPerSecond: 5000, wakeupsPerSecond: 800 },
    { requestsPerSecond: 20000, wakeupsPerSecond: 1100 },
  ]);
  const periodic = (p.skeleton?.threads ?? []).filter((t) => t.role === 'background' && t.periodMs !== null);
  assert.equal(periodic.length, 1, 'the fixture has one periodic background group');
  const planned = backgroundPlan(p).filter((b) => b.periodMs !== null);
  assert.equal(planned.length, 1);
  const [maintainer] = planned;
  // One thread woken 800 times a second: 1.25 ms apart, whatever the skeleton window saw.
  assert.ok(Math.abs((maintainer?.periodMs ?? 0) - 1.25) < 1e-9);
  assert.equal(maintainer?.followsLoad?.referenceRate, 5000);
  assert.ok(Math.abs((maintainer?.followsLoad?.exponent ?? 0) - Math.log(1100 / 800) / Math.log(4)) < 1e-12);
  // Idle groups stay idle.
  assert.ok(backgroundPlan(p).every((b) => b.periodMs !== null || b.followsLoad === null));
});

test('without the untraced windows the skeleton periods stand, as fixed timers', () => {
  const p = withWakeups([]);
  const skeletonPeriods = (p.skeleton?.threads ?? [])
    .filter((t) => t.role === 'background')
    .map((t) => t.periodMs);
  const planned = backgroundPlan(p);
  assert.deepEqual(
    planned.map((b) => b.periodMs),
    skeletonPeriods,
  );
  assert.ok(planned.every((b) => b.followsLoad === null));
});

test('the wake-up slope: 0 from too close or silent loads, clamped to ±1', () => {
  const at = (requestsPerSecond: number, wakeupsPerSecond: number) => ({
    requestsPerSecond,
    wakeupsPerSecond,
  });
  assert.equal(wakeupRateExponent([at(1000, 100), at(1200, 200)]), 0);
  assert.equal(wakeupRateExponent([at(1000, 0), at(4000, 200)]), 0);
  assert.equal(wakeupRateExponent([at(1000, 100)]), 0);
  assert.ok(Math.abs(wakeupRateExponent([at(1000, 100), at(4000, 400)]) - 1) < 1e-12);
  assert.equal(wakeupRateExponent([at(1000, 10), at(4000, 1000)]), 1);
  assert.ok(Math.abs(wakeupRateExponent([at(1000, 400), at(4000, 200)]) + 0.5) < 1e-12);
});

test('one window alone rescales without a slope; the rescale is bounded; several groups keep their ratio', () => {
  const single = backgroundPlan(withWakeups([{ requestsPerSecond: 5000, wakeupsPerSecond: 800 }]));
  const periodic = single.filter((b) => b.periodMs !== null);
  assert.ok(Math.abs((periodic[0]?.periodMs ?? 0) - 1.25) < 1e-9);
  assert.ok(periodic.every((b) => b.followsLoad === null));

  // A thread pool's futex wake-ups counted as background would collapse the periods: at most 10x.
  const flooded = withWakeups([{ requestsPerSecond: 5000, wakeupsPerSecond: 1e6 }]);
  const skeletonPeriod = flooded.skeleton?.threads.find(
    (t) => t.role === 'background' && t.periodMs !== null,
  );
  const bounded = backgroundPlan(flooded).find((b) => b.periodMs !== null);
  assert.ok(Math.abs((bounded?.periodMs ?? 0) - (skeletonPeriod?.periodMs ?? 0) / 10) < 1e-9);

  // Two timers, 10 ms and 40 ms (125 wake-ups/s together), seen at 250/s in the mixed window: both halve.
  const two = withWakeups([{ requestsPerSecond: 5000, wakeupsPerSecond: 250 }]);
  const timer = two.skeleton?.threads.find((t) => t.role === 'background' && t.periodMs !== null);
  assert.ok(two.skeleton && timer);
  two.skeleton.threads = [
    ...two.skeleton.threads.filter((t) => t !== timer),
    { ...timer, periodMs: 10 },
    { ...timer, periodMs: 40 },
  ];
  assert.deepEqual(
    backgroundPlan(two)
      .filter((b) => b.periodMs !== null)
      .map((b) => b.periodMs),
    [5, 20],
  );
});

test("the background threads' work per wake-up, as the most common class's windows saw it, goes to the groups that wake", () => {
  const p = memcached();
  assert.equal(
    planClone(p).background.filter((b) => b.body !== null).length,
    0,
    'no background body profiled',
  );
  // The maintainer as the get windows saw it: the get body's profile stands in for it, per wake-up.
  const get = p.cpu.find((c) => c.class === 'get');
  const set = p.cpu.find((c) => c.class === 'set');
  assert.ok(get && set);
  const perWakeup = { ...get.body, instructionsPerRequest: 6000 };
  const withBackground: Profile = {
    ...p,
    cpu: [
      { ...get, background: perWakeup },
      { ...set, background: { ...perWakeup, instructionsPerRequest: 9000 } },
    ],
  };
  const plan = clonePlanSchema.parse(planClone(withBackground));
  // The original's background threads were on a CPU this share of the time, per thread that wakes.
  const observed = p.observed;
  assert.ok(observed);
  const cpuNs = observed.baseline.byRole.find((r) => r.role === 'background')?.cpuNsPerRequest ?? 0;
  const waking = (p.skeleton?.threads ?? [])
    .filter((t) => t.role === 'background' && t.periodMs !== null)
    .reduce((n, t) => n + t.count, 0);
  const busy = (cpuNs * observed.load.achievedRate) / 1e9 / waking;
  assert.ok(busy > 0 && busy < 0.2, `busy share ${busy}`);
  // With headroom: bound to the original's share exactly, a tuned clone's thread lost wake-ups to preemption.
  const bound = 3 * busy;
  for (const g of plan.background) {
    if (g.periodMs === null) assert.equal(g.body, null, 'idle threads never run a body');
    else {
      assert.equal(g.body?.instructions, 6000, 'gets are 90% of the requests: their windows count');
      assert.ok(Math.abs((g.busyShare ?? 0) - bound) < 1e-12);
    }
  }
  assert.ok(plan.background.some((g) => g.body !== null));
  assert.ok(
    planClone(p).background.every((g) => g.busyShare === null),
    'no body, no bound',
  );
});
