// Real nginx under callgrind: a master and 2 forked workers that switch to `nobody`; every process is measured and
// the window is the sum of their dumps (≈ 30 s).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import test from 'node:test';
import { cacheRunPlan } from '../../src/collect/valgrind/geometry.ts';
import { dittoLoadDriver, profileCpuBody } from '../../src/collect/valgrind/runner.ts';
import { packagePath } from '../../src/package-root.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';
import { liveProcessCount } from '../../src/sys/process.ts';

const spec = loadTargetSpec(packagePath('examples', 'nginx.yaml'));
const missing = [
  '/usr/bin/valgrind',
  '/usr/sbin/nginx',
  '/usr/bin/setpriv',
  packagePath('native', 'build', 'ditto-load'),
].find((f) => !existsSync(f));

test('nginx under callgrind: the workers are measured, sane per-request figures', {
  skip: missing && `${missing} is missing`,
  timeout: 90_000,
}, async () => {
  const started = performance.now();
  const run = await profileCpuBody(spec, {
    load: dittoLoadDriver(spec, { rate: 2000, prepareS: 0.8, windowS: 1 }),
    // Platform runs plus two sweep points: a curve and both platforms in about half a minute.
    plan: cacheRunPlan({ minBytes: 8 * 1024, maxBytes: 32 * 1024 }),
  });
  const seconds = (performance.now() - started) / 1000;
  const b = run.body;
  assert.ok(seconds < 60, `took ${seconds} s`);
  assert.ok(b.window.requests >= 1500 && b.window.requests <= 2500, String(b.window.requests));
  // Static files (612 B, 4 KiB, 64 KiB through sendfile): about 10k guest instructions per request.
  assert.ok(
    b.instructionsPerRequest > 3000 && b.instructionsPerRequest < 50_000,
    String(b.instructionsPerRequest),
  );
  assert.ok(b.mappedShare > 0.99, String(b.mappedShare));
  const mix = Object.values(b.mix.categories);
  assert.ok(Math.abs(mix.reduce((s, v) => s + v, 0) - 1) < 1e-9);
  assert.ok(b.dependencies.edgeCoverage > 0.9, String(b.dependencies.edgeCoverage));
  for (const curve of [b.cache.icache, b.cache.dcache]) {
    assert.ok(curve.accessesPerRequest > 0);
    curve.missRatio.forEach((m, i) => {
      assert.ok(i === 0 || m <= (curve.missRatio[i - 1] ?? 1));
    });
  }
  assert.equal(b.platforms.length, 2);
  for (const p of b.platforms) {
    assert.ok(p.l1iMissRatio > 0 && p.l1dMissRatio > 0, JSON.stringify(p));
    assert.ok(p.branchMispredictRate !== null && p.branchMispredictRate > 0);
  }
  // Every cache window saw the workers too, not only the idle master.
  for (const r of run.cacheRuns) assert.ok((r.totals.Ir ?? 0) > 1000 * r.requests, JSON.stringify(r.role));
  assert.equal(liveProcessCount(), 0);
});
