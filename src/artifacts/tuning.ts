// tuning.json: the history of `ditto tune` — knobs and errors at each iteration.
import { z } from 'zod';

export const tuningMetricSchema = z.strictObject({
  metric: z.string(),
  platform: z.string().nullable(),
  original: z.number(),
  clone: z.number(),
  relError: z.number().nullable(),
  /** The error this metric must reach (DESIGN.md §4 / issue goals). */
  goal: z.number().nonnegative(),
  /**
   * The events the metric counts are too few, in the original and the clone alike, for its ratio to mean anything
   * or to matter (metrics.ts): the tuner neither steers on it nor scores it. The comparison still judges it.
   */
  negligible: z.boolean().default(false),
});

export const tuningSchema = z.strictObject({
  schemaVersion: z.literal(1),
  /** The load the tuning measured at (the profiled load); judging uses held-out loads. */
  load: z.number().positive(),
  seed: z.number().int().nonnegative(),
  iterations: z.array(
    z.strictObject({
      iteration: z.number().int().nonnegative(),
      knobs: z.record(z.string(), z.number()),
      metrics: z.array(tuningMetricSchema),
      seconds: z.number().nonnegative(),
    }),
  ),
  /** The iteration whose knobs the clone was left with. */
  best: z.number().int().nonnegative(),
  stopReason: z.enum(['converged', 'iterations', 'minutes', 'stalled']),
});
export type Tuning = z.infer<typeof tuningSchema>;
