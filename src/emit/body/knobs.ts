// Tuning knobs that reshape a profiled body before it is laid out (pure). Each moves one simulated metric and
// leaves the others nearly alone (the tuner, src/tune, relies on that):
//
// * d-cache tails, nested: the first tier (the smallest threshold) scales the share of all accesses that goes to
//   bins above it; each next tier scales the share of the previous tier's tail that goes above its own threshold.
//   Within a segment the bins keep their proportions, and the bins at or below the smallest threshold give or take
//   the difference, so the accesses per request stay as profiled. The tiers at 32 KiB, 256 KiB and 16 MiB thus move
//   the L1d miss rate, the L2's local miss rate (L2 misses per L1 miss) and the LLC's, each leaving the others'
//   ratios alone: the tuner moves one knob per metric and relies on that.
// * Hard branches: the execution share of the branch sites whose taken rate is neither exactly 0 nor exactly 1 (the
//   ones that test PRNG bits and mispredict) is multiplied by a factor; the always / never taken sites give or
//   take the difference.
import type { BranchBehaviour } from '../../analyze/cpu/schema.ts';
import type { BodyPlan } from '../../artifacts/clone-plan.ts';

export interface TailTier {
  /** Bins strictly larger than this are scaled. */
  aboveBytes: number;
  factor: number;
}

export const cacheTiers = { l1: 32 * 1024, l2: 256 * 1024, llc: 16 * 1024 * 1024 } as const;

type Curve = BodyPlan['cache']['dcache'];

/** Scales the working-set tails of a miss curve by nested tiers (see the file comment); factors of 1 change nothing. */
export function scaleWorkingSetTail(
  curve: Curve,
  sizes: readonly number[],
  tiers: readonly TailTier[],
): Curve {
  if (tiers.every((t) => t.factor === 1) || tiers.length === 0) return curve;
  const sorted = [...tiers].sort((a, b) => a.aboveBytes - b.aboveBytes);
  const bins = [...curve.workingSet, curve.beyondLargest];
  const sizeOf = (i: number) => sizes[i] ?? Number.POSITIVE_INFINITY;
  // Segment k holds the bins above threshold k-1 (none for k = 0) and at or below threshold k.
  const segmentOf = (i: number) => {
    const k = sorted.findIndex((t) => sizeOf(i) <= t.aboveBytes);
    return k < 0 ? sorted.length : k;
  };
  const mass = new Array<number>(sorted.length + 1).fill(0);
  bins.forEach((v, i) => {
    mass[segmentOf(i)] = (mass[segmentOf(i)] ?? 0) + v;
  });
  const tailOf = (m: readonly number[], k: number) => m.slice(k + 1).reduce((s, v) => s + v, 0);
  const total = tailOf(mass, -1);
  // New tail beyond each threshold, outermost last: each a share of the previous tail, bounded by it.
  const tails: number[] = [];
  let previousTail = total;
  let previousOriginal = total;
  sorted.forEach((t, k) => {
    const original = tailOf(mass, k);
    const share = previousOriginal > 0 ? original / previousOriginal : 0;
    const tail = Math.min(previousTail, Math.max(0, t.factor) * share * previousTail);
    tails.push(tail);
    previousTail = tail;
    previousOriginal = original;
  });
  const newMass = mass.map((_, k) => (k === 0 ? total : (tails[k - 1] ?? 0)) - (tails[k] ?? 0));
  // A segment without bins cannot hold its share: the head takes it.
  newMass.forEach((v, k) => {
    if (k > 0 && (mass[k] ?? 0) === 0) {
      newMass[0] = (newMass[0] ?? 0) + v;
      newMass[k] = 0;
    }
  });
  const scaled = bins.map((v, i) => {
    const k = segmentOf(i);
    const m = mass[k] ?? 0;
    return m > 0 ? (v * (newMass[k] ?? 0)) / m : 0;
  });
  return {
    ...curve,
    workingSet: scaled.slice(0, curve.workingSet.length),
    beyondLargest: scaled.at(-1) ?? 0,
  };
}

/** Scales the execution share of hard (PRNG-tested) branch sites; a factor of 1 leaves the branches unchanged. */
export function scaleHardBranches(branches: BranchBehaviour, factor: number): BranchBehaviour {
  if (factor === 1) return branches;
  const easy = (b: { lo: number; hi: number }) => b.hi === 0 || b.lo === 1;
  const bins = branches.takenRate;
  const total = bins.reduce((s, b) => s + b.fraction, 0);
  const hard = bins.reduce((s, b) => (easy(b) ? s : s + b.fraction), 0);
  const hardScale = hard > 0 ? Math.min(Math.max(0, factor), total / hard) : 1;
  const easyTotal = total - hard;
  const easyScale = easyTotal > 0 ? (total - hard * hardScale) / easyTotal : 1;
  return {
    ...branches,
    takenRate: bins.map((b) => ({ ...b, fraction: b.fraction * (easy(b) ? easyScale : hardScale) })),
  };
}
