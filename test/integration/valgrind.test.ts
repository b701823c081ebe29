// Real memcached under callgrind: a short per-instruction window plus a reduced cache plan (≈ 40 s).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import test from 'node:test';
import { cacheRunPlan, tlbRunPlan } from '../../src/collect/valgrind/geometry.ts';
import { dittoLoadDriver, profileCpuBody } from '../../src/collect/valgrind/runner.ts';
import { packagePath } from '../../src/package-root.ts';
import { targetSpecSchema } from '../../src/spec/target-spec.ts';
import { liveProcessCount } from '../../src/sys/process.ts';

const spec = targetSpecSchema.parse({
  name: 'memcached',
  command: [
    'memcached',
    '-u',
    'root',
    '-l',
    '{host}',
    '-p',
    '{port}',
    '-U',
    '0',
    '-t',
    '4',
    '-m',
    '64',
    '-c',
    '1024',
  ],
  protocol: 'memcached',
  workload: { keys: 2000, valueSize: 512, connections: 8 },
});
const missing = [
  '/usr/bin/valgrind',
  '/usr/bin/memcached',
  packagePath('native', 'build', 'ditto-load'),
].find((f) => !existsSync(f));

test('memcached under callgrind: sane per-request figures', {
  skip: missing && `${missing} is missing`,
  timeout: 120_000,
}, async () => {
  const started = performance.now();
  const run = await profileCpuBody(spec, {
    load: dittoLoadDriver(spec, { rate: 3000, prepareS: 0.8, windowS: 1 }),
    // Platform runs plus a sweep up to 32 KiB: enough to check the curve's shape in under a minute; and platform
    // A's TLBs.
    plan: [...cacheRunPlan({ maxBytes: 32 * 1024 }), ...tlbRunPlan(['A'])],
  });
  const seconds = (performance.now() - started) / 1000;
  const b = run.body;
  assert.ok(seconds < 90, `took ${seconds} s`);
  assert.ok(b.window.requests >= 2000 && b.window.requests <= 4000, String(b.window.requests));
  assert.ok(
    b.instructionsPerRequest > 2000 && b.instructionsPerRequest < 6000,
    String(b.instructionsPerRequest),
  );
  assert.ok(b.mappedShare > 0.999);
  const mix = Object.values(b.mix.categories);
  assert.ok(Math.abs(mix.reduce((s, v) => s + v, 0) - 1) < 1e-9);
  assert.ok(b.dependencies.edgeCoverage > 0.95);
  assert.ok(b.stringOps.repBytesPerRequest > 0);
  for (const curve of [b.cache.icache, b.cache.dcache]) {
    curve.missRatio.forEach((m, i) => {
      assert.ok(i === 0 || m <= (curve.missRatio[i - 1] ?? 1));
    });
  }
  assert.equal(b.platforms.length, 2);
  // memcached's requests spread over more pages than a 64-entry dTLB holds (a get missed it 7 times, about 2.5
  // times per 1000 instructions); the STLB misses fewer.
  const tlb = b.platforms[0]?.tlbMpki;
  assert.ok(tlb && tlb.dtlb > 0.1 && tlb.stlb < tlb.dtlb, JSON.stringify(tlb));
  assert.equal(b.platforms[1]?.tlbMpki, null);
  assert.match(run.valgrindVersion, /valgrind-3/);
  assert.equal(liveProcessCount(), 0);
});
