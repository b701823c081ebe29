// Bounded samples of a metric (reservoir sampling, seeded so the same input gives the same topology.json).

export interface DistSummary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

const capacity = 2048;

export class Reservoir {
  private samples: number[] = [];
  private seen = 0;
  private sum = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private state = 0x9e3779b9;

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.seen++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.samples.length < capacity) {
      this.samples.push(value);
      return;
    }
    const slot = this.random() % this.seen;
    if (slot < capacity) this.samples[slot] = value;
  }

  get count(): number {
    return this.seen;
  }

  summary(): DistSummary | undefined {
    if (this.seen === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return {
      count: this.seen,
      mean: round(this.sum / this.seen),
      min: round(this.min),
      p50: round(at(0.5)),
      p90: round(at(0.9)),
      p99: round(at(0.99)),
      max: round(this.max),
    };
  }

  /** xorshift32: deterministic, no dependency. */
  private random(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
}

export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Counts of distinct values, for "the most common RPC system" and the like. */
export class Counter<K> {
  readonly counts = new Map<K, number>();

  add(key: K | undefined, by = 1): void {
    if (key === undefined) return;
    this.counts.set(key, (this.counts.get(key) ?? 0) + by);
  }

  top(): K | undefined {
    let best: K | undefined;
    let bestCount = 0;
    for (const [key, count] of this.counts) {
      if (count > bestCount) {
        best = key;
        bestCount = count;
      }
    }
    return best;
  }
}
