// The result of one load run, whichever client produced it (ditto-load, wrk, redis-benchmark, memcaslap).
import { z } from 'zod';

const nullableNumber = z.number().nullable();

/** Null where the client does not report a figure, or nothing was answered. */
export const latencySchema = z.strictObject({
  min: nullableNumber,
  mean: nullableNumber,
  p50: nullableNumber,
  p90: nullableNumber,
  p95: nullableNumber,
  p99: nullableNumber,
  p999: nullableNumber,
  max: nullableNumber,
});
export type LatencyUs = z.infer<typeof latencySchema>;

export const loadResultSchema = z.strictObject({
  schemaVersion: z.literal(1),
  tool: z.enum(['ditto-load', 'wrk', 'redis-benchmark', 'memcaslap']),
  protocol: z.enum(['memcached', 'redis', 'http']),
  target: z.string(),
  /** open: fixed arrival schedule, latency from intended send times; closed: next request after a response. */
  mode: z.enum(['open', 'closed']),
  requestedRate: nullableNumber,
  achievedRate: z.number(),
  durationS: z.number(),
  connections: z.number().int(),
  requests: z.number().int(),
  responses: z.number().int(),
  errors: z.number().int(),
  timeouts: nullableNumber,
  protocolErrors: nullableNumber,
  bytesSent: nullableNumber,
  bytesReceived: nullableNumber,
  latencyUs: latencySchema,
  /** Open loop only: achieved within 1% of requested. */
  rateReached: z.boolean().nullable(),
  /** The generator's own CPU seconds per request (user + system), where known. */
  clientCpuPerRequestUs: nullableNumber,
  /** Histogram buckets [upper bound µs, count], where the client exposes them. */
  histogram: z.array(z.tuple([z.number(), z.number()])).optional(),
  /** Anything that makes the numbers less trustworthy, in words. */
  warnings: z.array(z.string()),
});
export type LoadResult = z.infer<typeof loadResultSchema>;
