// Seeded generator-side randomness (pure, deterministic per seed): xoshiro128** on 32-bit words, seeded by
// splitmix32, so that the same plan and seed always print the same C.
export class Random {
  private s = new Uint32Array(4);

  constructor(seed: number, stream = 0) {
    let x = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.s.every((v) => v === 0)) this.s[0] = 1;
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const s = this.s;
    const s1 = s[1] ?? 0;
    const r = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s[2] = (s[2] ?? 0) ^ (s[0] ?? 0);
    s[3] = (s[3] ?? 0) ^ s1;
    s[1] = s1 ^ (s[2] ?? 0);
    s[0] = (s[0] ?? 0) ^ (s[3] ?? 0);
    s[2] = (s[2] ?? 0) ^ t;
    s[3] = rotl(s[3] ?? 0, 11);
    return r;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Index drawn in proportion to `weights` (all zero: uniform). */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((s, w) => s + w, 0);
    if (total <= 0) return this.int(weights.length);
    let u = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i] ?? 0;
      if (u < 0) return i;
    }
    return weights.length - 1;
  }

  /**
   * n indices in proportion to `weights` by systematic sampling (one random offset, draws spaced evenly over the
   * cumulative weights), shuffled: each index comes floor or ceil of its expected count, so a loop body repeated
   * many times carries the distribution rather than one draw's noise.
   */
  systematic(weights: readonly number[], n: number): number[] {
    const total = weights.reduce((s, w) => s + w, 0);
    if (total <= 0) return Array.from({ length: n }, () => this.int(weights.length));
    const u = this.next();
    const out: number[] = [];
    let j = 0;
    let acc = weights[0] ?? 0;
    for (let k = 0; k < n; k++) {
      const at = ((u + k) / n) * total;
      while (acc <= at && j < weights.length - 1) acc += weights[++j] ?? 0;
      out.push(j);
    }
    return this.shuffle(out);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Largest-remainder rounding of `total × shares` to integers summing to round(total). */
export function apportion(shares: readonly number[], total: number): number[] {
  const sum = shares.reduce((s, v) => s + v, 0);
  const n = Math.round(total);
  if (sum <= 0 || n <= 0) return shares.map(() => 0);
  const exact = shares.map((v) => (v / sum) * n);
  const out = exact.map(Math.floor);
  let left = n - out.reduce((s, v) => s + v, 0);
  const order = exact
    .map((v, i) => [v - Math.floor(v), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    out[i] = (out[i] ?? 0) + 1;
    left--;
  }
  return out;
}
