// Every artifact schema, by file name in schemas/. `npm run schemas` exports them as JSON Schema;
// a test fails when the committed files differ.
import type { z } from 'zod';
import { targetSpecSchema } from '../spec/target-spec.ts';
import { loadResultSchema } from './load-result.ts';
import { reportSchema } from './report.ts';
import { topologySchema } from './topology.ts';

export const artifactSchemas: Record<string, z.ZodType> = {
  'load-result': loadResultSchema,
  report: reportSchema,
  'target-spec': targetSpecSchema,
  topology: topologySchema,
};
