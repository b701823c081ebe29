// The body emitter's tuning knobs (src/emit/body/knobs.ts, layout.ts): each reshapes only what it is meant to.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { clonePlanSchema } from '../../../src/artifacts/clone-plan.ts';
import { emitBodies } from '../../../src/emit/body/emit.ts';
import { cacheTiers, scaleHardBranches, scaleWorkingSetTail } from '../../../src/emit/body/knobs.ts';
import { shapeBody } from '../../../src/emit/body/layout.ts';
import { packagePath } from '../../../src/package-root.ts';

const plan = clonePlanSchema.parse(
  JSON.parse(readFileSync(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'), 'utf8')),
);
const body = plan.classes[0]?.body;
if (!body) throw new Error('the fixture plan has a body');
const sizes = body.cache.sizesBytes;
const sum = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0);
const beyond = (curve: { workingSet: number[]; beyondLargest: number }, bytes: number) =>
  sum(curve.workingSet.filter((_, i) => (sizes[i] ?? 0) > bytes)) + curve.beyondLargest;

test('d-cache tiers scale each tail as a share of the previous one and keep the total', () => {
  const d = body.cache.dcache;
  const tiers = [
    { aboveBytes: cacheTiers.l1, factor: 1.5 },
    { aboveBytes: cacheTiers.l2, factor: 0.5 },
    { aboveBytes: cacheTiers.llc, factor: 2 },
  ];
  const scaled = scaleWorkingSetTail(d, sizes, tiers);
  const total = (c: typeof d) => sum(c.workingSet) + c.beyondLargest;
  assert.ok(Math.abs(total(scaled) - total(d)) < 1e-12);
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b);
  // Beyond 32K × 1.5; the share of that beyond 256K × 0.5; the share of that beyond 16M × 2.
  const b1 = beyond(d, cacheTiers.l1);
  const b2 = beyond(d, cacheTiers.l2);
  const b3 = beyond(d, cacheTiers.llc);
  assert.ok(b3 > 0 && b2 > b3 && b1 > b2, 'the fixture has bins in every segment');
  const s1 = beyond(scaled, cacheTiers.l1);
  const s2 = beyond(scaled, cacheTiers.l2);
  const s3 = beyond(scaled, cacheTiers.llc);
  assert.ok(close(s1, 1.5 * b1));
  assert.ok(close(s2 / s1, 0.5 * (b2 / b1)));
  assert.ok(close(s3 / s2, 2 * (b3 / b2)));
  // Orthogonal: the L2 tier alone leaves the L1 tail and the LLC tail's share of the L2 tail as they were.
  const l2Only = scaleWorkingSetTail(
    d,
    sizes,
    tiers.map((t) => ({ ...t, factor: t.aboveBytes === cacheTiers.l2 ? 3 : 1 })),
  );
  assert.ok(close(beyond(l2Only, cacheTiers.l1), b1));
  assert.ok(close(beyond(l2Only, cacheTiers.llc) / beyond(l2Only, cacheTiers.l2), b3 / b2));
  assert.equal(
    scaleWorkingSetTail(
      d,
      sizes,
      tiers.map((t) => ({ ...t, factor: 1 })),
    ),
    d,
  );
  // A tail larger than everything takes all accesses, and no share goes negative.
  const all = scaleWorkingSetTail(d, sizes, [{ aboveBytes: cacheTiers.l1, factor: 1e6 }]);
  assert.ok(Math.abs(beyond(all, cacheTiers.l1) - total(d)) < 1e-9);
  assert.ok(all.workingSet.every((v) => v >= 0));
});

test('hard branches scale the PRNG-tested sites and keep the total', () => {
  const hard = (b: typeof body.branches) =>
    sum(b.takenRate.filter((x) => x.hi !== 0 && x.lo !== 1).map((x) => x.fraction));
  const scaled = scaleHardBranches(body.branches, 2);
  assert.ok(Math.abs(hard(scaled) - 2 * hard(body.branches)) < 1e-12);
  assert.ok(
    Math.abs(
      sum(scaled.takenRate.map((x) => x.fraction)) - sum(body.branches.takenRate.map((x) => x.fraction)),
    ) < 1e-12,
  );
  assert.equal(scaleHardBranches(body.branches, 1), body.branches);
});

test('fetches that miss the L1i become cold code run once per invocation; the i-cache knob scales it', () => {
  const set = plan.classes.find((c) => c.name === 'set')?.body;
  assert.ok(set);
  const options = { instructionScale: 1, chaseShare: 0.3, maxRegionBytes: 64 << 20 };
  const shapeAt = (factor: number) =>
    shapeBody(
      {
        ...set,
        cache: {
          ...set.cache,
          icache: scaleWorkingSetTail(set.cache.icache, sizes, [{ aboveBytes: cacheTiers.l1, factor }]),
        },
      },
      options,
    );
  const cold = (s: ReturnType<typeof shapeBody>) => s.blocks.filter((b) => b.binBytes > cacheTiers.l1);
  const base = shapeAt(1);
  const [block] = cold(base);
  assert.ok(block && cold(base).length === 1);
  // One line of straight code (64 B of ~5.5 B instructions) per fetch above the L1.
  const fetches = beyond(set.cache.icache, cacheTiers.l1) * set.instructions;
  assert.ok(
    Math.abs(block.instructions / ((fetches * 64) / 5.5) - 1) < 0.05,
    `${block.instructions}, ${fetches}`,
  );
  // Its replicas come back after more code than the L1 holds, less than the bin; the hot code fits a quarter of it.
  const coldBytes = block.replicas * block.bodyInstructions * 5.5;
  assert.ok(
    coldBytes > cacheTiers.l1 && coldBytes <= block.binBytes,
    `${block.replicas} replicas, ${coldBytes} B`,
  );
  const hot = base.blocks.filter((b) => b.binBytes <= cacheTiers.l1);
  assert.ok(sum(hot.map((b) => b.bodyInstructions * b.replicas)) * 5.5 <= cacheTiers.l1 / 4);
  const doubled = shapeAt(2);
  assert.ok(Math.abs((cold(doubled)[0]?.instructions ?? 0) / block.instructions - 2) < 0.05);
  assert.equal(doubled.instructions, base.instructions);
});

test('every knob changes the emitted body; knobs at 1 leave it as profiled', () => {
  const c = (knobs: Record<string, number>) => emitBodies({ ...plan, knobs })[0]?.content;
  const profiled = c({});
  for (const knob of [
    'body.dcacheBeyondL1',
    'body.dcacheBeyondL2',
    'body.dcacheBeyondLlc',
    'body.icacheBeyondL1',
    'body.hardBranches',
    'body.indirectMispredicts',
  ]) {
    assert.equal(c({ [knob]: 1 }), profiled, knob);
    assert.notEqual(c({ [knob]: 3 }), profiled, knob);
  }
});
