// Log2 histograms as profile.json stores them: value ranges with the fraction of observations in each (pure).
import { z } from 'zod';
import type { LogBucket } from '../../collect/bpftrace/parse.ts';

export const bucketSchema = z.strictObject({
  /** Inclusive value range. */
  min: z.number().nonnegative(),
  max: z.number().nonnegative(),
  fraction: z.number().min(0).max(1),
});
export const histogramSchema = z.array(bucketSchema);
export type Histogram = z.infer<typeof histogramSchema>;

/** Adds several bpftrace histograms (same log2 bucket bounds) and normalizes to fractions; [] when empty. */
export function mergeHistograms(parts: readonly (readonly LogBucket[])[]): Histogram {
  const counts = new Map<string, { min: number; max: number; count: number }>();
  for (const buckets of parts) {
    for (const b of buckets) {
      const key = `${b.min}:${b.max}`;
      const entry = counts.get(key) ?? { min: b.min, max: b.max, count: 0 };
      entry.count += b.count;
      counts.set(key, entry);
    }
  }
  const total = [...counts.values()].reduce((n, b) => n + b.count, 0);
  if (total === 0) return [];
  return [...counts.values()]
    .filter((b) => b.count > 0)
    .sort((a, b) => a.min - b.min)
    .map((b) => ({ min: b.min, max: b.max, fraction: b.count / total }));
}
