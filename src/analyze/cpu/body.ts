// The CPU body of one service (pure): everything profile.json needs from the callgrind window and the cache runs.
import type { CacheRunRole } from '../../collect/valgrind/geometry.ts';
import { platforms } from '../../collect/valgrind/geometry.ts';
import { branchBehaviour } from './branches.ts';
import { type CacheRunResult, cacheCurves, platformMissRates } from './cache.ts';
import { pointerChasing } from './chase.ts';
import { dependencyDistances } from './dependencies.ts';
import { instructionMix } from './mix.ts';
import type { Program } from './program.ts';
import { type CpuBody, cpuBodySchema } from './schema.ts';
import { stringOps } from './string-ops.ts';

export interface CpuBodyInput {
  /** The per-instruction window (callgrind joined with objdump). */
  program: Program;
  /** Requests served in that window. */
  requests: number;
  /** Guest instructions in that window (callgrind's summary Ir, mapped or not). */
  instructions: number;
  cacheRuns: readonly (CacheRunResult & { role: CacheRunRole })[];
}

export function analyzeCpuBody(input: CpuBodyInput): CpuBody {
  const { program, requests, instructions } = input;
  const platformRates = platforms.flatMap((p) => {
    const run = (level: 'l2' | 'llc') =>
      input.cacheRuns.find(
        (r) => r.role.kind === 'platform' && r.role.platform === p.name && r.role.level === level,
      );
    const l2 = run('l2');
    const llc = run('llc');
    const tlb = input.cacheRuns.find((r) => r.role.kind === 'tlb' && r.role.platform === p.name);
    return l2 && llc ? [platformMissRates(p, l2, llc, tlb)] : [];
  });
  const mapped = program.mappedIr + program.unmappedIr;
  return cpuBodySchema.parse({
    window: { requests, instructions },
    instructionsPerRequest: instructions / requests,
    mappedShare: mapped > 0 ? program.mappedIr / mapped : 0,
    mix: instructionMix(program),
    branches: branchBehaviour(program, requests),
    dependencies: dependencyDistances(program),
    stringOps: stringOps(program, requests),
    pointerChasing: pointerChasing(program, requests),
    // (Page-granular TLB runs are no points of the cache curves.)
    cache: cacheCurves(input.cacheRuns.filter((r) => r.role.kind !== 'tlb')),
    platforms: platformRates,
  });
}
