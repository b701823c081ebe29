// The instructions of one mix category (pure), each memory operand taken from the block's memory targets. div is a
// real `div` by r15 (the data pointer, never zero, with rdx cleared so the quotient fits); cmov/setcc stay
// conditional moves; sse/avx ops use xmm0–15 only (legacy SSE on 16-byte aligned memory).
import type { MemRef } from './block.ts';
import type { Random } from './random.ts';
import type { LoopWriter } from './writer.ts';

export interface CategoryContext {
  w: LoopWriter;
  random: Random;
  /** Writes the operand's addressing if it needs any (or a pointer-chase load instead), then calls `f` with the
   * operand, the registers it reads and its target. */
  withMemory(load: boolean, f: (m: string, regs: string[], ref: MemRef) => void): undefined;
  /** Whether the integer read-modify-write of memory being written is locked (asked once per such operand). */
  lockNext(): boolean;
}

const conditions = ['e', 'ne', 'b', 'ae', 'l', 'ge', 's', 'ns'];

export function emitCategory(c: CategoryContext, ext: string, cls: string, mem: string): undefined {
  const isMem = mem !== 'no_mem';
  if (
    ext !== 'base' &&
    !['mov.uncond', 'arith.int', 'mul.int', 'arith.fp', 'mul.fp', 'div.fp', 'other'].includes(cls)
  )
    return emitCategory(c, 'base', cls, mem);
  if (ext === 'base' && ['arith.fp', 'mul.fp', 'div.fp'].includes(cls))
    return emitCategory(c, 'sse', cls, mem);
  if (ext === 'base') return emitBase(c, cls, mem, isMem);
  return emitVector(c, ext === 'avx', cls, mem, isMem);
}

function emitBase(c: CategoryContext, cls: string, mem: string, isMem: boolean): undefined {
  const { w } = c;
  const arith = ['add', 'sub', 'and', 'or', 'xor', 'add', 'sub'];
  switch (cls) {
    case 'mov.uncond': {
      if (!isMem) {
        const s = w.gp.read(w.pos);
        const d = w.gp.write(w.pos, [s]);
        return w.emit(`mov ${d}, ${s}`, [s], [d]);
      }
      if (mem === 'mem_r')
        return c.withMemory(true, (m, regs, ref) => {
          const d = w.gp.write(w.pos);
          w.emit(`mov ${d}, qword ptr ${m}`, regs, [d], ref);
        });
      return c.withMemory(false, (m, regs, ref) => {
        const s = w.gp.read(w.pos);
        // mem_rw moves are exchanges with memory (xchg); plain stores otherwise.
        if (mem === 'mem_rw') w.emit(`xchg qword ptr ${m}, ${s}`, [...regs, s], [s], ref);
        else w.emit(`mov qword ptr ${m}, ${s}`, [...regs, s], [], ref);
      });
    }
    case 'mov.cond': {
      const cc = conditions[c.random.int(conditions.length)];
      if (mem === 'mem_w' || mem === 'mem_rw')
        return c.withMemory(false, (m, regs, ref) => w.emit(`set${cc} byte ptr ${m}`, regs, [], ref));
      const d = w.gp.modify(w.pos);
      if (mem === 'mem_r')
        return c.withMemory(false, (m, regs, ref) =>
          w.emit(`cmov${cc} ${d}, qword ptr ${m}`, [...regs, d], [d], ref),
        );
      const s = w.gp.read(w.pos, [d]);
      return w.emit(`cmov${cc} ${d}, ${s}`, [s, d], [d]);
    }
    case 'mul.int': {
      const d = w.gp.modify(w.pos);
      if (isMem)
        return c.withMemory(false, (m, regs, ref) =>
          w.emit(`imul ${d}, qword ptr ${m}`, [...regs, d], [d], ref),
        );
      const s = w.gp.read(w.pos);
      return w.emit(`imul ${d}, ${s}`, [s, d], [d]);
    }
    case 'div.int':
      // r15 (the data pointer) is never zero and rdx = 0 keeps the quotient within 64 bits: no #DE.
      w.emit('xor edx, edx', [], ['rdx']);
      return w.emit('div r15', ['rax', 'rdx', 'r15'], ['rax', 'rdx']);
    case 'crc32': {
      const d = w.gp.modify(w.pos);
      const s = w.gp.read(w.pos);
      return w.emit(`crc32 ${d}, ${s}`, [s, d], [d]);
    }
    case 'branch.uncond': {
      const to = w.label();
      w.emit(`jmp ${to}`, [], []);
      w.place(to);
      return;
    }
    case 'other':
      if (isMem)
        return c.withMemory(false, (m, regs, ref) => w.emit(`prefetcht0 byte ptr ${m}`, regs, [], ref));
      return w.emit('nop', [], []);
    case 'branch.cond':
    case 'call':
    case 'ret':
    case 'string':
      return;
    default: {
      const op = arith[c.random.int(arith.length)] ?? 'add';
      if (mem === 'mem_r')
        return c.withMemory(false, (m, regs, ref) => {
          const d = w.gp.modify(w.pos);
          w.emit(`${op} ${d}, qword ptr ${m}`, [...regs, d], [d], ref);
        });
      if (isMem)
        return c.withMemory(false, (m, regs, ref) => {
          const s = w.gp.read(w.pos);
          // Operands are 16-byte aligned (print.ts): a locked one never splits a line.
          const lock = mem === 'mem_rw' && c.lockNext() ? 'lock ' : '';
          w.emit(`${lock}${op} qword ptr ${m}, ${s}`, [...regs, s], [], ref);
        });
      const s = w.gp.read(w.pos);
      // xor/sub of a register with itself is a zeroing idiom with no input dependence: avoid it.
      const d = w.gp.modify(w.pos, [s]);
      return w.emit(`${op} ${d}, ${s}`, [s, d], [d]);
    }
  }
}

