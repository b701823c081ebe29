// Reads a target spec and reports the first problem with the file and the field that holds it.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { DittoError } from '../errors.ts';
import { type TargetSpec, targetSpecSchema } from './target-spec.ts';

export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key),
    '',
  );
}

/** "file: field: message" for the first issue of a zod error. */
export function describeZodError(file: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `${file}: invalid`;
  const field = formatIssuePath(issue.path);
  return `${file}: ${field ? `${field}: ` : ''}${issue.message}`;
}

export function parseTargetSpec(text: string, file: string): TargetSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? `:${error.linePos[0].line}` : '';
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new DittoError('DITTO_SPEC_INVALID', `${file}${where}: not valid YAML: ${message}`);
  }
  const result = targetSpecSchema.safeParse(raw);
  if (!result.success) {
    throw new DittoError('DITTO_SPEC_INVALID', describeZodError(file, result.error), {
      hint: 'see examples/*.yaml for the fields a target spec takes',
    });
  }
  return result.data;
}

export function loadTargetSpec(file: string): TargetSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DittoError('DITTO_FILE_NOT_FOUND', `${file}: cannot read target spec (${code ?? 'error'})`);
  }
  return parseTargetSpec(text, file);
}
