import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { jsonSchemaFiles } from '../../../src/artifacts/json-schema.ts';

test('committed JSON Schemas match the zod schemas (npm run schemas rewrites them)', () => {
  for (const [file, text] of Object.entries(jsonSchemaFiles())) {
    const committed = readFileSync(new URL(`../../../schemas/${file}`, import.meta.url), 'utf8');
    assert.equal(committed, text, `schemas/${file} is stale: run npm run schemas`);
  }
});
