// The instruction list of one loop body as block.ts writes it (pure): each instruction's dynamic position (what the
// register allocators measure distances in), local labels, and the fresh PRNG bits that branch sites test.
import type { Ins, MemRef } from './block.ts';
import type { Allocator } from './registers.ts';

export class LoopWriter {
  readonly ins: Ins[] = [];
  /** Position of the next instruction in the iteration (labels and out-of-line data take none). */
  pos = 0;
  private labels = 0;
  /** Fresh bits left in the low 32 of the xorshift64 state (r13). */
  private bitsLeft = 0;

  readonly gp: Allocator;
  readonly xmm: Allocator;

  constructor(gp: Allocator, xmm: Allocator) {
    this.gp = gp;
    this.xmm = xmm;
  }

  emit(text: string, reads: string[], writes: string[], mem?: MemRef): undefined {
    this.ins.push(mem ? { text, mem } : { text });
    // A memory operand with a register written is a load (stores write no register).
    this.gp.note(this.pos, reads, writes, mem !== undefined);
    this.xmm.note(this.pos, reads, writes, mem !== undefined);
    this.pos++;
  }

  /** A fresh local label (`%=` makes it unique per asm statement). */
  label(): string {
    return `.Lb%=_${this.labels++}`;
  }

  place(label: string): void {
    this.ins.push({ text: `${label}:`, label: true });
  }

  /** Control may leave here: every register's value counts as used (see Allocator). */
  exit(): void {
    this.gp.exit();
    this.xmm.exit();
  }

  /** Steps the xorshift64 state (r13) when fewer than `bits` fresh bits are left. */
  ensureBits(bits: number): void {
    if (this.bitsLeft < bits) this.prngStep();
  }

  /** `test` of the next `bits` fresh PRNG bits: zero with probability 2^-bits. */
  testBits(bits: number): void {
    this.ensureBits(bits);
    const shift = 32 - this.bitsLeft;
    const mask = (((1 << bits) - 1) << shift) >>> 0;
    this.bitsLeft -= bits;
    this.emit(`test r13d, 0x${mask.toString(16)}`, ['r13'], []);
  }

  /** One xorshift64 step of r13: (mov, shift, xor) × 3, the 9 instructions block.ts takes out of the mix. */
  private prngStep(): void {
    const t = this.gp.write(this.pos);
    for (const [shift, dir] of [
      [13, 'shl'],
      [7, 'shr'],
      [17, 'shl'],
    ] as const) {
      this.emit(`mov ${t}, r13`, [], [t]);
      this.emit(`${dir} ${t}, ${shift}`, [t], [t]);
      this.emit(`xor r13, ${t}`, [t], []);
    }
    this.bitsLeft = 32;
  }
}