function emitVector(c: CategoryContext, avx: boolean, cls: string, mem: string, isMem: boolean): undefined {
  const { w } = c;
  const v = avx ? 'v' : '';
  if (cls === 'mov.uncond') {
    if (!isMem) {
      const s = w.xmm.read(w.pos);
      const d = w.xmm.write(w.pos, [s]);
      return w.emit(`${v}movapd ${d}, ${s}`, [s], [d]);
    }
    if (mem === 'mem_r')
      return c.withMemory(false, (m, regs, ref) => {
        const d = w.xmm.write(w.pos);
        w.emit(`${v}movsd ${d}, qword ptr ${m}`, regs, [d], ref);
      });
    return c.withMemory(false, (m, regs, ref) => {
      const s = w.xmm.read(w.pos);
      w.emit(`${v}movsd qword ptr ${m}, ${s}`, [...regs, s], [], ref);
    });
  }
  const op =
    cls === 'arith.int'
      ? 'paddq'
      : cls === 'mul.int'
        ? 'pmuludq'
        : cls === 'arith.fp'
          ? 'addsd'
          : cls === 'mul.fp'
            ? 'mulsd'
            : cls === 'div.fp'
              ? 'divsd'
              : 'pshufd';
  const wide = op.startsWith('p') ? 'xmmword' : 'qword';
  const imm = op === 'pshufd' ? ', 27' : '';
  if (op === 'pshufd') {
    const d = w.xmm.write(w.pos);
    if (isMem)
      return c.withMemory(false, (m, regs, ref) =>
        w.emit(`${v}pshufd ${d}, xmmword ptr ${m}${imm}`, regs, [d], ref),
      );
    const s = w.xmm.read(w.pos);
    return w.emit(`${v}pshufd ${d}, ${s}${imm}`, [s], [d]);
  }
  if (avx) {
    const a = w.xmm.read(w.pos);
    const d = w.xmm.write(w.pos);
    if (isMem)
      return c.withMemory(false, (m, regs, ref) =>
        w.emit(`v${op} ${d}, ${a}, ${wide} ptr ${m}`, [...regs, a], [d], ref),
      );
    const s = w.xmm.read(w.pos);
    return w.emit(`v${op} ${d}, ${a}, ${s}`, [a, s], [d]);
  }
  const d = w.xmm.modify(w.pos);
  if (isMem)
    return c.withMemory(false, (m, regs, ref) =>
      w.emit(`${op} ${d}, ${wide} ptr ${m}`, [...regs, d], [d], ref),
    );
  const s = w.xmm.read(w.pos);
  return w.emit(`${op} ${d}, ${s}`, [s, d], [d]);
}
