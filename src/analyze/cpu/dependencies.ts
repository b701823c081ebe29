// Register dependency distances (pure): RAW, WAR and WAW histograms over 1 … 256 dynamic instructions.
//
// The dynamic path is modelled as a Markov chain over the control-flow graph: an instruction's predecessor is p with
// probability count(p → i) / executions(i). For each register, f_d(i) = P(the last write — or read, for WAR — of the
// register before i was exactly d instructions back) follows
//   f_1(i) = Σ_p P(p→i)·[p writes r],   f_d(i) = Σ_p P(p→i)·[p does not write r]·f_{d−1}(p),
// which crosses blocks, calls and returns and follows loops, and never picks an earlier write over the latest one
// (the original's bugs: second-to-last write, depth cut at 64 blocks, only backward DFS). Each reader (RAW) or writer
// (WAR, WAW) adds its executions × f_d to bin d; what is left (no producer within 256, or an unknown predecessor)
// goes to `beyond`. rep string ops are weighted by their starts, not their iterations.
import { registerCount } from './isa.ts';
import { entries, type Program } from './program.ts';
import type { DependencyDistances } from './schema.ts';

export const maxDistance = 256;

export interface Graph {
  n: number;
  /** CSR: incoming edges of node i are inFrom/inProb[inStart[i] .. inStart[i+1]). */
  inStart: Int32Array;
  inFrom: Int32Array;
  inProb: Float64Array;
}

export function incoming(program: Program): Graph {
  const n = program.nodes.length;
  const counts = new Int32Array(n + 1);
  const totals = new Float64Array(n);
  for (const e of program.edges) {
    counts[e.to + 1] = (counts[e.to + 1] ?? 0) + 1;
    totals[e.to] = (totals[e.to] ?? 0) + e.count;
  }
  for (let i = 0; i < n; i++) counts[i + 1] = (counts[i + 1] ?? 0) + (counts[i] ?? 0);
  const inStart = counts.slice();
  const fill = counts.slice(0, n);
  const inFrom = new Int32Array(program.edges.length);
  const inProb = new Float64Array(program.edges.length);
  for (const e of program.edges) {
    const slot = fill[e.to] ?? 0;
    fill[e.to] = slot + 1;
    inFrom[slot] = e.from;
    // Counts can exceed executions by rounding of the return split; never let a node have more than all its mass.
    const denominator = Math.max(program.nodes[e.to]?.execs ?? 0, totals[e.to] ?? 0);
    inProb[slot] = denominator > 0 ? e.count / denominator : 0;
  }
  return { n, inStart, inFrom, inProb };
}

/**
 * Walks the chain back from every node: at step d, `step(d, p)` gets p(i) = P(the last event before i was exactly d
 * back and was an origin), for d = 1 … maxDistance (`origin` ⊆ `event`; by default every event is one).
 */
export function lastEvent(
  g: Graph,
  event: Uint8Array,
  step: (d: number, p: Float64Array) => void,
  origin: Uint8Array = event,
): void {
  let prev = new Float64Array(g.n);
  let cur = new Float64Array(g.n);
  for (let d = 1; d <= maxDistance; d++) {
    let mass = 0;
    for (let i = 0; i < g.n; i++) {
      let sum = 0;
      const end = g.inStart[i + 1] ?? 0;
      for (let k = g.inStart[i] ?? 0; k < end; k++) {
        const p = g.inFrom[k] ?? 0;
        const q = g.inProb[k] ?? 0;
        sum += d === 1 ? q * (origin[p] ?? 0) : event[p] ? 0 : q * (prev[p] ?? 0);
      }
      cur[i] = sum;
      mass += sum;
    }
    step(d, cur);
    if (mass < 1e-12) break;
    [prev, cur] = [cur, prev];
  }
}

/** Adds, for every node in `at`, weight × P(last event d back) to hist[d − 1], for d = 1 … 256. */
function accumulate(
  g: Graph,
  event: Uint8Array,
  targets: { at: Uint8Array; hist: Float64Array }[],
  weight: Float64Array,
): void {
  lastEvent(g, event, (d, cur) => {
    for (const t of targets) {
      let binMass = 0;
      for (let i = 0; i < g.n; i++) if (t.at[i]) binMass += (weight[i] ?? 0) * (cur[i] ?? 0);
      t.hist[d - 1] = (t.hist[d - 1] ?? 0) + binMass;
    }
  });
}

function normalize(hist: Float64Array, total: number): { bins: number[]; beyond: number } {
  const bins = [...hist].map((v) => (total > 0 ? v / total : 0));
  const inside = bins.reduce((s, v) => s + v, 0);
  return { bins, beyond: total > 0 ? Math.max(0, 1 - inside) : 0 };
}

export function dependencyDistances(program: Program): DependencyDistances {
  const g = incoming(program);
  const weight = entries(program);
  const hist = {
    raw: new Float64Array(maxDistance),
    war: new Float64Array(maxDistance),
    waw: new Float64Array(maxDistance),
  };
  const totals = { raw: 0, war: 0, waw: 0 };
  for (let r = 0; r < registerCount; r++) {
    const reads = new Uint8Array(g.n);
    const writes = new Uint8Array(g.n);
    let any = false;
    program.nodes.forEach((node, i) => {
      if (node.semantics.reads.includes(r)) {
        reads[i] = 1;
        totals.raw += weight[i] ?? 0;
        any = true;
      }
      if (node.semantics.writes.includes(r)) {
        writes[i] = 1;
        totals.war += weight[i] ?? 0;
        totals.waw += weight[i] ?? 0;
        any = true;
      }
    });
    if (!any) continue;
    accumulate(
      g,
      writes,
      [
        { at: reads, hist: hist.raw },
        { at: writes, hist: hist.waw },
      ],
      weight,
    );
    accumulate(g, reads, [{ at: writes, hist: hist.war }], weight);
  }
  let explained = 0;
  let all = 0;
  for (let i = 0; i < g.n; i++) {
    let s = 0;
    for (let k = g.inStart[i] ?? 0; k < (g.inStart[i + 1] ?? 0); k++) s += g.inProb[k] ?? 0;
    explained += (weight[i] ?? 0) * Math.min(1, s);
    all += weight[i] ?? 0;
  }
  return {
    raw: normalize(hist.raw, totals.raw),
    war: normalize(hist.war, totals.war),
    waw: normalize(hist.waw, totals.waw),
    edgeCoverage: all > 0 ? explained / all : 0,
  };
}
