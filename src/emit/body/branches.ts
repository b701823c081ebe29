// Branch sites of a generated loop body (pure): how many PRNG bits each conditional branch tests, and in which
// direction it jumps, drawn from the profiled taken-rate and mispredict histograms; how many bits pick each indirect
// jump's target, so that they mispredict at the profiled rate (block.ts prints them).
import type { BranchBehaviour } from '../../analyze/cpu/schema.ts';
import type { Random } from './random.ts';

export interface BranchSite {
  /** Bits of PRNG tested (0: deterministic). */
  bits: number;
  /** Jump when the tested value is non-zero (mostly taken) instead of zero. */
  jnz: boolean;
  /** An indirect jump to one of two targets, the rarer one when all `bits` are zero (absent: conditional). */
  indirect?: true;
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

/** Valgrind's predictor guesses an indirect jump's last target: a site taking its rarer target with probability
 * p = 2^-n mispredicts at 2p(1 − p) (1/2 for one bit). */
const indirectMissRate = (bits: number) => (bits > 0 ? 2 * 2 ** -bits * (1 - 2 ** -bits) : 0);

/**
 * Indirect jump sites of one body, drawn so that their executions mispredict at the profiled rate: each site takes
 * the number of PRNG bits (0: one target) that brings the body's mispredicts so far closest to that rate. (A loop
 * body's one site runs every iteration: drawn at random per site, the body's rate would be left to chance.)
 */
export class IndirectSites {
  private readonly rate: number;
  /** The invocation's indirect jumps (executions). */
  private readonly total: number;
  private executions = 0;
  private mispredicts = 0;
  /** Conditional moves left for two-target sites (executions per invocation). */
  private picks: number;

  /**
   * `picks`: the conditional moves the body's mix has per invocation; two-target sites use them up, no more.
   * `dispatch`: indirect jumps the body makes besides its sites (print.ts picks a replica through a table), each
   * with how often it mispredicts; they count among the invocation's jumps and mispredicts.
   */
  constructor(b: BranchBehaviour, picks: number, dispatch: readonly number[] = []) {
    this.rate = b.indirectMispredictRate ?? 0;
    this.total = b.indirectPerRequest;
    this.picks = picks;
    this.executions = dispatch.length;
    this.mispredicts = dispatch.reduce((sum, rate) => sum + rate, 0);
  }

  /** `n` sites that each run `executions` times per invocation. */
  draw(n: number, executions: number): BranchSite[] {
    const out: BranchSite[] = [];
    for (let k = 0; k < n; k++) {
      this.executions += executions;
      const gap = (bits: number) =>
        Math.abs(this.mispredicts + executions * indirectMissRate(bits) - this.rate * this.executions);
      // Where the invocation's end could land were this site given `bits`: from the mispredicts made by then to
      // that plus one bit's rate per pick left, spent on the sites after it. A site takes the bits whose range
      // misses the target least, then the one leaving the widest range, then the one nearest the running rate.
      // (The running rate alone gave memcached's get body's first site, in a loop of 9 iterations, 3 bits for 9 of
      // its 14 picks: 14 % for a planned 18.7 %.)
      const target = this.rate * Math.max(this.total, this.executions);
      const later = Math.max(0, this.total - this.executions);
      const outcome = (bits: number) => {
        const reached = this.mispredicts + executions * indirectMissRate(bits);
        const picks = this.picks - (bits > 0 ? executions : 0);
        const reachable = reached + indirectMissRate(1) * Math.min(Math.max(0, picks), later);
        return { miss: Math.max(0, reached - target, target - reachable), reachable, gap: gap(bits) };
      };
      const better = (a: ReturnType<typeof outcome>, b: ReturnType<typeof outcome>) =>
        Math.abs(a.miss - b.miss) > 1e-9
          ? a.miss < b.miss
          : Math.abs(a.reachable - b.reachable) > 1e-9
            ? a.reachable > b.reachable
            : a.gap < b.gap;
      let best = 0;
      // Up to 3 bits (a rate of 0.22 and more): lower rates would spend the few picks on few mispredicts.
      if (executions <= this.picks)
        for (let bits = 1; bits <= 3; bits++) if (better(outcome(bits), outcome(best))) best = bits;
      if (best > 0) this.picks -= executions;
      this.mispredicts += executions * indirectMissRate(best);
      out.push({ bits: best, jnz: false, indirect: true });
    }
    return out;
  }

  /** The state to return to when a block is generated again. */
  save(): () => void {
    const { executions, mispredicts, picks } = this;
    return () => {
      this.executions = executions;
      this.mispredicts = mispredicts;
      this.picks = picks;
    };
  }
}
