import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { analyzeCpuBody } from '../../../../src/analyze/cpu/body.ts';
import {
  type CacheRunResult,
  cacheCurves,
  nonIncreasing,
  platformMissRates,
  workingSet,
} from '../../../../src/analyze/cpu/cache.ts';
import { buildProgram } from '../../../../src/analyze/cpu/program.ts';
import { cpuBodySchema } from '../../../../src/analyze/cpu/schema.ts';
import { parseCallgrind } from '../../../../src/collect/valgrind/callgrind.ts';
import { type CacheRunRole, platforms } from '../../../../src/collect/valgrind/geometry.ts';
import { fixtureDisassembly, fixtureText, windowRequests } from '../../collect/valgrind/fixtures.ts';

/** Event totals of the 14 cache windows of one recorded memcached profile (ditto-load, 3,000 req/s). */
const runs: (CacheRunResult & { role: CacheRunRole })[] = JSON.parse(
  readFileSync(new URL('../../../fixtures/valgrind/memcached-cache-runs.json', import.meta.url), 'utf8'),
);
const sum = (xs: number[]) => xs.reduce((s, v) => s + v, 0);

test('nonIncreasing pools violators; workingSet is the size-needed-to-hit histogram', () => {
  assert.deepEqual(nonIncreasing([0.5, 0.3, 0.4, 0.1], [1, 1, 1, 1]), [0.5, 0.35, 0.35, 0.1]);
  assert.deepEqual(nonIncreasing([1, 2, 3], [1, 1, 1]), [2, 2, 2]);
  const ws = workingSet([0.5, 0.2, 0.1]);
  assert.deepEqual(
    ws.workingSet.map((x) => +x.toFixed(9)),
    [0.5, 0.3, 0.1],
  );
  assert.equal(ws.beyondLargest, 0.1);
});

test('miss-ratio curves of memcached from the recorded sweep: 20 sizes, non-increasing, histograms sum to 1', () => {
  const c = cacheCurves(runs);
  assert.equal(c.sizesBytes.length, 20);
  assert.equal(c.sizesBytes[0], 128);
  assert.equal(c.sizesBytes.at(-1), 64 * 1024 * 1024);
  for (const curve of [c.icache, c.dcache]) {
    curve.missRatio.forEach((m, i) => {
      assert.ok(i === 0 || m <= (curve.missRatio[i - 1] ?? 1) + 1e-12);
    });
    assert.ok(Math.abs(sum(curve.workingSet) + curve.beyondLargest - 1) < 1e-9);
  }
  // Instruction fetches per request ≈ instructions per request; the code fits in 64 KiB.
  assert.ok(c.icache.accessesPerRequest > 2500 && c.icache.accessesPerRequest < 5000);
  assert.ok((c.icache.missRatio[9] ?? 1) < 0.001);
  // Data: a tiny cache misses a lot, a 64 MiB one almost never.
  assert.ok((c.dcache.missRatio[0] ?? 0) > 0.2);
  assert.ok((c.dcache.missRatio.at(-1) ?? 1) < 0.01);
});

test('a size measured as an L1 ignores the LL points of that size (an LL behind a small L1 overstates misses)', () => {
  const level = (sizeBytes: number) => ({ sizeBytes, assoc: 8, lineBytes: 64 });
  const run = (l1: number, ll: number, l1Misses: number, llMisses: number): CacheRunResult => ({
    geometry: { i1: level(l1), d1: level(l1), ll: level(ll) },
    totals: { Ir: 1000, I1mr: 0, ILmr: 0, Dr: 1000, Dw: 0, D1mr: l1Misses, D1mw: 0, DLmr: llMisses, DLmw: 0 },
    requests: 1,
  });
  // The quick sweep's LL = 32 KiB behind a 1 KiB L1 sees 50 misses; the platform's 32 KiB L1 sees 10.
  const c = cacheCurves([run(1024, 32768, 200, 50), run(32768, 1 << 20, 10, 1)]);
  assert.deepEqual(c.sizesBytes, [1024, 32768, 1 << 20]);
  assert.equal(c.dcache.missRatio[1], 0.01);
});

test('platform miss rates: local ratios in [0,1], the smaller L2 of B misses more', () => {
  const rates = platforms.map((p) => {
    const find = (level: string) =>
      runs.find((r) => r.role.kind === 'platform' && r.role.platform === p.name && r.role.level === level);
    const l2 = find('l2');
    const llc = find('llc');
    assert.ok(l2 && llc);
    return platformMissRates(p, l2, llc);
  });
  const [a, b] = rates;
  assert.ok(a && b);
  assert.ok(b.l2MissRatio > a.l2MissRatio);
  assert.ok(b.mpki.l2 > a.mpki.l2);
  for (const r of rates) {
    assert.ok(r.l1iMissRatio < 0.01 && r.l1dMissRatio > 0.005 && r.l1dMissRatio < 0.1);
    assert.ok((r.branchMispredictRate ?? 1) < 0.1);
  }
});

test('a TLB run gives its platform TLB misses per 1000 instructions and no point of the cache curves', () => {
  const profile = parseCallgrind(fixtureText('memcached-window.clg.gz'));
  const input = {
    program: buildProgram(profile, fixtureDisassembly(profile)),
    requests: windowRequests,
    instructions: profile.totals?.[0] ?? 0,
  };
  const a = platforms[0];
  assert.ok(a);
  const tlbRun = {
    role: { kind: 'tlb' as const, platform: a.name },
    geometry: { i1: a.tlb.itlb, d1: a.tlb.dtlb, ll: a.tlb.stlb },
    // A 256 KiB "cache" of pages: as a point of the d-cache curve it would claim 4 misses per 1000 accesses there.
    totals: { Ir: 1e6, Dr: 3e5, Dw: 1e5, I1mr: 20, D1mr: 1500, D1mw: 500, ILmr: 0, DLmr: 120, DLmw: 30 },
    requests: 300,
  };
  const without = analyzeCpuBody({ ...input, cacheRuns: runs });
  const withTlb = analyzeCpuBody({ ...input, cacheRuns: [...runs, tlbRun] });
  assert.deepEqual(withTlb.cache, without.cache);
  assert.equal(without.platforms[0]?.tlbMpki, null);
  assert.deepEqual(withTlb.platforms[0]?.tlbMpki, { itlb: 0.02, dtlb: 2, stlb: 0.15 });
  assert.equal(withTlb.platforms[1]?.tlbMpki, null, 'platform B had no TLB run');
});

test('the CPU body validates and reveals no path, symbol or address of the target', () => {
  const profile = parseCallgrind(fixtureText('memcached-window.clg.gz'));
  const body = analyzeCpuBody({
    program: buildProgram(profile, fixtureDisassembly(profile)),
    requests: windowRequests,
    instructions: profile.totals?.[0] ?? 0,
    cacheRuns: runs,
  });
  cpuBodySchema.parse(body);
  assert.ok(body.instructionsPerRequest > 3000 && body.instructionsPerRequest < 5000);
  assert.equal(body.platforms.length, 2);
  const json = JSON.stringify(body);
  for (const secret of ['/', 'memcached', 'libc', 'libevent', '0x', 'GLIBC', '.c"', 'fn=']) {
    assert.ok(!json.includes(secret), `profile contains ${secret}`);
  }
});
