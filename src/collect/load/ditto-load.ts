// Parses the JSON that native/load (ditto-load) prints into a LoadResult (pure).
import { z } from 'zod';
import type { LoadResult } from '../../artifacts/load-result.ts';
import { DittoError } from '../../errors.ts';
import { describeZodError } from '../../spec/load.ts';
import { loadWarnings } from './warnings.ts';

const rawSchema = z.object({
  tool: z.literal('ditto-load'),
  protocol: z.enum(['memcached', 'redis', 'http']),
  mode: z.enum(['open', 'closed']),
  requestedRate: z.number().nullable(),
  achievedRate: z.number(),
  durationS: z.number(),
  connections: z.number().int(),
  requests: z.number().int(),
  responses: z.number().int(),
  errors: z.number().int(),
  timeouts: z.number().int(),
  protocolErrors: z.number().int(),
  reconnects: z.number().int(),
  bytesSent: z.number(),
  bytesReceived: z.number(),
  /** Scheduled in the window but never sent because the connection's in-flight cap was reached. */
  unsent: z.number().int().default(0),
  // Null when nothing was answered.
  latencyUs: z.object({
    min: z.number().nullable(),
    mean: z.number().nullable(),
    p50: z.number().nullable(),
    p90: z.number().nullable(),
    p95: z.number().nullable(),
    p99: z.number().nullable(),
    p999: z.number().nullable(),
    max: z.number().nullable(),
  }),
  scheduleLagUs: z.object({ mean: z.number(), max: z.number() }).nullable(),
  cpu: z.object({ userS: z.number(), systemS: z.number() }),
  interrupted: z.boolean(),
  aborted: z.string().nullable(),
  histogram: z.array(z.tuple([z.number(), z.number()])).optional(),
});

export function parseDittoLoadOutput(stdout: string, target: string): LoadResult {
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new DittoError('DITTO_LOAD_FAILED', `ditto-load printed no JSON result: ${stdout.slice(0, 200)}`);
  }
  const parsed = rawSchema.safeParse(json);
  if (!parsed.success) {
    throw new DittoError(
      'DITTO_LOAD_FAILED',
      `unexpected ditto-load output: ${describeZodError('stdout', parsed.error)}`,
    );
  }
  const raw = parsed.data;
  const open = raw.mode === 'open' && raw.requestedRate !== null && raw.requestedRate > 0;
  const requestedRate = open ? raw.requestedRate : null;
  const result: LoadResult = {
    schemaVersion: 1,
    tool: 'ditto-load',
    protocol: raw.protocol,
    target,
    mode: open ? 'open' : 'closed',
    requestedRate,
    achievedRate: raw.achievedRate,
    durationS: raw.durationS,
    connections: raw.connections,
    requests: raw.requests,
    responses: raw.responses,
    errors: raw.errors,
    timeouts: raw.timeouts,
    protocolErrors: raw.protocolErrors,
    bytesSent: raw.bytesSent,
    bytesReceived: raw.bytesReceived,
    latencyUs: raw.latencyUs,
    rateReached: requestedRate === null ? null : raw.achievedRate >= 0.99 * requestedRate,
    clientCpuPerRequestUs: raw.requests > 0 ? ((raw.cpu.userS + raw.cpu.systemS) * 1e6) / raw.requests : null,
    warnings: [],
    ...(raw.histogram ? { histogram: raw.histogram } : {}),
  };
  result.warnings = loadWarnings(result, {
    interrupted: raw.interrupted,
    aborted: raw.aborted,
    reconnects: raw.reconnects,
    unsent: raw.unsent,
    maxScheduleLagUs: raw.scheduleLagUs?.max ?? null,
  });
  return result;
}
