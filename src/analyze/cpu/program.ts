// Joins a callgrind window with the disassembly of its objects into a dynamic control-flow graph (pure): one node per
// executed instruction (execution count, semantics, per-instruction costs) and edges weighted by execution counts.
// Edges come from callgrind's jump records (taken counts), calls (site → callee entry), returns (each `ret` of a
// function back to the instructions after its call sites, in proportion to the calls from each site) and
// fall-through (what is left of an instruction's executions after its taken jumps, capped by what the next
// instruction still lacks). Nothing here keeps object paths or function names.
import type { CallgrindProfile } from '../../collect/valgrind/callgrind.ts';
import type { DecodedInstruction } from '../../collect/valgrind/objdump.ts';
import { type Semantics, semanticsOf } from './isa.ts';

export interface ProgramNode {
  object: number;
  address: number;
  length: number;
  /** Executions (callgrind Ir: for rep string ops, one per iteration). */
  execs: number;
  /** Self cost per event of the callgrind profile. */
  costs: number[];
  semantics: Semantics;
  /** Conditional jumps: times taken per callgrind's jcnd records (undefined when there was none). */
  taken: number | undefined;
}

export interface ProgramEdge {
  from: number;
  to: number;
  count: number;
}

export interface Program {
  events: string[];
  nodes: ProgramNode[];
  edges: ProgramEdge[];
  /** Ir of instructions found in the disassembly / not found (vDSO, valgrind trampolines, unreadable objects). */
  mappedIr: number;
  unmappedIr: number;
}

/** Disassembly per callgrind object index; objects that could not be disassembled are simply absent. */
export type Disassembly = ReadonlyMap<number, ReadonlyMap<number, DecodedInstruction>>;

/** How far a return is followed through callers that reached the function by a jump (PLT stubs, tail calls). */
const maxReturnChain = 4;

