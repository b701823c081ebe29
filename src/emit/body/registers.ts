// Register allocation of the generated asm (pure): reads take the register whose last write is closest to a RAW
// distance drawn from the profile; writes the one that best matches drawn WAW and WAR distances.
import type { Random } from './random.ts';

export const gpPool = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi'];
export const xmmPool = Array.from({ length: 16 }, (_, i) => `xmm${i}`);
const beyondDistance = 400;
/** A plain write avoids a register holding an unread load unless every register does. */
const unreadPenalty = 1e6;

export class Distances {
  private cdf: number[];
  private h: { bins: number[]; beyond: number };
  constructor(h: { bins: number[]; beyond: number }) {
    this.h = h;
    let s = 0;
    this.cdf = [...h.bins, h.beyond].map((v) => {
      s += v;
      return s;
    });
  }
  draw(random: Random): number {
    const total = this.cdf.at(-1) ?? 0;
    if (total <= 0) return 1 + random.int(16);
    const u = random.next() * total;
    const i = this.cdf.findIndex((c) => u < c);
    return i < 0 || i >= this.h.bins.length ? beyondDistance : i + 1;
  }
}

export class Allocator {
  /**
   * Registers holding a value loaded from memory (or computed from one) since the last conditional branch. Writing
   * one of them first would make the load dead, and valgrind's IR optimiser drops dead loads: they would never reach
   * its cache simulation (a CPU still makes them). A conditional branch is an exit of valgrind's superblock, where
   * every register's value counts as used.
   */
  private unread = new Set<string>();
  private lastWrite = new Map<string, number>();
  private lastRead = new Map<string, number>();
  private pool: string[];
  private raw: Distances;
  private war: Distances;
  private waw: Distances;
  private random: Random;
  constructor(pool: string[], raw: Distances, war: Distances, waw: Distances, random: Random) {
    this.pool = pool;
    this.raw = raw;
    this.war = war;
    this.waw = waw;
    this.random = random;
    // Spread the initial "last" events so that the first picks are not all ties.
    pool.forEach((r, i) => {
      this.lastWrite.set(r, -1 - 7 * i);
      this.lastRead.set(r, -4 - 7 * i);
    });
  }
  read(pos: number, avoid: string[] = []): string {
    const d = this.raw.draw(this.random);
    return this.best(avoid, (r) => Math.abs(pos - (this.lastWrite.get(r) ?? -1e9) - d));
  }
  write(pos: number, avoid: string[] = []): string {
    const dw = this.waw.draw(this.random);
    const dr = this.war.draw(this.random);
    return this.best(
      avoid,
      (r) =>
        (this.unread.has(r) ? unreadPenalty : 0) +
        0.5 * Math.abs(pos - (this.lastWrite.get(r) ?? -1e9) - dw) +
        0.5 * Math.abs(pos - (this.lastRead.get(r) ?? -1e9) - dr),
    );
  }
  /** Read-modify-write destination: mostly the RAW distance, as the original weighed it. */
  modify(pos: number, avoid: string[] = []): string {
    const d = this.raw.draw(this.random);
    const dw = this.waw.draw(this.random);
    const dr = this.war.draw(this.random);
    return this.best(
      avoid,
      (r) =>
        0.8 * Math.abs(pos - (this.lastWrite.get(r) ?? -1e9) - d) +
        0.1 * Math.abs(pos - (this.lastWrite.get(r) ?? -1e9) - dw) +
        0.1 * Math.abs(pos - (this.lastRead.get(r) ?? -1e9) - dr),
    );
  }
  /** `load`: the written registers take a value read from memory. */
  note(pos: number, reads: string[], writes: string[], load = false): void {
    const derived = load || reads.some((r) => this.unread.has(r));
    for (const r of reads) {
      if (this.lastRead.has(r)) this.lastRead.set(r, pos);
      this.unread.delete(r);
    }
    for (const r of writes) {
      if (!this.lastWrite.has(r)) continue;
      this.lastWrite.set(r, pos);
      if (derived) this.unread.add(r);
      else this.unread.delete(r);
    }
  }
  /** A conditional branch: every value so far is used. */
  exit(): void {
    this.unread.clear();
  }
  private best(avoid: string[], cost: (r: string) => number): string {
    let best = '';
    let bestCost = Number.POSITIVE_INFINITY;
    for (const r of this.pool) {
      if (avoid.includes(r)) continue;
      const c = cost(r);
      if (c < bestCost) {
        best = r;
        bestCost = c;
      }
    }
    return best;
  }
}
