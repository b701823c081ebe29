// report.json: everything `ditto report` shows, rebuilt from the artifacts of a clone directory alone: per metric the
// original, the clone, the relative error, the goal and the verdict; the noise floor; the latency curves; the tuning
// trajectory; a short profile summary. report.html and the console tables are drawn from it.
import { z } from 'zod';
import { networkModelSchema, processRoleSchema, threadRoleSchema } from '../analyze/skeleton/threads.ts';
import { protocolSchema } from '../spec/target-spec.ts';
import { clonePlanSchema } from './clone-plan.ts';
import { comparisonSchema, measurementSchema } from './measurement.ts';
import { requestClassSchema } from './profile.ts';
import { tuningSchema } from './tuning.ts';

const nonNegative = z.number().nonnegative();
const comparedMetric = comparisonSchema.shape.metrics.element;
export const metricGroupSchema = comparedMetric.shape.group;
export type MetricGroup = z.infer<typeof metricGroupSchema>;

export const reportRowSchema = z.strictObject({
  ...comparedMetric.shape,
  /** The metric in words ("latency p99 (µs)"). */
  label: z.string(),
  /** The largest relative error that passes; null when no goal covers the metric (shown, not judged). */
  goal: nonNegative.nullable(),
  pass: z.boolean().nullable(),
  /** The same metric's error between two runs of the original (comparison-self.json); null without one. */
  noise: z.number().nullable(),
});
export type ReportRow = z.infer<typeof reportRowSchema>;

const latencyCurveSchema = measurementSchema.pick({ loads: true, saturationRps: true });

const tuningReportSchema = tuningSchema.omit({ schemaVersion: true });

export const profileSummarySchema = z.strictObject({
  protocol: protocolSchema,
  workload: z.strictObject({
    qps: z.number().positive(),
    connections: z.number().int().positive(),
    classes: z.array(z.strictObject({ name: requestClassSchema, share: nonNegative })),
  }),
  skeleton: z
    .strictObject({
      processes: z.array(
        z.strictObject({ role: processRoleSchema, count: z.number().int(), threads: z.number().int() }),
      ),
      threads: z.array(
        z.strictObject({
          role: threadRoleSchema,
          processRole: processRoleSchema,
          count: z.number().int(),
          blocksOn: z.array(z.string()),
          periodMs: nonNegative.nullable(),
        }),
      ),
      network: networkModelSchema,
    })
    .nullable(),
  /** Per request class: the calls that make ≥ 0.01 per request, and the I/O bytes per request. */
  syscalls: z.array(
    z.strictObject({
      class: z.string(),
      calls: z.array(
        z.strictObject({
          name: z.string(),
          role: threadRoleSchema,
          target: z.enum(['socket', 'file', 'other']).nullable(),
          callsPerRequest: nonNegative,
          bytesPerRequest: nonNegative.nullable(),
        }),
      ),
      networkInBytes: nonNegative,
      networkOutBytes: nonNegative,
      diskReadBytes: nonNegative,
      diskWriteBytes: nonNegative,
    }),
  ),
  /** Per request class: dynamic instructions per request and their mix by kind (arith, mov, branch, …). */
  instructions: z.array(
    z.strictObject({
      class: requestClassSchema,
      perRequest: nonNegative,
      mix: z.array(z.strictObject({ kind: z.string(), share: nonNegative })),
    }),
  ),
});
export type ProfileSummary = z.infer<typeof profileSummarySchema>;

export const reportSchema = z.strictObject({
  schemaVersion: z.literal(1),
  target: z.string(),
  /** Which artifacts of the clone directory the report was built from. */
  inputs: z.strictObject({
    comparison: z.literal(true),
    self: z.boolean(),
    tuning: z.boolean(),
    profile: z.boolean(),
    plan: z.boolean(),
  }),
  goals: z.array(z.strictObject({ text: z.string(), maxRelError: nonNegative })),
  /** Rows with a goal that pass and fail; rows without one are not counted. */
  summary: z.strictObject({ passed: z.number().int(), failed: z.number().int() }),
  groups: z.array(
    z.strictObject({
      group: metricGroupSchema,
      passed: z.number().int(),
      failed: z.number().int(),
      rows: z.array(reportRowSchema),
    }),
  ),
  /** Latency at each load and saturation throughput, of the original and of the clone. */
  latency: z.strictObject({ original: latencyCurveSchema, clone: latencyCurveSchema }),
  tuning: tuningReportSchema.nullable(),
  profile: profileSummarySchema.nullable(),
  /** The clone's network model and the tuning knobs it was generated with. */
  plan: z
    .strictObject({
      network: clonePlanSchema.shape.network,
      knobs: clonePlanSchema.shape.knobs,
      seed: clonePlanSchema.shape.seed,
    })
    .nullable(),
});
export type Report = z.infer<typeof reportSchema>;
