// Pointer chasing (pure): loads whose address comes from the value of an earlier load (a list or tree walk, a hash
// chain), and the cache misses among them. A miss of such a load cannot overlap the load it waits for, so on real
// hardware it costs its whole latency, while misses of independent loads overlap and streams are prefetched; the
// simulated caches count both alike.
//
// Along the Markov chain of dependencies.ts, c_d(i) = P(the last write of register r before i was exactly d back
// and was a load): c_1(i) = Σ_p P(p→i)·[p writes r]·[p loads], c_d(i) = Σ_p P(p→i)·[p does not write r]·c_{d−1}(p).
// A load chases with probability 1 − Π_r (1 − Σ_d c_d(i)) over its address registers. The stack pointer is left out
// (its last writer is a push, pop, call or ret, not a walk through data).
import { type Graph, incoming, lastEvent } from './dependencies.ts';
import { generalRegisterCount, RSP } from './isa.ts';
import { entries, type Program } from './program.ts';
import type { PointerChasing } from './schema.ts';

const isLoad = (s: Program['nodes'][number]['semantics']) =>
  (s.mem === 'mem_r' || s.mem === 'mem_rw') && s.string === undefined;

/** Per node, the probability that its last write of a register (within maxDistance) came from a load. */
function loadProduced(g: Graph, writes: Uint8Array, loads: Uint8Array): Float64Array {
  const total = new Float64Array(g.n);
  const origin = writes.map((w, i) => w & (loads[i] ?? 0));
  lastEvent(
    g,
    writes,
    (_, p) => {
      for (let i = 0; i < g.n; i++) total[i] = (total[i] ?? 0) + (p[i] ?? 0);
    },
    origin,
  );
  return total;
}

/**
 * Loads, chasing loads and their L1 / L2 misses per request. The misses come from the per-instruction window's own
 * cache simulation (D1mr, DLmr: platform A's L1 and L2); without those events they are null.
 */
export function pointerChasing(program: Program, requests: number): PointerChasing {
  const g = incoming(program);
  const weight = entries(program);
  const loads = new Uint8Array(g.n);
  program.nodes.forEach((node, i) => {
    if (isLoad(node.semantics)) loads[i] = 1;
  });
  const chase = new Float64Array(g.n);
  for (let r = 0; r < generalRegisterCount; r++) {
    if (r === RSP) continue;
    const readers: number[] = [];
    program.nodes.forEach((node, i) => {
      if (loads[i] && node.semantics.addressReads.includes(r)) readers.push(i);
    });
    if (readers.length === 0) continue;
    const writes = new Uint8Array(g.n);
    program.nodes.forEach((node, i) => {
      if (node.semantics.writes.includes(r)) writes[i] = 1;
    });
    const produced = loadProduced(g, writes, loads);
    for (const i of readers) {
      // Independent registers: the load waits for a load when any of them came from one.
      chase[i] = 1 - (1 - (chase[i] ?? 0)) * (1 - Math.min(1, produced[i] ?? 0));
    }
  }
  const d1 = program.events.indexOf('D1mr');
  const ll = program.events.indexOf('DLmr');
  const sums = { loads: 0, chase: 0, l1: 0, chaseL1: 0, l2: 0, chaseL2: 0 };
  program.nodes.forEach((node, i) => {
    if (!loads[i]) return;
    const c = chase[i] ?? 0;
    const execs = weight[i] ?? 0;
    sums.loads += execs;
    sums.chase += execs * c;
    const l1 = d1 >= 0 ? (node.costs[d1] ?? 0) : 0;
    const l2 = ll >= 0 ? (node.costs[ll] ?? 0) : 0;
    sums.l1 += l1;
    sums.chaseL1 += l1 * c;
    sums.l2 += l2;
    sums.chaseL2 += l2 * c;
  });
  const perRequest = (v: number) => (requests > 0 ? v / requests : 0);
  return {
    loadsPerRequest: perRequest(sums.loads),
    chaseLoadsPerRequest: perRequest(sums.chase),
    l1MissesPerRequest: d1 >= 0 ? perRequest(sums.l1) : null,
    chaseL1MissesPerRequest: d1 >= 0 ? perRequest(sums.chaseL1) : null,
    l2MissesPerRequest: ll >= 0 ? perRequest(sums.l2) : null,
    chaseL2MissesPerRequest: ll >= 0 ? perRequest(sums.chaseL2) : null,
  };
}
