// Groups threads by the similarity of their sampled call trees (pure).
//
// A thread's call tree is represented by the set of its root-to-node paths, each weighted by the share of the
// thread's samples that pass through it. The distance of two threads is the weighted Jaccard distance of these
// path sets: 0 for identical trees, 1 for trees with no common path. Like the normalized tree edit distance the
// original used, it compares structure and weights, but it costs O(paths) per pair and is robust to sampling noise
// in deep, rarely-sampled branches (they carry little weight).
import type { StackSample } from '../../collect/perf/parse.ts';

export interface ThreadTree {
  tid: number;
  pid: number;
  samples: number;
  kernelLeafShare: number;
  /** Path (joined frame hashes) → share of the thread's samples through it. */
  paths: Map<string, number>;
}

export function buildThreadTrees(samples: readonly StackSample[]): ThreadTree[] {
  const byTid = new Map<number, StackSample[]>();
  for (const s of samples) byTid.set(s.tid, [...(byTid.get(s.tid) ?? []), s]);
  return [...byTid.entries()]
    .map(([tid, list]) => {
      const paths = new Map<string, number>();
      for (const sample of list) {
        let path = '';
        for (const frame of sample.frames) {
          path = path ? `${path}/${frame}` : frame;
          paths.set(path, (paths.get(path) ?? 0) + 1 / list.length);
        }
      }
      return {
        tid,
        pid: list[0]?.pid ?? 0,
        samples: list.length,
        kernelLeafShare: list.filter((s) => s.kernelLeaf).length / list.length,
        paths,
      };
    })
    .sort((a, b) => a.tid - b.tid);
}

export function treeDistance(a: ThreadTree, b: ThreadTree): number {
  let common = 0;
  let union = 0;
  for (const [path, wa] of a.paths) {
    const wb = b.paths.get(path) ?? 0;
    common += Math.min(wa, wb);
    union += Math.max(wa, wb);
  }
  for (const [path, wb] of b.paths) if (!a.paths.has(path)) union += wb;
  return union === 0 ? 0 : 1 - common / union;
}

export interface ThreadCluster {
  tids: number[];
  samples: number;
  kernelLeafShare: number;
  /** Mean distance between members (0 for a single thread). */
  spread: number;
}

/**
 * Average-linkage agglomerative clustering: merge the two closest clusters while their mean pairwise distance is
 * below `threshold`. Deterministic: ties merge the clusters with the smallest thread ids first.
 */
export function clusterThreads(trees: readonly ThreadTree[], threshold = 0.5): ThreadCluster[] {
  const d: number[][] = trees.map((a) => trees.map((b) => treeDistance(a, b)));
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
        spread += d[i]?.[j] ?? 0;
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
