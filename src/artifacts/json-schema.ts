// JSON Schema text of every artifact, as committed under schemas/ (pure).
import { z } from 'zod';
import { artifactSchemas } from './registry.ts';

export function jsonSchemaFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [name, schema] of Object.entries(artifactSchemas)) {
    // "input": what a file must look like to be read (defaults may be left out).
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
    files[`${name}.schema.json`] = `${JSON.stringify({ title: name, ...json }, null, 2)}\n`;
  }
  return files;
}
