// Drives a running target at a series of fixed rates with ditto-load.
import type { LoadResult } from '../artifacts/load-result.ts';
import { type LoadOptions, loadOptionsFromWorkload } from '../collect/load/options.ts';
import { runDittoLoad } from '../collect/load/run.ts';
import type { RunningTarget } from './target.ts';

/** Load options for a running target: its spec's workload, at its address, with overrides. */
export function loadOptionsForTarget(
  target: RunningTarget,
  overrides: Partial<LoadOptions> = {},
): LoadOptions {
  const endpoint = { host: target.host, port: target.port, protocol: target.spec.protocol };
  return loadOptionsFromWorkload(target.spec.workload, endpoint, overrides);
}

export async function loadSweep(
  target: RunningTarget,
  loads: readonly number[],
  overrides: Partial<LoadOptions> = {},
  onPoint: (result: LoadResult, index: number) => void = () => {},
): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  for (const [index, rate] of loads.entries()) {
    const options = loadOptionsForTarget(target, {
      ...overrides,
      rate,
      // The key space stays loaded between points.
      preload: index === 0 && (overrides.preload ?? target.spec.workload.preload),
    });
    if (!target.process.running)
      throw target.process.failure('DITTO_TARGET_FAILED', `during the load sweep at ${rate} req/s`);
    const result = await runDittoLoad(options);
    results.push(result);
    onPoint(result, index);
  }
  return results;
}
