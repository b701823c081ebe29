// profile.json: the platform-independent features of one service, the only thing a service owner shares.
// It holds no symbol, string, path, address, key or payload byte of the original (checked by src/profile/privacy.ts).
import { z } from 'zod';
import { cpuBodySchema } from '../analyze/cpu/schema.ts';
import { baselineSchema } from '../analyze/skeleton/baseline.ts';
import { syscallProfileSchema } from '../analyze/skeleton/syscalls.ts';
import { skeletonSchema, threadRoleSchema } from '../analyze/skeleton/threads.ts';
import { protocolSchema } from '../spec/target-spec.ts';
import { latencySchema } from './load-result.ts';

const fraction = z.number().min(0).max(1);

export const requestClasses = ['get', 'set'] as const;
export const requestClassSchema = z.enum(requestClasses);
export type RequestClass = z.infer<typeof requestClassSchema>;

export const phaseNames = ['skeleton', 'baseline', 'stacks', 'cpu'] as const;
export const phaseNameSchema = z.enum(phaseNames);
export type PhaseName = z.infer<typeof phaseNameSchema>;

/** The load a measurement was taken at, and what the service did under it. */
export const loadSummarySchema = z.strictObject({
  class: z.union([requestClassSchema, z.literal('mixed')]),
  requestedRate: z.number().nullable(),
  achievedRate: z.number(),
  requests: z.number().int(),
  p50Us: z.number().nullable(),
  p99Us: z.number().nullable(),
});
export type LoadSummary = z.infer<typeof loadSummarySchema>;

export const phaseRecordSchema = z.strictObject({
  name: phaseNameSchema,
  status: z.enum(['done', 'failed', 'skipped']),
  seconds: z.number().nonnegative(),
  /** The loads driven during the phase, to read its cost against the baseline (latency at the same rate). */
  loads: z.array(loadSummarySchema),
  note: z.string().optional(),
});
export type PhaseRecord = z.infer<typeof phaseRecordSchema>;

export const threadClusterSchema = z.strictObject({
  threads: z.number().int().positive(),
  /** Roles (from the skeleton) of the member threads. */
  roles: z.array(threadRoleSchema),
  /** Share of the service's CPU samples spent in this cluster, and in the kernel within it. */
  sampleShare: fraction,
  kernelShare: fraction,
  /** Mean call-tree distance between members (0 = identical trees). */
  spread: fraction,
});

export const profileSchema = z.strictObject({
  schemaVersion: z.literal(1),
  protocol: protocolSchema,
  /** The workload the profile was taken at (generated keys and filler values: nothing of the original's data). */
  workload: z.strictObject({
    qps: z.number().positive(),
    connections: z.number().int().positive(),
    classes: z.array(z.strictObject({ name: requestClassSchema, share: fraction })),
    keys: z.number().int().positive(),
    keyDistribution: z.enum(['uniform', 'zipf']),
    zipfS: z.number().positive(),
    valueSizes: z.array(z.strictObject({ size: z.number().int().positive(), weight: z.number().positive() })),
  }),
  observed: z
    .strictObject({
      load: loadSummarySchema,
      latencyUs: latencySchema,
      baseline: baselineSchema,
      /**
       * The background threads' wake-ups per second (voluntary switches) at the profiled load and at a higher one,
       * untraced: how often they wake as the request rate changes (memcached's LRU maintainer sleeps less when busy).
       */
      backgroundWakeups: z
        .array(
          z.strictObject({
            requestsPerSecond: z.number().nonnegative(),
            wakeupsPerSecond: z.number().nonnegative(),
          }),
        )
        .default([]),
    })
    .nullable(),
  skeleton: skeletonSchema.nullable(),
  /** Per request class: system calls, sizes, targets and I/O bytes per request. */
  syscalls: z.array(syscallProfileSchema),
  threadClusters: z.array(threadClusterSchema),
  /** Per request class: the user-space CPU body. */
  cpu: z.array(
    z.strictObject({
      class: requestClassSchema,
      body: cpuBodySchema,
      /** What the background threads did per wake-up meanwhile (a "request" is a wake-up); null when they woke too
       * rarely to tell, absent from profiles of before it was measured. */
      background: cpuBodySchema.nullable().optional(),
    }),
  ),
  provenance: z.strictObject({
    ditto: z.string(),
    createdAt: z.string(),
    kernel: z.string(),
    tools: z.record(z.string(), z.string()),
    /** Which source each group of features came from, so fallbacks are visible. */
    sources: z.strictObject({
      syscalls: z.enum(['bpftrace', 'none']),
      stacks: z.enum(['perf', 'none']),
      cpu: z.enum(['valgrind', 'none']),
    }),
    phases: z.array(phaseRecordSchema),
  }),
});
export type Profile = z.infer<typeof profileSchema>;
