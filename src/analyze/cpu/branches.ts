// Branch behaviour (pure): per conditional site, its taken rate from callgrind's jcnd counts, weighted by executions,
// and valgrind's mispredict rate (Bcm/Bc, from --branch-sim) as the transition proxy; indirect jumps (Bi) and their
// mispredict rate (Bim/Bi).
import type { Program } from './program.ts';
import type { BranchBehaviour } from './schema.ts';

/** Taken-rate bin edges: log-spaced towards both ends, where most sites are. */
const edges = [
  0,
  1 / 128,
  1 / 64,
  1 / 32,
  1 / 16,
  1 / 8,
  1 / 4,
  1 / 2,
  3 / 4,
  7 / 8,
  15 / 16,
  31 / 32,
  63 / 64,
  127 / 128,
  1,
];
/** The original's snapped minority rates: 0 and 1/2^k for k = 7 … 1. */
const snaps = [0, 1 / 128, 1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2];

function snap(rate: number): number {
  let best = 0;
  for (const s of snaps) if (Math.abs(rate - s) < Math.abs(rate - best)) best = s;
  return best;
}

export function branchBehaviour(program: Program, requests: number): BranchBehaviour {
  const bc = program.events.indexOf('Bc');
  const bcm = program.events.indexOf('Bcm');
  const bi = program.events.indexOf('Bi');
  const bim = program.events.indexOf('Bim');
  // [exact 0] + one bin per interval + [exact 1]
  const binWeights = new Float64Array(edges.length + 1);
  const minority = new Map<number, number>();
  const joint = new Map<string, number>();
  let executed = 0;
  let taken = 0;
  let predicted = 0;
  let mispredicted = 0;
  let indirect = 0;
  let indirectMissed = 0;
  for (const node of program.nodes) {
    if (bi >= 0 && bim >= 0) {
      indirect += node.costs[bi] ?? 0;
      indirectMissed += node.costs[bim] ?? 0;
    }
    if (node.semantics.flow !== 'cond') continue;
    const n = node.execs;
    const t = Math.min(n, node.taken ?? 0);
    const p = n > 0 ? t / n : 0;
    executed += n;
    taken += t;
    let bin: number;
    if (p === 0) bin = 0;
    else if (p === 1) bin = edges.length;
    else bin = edges.findIndex((e, i) => i > 0 && p < e);
    binWeights[bin] = (binWeights[bin] ?? 0) + n;
    const m = snap(Math.min(p, 1 - p));
    minority.set(m, (minority.get(m) ?? 0) + n);
    if (bc >= 0 && bcm >= 0) {
      const c = node.costs[bc] ?? 0;
      const miss = node.costs[bcm] ?? 0;
      predicted += c;
      mispredicted += miss;
      const key = `${m}|${c > 0 ? snap(Math.min(1, miss / c)) : 0}`;
      joint.set(key, (joint.get(key) ?? 0) + n);
    }
  }
  const share = (w: number) => (executed > 0 ? w / executed : 0);
  const takenRate: BranchBehaviour['takenRate'] = [{ lo: 0, hi: 0, fraction: share(binWeights[0] ?? 0) }];
  for (let i = 1; i < edges.length; i++) {
    takenRate.push({ lo: edges[i - 1] ?? 0, hi: edges[i] ?? 1, fraction: share(binWeights[i] ?? 0) });
  }
  takenRate.push({ lo: 1, hi: 1, fraction: share(binWeights[edges.length] ?? 0) });
  return {
    conditionalPerRequest: executed / requests,
    takenShare: share(taken),
    takenRate,
    minorityRate: snaps.map((rate) => ({ rate, fraction: share(minority.get(rate) ?? 0) })),
    joint: [...joint]
      .map(([key, w]) => {
        const [m, r] = key.split('|').map(Number);
        return { minorityRate: m ?? 0, mispredictRate: r ?? 0, fraction: share(w) };
      })
      .sort((a, b) => a.minorityRate - b.minorityRate || a.mispredictRate - b.mispredictRate),
    conditionalMispredictRate: predicted > 0 ? mispredicted / predicted : null,
    indirectMispredictRate: indirect > 0 ? indirectMissed / indirect : null,
    indirectPerRequest: requests > 0 ? indirect / requests : 0,
  };
}
