// The tuner's proposals on synthetic metric functions: each paired metric is a function of its own knob (plus, in
// one case, a little of another knob), measured on platforms A and B.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { Knobs } from '../../../src/plan/plan.ts';
import {
  type Budget,
  bestIteration,
  type KnobPairing,
  knobPairings,
  type Observation,
  pairingsFor,
  proposeKnobs,
  stopReason,
  type TuningMetric,
} from '../../../src/tune/propose.ts';

const goals: Record<string, number> = { instructions_per_request: 0.02 };
const goalOf = (metric: string) => goals[metric] ?? 0.05;
const knobOf = (knobs: Knobs, p: KnobPairing) => knobs[p.knob] ?? 1;

/** clone/original ratio of each paired metric as a function of all knobs; the original's value is 2. */
type Model = (p: KnobPairing, knobs: Knobs, platform: string) => number;

function observe(model: Model, knobs: Knobs): Observation {
  const metrics: TuningMetric[] = knobPairings.flatMap((p) =>
    ['A', 'B'].map((platform) => {
      const original = 2;
      const clone = original * model(p, knobs, platform);
      return {
        metric: p.metric,
        platform,
        original,
        clone,
        relError: Math.abs(clone - original) / original,
        goal: goalOf(p.metric),
        negligible: false,
      };
    }),
  );
  return { knobs, metrics };
}

/** One paired metric at `ratio` with its knob at k (absent at 1), every other metric on its goal. */
function observeAt(p: KnobPairing, k: number, ratio: number): Observation {
  return observe((q) => (q === p ? ratio : 1), k === 1 ? {} : { [p.knob]: k });
}

const budget: Budget = { iterations: 12, seconds: 3600, patience: 2 };

/** Runs the loop on a model; returns the history and why it stopped. */
function tune(model: Model, options?: Parameters<typeof proposeKnobs>[2], b: Budget = budget) {
  const history: Observation[] = [];
  let knobs: Knobs = {};
  for (;;) {
    history.push(observe(model, knobs));
    const next = proposeKnobs(history, knobPairings, options);
    const reason = stopReason(history, next, { seconds: 10 * history.length }, b);
    if (reason) return { history, reason };
    knobs = next;
  }
}

/** Per-pairing offsets and gains: ratio = a + b·k, 1 is reached at some k in the knob's range. */
const linear: Model = (p, knobs) => {
  const i = knobPairings.indexOf(p);
  const a = [0.3, 0.1, 0.5, 0, 0.2, 0.05][i] ?? 0;
  const b = [0.95, 0.5, 0.9, 0.6, 1.6, 2.5][i] ?? 1;
  return a + b * knobOf(knobs, p);
};

const errorsOf = (history: Observation[], metric: string) =>
  history.map((o) => Math.max(...o.metrics.filter((m) => m.metric === metric).map((m) => m.relError ?? 1)));

test('linear, orthogonal metrics converge within 6 iterations', () => {
  const { history, reason } = tune(linear);
  assert.equal(reason, 'converged');
  assert.ok(history.length <= 6, `${history.length} iterations`);
  for (const p of knobPairings) {
    const last = errorsOf(history, p.metric).at(-1) ?? 1;
    assert.ok(last <= goalOf(p.metric) + 1e-12, `${p.metric}: ${last}`);
  }
});

test('mildly non-linear metrics with a little cross-talk and platform spread converge within 8 iterations', () => {
  const model: Model = (p, knobs, platform) => {
    const k = knobOf(knobs, p);
    const other = knobs['body.instructions'] ?? 1;
    const spread = platform === 'A' ? 1.01 : 0.99;
    const cross = p.knob === 'body.instructions' ? 1 : other ** 0.05;
    return spread * cross * (0.4 * k ** 1.4 + 0.25 * Math.sqrt(k) + 0.1);
  };
  const { history, reason } = tune(model);
  assert.equal(reason, 'converged');
  assert.ok(history.length <= 8, `${history.length} iterations`);
});

