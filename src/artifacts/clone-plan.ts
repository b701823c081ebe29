// The clone plan: every number the emitter needs to write a synthetic service (pure output of src/plan).
// The runtime part (network model, protocol framing, syscalls) becomes a generated C configuration read by
// native/runtime; the body part becomes generated asm functions (native/runtime/body.h is their contract).
import { z } from 'zod';
import {
  branchBehaviourSchema,
  cacheCurvesSchema,
  dependencyDistancesSchema,
  instructionMixSchema,
  stringOpsSchema,
} from '../analyze/cpu/schema.ts';
import { protocolSchema } from '../spec/target-spec.ts';
import { requestClassSchema } from './profile.ts';

const fraction = z.number().min(0).max(1);
const weightedSizes = z.array(
  z.strictObject({ size: z.number().int().nonnegative(), weight: z.number().positive() }),
);

/** What one body invocation (a request of a class, or a background wake-up) must reproduce. */
export const bodyPlanSchema = z.strictObject({
  /** Dynamic instructions per invocation, after subtracting what the runtime itself executes. */
  instructions: z.number().nonnegative(),
  mix: instructionMixSchema,
  branches: branchBehaviourSchema,
  dependencies: dependencyDistancesSchema,
  stringOps: stringOpsSchema,
  cache: cacheCurvesSchema,
});
export type BodyPlan = z.infer<typeof bodyPlanSchema>;

/** A system call the runtime makes per request (beyond reading the request and writing the response). */
export const syscallOpSchema = z.strictObject({
  op: z.enum([
    'file_read',
    'file_write',
    'file_pread',
    'file_pwrite',
    'fsync',
    'fdatasync',
    'open_close',
    'stat',
    'sendfile',
  ]),
  /**
   * Mean calls per request. Per request: the runtime makes floor(x) calls plus one more with probability frac(x).
   * Per loop pass: x is the profiled figure (it falls as load grows and passes serve more requests).
   */
  perRequest: z.number().nonnegative(),
  /** Bytes per call (reads and writes); per loop pass: bytes each request adds to the pass's one call. */
  bytes: z.number().int().nonnegative(),
  /**
   * Where in the data file a call starts: after the previous one, anywhere, or at the end, growing the file (writes
   * that appended in the original: syncing a grown file commits its size too, and costs ~1.5× a sync in place).
   */
  pattern: z.enum(['sequential', 'random', 'append']),
  /**
   * request: made while serving each request. loop: made once per event-loop pass that served a request of the
   * class, for all of them, before that pass's responses go out (an append-only log written and synced per pass).
   */
  batch: z.enum(['request', 'loop']),
});
export type SyscallOp = z.infer<typeof syscallOpSchema>;

export const clonePlanSchema = z.strictObject({
  schemaVersion: z.literal(1),
  protocol: protocolSchema,
  network: z.strictObject({
    /**
     * dispatch: acceptor thread(s) hand connections to a pool of epoll network threads; event-loop: one epoll loop
     * accepts and serves; thread-per-connection; process-workers: master + worker processes sharing the listening
     * socket, an epoll loop each; process-per-connection.
     */
    model: z.enum([
      'dispatch',
      'event-loop',
      'thread-per-connection',
      'process-workers',
      'process-per-connection',
    ]),
    io: z.enum(['epoll', 'blocking', 'nonblocking']),
    /**
     * The system calls that receive requests and send responses, by their kernel names (recv and send are recvfrom
     * and sendto to the kernel). Vectored calls carry one iovec per contiguous range of output: headers and filler
     * go out in one call, file ranges of the payload (sendfile ops) with sendfile after it.
     */
    receive: z.enum(['read', 'readv', 'recvfrom', 'recvmsg']),
    send: z.enum(['write', 'writev', 'sendto', 'sendmsg']),
    acceptThreads: z.number().int().nonnegative(),
    networkThreads: z.number().int().positive(),
    workerProcesses: z.number().int().nonnegative(),
  }),
  classes: z.array(
    z.strictObject({
      name: requestClassSchema,
      share: fraction,
      /** Response payload sizes (filler bytes inside the protocol's framing). */
      responsePayload: weightedSizes,
      syscalls: z.array(syscallOpSchema),
      body: bodyPlanSchema.nullable(),
    }),
  ),
  background: z.array(
    z.strictObject({
      count: z.number().int().positive(),
      /** Wake-up period; null for threads that only exist (idle). */
      periodMs: z.number().positive().nullable(),
      /**
       * The period at other request rates: periodMs at referenceRate (req/s), scaled by (rate/referenceRate)^-exponent
       * with the rate the clone serves; null: a fixed timer.
       */
      followsLoad: z
        .strictObject({ referenceRate: z.number().positive(), exponent: z.number().min(-1).max(1) })
        .nullable()
        .default(null),
      body: bodyPlanSchema.nullable(),
      /**
       * The largest share of wall time a thread of the group spends awake: it then sleeps at least what keeps it
       * there, so that where its wake-ups slow down (valgrind, CPU contention) it wakes less often rather than
       * running back to back, as the original's did. Null: no bound.
       */
      busyShare: z.number().positive().max(1).nullable().default(null),
    }),
  ),
  /** The scratch data file the runtime reads and writes in place of the original's files. */
  dataFile: z.strictObject({ bytes: z.number().int().nonnegative() }).nullable(),
  /** Tuning knobs (1 = as profiled); the tuner adjusts them and re-plans. */
  knobs: z.record(z.string(), z.number()),
  seed: z.number().int().nonnegative(),
});
export type ClonePlan = z.infer<typeof clonePlanSchema>;
