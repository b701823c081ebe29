// The tuner's decisions (pure): from the iterations measured so far, the next knobs, or why to stop.
//
// The knob–metric relations are locally linear and mostly orthogonal (Ditto), so each knob is paired with the one
// metric it mainly drives and moved on its own. A metric's value is the clone/original ratio (averaged over the
// platforms it is measured on; 1 is the goal). A knob steps from the iteration where its metric came closest so
// far (so a step that made things worse, or a noisy measurement, is not built upon): a secant through that point
// and the latest other one at which the knob differed, when their slope has the expected (positive) sign; otherwise
// a proportional guess, ratio ∝ knob^e. Every step is damped, bounded to a factor per iteration and clamped to the
// knob's safe range, and kept inside the values already measured on either side of the goal; when three or more
// measurements at two or more values all left the metric on one side of its goal (none within it), a step back
// among those values goes beyond the farthest instead. A knob whose metric is within its goal on every platform
// (in the latest iteration) stays put.
import type { ClonePlan } from '../artifacts/clone-plan.ts';
import type { Tuning } from '../artifacts/tuning.ts';
import { bodyKnobs } from '../emit/body/emit.ts';
import type { Knobs } from '../plan/plan.ts';
import { wholeOf } from './metrics.ts';

export type TuningMetric = Tuning['iterations'][number]['metrics'][number];

export interface Observation {
  knobs: Knobs;
  metrics: readonly TuningMetric[];
}

export interface KnobPairing {
  knob: string;
  /** The metric (compare.ts name) the knob mainly drives; it must rise with the knob. */
  metric: string;
  min: number;
  max: number;
  /** Exponent of the proportional first guess: ratio ∝ knob^elasticity. */
  elasticity: number;
}

/** The body emitter's knobs (src/emit/body) and the simulated metric each drives. */
export const knobPairings: readonly KnobPairing[] = [
  { knob: bodyKnobs.instructions, metric: 'instructions_per_request', min: 0.2, max: 5, elasticity: 1 },
  { knob: bodyKnobs.dcacheBeyondL1, metric: 'l1d_miss_rate', min: 0.05, max: 20, elasticity: 1 },
  { knob: bodyKnobs.dcacheBeyondL2, metric: 'l2_miss_rate', min: 0.05, max: 20, elasticity: 1 },
  { knob: bodyKnobs.dcacheBeyondLlc, metric: 'llc_miss_rate', min: 0.05, max: 20, elasticity: 1 },
  { knob: bodyKnobs.icacheBeyondL1, metric: 'l1i_miss_rate', min: 0.05, max: 20, elasticity: 1 },
  { knob: bodyKnobs.hardBranches, metric: 'branch_mispredict_rate', min: 0.05, max: 20, elasticity: 1 },
  // Measured natively: the wake-ups' own system time does not scale with the knob, so the first guess undershoots.
  {
    knob: bodyKnobs.backgroundInstructions,
    metric: 'cpu_background_us_per_request',
    min: 0.05,
    max: 20,
    elasticity: 1,
  },
  // The profile's rate is measured at another load than the tune's (redis: 16% of its jumps at the profile, 14%
  // when tuning), and the runtime's own jumps add theirs: the split between the kinds is tuned, the total above.
  {
    knob: bodyKnobs.indirectMispredicts,
    metric: 'indirect_mispredict_rate',
    min: 0.05,
    max: 5,
    elasticity: 1,
  },
];

/** The pairings whose knob changes something in `plan`: the background knob only where a background body exists. */
export function pairingsFor(plan: Pick<ClonePlan, 'background'>): readonly KnobPairing[] {
  const background = plan.background.some((g) => g.body !== null);
  return knobPairings.filter((p) => background || p.knob !== bodyKnobs.backgroundInstructions);
}

export interface ProposeOptions {
  /** Share of the estimated step taken (damping against oscillation). */
  damping: number;
  /** A knob moves by at most this factor per iteration. */
  maxStepFactor: number;
}

export const defaultProposeOptions: ProposeOptions = { damping: 0.7, maxStepFactor: 2 };

const knobValue = (knobs: Knobs, name: string) => knobs[name] ?? 1;

