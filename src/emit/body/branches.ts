// Branch sites of a generated loop body (pure): how many PRNG bits each conditional branch tests, and in which
// direction it jumps, drawn from the profiled taken-rate and mispredict histograms (block.ts prints them).
import type { BranchBehaviour } from '../../analyze/cpu/schema.ts';
import type { Random } from './random.ts';

export interface BranchSite {
  /** Bits of PRNG tested (0: deterministic). */
  bits: number;
  /** Jump when the tested value is non-zero (mostly taken) instead of zero. */
  jnz: boolean;
}

/** PRNG bits whose minority outcome comes at `rate` (0: a deterministic site). */
const bitsFor = (rate: number) => (rate > 0 ? Math.min(7, Math.max(1, Math.round(-Math.log2(rate)))) : 0);

/**
 * The profiled mispredict rates of the sites whose minority rate is nearest `minority`, with their weights (empty
 * when the profile has no joint histogram). The original predicts many sites of a middling taken rate (loops,
 * correlated conditions: nginx's sites of minority rate 1/2 mispredict 24 % of the time, those of 1/4 12 %); a site
 * testing PRNG bits mispredicts at its minority rate, so the bits follow the rate the original mispredicted at.
 */
function jointRates(b: BranchBehaviour, minority: number): { rate: number; weight: number }[] {
  let nearest: number | undefined;
  for (const j of b.joint) {
    if (nearest === undefined || Math.abs(j.minorityRate - minority) < Math.abs(nearest - minority))
      nearest = j.minorityRate;
  }
  return b.joint
    .filter((j) => j.minorityRate === nearest && j.fraction > 0)
    .map((j) => ({ rate: j.mispredictRate, weight: j.fraction }));
}

/** A body's `n` branch sites: taken-rate bins by systematic sampling (Random.systematic). */
export function drawBranches(b: BranchBehaviour, n: number, random: Random): BranchSite[] {
  const bins = b.takenRate;
  if (bins.length === 0)
    return Array.from({ length: n }, () => ({ bits: 1, jnz: random.next() < b.takenShare }));
  return random
    .systematic(
      bins.map((x) => x.fraction),
      n,
    )
    .map((i): BranchSite => {
      const bin = bins[i];
      if (!bin || bin.hi === 0) return { bits: 0, jnz: false };
      if (bin.lo === 1) return { bits: 0, jnz: true };
      const p = (bin.lo + bin.hi) / 2;
      const minority = Math.min(p, 1 - p);
      const rates = jointRates(b, minority);
      const rate =
        rates.length > 0 ? (rates[random.weighted(rates.map((r) => r.weight))]?.rate ?? 0) : minority;
      return { bits: bitsFor(rate), jnz: p > 0.5 };
    });
}
