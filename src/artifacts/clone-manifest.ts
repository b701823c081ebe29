// clone.json: what a clone directory holds and how to start each of its services, so any tool (valgrind, perf,
// strace, a load generator) can wrap the exact argv.
import { z } from 'zod';
import { protocolSchema } from '../spec/target-spec.ts';

export const cloneManifestSchema = z.strictObject({
  schemaVersion: z.literal(1),
  services: z.array(
    z.strictObject({
      name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
      /** Relative to the clone directory, which is the working directory; `{port}` and `{host}` are substituted. */
      argv: z.array(z.string()).min(1),
      port: z.number().int().min(1).max(65535),
      protocol: protocolSchema,
    }),
  ),
  /** The files the clone was generated from, relative to the clone directory. */
  profile: z.string(),
  plan: z.string(),
});
export type CloneManifest = z.infer<typeof cloneManifestSchema>;