test('damping shrinks the overshoot of a steep metric, whose error then falls at every step', () => {
  // ratio = k³/2: the proportional guess (ratio ∝ k) asks for far too large a first step.
  const steep: Model = (p, knobs) => (p.knob === 'body.instructions' ? knobOf(knobs, p) ** 3 / 2 : 1);
  const damped = tune(steep);
  const undamped = tune(steep, { damping: 1, maxStepFactor: 2 });
  assert.equal(damped.reason, 'converged');
  const errors = errorsOf(damped.history, 'instructions_per_request');
  const overshoot = (h: Observation[]) => Math.max(...errorsOf(h, 'instructions_per_request').slice(1));
  assert.ok(overshoot(damped.history) < overshoot(undamped.history) / 1.5, `${errors}`);
  errors.slice(2).forEach((e, i) => {
    assert.ok(e < (errors[i + 1] ?? 0), `errors ${errors}`);
  });
});

test('a noisy outlier is not stepped from: the next step starts from the best point', () => {
  const history = [observe(linear, {}), observe(linear, { 'body.instructions': 0.9 })];
  // A third measurement far off (a disturbed run) with the knob barely moved.
  const outlier = observe(linear, { 'body.instructions': 0.88 });
  for (const m of outlier.metrics) if (m.metric === 'instructions_per_request') m.clone *= 3;
  const next = proposeKnobs([...history, outlier]);
  const fromBest = proposeKnobs(history);
  assert.ok(
    Math.abs((next['body.instructions'] ?? 1) - (fromBest['body.instructions'] ?? 1)) < 0.05,
    `${next['body.instructions']} vs ${fromBest['body.instructions']}`,
  );
});

test('a metric that other knobs moved is stepped from where it is now, not from its best point', () => {
  const p = knobPairings.find((x) => x.metric === 'llc_miss_rate');
  assert.ok(p);
  // Within its goal at first; then another knob's steps push it 40% too high while its own knob stays at 1.
  const history = [
    observe(() => 1.01, {}),
    observe((q) => (q === p ? 1.4 : 1), { 'body.instructions': 0.9 }),
  ];
  const next = proposeKnobs(history)[p.knob] ?? 1;
  assert.ok(next < 0.9, `${next}`);
});

test('a knob that moves nothing stalls the tune before its budget', () => {
  const deaf: Model = (p) => (p.knob === 'body.instructions' ? 1.3 : 1);
  const { history, reason } = tune(deaf);
  assert.equal(reason, 'stalled');
  assert.ok(history.length < budget.iterations);
  assert.equal(bestIteration(history, knobPairings), 0);
});

test('knobs stay within their range, move by at most the step factor, and stall at its end', () => {
  const far: Model = (p, knobs) => 0.001 * knobOf(knobs, p);
  const { history, reason } = tune(far, undefined, { ...budget, iterations: 20 });
  assert.equal(reason, 'stalled', 'no knob can move any further');
  for (const p of knobPairings) {
    const values = history.map((o) => knobOf(o.knobs, p));
    values.slice(1).forEach((v, i) => {
      assert.ok(v <= p.max && v >= p.min, `${p.knob} = ${v}`);
      assert.ok(v / (values[i] ?? 1) <= 2 + 1e-9, `${p.knob}: ${values[i]} → ${v}`);
    });
    assert.equal(values.at(-1), p.max);
  }
});

test('a guess already measured and found worse is not proposed again: the step halves', () => {
  const p = knobPairings.find((x) => x.metric === 'l2_miss_rate');
  assert.ok(p);
  // Anchor: knob 1, ratio 0.8. At the proportional guess from it the metric came out worse (ratio 0.6).
  const first = proposeKnobs([observeAt(p, 1, 0.8)])[p.knob] ?? 1;
  assert.ok(first > 1);
  const second = proposeKnobs([observeAt(p, 1, 0.8), observeAt(p, first, 0.6)])[p.knob] ?? 1;
  assert.ok(second > 1 && second < first, `${first} then ${second}`);
});

