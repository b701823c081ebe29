// Miss-ratio curves, working-set histograms and per-platform miss rates from simulated cache runs (pure).
import type { CacheGeometry, PlatformGeometry } from '../../collect/valgrind/geometry.ts';
import type { CacheCurves, PlatformMissRates, TlbMpki } from './schema.ts';

export interface CacheRunResult {
  geometry: CacheGeometry;
  /** Event totals of the measured window: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw (Bc Bcm Bi Bim when collected). */
  totals: Record<string, number>;
  requests: number;
}

const get = (t: Record<string, number>, k: string) => t[k] ?? 0;

/** Pool-adjacent-violators: the closest non-increasing sequence (least squares, weighted). */
export function nonIncreasing(values: readonly number[], weights: readonly number[]): number[] {
  const blocks: { value: number; weight: number; size: number }[] = [];
  values.forEach((v, i) => {
    blocks.push({ value: v, weight: weights[i] ?? 1, size: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1];
      const a = blocks[blocks.length - 2];
      if (!a || !b || a.value >= b.value) break;
      const weight = a.weight + b.weight;
      blocks.splice(-2, 2, {
        value: (a.value * a.weight + b.value * b.weight) / weight,
        weight,
        size: a.size + b.size,
      });
    }
  });
  return blocks.flatMap((b) => Array<number>(b.size).fill(b.value));
}

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

interface Point {
  size: number;
  ratio: number;
  accesses: number;
  /** Measured as the L1 (the cache sees every access), not as an LL behind a smaller L1. */
  direct: boolean;
}

function curve(points: Point[]): { sizes: number[]; ratios: number[]; accesses: number[] } {
  const bySize = new Map<number, { misses: number; accesses: number }>();
  // An LL behind an L1 only 8-32x smaller (the quick sweep's 4-32 KiB points, platform B's L2) overstates a lone
  // cache's misses: the L1's hits never refresh the LL's LRU order, so lines hot in the L1 age out of the LL and
  // miss it when they come back. Where a size was also measured as an L1, that measurement alone counts (nginx:
  // 3.1 % at 32 KiB with the LL points, 1.8 % from the platform L1s alone).
  const direct = new Set(points.filter((p) => p.direct).map((p) => p.size));
  for (const p of points) {
    // Only power-of-two sizes form the curve; the platform LLCs (25/30 MiB) are reported on their own.
    if (!isPowerOfTwo(p.size) || p.accesses <= 0 || (!p.direct && direct.has(p.size))) continue;
    const agg = bySize.get(p.size) ?? { misses: 0, accesses: 0 };
    agg.misses += p.ratio * p.accesses;
    agg.accesses += p.accesses;
    bySize.set(p.size, agg);
  }
  const sizes = [...bySize.keys()].sort((a, b) => a - b);
  const ratios = sizes.map((s) => {
    const agg = bySize.get(s);
    return agg && agg.accesses > 0 ? agg.misses / agg.accesses : 0;
  });
  return { sizes, ratios, accesses: sizes.map((s) => bySize.get(s)?.accesses ?? 0) };
}

/**
 * "Size needed to hit" (ditto-method.md §3.1): share hitting first at S_0 = 1 − m(S_0), at S_i = m(S_{i−1}) − m(S_i);
 * what misses the largest size is kept apart instead of being folded into it. m must be non-increasing.
 */
export function workingSet(missRatio: readonly number[]): { workingSet: number[]; beyondLargest: number } {
  const out = missRatio.map((m, i) => Math.max(0, (i === 0 ? 1 : (missRatio[i - 1] ?? 1)) - m));
  return { workingSet: out, beyondLargest: Math.max(0, missRatio.at(-1) ?? 1) };
}

/**
 * I-cache points: I1 misses at the I1 size, LL instruction misses at the LL size (an LL 1024× the L1 sees nearly
 * what a lone cache of its size would). D-cache likewise with reads + writes. Ratios per run, so that runs with
 * slightly different instruction counts (background threads) combine; the curve is then made non-increasing.
 */
