// Writes schemas/<name>.schema.json from the zod schemas in src/artifacts/registry.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { jsonSchemaFiles } from '../src/artifacts/json-schema.ts';

const dir = new URL('../schemas/', import.meta.url);
mkdirSync(dir, { recursive: true });
for (const [file, text] of Object.entries(jsonSchemaFiles())) writeFileSync(new URL(file, dir), text);
console.error(`wrote ${Object.keys(jsonSchemaFiles()).length} schemas to schemas/`);