test('a metric with a cliff: steps stay between the values measured on either side of the goal, which close in', () => {
  const p = knobPairings.find((x) => x.metric === 'l1i_miss_rate');
  assert.ok(p);
  // The i-cache rate is 0.45 of the original's while the code fits the cache and 5x once it does not.
  const cliff: Model = (q, knobs) => (q === p ? (knobOf(knobs, q) < 0.7 ? 0.45 : 5) : 1);
  const { history } = tune(cliff, undefined, { ...budget, iterations: 10, patience: 10 });
  const values = history.map((o) => knobOf(o.knobs, p));
  let below = 0;
  let above = Number.POSITIVE_INFINITY;
  values.forEach((k, i) => {
    if (below > 0 && above < Number.POSITIVE_INFINITY)
      assert.ok(k > below && k < above, `iteration ${i}: ${k} outside (${below}, ${above}); ${values}`);
    if (k < 0.7) below = Math.max(below, k);
    else above = Math.min(above, k);
  });
  assert.ok(above / below < 1.05, `bracket (${below}, ${above}) after ${values}`);
});

test('a metric that stays on one side of its goal over the values tried is sought beyond them', () => {
  const p = knobPairings.find((x) => x.metric === 'branch_mispredict_rate');
  assert.ok(p);
  // redis: the branch ratio read 1.23-1.59 at every hard-branch knob from 0.42 to 1, closest near 0.84 (there the
  // code layout's aliasing, not the knob, sets it), and falls below that range: the goal is near 0.31.
  const flat: Model = (q, knobs) => {
    if (q !== p) return 1;
    const k = knobOf(knobs, q);
    return k >= 0.4 ? 1.25 + 0.5 * Math.abs(k - 0.85) : 1.475 * (k / 0.4) ** 1.5;
  };
  const { history } = tune(flat, undefined, { ...budget, patience: 12 });
  const values = history.map((o) => knobOf(o.knobs, p).toFixed(3)).join(' ');
  const last = history.at(-1);
  assert.ok(last && (errorsOf([last], p.metric)[0] ?? 1) <= goalOf(p.metric), `hard-branch knob: ${values}`);
});

test('a step onto the farthest value tried, on the same side of the goal, goes beyond it', () => {
  const p = knobPairings.find((x) => x.metric === 'branch_mispredict_rate');
  assert.ok(p);
  // redis (bench): 1.155 at 1, 1.248 at 0.906, 1.351 at 0.952. From the anchor (1) the guess lands on 0.906, tried,
  // and halving it toward the anchor went on up (0.976, 0.988).
  const next =
    proposeKnobs([observeAt(p, 1, 1.155), observeAt(p, 0.9061, 1.248), observeAt(p, 0.9519, 1.351)])[
      p.knob
    ] ?? 1;
  assert.ok(next < 0.9061, `${next}`);
});

test('the one-sided step stays at the end of the range when the farthest value tried is there', () => {
  const p = knobPairings.find((x) => x.metric === 'branch_mispredict_rate');
  assert.ok(p);
  const next = proposeKnobs([observeAt(p, 0.1, 1.2), observeAt(p, p.min, 1.3), observeAt(p, 0.07, 1.35)])[
    p.knob
  ];
  assert.equal(next, p.min);
});

test('a measurement within the goal keeps the anchor rule: no step beyond the farthest value tried', () => {
  const p = knobPairings.find((x) => x.metric === 'branch_mispredict_rate');
  assert.ok(p);
  const next =
    proposeKnobs([observeAt(p, 1, 1.03), observeAt(p, 0.8, 1.3), observeAt(p, 0.9, 1.25)])[p.knob] ?? 1;
  assert.ok(next > 0.9 && next < 1, `${next}`);
});

test('a measurement that other knobs have since invalidated is not stepped from', () => {
  const l1i = knobPairings.find((x) => x.metric === 'l1i_miss_rate');
  const l1d = knobPairings.find((x) => x.metric === 'l1d_miss_rate');
  assert.ok(l1i && l1d);
  // memcached: while the d-cache knob is at its start, its far accesses push the hot code out of the L1 and the
  // L1i ratio reads 1.01 by accident; once that knob has moved, the L1i ratio is 0.4 per unit of its own knob.
  const model: Model = (q, knobs) => {
    if (q === l1d) return 1.5 * knobOf(knobs, l1d);
    if (q === l1i) return knobOf(knobs, l1d) > 0.9 ? 1.01 : 0.4 * knobOf(knobs, l1i);
    return 1;
  };
  const { history } = tune(model, undefined, { ...budget, iterations: 10, patience: 10 });
  const last = history.at(-1);
  assert.ok(last);
  const values = history.map((o) => knobOf(o.knobs, l1i).toFixed(2)).join(' ');
  assert.ok(Math.abs(knobOf(last.knobs, l1i) - 2.5) < 0.15, `i-cache knob: ${values}`);
});

