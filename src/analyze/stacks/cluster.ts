// Groups threads by the similarity of their sampled call trees (pure).
//
// A thread's call tree is represented by the set of its root-to-node paths, each weighted by the share of the
// thread's samples that pass through it. The distance of two threads is the weighted Jaccard distance of these
// path sets: 0 for identical trees, 1 for trees with no common path. Like the normalized tree edit distance the
// original used, it compares structure and weights, but it costs O(paths) per pair and is robust to sampling noise
// in deep, rarely-sampled branches (they carry little weight).
//
// With few samples even two threads running the same code differ by chance. Each thread's own sampling noise is
// measured by splitting its samples in two halves (alternating) and taking the distance between the halves;
// clustering compares the distance of two threads beyond the mean of their own noise.
import type { StackSample } from '../../collect/perf/parse.ts';

export interface ThreadTree {
  tid: number;
  pid: number;
  samples: number;
  kernelLeafShare: number;
  /** Path (joined frame hashes) → share of the thread's samples through it. */
  paths: Map<string, number>;
  /** Distance between the trees of the two halves of the thread's samples: its sampling noise (1 if < 4 samples). */
  selfDistance: number;
}

function pathShares(samples: readonly StackSample[]): Map<string, number> {
  const paths = new Map<string, number>();
  for (const sample of samples) {
    let path = '';
    for (const frame of sample.frames) {
      path = path ? `${path}/${frame}` : frame;
      paths.set(path, (paths.get(path) ?? 0) + 1 / samples.length);
    }
  }
  return paths;
}

function weightedJaccardDistance(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let common = 0;
  let union = 0;
  for (const [path, wa] of a) {
    const wb = b.get(path) ?? 0;
    common += Math.min(wa, wb);
    union += Math.max(wa, wb);
  }
  for (const [path, wb] of b) if (!a.has(path)) union += wb;
  return union === 0 ? 0 : 1 - common / union;
}

export function buildThreadTrees(samples: readonly StackSample[]): ThreadTree[] {
  const byTid = new Map<number, StackSample[]>();
  for (const s of samples) byTid.set(s.tid, [...(byTid.get(s.tid) ?? []), s]);
  return [...byTid.entries()]
    .map(([tid, list]) => {
      const halves = [list.filter((_, i) => i % 2 === 0), list.filter((_, i) => i % 2 === 1)];
      return {
        tid,
        pid: list[0]?.pid ?? 0,
        samples: list.length,
        kernelLeafShare: list.filter((s) => s.kernelLeaf).length / list.length,
        paths: pathShares(list),
        selfDistance:
          list.length < 4
            ? 1
            : weightedJaccardDistance(pathShares(halves[0] ?? []), pathShares(halves[1] ?? [])),
      };
    })
    .sort((a, b) => a.tid - b.tid);
}

export function treeDistance(a: ThreadTree, b: ThreadTree): number {
  return weightedJaccardDistance(a.paths, b.paths);
}

/** How much farther apart two threads are than their own sampling noise explains. */
export function excessDistance(a: ThreadTree, b: ThreadTree): number {
  return treeDistance(a, b) - (a.selfDistance + b.selfDistance) / 2;
}

export interface ThreadCluster {
  tids: number[];
  samples: number;
  kernelLeafShare: number;
  /** Mean distance between members (0 for a single thread). */
  spread: number;
}

/**
 * Average-linkage agglomerative clustering on the excess distance: merge the two closest clusters while their mean
 * pairwise excess distance is below `threshold`. Deterministic: ties merge the clusters with the smallest thread
 * ids first.
 */
export function clusterThreads(trees: readonly ThreadTree[], threshold = 0.25): ThreadCluster[] {
  const d: number[][] = trees.map((a) => trees.map((b) => excessDistance(a, b)));
  const raw: number[][] = trees.map((a) => trees.map((b) => treeDistance(a, b)));
  let clusters: number[][] = trees.map((_, i) => [i]);
  const linkage = (x: number[], y: number[]) => {
    let sum = 0;
    for (const i of x) for (const j of y) sum += d[i]?.[j] ?? 1;
    return sum / (x.length * y.length);
  };
  while (clusters.length > 1) {
    let best: [number, number, number] | undefined;
    for (let i = 0; i < clusters.length; i++) {
      for (let j = i + 1; j < clusters.length; j++) {
        const dist = linkage(clusters[i] ?? [], clusters[j] ?? []);
        if (!best || dist < best[2] - 1e-12) best = [i, j, dist];
      }
    }
    if (!best || best[2] >= threshold) break;
    const [i, j] = best;
    const merged = [...(clusters[i] ?? []), ...(clusters[j] ?? [])].sort((x, y) => x - y);
    clusters = clusters.filter((_, k) => k !== i && k !== j);
    clusters.push(merged);
    clusters.sort((x, y) => (x[0] ?? 0) - (y[0] ?? 0));
  }
  return clusters.map((members) => {
    const member = members.map((i) => trees[i] as ThreadTree);
    const samples = member.reduce((s, t) => s + t.samples, 0);
    let pairs = 0;
    let spread = 0;
    for (const [a, i] of members.entries()) {
      for (const j of members.slice(a + 1)) {
        spread += raw[i]?.[j] ?? 0;
        pairs++;
      }
    }
    return {
      tids: member.map((t) => t.tid),
      samples,
      kernelLeafShare: member.reduce((s, t) => s + t.kernelLeafShare * t.samples, 0) / samples,
      spread: pairs ? spread / pairs : 0,
    };
  });
}
