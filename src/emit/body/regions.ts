// Region sizes of a generated body's streams (pure): from what its blocks touch per invocation to the region of
// ctx->data each stream walks, so that its lines come back at a distance within its bin (the doc below).
import type { BlockBody } from './block.ts';
import { type BodyShape, regionBins } from './layout.ts';

/** What region sizing needs of a generated body (emit.ts). */
export interface GeneratedBody {
  shape: BodyShape;
  blocks: { replicas: { body: BlockBody; iterations: number }[] }[];
  /** Per far stream, the new lines it takes per invocation (the next ones of its region). */
  farLines: number[];
}

/**
 * Region sizes. An own cursor advancing D lines per invocation over a region of l lines comes back to a line every
 * P = l/D invocations. A far stream takes the next A lines of its region per invocation, cyclically, so P = l/A.
 * A stream touching A distinct lines per invocation holds F = min(l·u, A·P) of them (u: the share of its window it
 * touches), and meanwhile every other stream t touches min(F_t, A_t·P) distinct lines (the string area all of its
 * lines). The LRU stack distance of the stream's lines is the sum; each region (a power of two of lines, at least
 * its window) is the largest whose distance stays within 0.85 of its bin (regions are contiguous and walked line
 * after line, so their lines spread evenly over the sets and such distances still hit). A few rounds settle the
 * coupling.
 * A far stream whose bin is smaller than what one invocation touches cannot come back within it from one
 * invocation to the next (nginx: 8-32 KiB bins of 100-200 operands each, more than 32 KiB touched per
 * invocation): its region gets fewer lines than it takes per invocation, which it then cycles through, so a line
 * comes back after P = l/A of an invocation. Only its l first touches per invocation come from the previous one.
 * `foreign(P)`: the distinct lines the other request classes' bodies touch while this body runs P times; it adds
 * to every distance. Returned with the lines: the distinct lines this body touches in k invocations, the foreign
 * traffic it makes for the others.
 */
export function solveRegions(
  body: GeneratedBody,
  stringLines: number,
  foreign: (invocations: number) => number,
): { lines: number[]; footprint: (invocations: number) => number } {
  const { shape } = body;
  const own = shape.streams.length;
  const windows = own + shape.far.length;
  const n = windows + 1;
  const touches = new Array<number>(n).fill(0);
  // Far streams and the ring have no window: at least one line.
  const minLines = new Array<number>(n).fill(1);
  const advance = new Array<number>(n).fill(0);
  // Per own cursor, the share of its windows' lines its operands touch.
  const usage = new Array<number>(n).fill(1);
  const touched = new Array<number>(own).fill(0);
  const windowed = new Array<number>(own).fill(0);
  for (const block of body.blocks) {
    for (const r of block.replicas) {
      const share = r.iterations / block.replicas.length;
      touches[windows] = (touches[windows] ?? 0) + (r.body.touches[windows] ?? 0) * share;
      for (let s = 0; s < own; s++) {
        touches[s] = (touches[s] ?? 0) + (r.body.touches[s] ?? 0) * share;
        const w = r.body.windowLines[s] ?? 0;
        if (w === 0) continue;
        minLines[s] = Math.max(minLines[s] ?? 1, w);
        advance[s] = (advance[s] ?? 0) + w * share;
        touched[s] = (touched[s] ?? 0) + (r.body.touches[s] ?? 0);
        windowed[s] = (windowed[s] ?? 0) + w;
      }
    }
  }
  windowed.forEach((w, s) => {
    if (w > 0) usage[s] = (touched[s] ?? 0) / w;
  });
  // A far stream takes A lines per invocation: the next A of its region, cyclically (within the invocation when
  // the region holds fewer).
  body.farLines.forEach((a, k) => {
    touches[own + k] = a;
    advance[own + k] = a;
  });
  // The chase ring is walked one line per load.
  advance[windows] = touches[windows] ?? 0;
  const bins = regionBins(shape);
  const lines = minLines.slice();
  const period = (s: number) => (lines[s] ?? 1) / Math.max(advance[s] ?? 1, 1e-9);
  const held = (t: number, p: number) => Math.min((lines[t] ?? 1) * (usage[t] ?? 1), (touches[t] ?? 0) * p);
  const distance = (s: number) => {
    const p = period(s);
    let d = stringLines + foreign(p);
    for (let t = 0; t < n; t++) d += held(t, p);
    return d;
  };
  for (let round = 0; round < 4; round++) {
    for (let s = 0; s < n; s++) {
      if ((touches[s] ?? 0) <= 0) continue;
      const goal = (0.85 * (bins[s] ?? 2048)) / 64;
      let best = minLines[s] ?? 1;
      for (let l = best; l <= (bins[s] ?? 2048) / 64; l *= 2) {
        lines[s] = l;
        if (distance(s) <= goal) best = l;
      }
      lines[s] = best;
    }
  }
  const footprint = (k: number) => {
    let total = stringLines;
    for (let t = 0; t < n; t++) total += held(t, k);
    return total;
  };
  return { lines, footprint };
}
