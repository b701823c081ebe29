// ditto tune on the clone of the committed memcached profile against memcached itself: two iterations on platform
// A with short windows (the real tune measures A and B); tuning.json is valid and instructions per request gets
// closer to the original's.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { clonePlanSchema } from '../../src/artifacts/clone-plan.ts';
import { profileSchema } from '../../src/artifacts/profile.ts';
import { tuningSchema } from '../../src/artifacts/tuning.ts';
import { generateClone } from '../../src/build/generate.ts';
import { packagePath } from '../../src/package-root.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';
import { tuneClone } from '../../src/tune/tune.ts';

test('tune: two iterations on memcached shrink the instructions-per-request error', async () => {
  const profile = profileSchema.parse(
    JSON.parse(readFileSync(packagePath('test', 'fixtures', 'profile', 'memcached.json'), 'utf8')),
  );
  const dir = mkdtempSync(join(tmpdir(), 'ditto-tune-'));
  generateClone(profile, dir);
  const spec = loadTargetSpec(packagePath('examples', 'memcached.yaml'));
  const tuning = await tuneClone(spec, dir, {
    iterations: 2,
    minutes: 3,
    platforms: ['A'],
    durationS: 1,
    onProgress: () => {},
  });

  const written = tuningSchema.parse(JSON.parse(readFileSync(join(dir, 'tuning.json'), 'utf8')));
  assert.deepEqual(written, tuning);
  assert.equal(tuning.load, profile.workload.qps);
  assert.ok(tuning.iterations.length >= 1 && tuning.iterations.length <= 2);
  const error = (i: number) =>
    tuning.iterations[i]?.metrics.find((m) => m.metric === 'instructions_per_request')?.relError ?? null;
  const before = error(0);
  assert.ok(before !== null, 'instructions per request was measured');
  if (tuning.stopReason === 'converged') assert.ok(before <= 0.02);
  else {
    assert.equal(tuning.iterations.length, 2, `stopped: ${tuning.stopReason}`);
    const after = error(1);
    assert.ok(after !== null && (after < before || after <= 0.02), `error ${before} → ${after}`);
  }
  // The clone is left built with the best iteration's knobs.
  const plan = clonePlanSchema.parse(JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8')));
  assert.deepEqual(plan.knobs, tuning.iterations[tuning.best]?.knobs);
});
