// `ditto compare`: the original and the clone measured in turn with the same client at the same held-out loads.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Comparison } from '../artifacts/measurement.ts';
import { compareMeasurements } from '../compare/compare.ts';
import { cloneTargetSpec } from '../deploy/local.ts';
import type { TargetSpec } from '../spec/target-spec.ts';
import { type MeasureOptions, measureService, saturationThroughput } from './measure.ts';

/**
 * Default held-out loads: low, middle and high shares of the original's saturation throughput, each moved to an
 * alternative share when it falls within 15 % of the profiled rate (tuning may use that one; judging may not).
 */
export function heldOutLoads(saturationRps: number, profiledRate: number): number[] {
  const round = (share: number) => Math.max(100, Math.round((share * saturationRps) / 100) * 100);
  const near = (rate: number) => Math.abs(rate - profiledRate) / profiledRate <= 0.15;
  return [
    [0.2, 0.3],
    [0.45, 0.6],
    [0.75, 0.85],
  ].map(([share = 0, alternative = 0]) => (near(round(share)) ? round(alternative) : round(share)));
}

export interface CompareOptions extends Omit<MeasureOptions, 'loads'> {
  loads?: readonly number[];
  /** Compare the original with a second run of itself: the noise floor. */
  self: boolean;
  /** Where comparison.json is written. */
  outDir: string;
}

export async function runComparison(
  spec: TargetSpec,
  cloneDir: string | undefined,
  options: CompareOptions,
): Promise<Comparison> {
  let loads = options.loads;
  if (!loads || loads.length === 0) {
    options.onProgress('original: saturation throughput, to place the held-out loads');
    loads = heldOutLoads(await saturationThroughput(spec), spec.workload.qps);
  }
  const measure = { ...options, loads };
  const original = await measureService(spec, 'original', measure);
  const other = options.self || !cloneDir ? spec : cloneTargetSpec(cloneDir, spec);
  const clone = await measureService(other, options.self ? 'original' : 'clone', measure);
  const comparison = compareMeasurements(original, clone, { target: spec.name, self: options.self });
  writeFileSync(
    join(options.outDir, options.self ? 'comparison-self.json' : 'comparison.json'),
    `${JSON.stringify(comparison, null, 2)}\n`,
  );
  return comparison;
}