export function buildProgram(profile: CallgrindProfile, disassembly: Disassembly): Program {
  const irColumn = Math.max(0, profile.events.indexOf('Ir'));
  const nodes: ProgramNode[] = [];
  const index = new Map<string, number>();
  const fnOfNode: number[] = [];
  let mappedIr = 0;
  let unmappedIr = 0;
  for (const instruction of profile.instructions) {
    const ir = instruction.costs[irColumn] ?? 0;
    if (ir <= 0) continue;
    const decoded = disassembly.get(instruction.object)?.get(instruction.address);
    if (!decoded) {
      unmappedIr += ir;
      continue;
    }
    mappedIr += ir;
    index.set(`${instruction.object}:${instruction.address}`, nodes.length);
    fnOfNode.push(instruction.fn);
    nodes.push({
      object: instruction.object,
      address: instruction.address,
      length: decoded.length,
      execs: ir,
      costs: instruction.costs,
      semantics: semanticsOf(decoded),
      taken: undefined,
    });
  }
  const nodeAt = (object: number, address: number) => index.get(`${object}:${address}`);
  const edges = new Map<string, ProgramEdge>();
  const inKnown = new Float64Array(nodes.length);
  const outTaken = new Float64Array(nodes.length);
  const addEdge = (from: number, to: number, count: number) => {
    if (count <= 0) return;
    const key = `${from}>${to}`;
    const edge = edges.get(key);
    if (edge) edge.count += count;
    else edges.set(key, { from, to, count });
    inKnown[to] = (inKnown[to] ?? 0) + count;
  };
  const returnSite = (site: number) => {
    const node = nodes[site];
    return node && node.length > 0 ? nodeAt(node.object, node.address + node.length) : undefined;
  };

  for (const jump of profile.jumps) {
    const from = nodeAt(jump.object, jump.from);
    if (from === undefined) continue;
    const node = nodes[from];
    if (node && jump.executed !== undefined) node.taken = (node.taken ?? 0) + jump.taken;
    outTaken[from] = (outTaken[from] ?? 0) + jump.taken;
    const to = nodeAt(jump.object, jump.to);
    if (to !== undefined) addEdge(from, to, jump.taken);
  }

  // Callers per callee function: [site node, count].
  const callers = new Map<number, [number, number][]>();
  for (const call of profile.calls) {
    const site = nodeAt(call.object, call.site);
    if (site === undefined) continue;
    const target = nodeAt(call.targetObject, call.target);
    if (target === undefined) {
      // The callee ran outside what we can see (vDSO): splice it out, from the call straight to its return.
      const back = returnSite(site);
      if (back !== undefined) addEdge(site, back, call.count);
      continue;
    }
    addEdge(site, target, call.count);
    const list = callers.get(call.callee) ?? [];
    list.push([site, call.count]);
    callers.set(call.callee, list);
  }

  // Where a return from function `fn` lands, with shares summing to at most 1.
  const landing = (fn: number, depth: number): Map<number, number> => {
    const out = new Map<number, number>();
    const list = callers.get(fn);
    if (!list || depth > maxReturnChain) return out;
    const total = list.reduce((s, [, c]) => s + c, 0);
    for (const [site, count] of list) {
      const share = count / total;
      const node = nodes[site];
      if (node?.semantics.flow === 'call') {
        const back = returnSite(site);
        if (back !== undefined) out.set(back, (out.get(back) ?? 0) + share);
      } else {
        for (const [back, s] of landing(fnOfNode[site] ?? -1, depth + 1))
          out.set(back, (out.get(back) ?? 0) + share * s);
      }
    }
    return out;
  };
  const landingCache = new Map<number, Map<number, number>>();
  const returns = new Map<number, [number, number][]>();
  nodes.forEach((node, i) => {
    if (node.semantics.flow !== 'ret') return;
    const fn = fnOfNode[i] ?? -1;
    let where = landingCache.get(fn);
    if (!where) {
      where = landing(fn, 0);
      landingCache.set(fn, where);
    }
    for (const [back, share] of where) {
      const list = returns.get(back) ?? [];
      list.push([i, node.execs * share]);
      returns.set(back, list);
    }
  });
  // Callgrind's function grouping (stripped code, code shared between functions) can make the split overshoot:
  // scale the returns into an instruction down to what its executions leave for them.
  for (const [back, list] of returns) {
    const room = Math.max(0, (nodes[back]?.execs ?? 0) - (inKnown[back] ?? 0));
    const proposed = list.reduce((s, [, c]) => s + c, 0);
    const scale = proposed > room ? room / proposed : 1;
    for (const [from, count] of list) addEdge(from, back, count * scale);
  }

  // Fall-through last, so that it only fills what the explicit edges leave unexplained.
  nodes.forEach((node, i) => {
    const flow = node.semantics.flow;
    if (flow !== 'next' && flow !== 'cond') return;
    const next = returnSite(i);
    if (next === undefined) return;
    const rest = node.semantics.string?.rep ? Number.POSITIVE_INFINITY : node.execs - (outTaken[i] ?? 0);
    const missing = (nodes[next]?.execs ?? 0) - (inKnown[next] ?? 0);
    addEdge(i, next, Math.min(rest, missing));
  });

  return { events: profile.events, nodes, edges: [...edges.values()], mappedIr, unmappedIr };
}

/**
 * How many times each node was entered: its execution count, except for rep string ops, which callgrind counts per
 * iteration; those are entered as often as their incoming edges say (at least once if they ran at all).
 */
export function entries(program: Program): Float64Array {
  const out = new Float64Array(program.nodes.length);
  for (const edge of program.edges) {
    if (edge.from !== edge.to) out[edge.to] = (out[edge.to] ?? 0) + edge.count;
  }
  program.nodes.forEach((node, i) => {
    out[i] = node.semantics.string?.rep ? Math.min(node.execs, Math.max(1, out[i] ?? 0)) : node.execs;
  });
  return out;
}
