// topology.json: services, their endpoints, and per endpoint the calls it makes (DESIGN.md §2).
import { z } from 'zod';

const dist = z.object({
  count: z.number().int().nonnegative(),
  mean: z.number(),
  min: z.number(),
  p50: z.number(),
  p90: z.number(),
  p99: z.number(),
  max: z.number(),
});

const serviceKind = z.enum(['service', 'database', 'cache', 'messaging', 'peer']);

const call = z.object({
  service: z.string(),
  endpoint: z.string(),
  /** Share of the caller's invocations that made this call at least once. */
  probability: z.number().min(0).max(1),
  callsPerRequest: z.object({
    mean: z.number(),
    /** Calls made by one invocation that makes the call at all → share of those invocations. */
    distribution: z.array(z.object({ calls: z.number().int().positive(), share: z.number() })),
  }),
  mode: z.enum(['sequential', 'parallel', 'async']),
  /** Share of the observations that agree with `mode` (1 when there was nothing to disagree with). */
  confidence: z.number().min(0).max(1),
  /** Sequential position among the caller's synchronous calls (0 = first stage); mean over observations. */
  stage: z.number(),
  observations: z.object({
    calls: z.number().int().nonnegative(),
    async: z.number().int().nonnegative(),
    overlapping: z.number().int().nonnegative(),
    sequential: z.number().int().nonnegative(),
  }),
  responseTimeUs: dist.optional(),
  requestBytes: dist.optional(),
  responseBytes: dist.optional(),
  rpcSystem: z.string().optional(),
  /** Broker between producer and consumer. */
  via: z.string().optional(),
  errors: z.number().int().nonnegative(),
  /** eBPF discovery: observed rate and bytes per second over the watch window. */
  ratePerSec: z.number().optional(),
  bytesPerSec: z.object({ sent: z.number(), received: z.number() }).optional(),
  /** eBPF discovery: TCP connections opened per second (about ratePerSec when no connection is reused). */
  connectionsPerSec: z.number().optional(),
});

const endpoint = z.object({
  name: z.string(),
  invocations: z.number().int().nonnegative(),
  kind: z.enum(['server', 'client', 'producer', 'consumer', 'internal', 'unknown']),
  responseTimeUs: dist.optional(),
  selfTimeUs: dist.optional(),
  requestBytes: dist.optional(),
  responseBytes: dist.optional(),
  rpcSystem: z.string().optional(),
  errors: z.number().int().nonnegative(),
  calls: z.array(call),
});

const service = z.object({
  name: z.string(),
  kind: serviceKind,
  /** Not instrumented: known only from its callers (remote endpoint, peer.service, db.system) or the wire. */
  virtual: z.boolean(),
  endpoints: z.array(endpoint),
});

export const topologySchema = z.object({
  schemaVersion: z.literal(1),
  source: z.object({
    method: z.enum(['traces', 'ebpf']),
    inputs: z.array(
      z.object({ path: z.string(), format: z.string(), spans: z.number().int().nonnegative() }),
    ),
    /** eBPF discovery: length of the watch window. */
    windowSec: z.number().optional(),
  }),
  stats: z.object({
    traces: z.number().int().nonnegative(),
    spans: z.number().int().nonnegative(),
    services: z.number().int().nonnegative(),
    virtualServices: z.number().int().nonnegative(),
    endpoints: z.number().int().nonnegative(),
    calls: z.number().int().nonnegative(),
    serviceEdges: z.number().int().nonnegative(),
  }),
  services: z.array(service),
  serviceEdges: z.array(
    z.object({
      from: z.string(),
      to: z.string(),
      calls: z.number().int().nonnegative(),
      async: z.boolean(),
    }),
  ),
  /** Where requests enter the system and the request mix. */
  entries: z.array(
    z.object({ service: z.string(), endpoint: z.string(), count: z.number().int(), share: z.number() }),
  ),
  dropped: z.array(
    z.object({
      reason: z.string(),
      count: z.number().int().nonnegative(),
      action: z.string(),
      explanation: z.string(),
      examples: z.array(z.string()),
    }),
  ),
});

export type Topology = z.infer<typeof topologySchema>;
export type TopologyService = Topology['services'][number];
export type TopologyEndpoint = TopologyService['endpoints'][number];
export type TopologyCall = TopologyEndpoint['calls'][number];
