// The body emitter's tuning knobs (src/emit/body/knobs.ts, layout.ts): each reshapes only what it is meant to.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { clonePlanSchema } from '../../../src/artifacts/clone-plan.ts';
import { emitBodies } from '../../../src/emit/body/emit.ts';
import {
  cacheTiers,
  heldTiers,
  scaleHardBranches,
  scaleWorkingSetTail,
} from '../../../src/emit/body/knobs.ts';
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

test('d-cache tiers scale the tail beyond their own threshold, leave every other tail and keep the total', () => {
  const d = body.cache.dcache;
  const held = heldTiers.map((aboveBytes) => ({ aboveBytes, factor: 1 }));
  const tiers = [
    { aboveBytes: cacheTiers.l1, factor: 1.5 },
    { aboveBytes: cacheTiers.l2, factor: 1.2 },
    { aboveBytes: cacheTiers.llc, factor: 1.05 },
    ...held,
  ];
  const scaled = scaleWorkingSetTail(d, sizes, tiers);
  const total = (c: typeof d) => sum(c.workingSet) + c.beyondLargest;
  assert.ok(Math.abs(total(scaled) - total(d)) < 1e-12);
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 + 1e-9 * Math.abs(b);
  const thresholds = [cacheTiers.l1, ...heldTiers, cacheTiers.l2, cacheTiers.llc].sort((a, b) => a - b);
  const tails = (c: typeof d) => thresholds.map((t) => beyond(c, t));
  const original = tails(d);
  assert.ok(
    original.every((t, i) => t > 0 && (i === 0 || t < (original[i - 1] ?? 0))),
    'the fixture has bins in every band',
  );
  assert.ok(close(beyond(scaled, cacheTiers.l1), 1.5 * beyond(d, cacheTiers.l1)));
  assert.ok(close(beyond(scaled, cacheTiers.l2), 1.2 * beyond(d, cacheTiers.l2)));
  assert.ok(close(beyond(scaled, cacheTiers.llc), 1.05 * beyond(d, cacheTiers.llc)));
  for (const t of heldTiers)
    assert.ok(close(beyond(scaled, t), beyond(d, t)), `the tail beyond ${t} B is held`);
  // Each knob alone moves its own tail and no other (memcached: the L1d knob taking out the runtime's L1 misses
  // no longer takes the platforms' L2 misses with it). Raised: a tail lowered below a deeper one takes it along.
  for (const knob of [cacheTiers.l1, cacheTiers.l2, cacheTiers.llc]) {
    const alone = scaleWorkingSetTail(
      d,
      sizes,
      tiers.map((t) => ({ ...t, factor: t.aboveBytes === knob ? 1.1 : 1 })),
    );
    thresholds.forEach((t, i) => {
      const expected = t === knob ? 1.1 * (original[i] ?? 0) : (original[i] ?? 0);
      assert.ok(close(beyond(alone, t), expected), `knob at ${knob} B: tail beyond ${t} B`);
    });
  }
  assert.equal(
    scaleWorkingSetTail(
      d,
      sizes,
      tiers.map((t) => ({ ...t, factor: 1 })),
    ),
    d,
  );
  // A tail larger than everything takes all accesses; a tail cut below a deeper one cuts that one too; no share
  // goes negative.
  const all = scaleWorkingSetTail(d, sizes, [{ aboveBytes: cacheTiers.l1, factor: 1e6 }]);
  assert.ok(Math.abs(beyond(all, cacheTiers.l1) - total(d)) < 1e-9);
  assert.ok(all.workingSet.every((v) => v >= 0));
  const cut = scaleWorkingSetTail(d, sizes, [
    { aboveBytes: cacheTiers.l1, factor: 1e-6 },
    { aboveBytes: cacheTiers.l2, factor: 1 },
  ]);
  assert.ok(beyond(cut, cacheTiers.l2) <= beyond(cut, cacheTiers.l1) + 1e-15);
  assert.ok(cut.workingSet.every((v) => v >= 0) && cut.beyondLargest >= 0);
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
