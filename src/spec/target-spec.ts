// Target specs (examples/*.yaml): how to start a service, when it is ready, its protocol and its workload.
import { z } from 'zod';

export const protocols = ['memcached', 'redis', 'http'] as const;
export const protocolSchema = z.enum(protocols);
export type Protocol = z.infer<typeof protocolSchema>;

const positiveInt = z.number().int().positive();

const valueSizeSchema = z.strictObject({ size: positiveInt, weight: z.number().positive() });

export const workloadSchema = z.strictObject({
  /** Requests per second at the profiled point. */
  qps: z.number().positive().default(5000),
  connections: positiveInt.default(8),
  threads: positiveInt.default(1),
  durationS: z.number().positive().default(10),
  warmupS: z.number().nonnegative().default(1),
  arrival: z.enum(['poisson', 'constant']).default('poisson'),
  keys: positiveInt.default(10000),
  keySize: z.number().int().min(4).max(250).default(16),
  keyDistribution: z.enum(['uniform', 'zipf']).default('uniform'),
  zipfS: z.number().positive().default(0.99),
  /** Share of reads (get / GET); the rest are sets. */
  getRatio: z.number().min(0).max(1).default(0.9),
  valueSize: positiveInt.default(100),
  /** Weighted value sizes; overrides valueSize. */
  valueSizes: z.array(valueSizeSchema).min(1).optional(),
  preload: z.boolean().default(true),
  /** HTTP request paths, chosen uniformly. */
  paths: z.array(z.string().startsWith('/')).min(1).default(['/']),
  /** Load points (req/s) for sweeps; the demo and compare use them. */
  loads: z.array(z.number().positive()).min(1).optional(),
  timeoutMs: positiveInt.default(2000),
});
export type Workload = z.infer<typeof workloadSchema>;

const fileSchema = z.union([
  z.strictObject({ path: z.string().min(1), content: z.string() }),
  z.strictObject({ path: z.string().min(1), size: z.number().int().nonnegative() }),
]);

export const externalClients = ['wrk', 'redis-benchmark', 'memcaslap'] as const;

export const targetSpecSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
  description: z.string().optional(),
  /** argv; `{port}`, `{host}` and `{dir}` (a private scratch directory) are substituted. */
  command: z
    .array(z.string())
    .min(1)
    .refine((argv) => (argv[0] ?? '').length > 0, 'the first element must name the program'),
  protocol: protocolSchema,
  host: z.literal('127.0.0.1').default('127.0.0.1'),
  /** Files written into `{dir}` before the service starts (configs, static content). */
  files: z.array(fileSchema).default([]),
  ready: z.strictObject({ timeoutS: z.number().positive().default(30) }).default({ timeoutS: 30 }),
  stop: z
    .strictObject({
      signal: z.enum(['SIGTERM', 'SIGINT', 'SIGQUIT']).default('SIGTERM'),
      graceS: z.number().positive().default(5),
    })
    .default({ signal: 'SIGTERM', graceS: 5 }),
  workload: workloadSchema.default(workloadSchema.parse({})),
  /** The user's own load client; same placeholders as command plus `{connections}`, `{durationS}`, `{requests}`. */
  client: z.strictObject({ tool: z.enum(externalClients), args: z.array(z.string()).min(1) }).optional(),
});
export type TargetSpec = z.infer<typeof targetSpecSchema>;
