// Simulated cache geometries (pure): the two platforms compared in simulation and the miss-ratio-curve sweep.
// Valgrind simulates two levels (I1/D1 and a unified LL). A platform's three levels therefore take two runs: one
// with LL = its L2 and one with LL = its LLC (the LLC behind the L1s directly; with an LLC 25–30× larger than the
// L2, what misses it is nearly what misses it behind the L2). Geometries must have a power-of-two set count and at
// least two lines (feasibility.md §4.3); 30 MiB and 25 MiB therefore use 15 and 25 ways.

import { DittoError } from '../../errors.ts';

export interface CacheLevel {
  sizeBytes: number;
  assoc: number;
  lineBytes: number;
}

export interface CacheGeometry {
  i1: CacheLevel;
  d1: CacheLevel;
  ll: CacheLevel;
}

/** A platform's TLBs as caches of 4 KiB lines (one entry a page): valgrind simulates them as it does caches, the
 * second-level TLB as the LL behind both first-level ones (a unified STLB). */
export interface TlbGeometry {
  itlb: CacheLevel;
  dtlb: CacheLevel;
  stlb: CacheLevel;
}

export interface PlatformGeometry {
  name: string;
  l1i: CacheLevel;
  l1d: CacheLevel;
  l2: CacheLevel;
  llc: CacheLevel;
  tlb: TlbGeometry;
}

/**
 * Below this many misses per 1000 instructions a level's misses neither matter (at 100 ns each, under 0.1% of the
 * time of instructions that take 1 ns) nor make a ratio worth steering: nginx's L2 missed 0.0001 per 1000
 * instructions on platform A, a dozen cold misses per window, and its LLC ratio (LLC misses over those) went from
 * 0.28 to 1 between identical runs; the tuner chasing it drove the LLC tail knob to 20 and platform B's L2 misses
 * to 250 times the original's. The plan makes no d-cache tail beyond the LLCs for so few LLC misses either.
 */
export const negligibleMpki = 0.01;

const KiB = 1024;
const MiB = 1024 * KiB;
const line = 64;
const page = 4096;
const tlbLevel = (entries: number, assoc: number): CacheLevel => ({
  sizeBytes: entries * page,
  assoc,
  lineBytes: page,
});

/** The platform the tuner measures the clone on; the others judge it without having shaped it. */
export const tuningPlatform: PlatformGeometry = {
  name: 'A',
  l1i: { sizeBytes: 32 * KiB, assoc: 8, lineBytes: line },
  l1d: { sizeBytes: 32 * KiB, assoc: 8, lineBytes: line },
  l2: { sizeBytes: 1 * MiB, assoc: 16, lineBytes: line },
  llc: { sizeBytes: 30 * MiB, assoc: 15, lineBytes: line },
  // Skylake's: 128-entry 8-way iTLB, 64-entry 4-way dTLB, 1536-entry 12-way STLB (4 KiB pages).
  tlb: { itlb: tlbLevel(128, 8), dtlb: tlbLevel(64, 4), stlb: tlbLevel(1536, 12) },
};

export const platforms: readonly PlatformGeometry[] = [
  tuningPlatform,
  {
    name: 'B',
    l1i: { sizeBytes: 32 * KiB, assoc: 8, lineBytes: line },
    l1d: { sizeBytes: 32 * KiB, assoc: 8, lineBytes: line },
    l2: { sizeBytes: 256 * KiB, assoc: 4, lineBytes: line },
    llc: { sizeBytes: 25 * MiB, assoc: 25, lineBytes: line },
    // Broadwell's: 128-entry 4-way iTLB, 64-entry 4-way dTLB, 1536-entry 6-way STLB.
    tlb: { itlb: tlbLevel(128, 4), dtlb: tlbLevel(64, 4), stlb: tlbLevel(1536, 6) },
  },
];

/** The platforms of these names (a `--platform` list), or a usage error naming the unknown one. */
export function namedPlatforms(names: readonly string[]): PlatformGeometry[] {
  return names.map((name) => {
    const p = platforms.find((k) => k.name === name);
    if (!p)
      throw new DittoError('DITTO_USAGE', `--platform: no platform is named "${name}"`, {
        hint: `use some of ${platforms.map((k) => k.name).join(', ')}`,
      });
    return p;
  });
}

export function isValidLevel(level: CacheLevel): boolean {
  const lines = level.sizeBytes / level.lineBytes;
  const sets = lines / level.assoc;
  return (
    Number.isInteger(lines) &&
    lines >= 2 &&
    level.lineBytes >= 32 &&
    level.assoc >= 1 &&
    Number.isInteger(sets) &&
    (sets & (sets - 1)) === 0
  );
}

/** Ways for a sweep point: 8 (as the original's analyzers assumed), fewer when the cache has fewer lines. */
function sweepLevel(sizeBytes: number, ways: number): CacheLevel {
  return { sizeBytes, assoc: Math.min(ways, sizeBytes / line), lineBytes: line };
}

export type CacheRunRole =
  | { kind: 'sweep' }
  | { kind: 'platform'; platform: string; level: 'l2' | 'llc' }
  | { kind: 'tlb'; platform: string };

export interface CacheRunPlan {
  role: CacheRunRole;
  geometry: CacheGeometry;
}

/**
 * The runs that measure the miss-ratio curves (128 B … 64 MiB) and the platform miss rates. Each run yields two
 * curve points per stream: the L1 size (I1/D1 misses) and the LL size (LL misses), the LL 1024× the L1 so that the
 * L1 in front of it filters only accesses the LL would hit anyway. The platform runs add their own points.
 */
export function cacheRunPlan(options: { minBytes?: number; maxBytes?: number } = {}): CacheRunPlan[] {
  const minBytes = options.minBytes ?? 128;
  const maxBytes = options.maxBytes ?? 64 * MiB;
  const sizes: number[] = [];
  for (let s = minBytes; s <= maxBytes; s *= 2) sizes.push(s);
  const half = Math.ceil(sizes.length / 2);
  const runs: CacheRunPlan[] = [];
  for (let i = 0; i < half; i++) {
    const small = sizes[i] ?? minBytes;
    const large = sizes[i + half] ?? maxBytes;
    runs.push({
      role: { kind: 'sweep' },
      geometry: { i1: sweepLevel(small, 8), d1: sweepLevel(small, 8), ll: sweepLevel(large, 16) },
    });
  }
  for (const p of platforms) {
    for (const level of ['l2', 'llc'] as const) {
      runs.push({
        role: { kind: 'platform', platform: p.name, level },
        geometry: { i1: p.l1i, d1: p.l1d, ll: p[level] },
      });
    }
  }
  return runs;
}

/** One run per platform that simulates its TLBs instead of its caches (page-granular: a miss is a page walk
 * started, or an STLB lookup). */
export function tlbRunPlan(platformNames: readonly string[]): CacheRunPlan[] {
  return platforms
    .filter((p) => platformNames.includes(p.name))
    .map((p) => ({
      role: { kind: 'tlb', platform: p.name },
      geometry: { i1: p.tlb.itlb, d1: p.tlb.dtlb, ll: p.tlb.stlb },
    }));
}

export function geometryArgs(g: CacheGeometry): string[] {
  const arg = (l: CacheLevel) => `${l.sizeBytes},${l.assoc},${l.lineBytes}`;
  return [`--I1=${arg(g.i1)}`, `--D1=${arg(g.d1)}`, `--LL=${arg(g.ll)}`];
}
