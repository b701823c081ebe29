import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { buildThreadTrees, clusterThreads, treeDistance } from '../../../../src/analyze/stacks/cluster.ts';
import { parsePerfScript, type StackSample } from '../../../../src/collect/perf/parse.ts';

const script = readFileSync(new URL('../../../fixtures/perf/memcached-script.txt', import.meta.url), 'utf8');

test('memcached: the 4 worker threads form one cluster, the LRU maintainer another', () => {
  const clusters = clusterThreads(buildThreadTrees(parsePerfScript(script)));
  assert.deepEqual(
    clusters.map((c) => c.tids),
    [[6984, 6985, 6986, 6987], [6990]],
  );
  const [workers, maintainer] = clusters;
  // Workers spend most samples in the kernel network stack; the maintainer mostly in user code.
  assert.ok((workers?.kernelLeafShare ?? 0) > 0.7);
  assert.ok((maintainer?.kernelLeafShare ?? 1) < 0.5);
});

test('few samples per thread: sampling noise does not split the workers', () => {
  const all = parsePerfScript(script);
  for (const perThread of [20, 10, 6]) {
    const taken = new Map<number, number>();
    const sub = all.filter((s) => {
      const n = taken.get(s.tid) ?? 0;
      taken.set(s.tid, n + 1);
      return n < perThread;
    });
    const trees = buildThreadTrees(sub);
    // Raw distances between workers reach 0.5 and more with so few samples; their own noise is as large.
    assert.ok(trees.every((t) => t.selfDistance > 0.1));
    assert.deepEqual(
      clusterThreads(trees).map((c) => c.tids),
      [[6984, 6985, 6986, 6987], [6990]],
      `${perThread} samples per thread`,
    );
  }
});

test('tree distance: 0 for identical trees, 1 for disjoint ones, symmetric', () => {
  const sample = (tid: number, frames: string[]): StackSample => ({ pid: 1, tid, frames, kernelLeaf: false });
  const [a, b, c] = buildThreadTrees([
    sample(1, ['r', 'x']),
    sample(1, ['r', 'y']),
    sample(2, ['r', 'x']),
    sample(2, ['r', 'y']),
    sample(3, ['q', 'z']),
  ]);
  assert.ok(a && b && c);
  assert.equal(treeDistance(a, b), 0);
  assert.equal(treeDistance(a, c), 1);
  assert.equal(treeDistance(c, a), 1);
  // Half of thread 1's samples go elsewhere: root shared fully, one leaf of two shared.
  const [d] = buildThreadTrees([sample(4, ['r', 'x']), sample(4, ['r', 'w'])]);
  assert.ok(d);
  assert.equal(treeDistance(a, d), 1 - 1.5 / 2.5);
});
