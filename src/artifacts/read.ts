// Reads an artifact file and validates it; a bad file gets one error naming the file and the field.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { DittoError } from '../errors.ts';
import { describeZodError } from '../spec/load.ts';

export function readArtifact<T>(file: string, schema: z.ZodType<T>, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code ? `cannot read it (${code})` : `not valid JSON (${(error as Error).message})`;
    throw new DittoError(
      code === 'ENOENT' ? 'DITTO_FILE_NOT_FOUND' : 'DITTO_ARTIFACT_INVALID',
      `${file}: ${why}`,
    );
  }
  const version = (raw as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== undefined && version !== 1) {
    throw new DittoError(
      'DITTO_ARTIFACT_INVALID',
      `${file}: schemaVersion ${String(version)} is not supported`,
      {
        hint: `this ditto reads ${what} version 1; regenerate it with this version`,
      },
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new DittoError('DITTO_ARTIFACT_INVALID', describeZodError(file, parsed.error), {
      hint: `is it a ${what} written by this version of ditto?`,
    });
  }
  return parsed.data;
}