/** The rows of a metric whose ratio is defined (the original is not 0). */
const rowsOf = (o: Observation, metric: string) =>
  o.metrics.filter((m) => m.metric === metric && m.original !== 0);

/** Mean clone/original ratio of a metric over its platforms, or undefined when it was not measured. */
export function metricRatio(o: Observation, metric: string): number | undefined {
  const rows = rowsOf(o, metric);
  if (rows.length === 0) return undefined;
  return rows.reduce((s, m) => s + m.clone / m.original, 0) / rows.length;
}

/** Every row of the metric is within its goal, or counts too few events to say (metrics.ts). */
export function withinGoal(o: Observation, metric: string): boolean {
  return o.metrics
    .filter((m) => m.metric === metric)
    .every((m) => m.negligible || (m.relError !== null && m.relError <= m.goal + 1e-12));
}

/** The judged metrics the pairings tune (those measured; parts of a judged metric only steer their knob). */
export function tunedMetrics(o: Observation, pairings: readonly KnobPairing[]): TuningMetric[] {
  const names = new Set(pairings.map((p) => p.metric));
  return o.metrics.filter((m) => names.has(m.metric) && wholeOf(m.metric) === undefined);
}

/**
 * How far an iteration is from its goals, over the tuned metrics: Σ ln max(1, relError / goal), 0 when all are
 * within their goals; lower is better. The logarithm keeps one metric the knobs cannot reach from outweighing the
 * others. An unknown error (original 0, clone not) counts as ten times its goal.
 */
export function score(o: Observation, pairings: readonly KnobPairing[]): number {
  return tunedMetrics(o, pairings).reduce((s, m) => {
    if (m.negligible) return s;
    const excess = m.relError === null ? 10 : m.goal > 0 ? m.relError / m.goal : m.relError > 0 ? 10 : 1;
    return s + Math.log(Math.max(1, excess));
  }, 0);
}

const significant = (x: number) => Number(x.toPrecision(4));

/** How far a metric is from its original: |ratio − 1|, or undefined when not measured. */
function miss(o: Observation, metric: string): number | undefined {
  const r = metricRatio(o, metric);
  return r === undefined ? undefined : Math.abs(r - 1);
}

const sameValue = (a: number, b: number) => Math.abs(Math.log(a / b)) < 0.02;

/** Observations on one side of the goal that rule out the values between them (two could be one noisy pair). */
const minOneSided = 3;

/**
 * The observations that still say how the metric responds to this knob: one is superseded by a later one at the
 * same value of this knob with other knobs moved, which measured the knob where it now stands (memcached: the L1i
 * ratio at the i-cache knob's 1 was 1.01 while another knob's far accesses pushed the hot code out of the L1, and
 * 0.34 on every later try at 1).
 */
function current(history: readonly Observation[], p: KnobPairing): Observation[] {
  return history.filter((o, i) =>
    history.slice(i + 1).every((later) => {
      if (!sameValue(knobValue(later.knobs, p.knob), knobValue(o.knobs, p.knob))) return true;
      const others = new Set([...Object.keys(o.knobs), ...Object.keys(later.knobs)]);
      others.delete(p.knob);
      return [...others].every((k) => sameValue(knobValue(later.knobs, k), knobValue(o.knobs, k)));
    }),
  );
}

/**
 * The largest knob value measured below the goal (ratio < 1) and the smallest measured above it, when the first is
 * the smaller (the metric rises with its knob; otherwise noise or other knobs blur the picture and there is none).
 */
function goalBracket(
  history: readonly Observation[],
  p: KnobPairing,
): { below: number; above: number } | undefined {
  let below = 0;
  let above = Number.POSITIVE_INFINITY;
  for (const o of current(history, p)) {
    const r = metricRatio(o, p.metric);
    const k = knobValue(o.knobs, p.knob);
    if (r !== undefined && r < 1) below = Math.max(below, k);
    if (r !== undefined && r > 1) above = Math.min(above, k);
  }
  return below > 0 && above < Number.POSITIVE_INFINITY && below < above ? { below, above } : undefined;
}

