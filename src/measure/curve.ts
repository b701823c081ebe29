// The latency-vs-load curve of a target: start it, sweep its load points, stop it.
import type { LoadResult } from '../artifacts/load-result.ts';
import type { LoadOptions } from '../collect/load/options.ts';
import type { TargetSpec } from '../spec/target-spec.ts';
import { loadSweep } from './sweep.ts';
import { startTarget } from './target.ts';

export async function measureLatencyCurve(
  spec: TargetSpec,
  overrides: Partial<LoadOptions> = {},
  onPoint?: (result: LoadResult) => void,
): Promise<LoadResult[]> {
  const target = await startTarget(spec);
  try {
    return await loadSweep(target, spec.workload.loads ?? [spec.workload.qps], overrides, onPoint);
  } finally {
    await target.stop();
  }
}
