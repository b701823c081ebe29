// Tuning knobs that reshape a profiled body before it is laid out (pure). Each moves one simulated metric and
// leaves the others nearly alone (the tuner, src/tune, relies on that):
//
// * d-cache tails: each tier scales the share of all accesses that goes to bins above its threshold, and leaves the
//   share above every other threshold as it was: the accesses move between the bins just below and just above it.
//   Within a band between two thresholds the bins keep their proportions. The tiers are the L1 (32 KiB), the L2 of
//   the platform the tuner measures (1 MiB) and the LLC's (16 MiB); the other platforms' L2s (256 KiB) are
//   thresholds held at the profile's share. So the L1d knob moves the L1 misses without moving any L2's, and the L2
//   knob moves the measured platform's L2 misses without moving the other platform's: with tails nested instead
//   (each a share of the one below), the L1d knob taking out the runtime's own L1 misses (memcached's clone: 36%
//   more than the original's) took the L2 tails down with it, and the L2 knob that put platform A's back pushed
//   platform B's 38% over.
// * Hard branches: the execution share of the branch sites whose taken rate is neither exactly 0 nor exactly 1 (the
//   ones that test PRNG bits and mispredict) is multiplied by a factor; the always / never taken sites give or
//   take the difference.
import type { BranchBehaviour } from '../../analyze/cpu/schema.ts';
import type { BodyPlan } from '../../artifacts/clone-plan.ts';
import { platforms, tuningPlatform } from '../../collect/valgrind/geometry.ts';

export interface TailTier {
  /** Bins strictly larger than this are scaled. */
  aboveBytes: number;
  factor: number;
}

export const cacheTiers = { l1: 32 * 1024, l2: tuningPlatform.l2.sizeBytes, llc: 16 * 1024 * 1024 } as const;

/** A bin above the LLC tier: its accesses miss every platform's LLC. */
export const beyondLlcTier = (binBytes: number): boolean => binBytes > cacheTiers.llc;

/** The other platforms' L2 sizes: thresholds whose tails the knobs leave as profiled. */
export const heldTiers: readonly number[] = [
  ...new Set(platforms.map((p) => p.l2.sizeBytes).filter((s) => !Object.values(cacheTiers).includes(s))),
];

type Curve = BodyPlan['cache']['dcache'];

/** Scales the working-set tails of a miss curve by tiers (see the file comment); factors of 1 change nothing. */
export function scaleWorkingSetTail(
  curve: Curve,
  sizes: readonly number[],
  tiers: readonly TailTier[],
): Curve {
  if (tiers.every((t) => t.factor === 1) || tiers.length === 0) return curve;
  const sorted = [...tiers].sort((a, b) => a.aboveBytes - b.aboveBytes);
  const bins = [...curve.workingSet, curve.beyondLargest];
  const sizeOf = (i: number) => sizes[i] ?? Number.POSITIVE_INFINITY;
  // Band k holds the bins above threshold k-1 (none for k = 0) and at or below threshold k.
  const bandOf = (i: number) => {
    const k = sorted.findIndex((t) => sizeOf(i) <= t.aboveBytes);
    return k < 0 ? sorted.length : k;
  };
  const mass = new Array<number>(sorted.length + 1).fill(0);
  bins.forEach((v, i) => {
    mass[bandOf(i)] = (mass[bandOf(i)] ?? 0) + v;
  });
  const tailOf = (m: readonly number[], k: number) => m.slice(k + 1).reduce((s, v) => s + v, 0);
  const total = tailOf(mass, -1);
  // New tail beyond each threshold: its own scaled, never above the tail of the threshold below it.
  const tails: number[] = [];
  let below = total;
  sorted.forEach((t, k) => {
    const tail = Math.min(below, Math.max(0, t.factor) * tailOf(mass, k));
    tails.push(tail);
    below = tail;
  });
  const newMass = mass.map((_, k) => (k === 0 ? total : (tails[k - 1] ?? 0)) - (tails[k] ?? 0));
  // A band without bins cannot hold its share: the nearest band below with bins takes it.
  for (let k = newMass.length - 1; k > 0; k--) {
    if ((mass[k] ?? 0) > 0) continue;
    let to = k - 1;
    while (to > 0 && (mass[to] ?? 0) === 0) to--;
    newMass[to] = (newMass[to] ?? 0) + (newMass[k] ?? 0);
    newMass[k] = 0;
  }
  const scaled = bins.map((v, i) => {
    const k = bandOf(i);
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