/**
 * The farthest knob value tried and its ratio, when at least `minOneSided` current observations at two or more knob
 * values all left the metric on the same side of its goal and none within it (farthest: the lowest when the ratio
 * is above 1, the highest when below).
 */
function oneSided(
  history: readonly Observation[],
  p: KnobPairing,
): { knob: number; ratio: number } | undefined {
  const observations = current(history, p);
  // A measurement within the goal says where the root is: the anchor steps from there.
  if (observations.some((o) => withinGoal(o, p.metric))) return undefined;
  const tried = observations.flatMap((o) => {
    const ratio = metricRatio(o, p.metric);
    return ratio === undefined ? [] : [{ knob: knobValue(o.knobs, p.knob), ratio }];
  });
  if (tried.length < minOneSided || new Set(tried.map((t) => t.knob)).size < 2) return undefined;
  const above = tried.every((t) => t.ratio > 1);
  if (!above && !tried.every((t) => t.ratio < 1)) return undefined;
  return tried.reduce((far, t) => ((above ? t.knob < far.knob : t.knob > far.knob) ? t : far));
}

/** From k toward target: damped, by at most the step factor, within the knob's range. */
function step(k: number, target: number, p: KnobPairing, options: ProposeOptions): number {
  const damped = k + options.damping * (target - k);
  const bounded = Math.min(k * options.maxStepFactor, Math.max(k / options.maxStepFactor, damped));
  return significant(Math.min(p.max, Math.max(p.min, bounded)));
}

/** A step from (k, ratio) by the proportional guess, ratio ∝ knob^e. */
function proportionalStep(k: number, ratio: number, p: KnobPairing, options: ProposeOptions): number {
  return step(k, ratio > 0 ? k * ratio ** (-1 / p.elasticity) : k * options.maxStepFactor, p, options);
}

/** Moving a part of a judged metric toward its goal would take the whole, off its goal, farther from its own. */
function takesTheWholeAway(o: Observation, metric: string): boolean {
  const whole = wholeOf(metric);
  if (whole === undefined || withinGoal(o, whole)) return false;
  const part = metricRatio(o, metric);
  const ratio = metricRatio(o, whole);
  return part !== undefined && ratio !== undefined && (part - 1) * (ratio - 1) < 0;
}

function proposeKnob(history: readonly Observation[], p: KnobPairing, options: ProposeOptions): number {
  const last = history.at(-1);
  if (!last) return 1;
  const kLast = knobValue(last.knobs, p.knob);
  if (metricRatio(last, p.metric) === undefined || withinGoal(last, p.metric)) return kLast;
  // The split is refined, the total never given up for it (memcached's conditional branches mispredict 1.7 times
  // as often as the original's at any hard-branch share; its indirect jumps raised to the original's rate left the
  // total 25% over). Redis's jumps, 1.6 times the original's rate with the total 1.18, come down.
  if (takesTheWholeAway(last, p.metric)) return kLast;
  // The anchor is the iteration where this metric came closest (the latest of equals): a step that made it worse,
  // or a noisy measurement, is not stepped from again. But when this knob has not moved since, the other knobs
  // moved the metric: the latest iteration is where this knob stands now.
  let anchor = last;
  for (const o of current(history, p)) {
    const m = miss(o, p.metric);
    const a = miss(anchor, p.metric);
    if (m !== undefined && a !== undefined && m < a - 1e-12) anchor = o;
  }
  if (Math.abs(Math.log(knobValue(anchor.knobs, p.knob) / kLast)) < 0.02) anchor = last;
  const k1 = knobValue(anchor.knobs, p.knob);
  const r1 = metricRatio(anchor, p.metric) ?? 1;
  // The secant's other point: the latest iteration at which this knob had another value.
  let previous: { k: number; r: number } | undefined;
  for (let i = history.length - 1; i >= 0 && !previous; i--) {
    const o = history[i];
    if (!o || o === anchor) continue;
    const k = knobValue(o.knobs, p.knob);
    const r = metricRatio(o, p.metric);
    if (r !== undefined && Math.abs(Math.log(k / k1)) > 1e-6) previous = { k, r };
  }
  const slope = previous ? (r1 - previous.r) / (k1 - previous.k) : 0;
  // A slope below 2% of the proportional one is noise: the secant would jump across the whole range.
  let next =
    previous && slope > (0.02 * r1 * p.elasticity) / k1
      ? step(k1, k1 + (1 - r1) / slope, p, options)
      : proportionalStep(k1, r1, p, options);
  // Every value tried so far left the metric on one side of its goal and the step would go back among them: the
  // root lies beyond the farthest one tried (the metric rises with its knob), whatever noise made the anchor look
  // closest. The step goes from that farthest value instead (redis: the branch ratio measured 1.23-1.59 at
  // hard-branch knobs 0.42-1 while the tuner kept stepping back toward 0.84, its closest; an earlier build met
  // the goal at 0.23).
  const side = oneSided(history, p);
  // (At its range's end the farthest value is all there is: the knob stays there.)
  if (side && (side.ratio > 1 ? next >= side.knob : next <= side.knob))
    return proportionalStep(side.knob, side.ratio, p, options);
  // Values measured on both sides of the goal hold the knob's root between them. A step out of that bracket (the
  // secant across a cliff, such as the i-cache rate's when the code stops fitting the cache) halves it instead.
  const bracket = goalBracket(history, p);
  if (bracket && (next <= bracket.below || next >= bracket.above))
    next = significant(Math.sqrt(bracket.below * bracket.above));
  // A value already measured, and worse than the anchor, is not proposed again (the same guess from the same
  // anchor would repeat forever): the step halves, in log scale, until it reaches a value not yet tried.
  const tried = (k: number) =>
    history.some((o) => o !== anchor && Math.abs(Math.log(knobValue(o.knobs, p.knob) / k)) < 1e-3);
  for (let i = 0; i < 8 && next !== k1 && tried(next); i++) next = significant(k1 * Math.sqrt(next / k1));
  return next;
}

