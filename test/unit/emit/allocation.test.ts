// Generator-side randomness and register allocation (src/emit/body/random.ts, registers.ts).
import assert from 'node:assert/strict';
import test from 'node:test';
import { Random } from '../../../src/emit/body/random.ts';
import { Allocator, Distances, gpPool } from '../../../src/emit/body/registers.ts';

test('systematic sampling gives each index the floor or the ceiling of its expected count', () => {
  const weights = [0.5, 0.3, 0.15, 0.05];
  for (const seed of [1, 2, 3]) {
    for (const n of [7, 20, 33]) {
      const counts = weights.map(() => 0);
      for (const i of new Random(seed).systematic(weights, n)) counts[i] = (counts[i] ?? 0) + 1;
      weights.forEach((w, i) => {
        const expected = w * n;
        const c = counts[i] ?? 0;
        assert.ok(c >= Math.floor(expected) && c <= Math.ceil(expected), `seed ${seed}, n ${n}: ${counts}`);
      });
    }
  }
});

const distances = new Distances({ bins: [1, 1, 1, 1], beyond: 0 });
const allocator = () => new Allocator(gpPool, distances, distances, distances, new Random(7));

test('a plain write avoids registers holding a value loaded since the last branch', () => {
  const a = allocator();
  const loaded = gpPool.slice(0, -1);
  loaded.forEach((r, i) => {
    a.note(i, [], [r], true);
  });
  for (let pos = 10; pos < 20; pos++) assert.equal(a.write(pos), gpPool.at(-1));
});

test('a loaded value stays protected through what is computed from it, until it is stored or a branch exits', () => {
  const a = allocator();
  const [x, y] = gpPool;
  assert.ok(x && y);
  a.note(0, [], [x], true);
  // y = f(x): the loaded value now lives in y; x may be overwritten.
  a.note(1, [x], [y]);
  const others = gpPool.filter((r) => r !== y);
  for (const r of others.slice(1)) a.note(100, [], [r], true);
  assert.equal(a.write(101), others[0]);
  // A branch: every value counts as used, and writes choose as if nothing had been loaded.
  const plain = allocator();
  plain.note(0, [], [x]);
  plain.note(1, [x], [y]);
  for (const r of others.slice(1)) plain.note(100, [], [r]);
  const choice = plain.write(101);
  assert.notEqual(choice, others[0]);
  a.exit();
  assert.equal(a.write(101), choice);
});
