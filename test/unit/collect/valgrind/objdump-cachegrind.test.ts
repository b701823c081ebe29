import assert from 'node:assert/strict';
import test from 'node:test';
import { parseCostSummary } from '../../../../src/collect/valgrind/cachegrind.ts';
import {
  cacheRunPlan,
  isValidLevel,
  namedPlatforms,
  platforms,
  tlbRunPlan,
} from '../../../../src/collect/valgrind/geometry.ts';
import { parseObjdump } from '../../../../src/collect/valgrind/objdump.ts';
import { valgrindFdLimit } from '../../../../src/collect/valgrind/runner.ts';
import { DittoError } from '../../../../src/errors.ts';
import { fixtureText } from './fixtures.ts';

test('objdump: prefixes, operands, lengths; comments and symbols dropped', () => {
  const text = [
    '0000000000027140 <memset>:',
    '   264ca:\trep stos DWORD PTR es:[rdi],eax',
    '   264cc:\tlock cmpxchg DWORD PTR [rip+0x1aea8f],edx        # 1d4e70 <__abort_msg+0x10>',
    '   264d4:\tjne    264ca <memset+0x1a>',
    '   264d6:\tnotrack jmp rax',
  ].join('\n');
  const d = parseObjdump(text);
  assert.deepEqual(d.get(0x264ca), {
    address: 0x264ca,
    length: 2,
    prefixes: ['rep'],
    mnemonic: 'stos',
    operands: ['DWORD PTR es:[rdi]', 'eax'],
  });
  assert.deepEqual(d.get(0x264cc)?.operands, ['DWORD PTR [rip+0x1aea8f]', 'edx']);
  assert.equal(d.get(0x264cc)?.length, 8);
  assert.deepEqual(d.get(0x264d4)?.operands, ['264ca']);
  assert.deepEqual(d.get(0x264d6)?.prefixes, ['notrack']);
  assert.equal(d.get(0x264d6)?.length, 0);
  assert.ok(parseObjdump(fixtureText('memcached.objdump.gz')).size > 3000);
});

test('cost summary: events, totals and simulated geometry of a recorded cachegrind file', () => {
  const s = parseCostSummary(fixtureText('true.cachegrind.out'));
  assert.equal(s.totals.Ir, 127771);
  assert.equal(s.totals.DLmw, 312);
  assert.equal(s.totals.Bim, 150);
  assert.deepEqual(s.caches.LL, { sizeBytes: 262144, lineBytes: 64, assoc: 4 });
  assert.deepEqual(s.caches.D1, { sizeBytes: 128, lineBytes: 64, assoc: 2 });
  assert.equal(parseCostSummary(fixtureText('memcached-window.clg.gz')).totals.Ir, 11492153);
  assert.throws(
    () => parseCostSummary('', 'cg.out'),
    (e: unknown) => e instanceof DittoError && /cg.out/.test(e.message),
  );
});

test('cache plan: 128 B … 64 MiB, every geometry acceptable to valgrind, L1 and LL sizes far apart', () => {
  const plan = cacheRunPlan();
  const sizes = new Set<number>();
  for (const { geometry: g, role } of plan) {
    for (const level of [g.i1, g.d1, g.ll]) assert.ok(isValidLevel(level), JSON.stringify(level));
    if (role.kind === 'sweep') {
      assert.ok(g.ll.sizeBytes >= 1024 * g.d1.sizeBytes);
      sizes.add(g.d1.sizeBytes).add(g.ll.sizeBytes);
    }
  }
  assert.equal(sizes.size, 20);
  assert.equal(Math.min(...sizes), 128);
  assert.equal(Math.max(...sizes), 64 * 1024 * 1024);
  assert.equal(plan.filter((p) => p.role.kind === 'platform').length, 2 * platforms.length);
  for (const p of platforms) for (const l of [p.l1i, p.l1d, p.l2, p.llc]) assert.ok(isValidLevel(l));
  assert.equal(isValidLevel({ sizeBytes: 64, assoc: 1, lineBytes: 64 }), false);
  assert.equal(isValidLevel({ sizeBytes: 100000, assoc: 8, lineBytes: 64 }), false);
});

test('TLB plan: one run per named platform, its TLBs as caches of 4 KiB pages acceptable to valgrind', () => {
  const plan = tlbRunPlan(['B']);
  assert.equal(plan.length, 1);
  assert.deepEqual(plan[0]?.role, { kind: 'tlb', platform: 'B' });
  for (const p of tlbRunPlan(platforms.map((k) => k.name))) {
    for (const level of [p.geometry.i1, p.geometry.d1, p.geometry.ll]) {
      assert.ok(isValidLevel(level), JSON.stringify(level));
      assert.equal(level.lineBytes, 4096);
    }
    // The STLB holds more pages than either first-level TLB.
    assert.ok(p.geometry.ll.sizeBytes > 4 * Math.max(p.geometry.i1.sizeBytes, p.geometry.d1.sizeBytes));
  }
});

test('platforms by name; an unknown name is a usage error that names it', () => {
  assert.deepEqual(
    namedPlatforms(['B', 'A']).map((p) => p.l2.sizeBytes),
    [256 * 1024, 1024 * 1024],
  );
  assert.throws(
    () => namedPlatforms(['A', 'C']),
    (e) => e instanceof DittoError && e.code === 'DITTO_USAGE' && /"C"/.test(e.message),
  );
});

test('fd limit under valgrind follows memcached -c', () => {
  assert.equal(valgrindFdLimit(['memcached', '-c', '1024']), 1036);
  assert.equal(valgrindFdLimit(['/usr/bin/memcached', '--conn-limit=200']), 212);
  assert.equal(valgrindFdLimit(['memcached', '-p', '1']), 1036);
  assert.equal(valgrindFdLimit(['redis-server']), 1036);
});