/** The knobs of the next iteration: every paired knob stepped toward its metric's goal, other knobs kept. */
export function proposeKnobs(
  history: readonly Observation[],
  pairings: readonly KnobPairing[] = knobPairings,
  options: ProposeOptions = defaultProposeOptions,
): Knobs {
  const last = history.at(-1);
  const next: Knobs = { ...(last?.knobs ?? {}) };
  for (const p of pairings) {
    const value = proposeKnob(history, p, options);
    if (value !== 1 || p.knob in next) next[p.knob] = value;
  }
  return next;
}

export interface Budget {
  iterations: number;
  /** Wall-clock budget; an iteration is not started when the mean iteration so far would overrun it. */
  seconds: number;
  /** Iterations without a better score than the best before the tuner gives up. */
  patience: number;
}

/** The iteration with the lowest score (the earliest of equals). */
export function bestIteration(history: readonly Observation[], pairings: readonly KnobPairing[]): number {
  let best = 0;
  history.forEach((o, i) => {
    const h = history[best];
    if (h && score(o, pairings) < score(h, pairings) - 1e-9) best = i;
  });
  return best;
}

const sameKnobs = (a: Knobs, b: Knobs) =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].every((k) => knobValue(a, k) === knobValue(b, k));

/**
 * Why to stop after the iterations so far, or null to go on with `next`: every tuned metric within its goal, the
 * iteration or time budget spent, or stalled (no better score for `patience` iterations, or no knob would move).
 */
export function stopReason(
  history: readonly Observation[],
  next: Knobs,
  elapsed: { seconds: number },
  budget: Budget,
  pairings: readonly KnobPairing[] = knobPairings,
): Tuning['stopReason'] | null {
  const last = history.at(-1);
  if (!last) return null;
  const tuned = new Set(tunedMetrics(last, pairings).map((m) => m.metric));
  if ([...tuned].every((m) => withinGoal(last, m))) return 'converged';
  if (history.length >= budget.iterations) return 'iterations';
  if (elapsed.seconds + elapsed.seconds / history.length > budget.seconds) return 'minutes';
  if (history.length - 1 - bestIteration(history, pairings) >= budget.patience) return 'stalled';
  if (sameKnobs(next, last.knobs)) return 'stalled';
  return null;
}