test('a metric within its goal keeps its knob; the others move', () => {
  const model: Model = (p, knobs) => (p.metric === 'l1d_miss_rate' ? 1.01 : 1.5 * knobOf(knobs, p));
  const next = proposeKnobs([observe(model, {})]);
  assert.equal(next['body.dcacheBeyondL1'], undefined);
  assert.ok((next['body.instructions'] ?? 1) < 1);
});

test('a metric too rare to mean anything keeps its knob, and counts neither in the score nor in convergence', () => {
  const llc = knobPairings.find((x) => x.metric === 'llc_miss_rate');
  assert.ok(llc);
  // The LLC ratio 3.5 times the original's, on a dozen misses per window (nginx).
  const rare = (o: Observation): Observation => ({
    ...o,
    metrics: o.metrics.map((m) => (m.metric === llc.metric ? { ...m, negligible: true } : m)),
  });
  const off = rare(observeAt(llc, 1, 3.5));
  assert.equal(proposeKnobs([off])[llc.knob], undefined);
  assert.equal(stopReason([off], proposeKnobs([off]), { seconds: 1 }, budget), 'converged');
  assert.equal(bestIteration([off, observeAt(llc, 1, 1)], knobPairings), 0);
  // The same ratio on misses that count is steered on.
  assert.ok((proposeKnobs([observeAt(llc, 1, 3.5)])[llc.knob] ?? 1) < 1);
});

test('a part of a judged metric steers its knob, but counts neither in the score nor in convergence', () => {
  const indirect = knobPairings.find((x) => x.metric === 'indirect_mispredict_rate');
  assert.ok(indirect);
  // Every judged metric on its goal, the indirect jumps' share 20% off: as good as the same with it on its goal.
  const off = observeAt(indirect, 1, 1.2);
  assert.equal(bestIteration([off, observeAt(indirect, 1, 1)], knobPairings), 0);
  assert.equal(stopReason([off], proposeKnobs([off]), { seconds: 1 }, budget), 'converged');
  assert.ok((proposeKnobs([off])[indirect.knob] ?? 1) < 1);
  // With the whole off its goal, the part moves only where that brings the whole closer too (redis: jumps and total
  // both high), and stays where it would take the whole farther (memcached: jumps low, total high).
  const total = knobPairings.find((x) => x.metric === 'branch_mispredict_rate');
  assert.ok(total);
  const next = (part: number) =>
    proposeKnobs([observe((q) => (q === indirect ? part : q === total ? 1.2 : 1), {})]);
  assert.ok((next(1.6)[indirect.knob] ?? 1) < 1);
  assert.equal(next(0.6)[indirect.knob] ?? 1, 1);
  assert.ok((next(0.6)[total.knob] ?? 1) < 1);
});

test('proposals are deterministic: the same history gives the same knobs and the same run', () => {
  assert.deepEqual(tune(linear).history, tune(linear).history);
  const history = tune(linear).history.slice(0, 2);
  assert.deepEqual(proposeKnobs(history), proposeKnobs(history));
});

test('the time budget stops before an iteration that would overrun it', () => {
  const history = [observe(linear, {})];
  const next = proposeKnobs(history);
  assert.equal(stopReason(history, next, { seconds: 50 }, { ...budget, seconds: 90 }), 'minutes');
  assert.equal(stopReason(history, next, { seconds: 40 }, { ...budget, seconds: 90 }), null);
});

test('the background knob is tuned only where the plan has a background body for it to scale', () => {
  const knob = 'body.backgroundInstructions';
  const group = { count: 1, periodMs: 1.1, followsLoad: null, busyShare: null };
  const without = pairingsFor({ background: [{ ...group, body: null }] });
  assert.ok(!without.some((p) => p.knob === knob));
  assert.equal(without.length, knobPairings.length - 1);
  const body = {} as NonNullable<Parameters<typeof pairingsFor>[0]['background'][number]['body']>;
  const withBody = pairingsFor({ background: [{ ...group, body }] });
  assert.equal(withBody.find((p) => p.knob === knob)?.metric, 'cpu_background_us_per_request');
});
