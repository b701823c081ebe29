// zod schemas of the CPU-body part of profile.json. Only counts, rates and class names: nothing of the target.
import { z } from 'zod';

const fraction = z.number().min(0).max(1);
const nonNegative = z.number().nonnegative();

export const instructionMixSchema = z.strictObject({
  /** `{ext}.{class}.{mem}` (see src/analyze/cpu/isa.ts) → share of dynamic instructions; sums to 1. */
  categories: z.record(z.string(), fraction),
  /** Share of dynamic instructions that are atomic read-modify-writes (isa.ts); null in profiles made before. */
  atomicShare: fraction.nullable().default(null),
});
export type InstructionMix = z.infer<typeof instructionMixSchema>;

const rateBinSchema = z.strictObject({ lo: fraction, hi: fraction, fraction });

export const branchBehaviourSchema = z.strictObject({
  conditionalPerRequest: nonNegative,
  /** Share of conditional-branch executions that jumped. */
  takenShare: fraction,
  /** Per-site taken rate, weighted by executions; [lo, hi) bins, with exact 0 and exact 1 as their own bins. */
  takenRate: z.array(rateBinSchema),
  /** Per-site min(p, 1 − p) snapped to the nearest of 0, 1/128 … 1/2 (as the original), weighted by executions. */
  minorityRate: z.array(z.strictObject({ rate: fraction, fraction })),
  /**
   * Transition proxy: callgrind counts outcomes but not their order, so the transition rate cannot be measured.
   * Valgrind's branch predictor mispredict rate per site (snapped like minorityRate) stands in for it, jointly with
   * the minority rate. A site's true transition rate lies in [0, 2·minorityRate].
   */
  joint: z.array(z.strictObject({ minorityRate: fraction, mispredictRate: fraction, fraction })),
  /** Valgrind's simulated mispredict rates (conditional; indirect), geometry-independent. */
  conditionalMispredictRate: fraction.nullable(),
  indirectMispredictRate: fraction.nullable(),
  /**
   * Indirect jumps and calls per request, as valgrind's branch simulator counts them (returns are not counted; a
   * PLT stub's jump counts at its call site). Absent from profiles made before it was recorded: none.
   */
  indirectPerRequest: nonNegative.default(0),
});
export type BranchBehaviour = z.infer<typeof branchBehaviourSchema>;

const distanceHistogramSchema = z.strictObject({
  /** bins[d − 1] = share of dependences at distance d (1 … 256 dynamic instructions). */
  bins: z.array(fraction).length(256),
  /** Share beyond 256 instructions, or whose producer could not be followed. */
  beyond: fraction,
});

export const dependencyDistancesSchema = z.strictObject({
  raw: distanceHistogramSchema,
  war: distanceHistogramSchema,
  waw: distanceHistogramSchema,
  /** Share of dynamic instructions' incoming control flow that the graph explains (1 = every predecessor known). */
  edgeCoverage: fraction,
});
export type DependencyDistances = z.infer<typeof dependencyDistancesSchema>;

export const stringOpsSchema = z.strictObject({
  /** Bytes moved/stored/loaded/compared by rep-prefixed string instructions per request. */
  repBytesPerRequest: nonNegative,
  /** rep string instructions started per request (each runs many iterations). */
  repStartsPerRequest: nonNegative,
  byOp: z.record(z.enum(['movs', 'stos', 'lods', 'cmps', 'scas']), nonNegative),
});
export type StringOps = z.infer<typeof stringOpsSchema>;

const missCurveSchema = z.strictObject({
  accessesPerRequest: nonNegative,
  /** Miss ratio at each of `sizesBytes` (non-increasing). */
  missRatio: z.array(fraction),
  /** "Size needed to hit": share of accesses that hit first at each size (ditto-method.md §3.1). */
  workingSet: z.array(fraction),
  /** Share that misses even the largest size (cold and streaming accesses). */
  beyondLargest: fraction,
});

export const cacheCurvesSchema = z.strictObject({
  sizesBytes: z.array(z.number().int().positive()),
  icache: missCurveSchema,
  dcache: missCurveSchema,
});
export type CacheCurves = z.infer<typeof cacheCurvesSchema>;

const levelSchema = z.strictObject({
  sizeBytes: z.number().int().positive(),
  assoc: z.number().int().positive(),
  lineBytes: z.number().int().positive(),
});

export const tlbMpkiSchema = z.strictObject({ itlb: nonNegative, dtlb: nonNegative, stlb: nonNegative });
export type TlbMpki = z.infer<typeof tlbMpkiSchema>;

export const platformMissRatesSchema = z.strictObject({
  platform: z.string(),
  geometry: z.strictObject({ l1i: levelSchema, l1d: levelSchema, l2: levelSchema, llc: levelSchema }),
  /** Local miss ratios: misses / accesses reaching that level. */
  l1iMissRatio: fraction,
  l1dMissRatio: fraction,
  l2MissRatio: fraction,
  llcMissRatio: fraction,
  /** Misses per 1000 instructions. */
  mpki: z.strictObject({ l1i: nonNegative, l1d: nonNegative, l2: nonNegative, llc: nonNegative }),
  /** TLB misses per 1000 instructions (geometry.ts), when a TLB run was made. */
  tlbMpki: tlbMpkiSchema.nullable().default(null),
  branchMispredictRate: fraction.nullable(),
  /** The two kinds apart (Bcm/Bc, Bim/Bi), shown apart by compare. Absent in older profiles. */
  conditionalMispredictRate: fraction.nullable().default(null),
  indirectMispredictRate: fraction.nullable().default(null),
});
export type PlatformMissRates = z.infer<typeof platformMissRatesSchema>;

export const pointerChasingSchema = z.strictObject({
  /** Instructions that read memory (string ops excluded; pops and returns included) per request. */
  loadsPerRequest: nonNegative,
  /** Of those, the expected number whose address came from an earlier load's value (src/analyze/cpu/chase.ts). */
  chaseLoadsPerRequest: nonNegative,
  /** Their misses in the per-instruction window's simulated caches (platform A's L1d and L2), all loads and the
   * chasing ones; null when that window simulated no caches. */
  l1MissesPerRequest: nonNegative.nullable(),
  chaseL1MissesPerRequest: nonNegative.nullable(),
  l2MissesPerRequest: nonNegative.nullable(),
  chaseL2MissesPerRequest: nonNegative.nullable(),
});
export type PointerChasing = z.infer<typeof pointerChasingSchema>;

export const cpuBodySchema = z.strictObject({
  /** Requests served in the measured window(s) and guest instructions counted there. */
  window: z.strictObject({ requests: z.number().int().positive(), instructions: nonNegative }),
  instructionsPerRequest: nonNegative,
  /** Share of window instructions found in the disassembly (the rest: vDSO, valgrind trampolines). */
  mappedShare: fraction,
  mix: instructionMixSchema,
  branches: branchBehaviourSchema,
  dependencies: dependencyDistancesSchema,
  stringOps: stringOpsSchema,
  /** Absent from profiles made before it was recorded. */
  pointerChasing: pointerChasingSchema.nullable().default(null),
  cache: cacheCurvesSchema,
  platforms: z.array(platformMissRatesSchema),
});
export type CpuBody = z.infer<typeof cpuBodySchema>;
