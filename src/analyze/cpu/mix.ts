// Dynamic instruction mix (pure): each executed instruction's category weighted by its execution count. rep string
// ops count once per iteration, as callgrind does; their bytes are reported separately (string-ops.ts).
import { mixCategory } from './isa.ts';
import type { Program } from './program.ts';
import type { InstructionMix } from './schema.ts';

export function instructionMix(program: Program): InstructionMix {
  const weights = new Map<string, number>();
  let total = 0;
  let atomic = 0;
  for (const node of program.nodes) {
    const key = mixCategory(node.semantics);
    weights.set(key, (weights.get(key) ?? 0) + node.execs);
    total += node.execs;
    if (node.semantics.atomic) atomic += node.execs;
  }
  const categories: Record<string, number> = {};
  for (const [key, weight] of [...weights].sort((a, b) => b[1] - a[1])) {
    categories[key] = total > 0 ? weight / total : 0;
  }
  return { categories, atomicShare: total > 0 ? atomic / total : 0 };
}