export function cacheCurves(runs: readonly CacheRunResult[]): CacheCurves {
  const ipoints: Point[] = [];
  const dpoints: Point[] = [];
  let ifetch = 0;
  let daccess = 0;
  let requests = 0;
  for (const { geometry: g, totals: t, requests: n } of runs) {
    const ir = get(t, 'Ir');
    const d = get(t, 'Dr') + get(t, 'Dw');
    if (ir <= 0) continue;
    ifetch += ir;
    daccess += d;
    requests += n;
    ipoints.push({ size: g.i1.sizeBytes, ratio: get(t, 'I1mr') / ir, accesses: ir, direct: true });
    dpoints.push({
      size: g.d1.sizeBytes,
      ratio: (get(t, 'D1mr') + get(t, 'D1mw')) / Math.max(1, d),
      accesses: d,
      direct: true,
    });
    if (g.ll.sizeBytes >= 4 * Math.max(g.i1.sizeBytes, g.d1.sizeBytes)) {
      ipoints.push({ size: g.ll.sizeBytes, ratio: get(t, 'ILmr') / ir, accesses: ir, direct: false });
      dpoints.push({
        size: g.ll.sizeBytes,
        ratio: (get(t, 'DLmr') + get(t, 'DLmw')) / Math.max(1, d),
        accesses: d,
        direct: false,
      });
    }
  }
  const ic = curve(ipoints);
  const dc = curve(dpoints);
  // Both streams are measured at the same sizes by construction; keep the common ones.
  const sizes = ic.sizes.filter((s) => dc.sizes.includes(s));
  const pick = (c: typeof ic) => {
    const idx = sizes.map((s) => c.sizes.indexOf(s));
    return nonIncreasing(
      idx.map((i) => c.ratios[i] ?? 0),
      idx.map((i) => c.accesses[i] ?? 1),
    ).map((v) => Math.min(1, Math.max(0, v)));
  };
  const imiss = pick(ic);
  const dmiss = pick(dc);
  const perRequest = (x: number) => (requests > 0 ? x / requests : 0);
  return {
    sizesBytes: sizes,
    icache: { accessesPerRequest: perRequest(ifetch), missRatio: imiss, ...workingSet(imiss) },
    dcache: { accessesPerRequest: perRequest(daccess), missRatio: dmiss, ...workingSet(dmiss) },
  };
}

/** TLB misses per 1000 instructions from a run that simulated a platform's TLBs as caches of pages. */
export function tlbMpki(run: CacheRunResult): TlbMpki {
  const t = run.totals;
  const ir = get(t, 'Ir');
  const perKilo = (x: number) => (ir > 0 ? (1000 * x) / ir : 0);
  return {
    itlb: perKilo(get(t, 'I1mr')),
    dtlb: perKilo(get(t, 'D1mr') + get(t, 'D1mw')),
    stlb: perKilo(get(t, 'ILmr') + get(t, 'DLmr') + get(t, 'DLmw')),
  };
}

/**
 * Miss rates of one platform from its two runs (LL = L2, LL = LLC). L1 figures average both runs; the LLC's local
 * ratio divides its misses per instruction by the L2's. With its TLB run, its TLB misses too.
 */
export function platformMissRates(
  platform: PlatformGeometry,
  l2Run: CacheRunResult,
  llcRun: CacheRunResult,
  tlbRun?: CacheRunResult,
): PlatformMissRates {
  const both = [l2Run.totals, llcRun.totals];
  const sum = (k: string) => both.reduce((s, t) => s + get(t, k), 0);
  const ir = sum('Ir');
  const l1iMisses = sum('I1mr');
  const l1dMisses = sum('D1mr') + sum('D1mw');
  const dAccesses = sum('Dr') + sum('Dw');
  const llMisses = (t: Record<string, number>) => get(t, 'ILmr') + get(t, 'DLmr') + get(t, 'DLmw');
  const l1Misses = (t: Record<string, number>) => get(t, 'I1mr') + get(t, 'D1mr') + get(t, 'D1mw');
  const perInstr = (x: number, t: Record<string, number>) => (get(t, 'Ir') > 0 ? x / get(t, 'Ir') : 0);
  const l2PerInstr = perInstr(llMisses(l2Run.totals), l2Run.totals);
  const llcPerInstr = perInstr(llMisses(llcRun.totals), llcRun.totals);
  const l1PerInstr = perInstr(l1Misses(l2Run.totals), l2Run.totals);
  const bc = sum('Bc');
  const bi = sum('Bi');
  const ratio = (a: number, b: number) => (b > 0 ? Math.min(1, a / b) : 0);
  return {
    platform: platform.name,
    geometry: { l1i: platform.l1i, l1d: platform.l1d, l2: platform.l2, llc: platform.llc },
    l1iMissRatio: ratio(l1iMisses, ir),
    l1dMissRatio: ratio(l1dMisses, dAccesses),
    l2MissRatio: ratio(l2PerInstr, l1PerInstr),
    llcMissRatio: ratio(llcPerInstr, l2PerInstr),
    mpki: {
      l1i: ir > 0 ? (1000 * l1iMisses) / ir : 0,
      l1d: ir > 0 ? (1000 * l1dMisses) / ir : 0,
      l2: 1000 * l2PerInstr,
      llc: 1000 * llcPerInstr,
    },
    tlbMpki: tlbRun ? tlbMpki(tlbRun) : null,
    // Valgrind's predictor has no geometry: the same model for every platform.
    branchMispredictRate: bc + bi > 0 ? (sum('Bcm') + sum('Bim')) / (bc + bi) : null,
    conditionalMispredictRate: bc > 0 ? sum('Bcm') / bc : null,
    indirectMispredictRate: bi > 0 ? sum('Bim') / bi : null,
  };
}
