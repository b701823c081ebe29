// measurement.json: the fidelity metrics of one service (the original or a clone) under one load generator,
// collected the same way for both (DESIGN.md §4), and comparison.json: their relative errors.
import { z } from 'zod';
import { threadRoleSchema } from '../analyze/skeleton/threads.ts';
import { protocolSchema } from '../spec/target-spec.ts';

const nonNegative = z.number().nonnegative();

export const simulatedSchema = z.strictObject({
  platform: z.string(),
  instructionsPerRequest: nonNegative,
  l1iMissRatio: nonNegative,
  l1dMissRatio: nonNegative,
  l2MissRatio: nonNegative,
  llcMissRatio: nonNegative,
  branchMispredictRate: nonNegative.nullable(),
  conditionalMispredictRate: nonNegative.nullable().default(null),
  indirectMispredictRate: nonNegative.nullable().default(null),
  /** Misses per 1000 instructions at each level (absent from measurements made before they were kept). */
  mpki: z
    .strictObject({ l1i: nonNegative, l1d: nonNegative, l2: nonNegative, llc: nonNegative })
    .nullable()
    .default(null),
  /** TLB misses per 1000 instructions, when the platform's TLBs were simulated too. */
  tlbMpki: z
    .strictObject({ itlb: nonNegative, dtlb: nonNegative, stlb: nonNegative })
    .nullable()
    .default(null),
});

export const measurementSchema = z.strictObject({
  schemaVersion: z.literal(1),
  role: z.enum(['original', 'clone']),
  protocol: protocolSchema,
  /** Latency at each fixed rate (medians over the repeats). */
  loads: z.array(
    z.strictObject({
      rate: z.number().positive(),
      achievedRate: nonNegative,
      p50Us: nonNegative,
      p95Us: nonNegative,
      p99Us: nonNegative,
    }),
  ),
  /** Closed-loop maximum throughput. */
  saturationRps: nonNegative,
  perRequest: z
    .strictObject({
      cpuUserUs: nonNegative,
      cpuSystemUs: nonNegative,
      /** On-CPU time of the background threads: those seen waiting, never on a socket (baseline.ts). */
      cpuBackgroundUs: nonNegative.nullable().default(null),
      voluntarySwitches: nonNegative,
      involuntarySwitches: nonNegative,
      /** How CPU time was split into user and system: perf's cpu-clock samples, or the kernel's tick counts. */
      cpuSplit: z.enum(['perf', 'ticks']).default('ticks'),
    })
    .nullable(),
  /** Traced (bpftrace): calls per request by syscall name, I/O bytes per request, threads per role. */
  kernel: z
    .strictObject({
      syscallsPerRequest: z.record(z.string(), nonNegative),
      networkInBytes: nonNegative,
      networkOutBytes: nonNegative,
      diskReadBytes: nonNegative,
      diskWriteBytes: nonNegative,
      threadsByRole: z.partialRecord(threadRoleSchema, z.number().int().nonnegative()),
    })
    .nullable(),
  simulated: z.array(simulatedSchema),
});
export type Measurement = z.infer<typeof measurementSchema>;

export const comparisonSchema = z.strictObject({
  schemaVersion: z.literal(1),
  target: z.string(),
  self: z.boolean(),
  metrics: z.array(
    z.strictObject({
      metric: z.string(),
      group: z.enum(['latency', 'cpu', 'uarch', 'kernel', 'io', 'skeleton']),
      load: z.number().nullable(),
      platform: z.string().nullable(),
      original: z.number(),
      clone: z.number(),
      /** |clone − original| / original; null when the original is 0 (then only equality counts). */
      relError: z.number().nullable(),
    }),
  ),
  original: measurementSchema,
  clone: measurementSchema,
});
export type Comparison = z.infer<typeof comparisonSchema>;
