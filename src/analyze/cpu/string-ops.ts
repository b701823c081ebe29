// Bytes handled by rep-prefixed string instructions per request (pure). Callgrind counts one Ir per iteration, so
// bytes = Ir × element size; starts come from the instruction's incoming edges.
import type { StringOp } from './isa.ts';
import { entries, type Program } from './program.ts';
import type { StringOps } from './schema.ts';

export function stringOps(program: Program, requests: number): StringOps {
  const starts = entries(program);
  const byOp: Record<StringOp, number> = { movs: 0, stos: 0, lods: 0, cmps: 0, scas: 0 };
  let bytes = 0;
  let started = 0;
  program.nodes.forEach((node, i) => {
    const s = node.semantics.string;
    if (!s?.rep) return;
    const b = node.execs * s.elementBytes;
    bytes += b;
    started += starts[i] ?? 0;
    byOp[s.op] += b / requests;
  });
  return { repBytesPerRequest: bytes / requests, repStartsPerRequest: started / requests, byOp };
}
