// Tuning knobs that reshape a profiled body before it is laid out (pure). Each moves one simulated metric and
// leaves the others nearly alone (the tuner, src/tune, relies on that):
//
// * d-cache tails: the working-set shares of the bins above a threshold (and what misses at every measured size)
//   are multiplied by a factor; nested thresholds compound. The bins at or below the smallest threshold give or
//   take the difference in proportion, so the accesses per request stay as profiled. Above 32 KiB moves the L1d
//   miss rate, above 256 KiB the L2's local miss rate, above 16 MiB the LLC's.
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

export const dcacheTiers = { l1: 32 * 1024, l2: 256 * 1024, llc: 16 * 1024 * 1024 } as const;

type Curve = BodyPlan['cache']['dcache'];

/** Scales the working-set tail of a miss curve by tiers (see the file comment); factors of 1 leave it unchanged. */
export function scaleWorkingSetTail(
  curve: Curve,
  sizes: readonly number[],
  tiers: readonly TailTier[],
): Curve {
  if (tiers.every((t) => t.factor === 1) || tiers.length === 0) return curve;
  const smallest = Math.min(...tiers.map((t) => t.aboveBytes));
  const factorOf = (size: number) =>
    tiers.reduce((f, t) => (size > t.aboveBytes ? f * Math.max(0, t.factor) : f), 1);
  const bins = [...curve.workingSet, curve.beyondLargest];
  const sizeOf = (i: number) => sizes[i] ?? Number.POSITIVE_INFINITY;
  const total = bins.reduce((s, v) => s + v, 0);
  const head = bins.reduce((s, v, i) => (sizeOf(i) <= smallest ? s + v : s), 0);
  let tail = bins.map((v, i) => (sizeOf(i) > smallest ? v * factorOf(sizeOf(i)) : 0));
  const tailTotal = tail.reduce((s, v) => s + v, 0);
  // The tail can grow only as far as the head has accesses to give.
  if (tailTotal > total || head === 0) tail = tail.map((v) => (tailTotal > 0 ? (v * total) / tailTotal : 0));
  const headScale = head > 0 ? Math.max(0, total - tail.reduce((s, v) => s + v, 0)) / head : 0;
  const scaled = bins.map((v, i) => (sizeOf(i) <= smallest ? v * headScale : (tail[i] ?? 0)));
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
