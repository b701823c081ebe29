import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { profileSchema } from '../../../src/artifacts/profile.ts';
import { formatProfileSummary } from '../../../src/report/profile-summary.ts';

const memcached = () =>
  profileSchema.parse(
    JSON.parse(readFileSync(new URL('../../fixtures/profile/memcached.json', import.meta.url), 'utf8')),
  );

test("the summary shows each class's CPU body, and the background threads' work per wake-up where measured", () => {
  const p = memcached();
  const plain = formatProfileSummary(p);
  assert.match(plain, /get: [\d,.]+ instructions per request/);
  assert.doesNotMatch(plain, /per wake-up/);
  const get = p.cpu[0];
  assert.ok(get);
  const background = {
    ...get.body,
    instructionsPerRequest: 6057,
    window: { requests: 51, instructions: 6057 * 51 },
  };
  const withBackground = formatProfileSummary({ ...p, cpu: [{ ...get, background }, ...p.cpu.slice(1)] });
  assert.match(
    withBackground,
    /background threads meanwhile: 6,?057 instructions per wake-up \(51 wake-ups measured\)/,
  );
});
