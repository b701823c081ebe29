// x86-64 instruction semantics from objdump's Intel-syntax text (pure): the instruction-mix category, the direction of
// memory access, the registers read and written (for dependency distances), control flow and string-op element size.
//
// Mix categories are `{ext}.{class}.{mem}`:
//   ext   base (general purpose and x87) | sse (xmm / mm operands, legacy encoding) | avx (VEX/EVEX `v…`, ymm, zmm)
//   class mov.uncond  mov movzx/movsx xchg push pop leave, x87 loads/stores, vector moves/broadcasts/inserts/extracts
//         mov.cond    cmovCC setCC fcmovCC
//         branch.cond jCC loop jrcxz;  branch.uncond jmp;  call;  ret
//         arith.int   add sub adc sbb and or xor not neg inc dec cmp test shifts rotates bit ops lea cdq… xadd cmpxchg,
//                     BMI ops, packed-integer vector ops (p…)
//         mul.int     mul imul mulx pmul* pmadd*;  div.int div idiv
//         arith.fp    x87 fadd/fsub/fcom…, vector …ss/sd/ps/pd ops, cvt*, min/max, comis/ucomis, round
//         mul.fp      fmul, mul{ss,sd,ps,pd}, FMA;  div.fp fdiv fsqrt div* sqrt* rcp* rsqrt*
//         crc32;  string movs stos lods cmps scas (with or without rep)
//         other       nop endbr syscall cpuid rdtsc pause fences prefetch shuffles/unpacks/blends and anything unlisted
//   mem   no_mem | mem_r | mem_w | mem_rw (explicit memory operand direction plus the implicit stack access of
//         push/pop/call/ret/leave and the implicit operands of string ops; lea and nop never access memory)
import type { DecodedInstruction } from '../../collect/valgrind/objdump.ts';

export const mixExts = ['base', 'sse', 'avx'] as const;
export const mixClasses = [
  'mov.uncond',
  'mov.cond',
  'branch.cond',
  'branch.uncond',
  'call',
  'ret',
  'arith.int',
  'mul.int',
  'div.int',
  'arith.fp',
  'mul.fp',
  'div.fp',
  'crc32',
  'string',
  'other',
] as const;
export const mixMems = ['no_mem', 'mem_r', 'mem_w', 'mem_rw'] as const;
export type MixExt = (typeof mixExts)[number];
export type MixClass = (typeof mixClasses)[number];
export type MixMem = (typeof mixMems)[number];

/** How control leaves the instruction. */
export type Flow = 'next' | 'cond' | 'jump' | 'call' | 'ret' | 'stop';

export type StringOp = 'movs' | 'stos' | 'lods' | 'cmps' | 'scas';

export interface Semantics {
  ext: MixExt;
  cls: MixClass;
  mem: MixMem;
  flow: Flow;
  /** Register ids read / written: 0–15 general purpose, 16–47 vector (xmm/ymm/zmm N). */
  reads: number[];
  writes: number[];
  /** Registers that form an explicit memory operand's address (base and index); rip-relative has none. */
  addressReads: number[];
  /** An atomic read-modify-write of memory: lock-prefixed, or xchg with a memory operand (locked implicitly). */
  atomic: boolean;
  string: { op: StringOp; elementBytes: number; rep: boolean } | undefined;
}

export const registerCount = 48;
/** Ids below this are the general-purpose registers (rax … r15). */
export const generalRegisterCount = 16;

const gp64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi'];
const registers = new Map<string, { id: number; partial: boolean }>();
gp64.forEach((name, id) => {
  const base = name.slice(1);
  registers.set(name, { id, partial: false });
  registers.set(`e${base}`, { id, partial: false });
  registers.set(base, { id, partial: true });
  registers.set(base.length === 2 && base[1] === 'x' ? `${base[0]}l` : `${base}l`, { id, partial: true });
  if (base[1] === 'x') registers.set(`${base[0]}h`, { id, partial: true });
});
for (let n = 8; n < generalRegisterCount; n++) {
  registers.set(`r${n}`, { id: n, partial: false });
  registers.set(`r${n}d`, { id: n, partial: false });
  registers.set(`r${n}w`, { id: n, partial: true });
  registers.set(`r${n}b`, { id: n, partial: true });
}
for (let n = 0; n < 32; n++) {
  for (const kind of ['xmm', 'ymm', 'zmm'])
    registers.set(`${kind}${n}`, { id: generalRegisterCount + n, partial: false });
}
for (let n = 0; n < 8; n++) registers.set(`mm${n}`, { id: generalRegisterCount + n, partial: false });

const RAX = 0;
const RCX = 1;
const RDX = 2;
const RBX = 3;
export const RSP = 4;
const RBP = 5;
const RSI = 6;
const RDI = 7;
const R8 = 8;
const R9 = 9;
const R10 = 10;
const R11 = 11;

function isMemory(operand: string): boolean {
  return operand.includes('[') || operand.includes(' PTR ');
}

function registersIn(operand: string): { id: number; partial: boolean }[] {
  const out: { id: number; partial: boolean }[] = [];
  for (const word of operand.match(/[a-z][a-z0-9]*/g) ?? []) {
    const r = registers.get(word);
    if (r) out.push(r);
  }
  return out;
}

const elementBytes: Record<string, number> = { BYTE: 1, WORD: 2, DWORD: 4, QWORD: 8 };

const readOnlyFirst = new Set([
  'cmp',
  'test',
  'bt',
  'ptest',
  'ucomiss',
  'ucomisd',
  'comiss',
  'comisd',
  'push',
]);
const writeOnlyFirst = new Set([
  'mov',
  'movabs',
  'movzx',
  'movsx',
  'movsxd',
  'lea',
  'pop',
  'movbe',
  'bsf',
  'bsr',
  'tzcnt',
  'lzcnt',
  'popcnt',
  'andn',
  'bextr',
  'bzhi',
  'blsi',
  'blsmsk',
  'blsr',
  'pdep',
  'pext',
  'sarx',
  'shlx',
  'shrx',
  'rorx',
  'mulx',
  'pmovmskb',
  'movmskps',
  'movmskpd',
  'movd',
  'movq',
  'movdqa',
  'movdqu',
  'movaps',
  'movups',
  'movapd',
  'movupd',
  'lddqu',
  'movntdq',
  'movnti',
  'movntps',
  'movntdqa',
  'pshufd',
  'pshuflw',
  'pshufhw',
  'pextrb',
  'pextrw',
  'pextrd',
  'pextrq',
  'extractps',
  'fst',
  'fstp',
  'fist',
  'fistp',
  'fisttp',
]);
const intArith = new Set([
  'add',
  'adc',
  'sub',
  'sbb',
  'and',
  'or',
  'xor',
  'not',
  'neg',
  'inc',
  'dec',
  'cmp',
  'test',
  'shl',
  'sal',
  'shr',
  'sar',
  'rol',
  'ror',
  'rcl',
  'rcr',
  'shld',
  'shrd',
  'bt',
  'bts',
  'btr',
  'btc',
  'bsf',
  'bsr',
  'tzcnt',
  'lzcnt',
  'popcnt',
  'bswap',
  'lea',
  'cdq',
  'cqo',
  'cwd',
  'cdqe',
  'cwde',
  'cbw',
  'xadd',
  'cmpxchg',
  'cmpxchg8b',
  'cmpxchg16b',
  'andn',
  'bextr',
  'blsi',
  'blsmsk',
  'blsr',
  'bzhi',
  'pdep',
  'pext',
  'sarx',
  'shlx',
  'shrx',
  'rorx',
  'adcx',
  'adox',
]);
const baseMoves = new Set([
  'mov',
  'movabs',
  'movzx',
  'movsx',
  'movsxd',
  'xchg',
  'push',
  'pop',
  'movbe',
  'leave',
  'movnti',
]);
const x87Moves = new Set(['fld', 'fst', 'fstp', 'fild', 'fist', 'fistp', 'fisttp', 'fxch', 'fldz', 'fld1']);
const zeroIdioms = new Set([
  'xor',
  'sub',
  'pxor',
  'xorps',
  'xorpd',
  'psubb',
  'psubd',
  'psubq',
  'pcmpeqd',
  'pcmpeqb',
]);
const stringOps = new Set<string>(['movs', 'stos', 'lods', 'cmps', 'scas']);

function vectorClass(m: string): MixClass {
  const b = m.startsWith('v') ? m.slice(1) : m;
  if (/^(mul|fn?m(add|sub))/.test(b) && !b.startsWith('p')) return 'mul.fp';
  if (/^(div|sqrt|rsqrt|rcp)/.test(b)) return 'div.fp';
  if (/^p(mul|madd)/.test(b)) return 'mul.int';
  if (/^(p?shuf|punpck|unpck|palignr|pack|p?blend|p?perm|pshufb|valign)/.test(b)) return 'other';
  if (/^(mov|lddqu|p?insr|insert|p?extr|extract|p?broadcast|pmov|p?maskmov|p?gather|p?scatter)/.test(b)) {
    return 'mov.uncond';
  }
  if (b.startsWith('p')) return 'arith.int';
  if (/(ss|sd|ps|pd)$/.test(b) || /^(cvt|round|u?comis|min|max|hadd|hsub|addsub|dp)/.test(b))
    return 'arith.fp';
  return 'other';
}

function baseClass(m: string): MixClass {
  if (baseMoves.has(m) || x87Moves.has(m)) return 'mov.uncond';
  if (intArith.has(m)) return 'arith.int';
  if (m === 'mul' || m === 'imul' || m === 'mulx') return 'mul.int';
  if (m === 'div' || m === 'idiv') return 'div.int';
  if (/^fi?mul/.test(m)) return 'mul.fp';
  if (/^(fi?divr?p?|fsqrt)$/.test(m)) return 'div.fp';
  if (/^(fi?(add|sub|subr)p?|fu?comi?p{0,2}|fchs|fabs|frndint|ftst)$/.test(m)) return 'arith.fp';
  return 'other';
}

function flowOf(m: string): Flow {
  if (m === 'jmp') return 'jump';
  if (m === 'call') return 'call';
  if (m === 'ret' || m === 'iret' || m === 'iretq') return 'ret';
  if (/^j/.test(m) || /^loop/.test(m)) return 'cond';
  if (m === 'ud2' || m === 'hlt') return 'stop';
  return 'next';
}

/** Operand effect of the first (destination) operand for this mnemonic and operand count. */
function firstOperandEffect(m: string, ext: MixExt, operandCount: number): 'r' | 'w' | 'rw' {
  const b = ext !== 'base' && m.startsWith('v') ? m.slice(1) : m;
  if (readOnlyFirst.has(b) || /^(j|call|loop|prefetch)/.test(m)) return 'r';
  if (/^set/.test(m)) return 'w';
  // One-operand multiply/divide: the operand is a source; rax/rdx are implicit.
  if (/^i?(mul|div)$/.test(m) && operandCount === 1) return 'r';
  if (/^cmov/.test(m) || m === 'xchg' || m === 'xadd' || m === 'cmpxchg') return 'rw';
  if (m === 'imul' && operandCount === 3) return 'w';
  if (writeOnlyFirst.has(b) || /^cvt/.test(b)) return 'w';
  if (ext === 'avx') {
    // VEX/EVEX forms are non-destructive: the destination is only written, except for FMA (accumulates into it).
    if (/^fn?m(add|sub)/.test(b)) return 'rw';
    if (operandCount >= 3 || /^(mov|p?broadcast|pmov|cvt|p?extr|extract)/.test(b)) return 'w';
  }
  if (ext === 'sse' && /^mov/.test(b)) return 'w';
  return 'rw';
}

function implicitRegisters(
  m: string,
  operandCount: number,
  rep: boolean,
): { reads: number[]; writes: number[] } {
  const reads: number[] = [];
  const writes: number[] = [];
  const rw = (...ids: number[]) => {
    reads.push(...ids);
    writes.push(...ids);
  };
  switch (m) {
    case 'push':
    case 'pop':
    case 'call':
    case 'ret':
      rw(RSP);
      break;
    case 'leave':
      reads.push(RBP);
      writes.push(RSP, RBP);
      break;
    case 'mul':
    case 'imul':
      if (operandCount === 1) {
        reads.push(RAX);
        writes.push(RAX, RDX);
      }
      break;
    case 'div':
    case 'idiv':
      rw(RAX, RDX);
      break;
    case 'mulx':
      reads.push(RDX);
      break;
    case 'cdq':
    case 'cqo':
    case 'cwd':
      reads.push(RAX);
      writes.push(RDX);
      break;
    case 'cdqe':
    case 'cwde':
    case 'cbw':
      rw(RAX);
      break;
    case 'cmpxchg':
      rw(RAX);
      break;
    case 'cmpxchg16b':
    case 'cmpxchg8b':
      rw(RAX, RDX);
      reads.push(RBX, RCX);
      break;
    case 'syscall':
      reads.push(RAX, RDI, RSI, RDX, R10, R8, R9);
      writes.push(RAX, RCX, R11);
      break;
    case 'cpuid':
      rw(RAX, RCX);
      writes.push(RBX, RDX);
      break;
    case 'rdtsc':
      writes.push(RAX, RDX);
      break;
    case 'rdtscp':
      writes.push(RAX, RDX, RCX);
      break;
    case 'xgetbv':
      reads.push(RCX);
      writes.push(RAX, RDX);
      break;
    case 'jrcxz':
    case 'jecxz':
      reads.push(RCX);
      break;
    case 'loop':
    case 'loope':
    case 'loopne':
      rw(RCX);
      break;
    case 'movs':
    case 'cmps':
      rw(RSI, RDI);
      break;
    case 'stos':
      reads.push(RAX);
      rw(RDI);
      break;
    case 'lods':
      rw(RSI);
      writes.push(RAX);
      break;
    case 'scas':
      reads.push(RAX);
      rw(RDI);
      break;
    default:
      break;
  }
  if (rep && stringOps.has(m)) rw(RCX);
  return { reads, writes };
}

function memDirection(m: string, flow: Flow, ops: string[], firstEffect: 'r' | 'w' | 'rw'): MixMem {
  if (m === 'lea' || /^(nop|endbr)/.test(m)) return 'no_mem';
  let read = false;
  let write = false;
  ops.forEach((op, i) => {
    // String ops name their implicit operands; the switch below gives their direction.
    if (!isMemory(op) || stringOps.has(m)) return;
    if (i > 0 || flow !== 'next' || firstEffect === 'r') read = true;
    else if (firstEffect === 'w') write = true;
    else {
      read = true;
      write = true;
    }
  });
  switch (m) {
    case 'push':
    case 'call':
      write = true;
      break;
    case 'pop':
    case 'ret':
    case 'leave':
    case 'lods':
    case 'cmps':
    case 'scas':
      read = true;
      break;
    case 'stos':
      write = true;
      break;
    case 'movs':
      read = true;
      write = true;
      break;
    default:
      break;
  }
  return read && write ? 'mem_rw' : read ? 'mem_r' : write ? 'mem_w' : 'no_mem';
}

function extOf(m: string, ops: string[]): MixExt {
  const text = ops.join(' ');
  if ((m.startsWith('v') && m !== 'verr' && m !== 'verw') || /\b[yz]mm\d/.test(text)) return 'avx';
  if (/\bx?mm\d/.test(text) || /^(ldmxcsr|stmxcsr|emms)$/.test(m)) return 'sse';
  return 'base';
}

export function semanticsOf(instruction: DecodedInstruction): Semantics {
  const m = instruction.mnemonic;
  const ops = instruction.operands;
  const rep = instruction.prefixes.some((p) => p.startsWith('rep'));
  const ext = extOf(m, ops);
  const flow = flowOf(m);
  const isString = stringOps.has(m);
  let cls: MixClass;
  if (isString) cls = 'string';
  else if (flow === 'call') cls = 'call';
  else if (flow === 'ret') cls = 'ret';
  else if (flow === 'jump') cls = 'branch.uncond';
  else if (flow === 'cond') cls = 'branch.cond';
  else if (/^(cmov|set|fcmov)/.test(m)) cls = 'mov.cond';
  else if (m === 'crc32') cls = 'crc32';
  else cls = ext === 'base' ? baseClass(m) : vectorClass(m);

  const firstEffect = firstOperandEffect(m, ext, ops.length);
  const reads: number[] = [];
  const writes: number[] = [];
  const addressReads: number[] = [];
  const ignoreOperands = /^(nop|endbr|prefetch)/.test(m) || isString;
  if (!ignoreOperands) {
    const sameRegisters =
      zeroIdioms.has(ext === 'avx' ? m.slice(1) : m) &&
      ops.length >= 2 &&
      ops.every((op) => !isMemory(op) && registersIn(op)[0]?.id === registersIn(ops[0] ?? '')[0]?.id);
    ops.forEach((op, i) => {
      const regs = registersIn(op);
      if (isMemory(op)) {
        for (const r of regs) reads.push(r.id);
        if (m !== 'lea') for (const r of regs) addressReads.push(r.id);
        return;
      }
      if (sameRegisters) {
        if (i === 0) for (const r of regs) writes.push(r.id);
        return;
      }
      if (i === 0 && m !== 'xchg') {
        for (const r of regs) {
          if (firstEffect !== 'w' || r.partial) reads.push(r.id);
          if (firstEffect !== 'r') writes.push(r.id);
        }
        return;
      }
      for (const r of regs) {
        reads.push(r.id);
        if (m === 'xchg' || m === 'xadd') writes.push(r.id);
      }
    });
  }
  const implicit = implicitRegisters(m, ops.length, rep);
  reads.push(...implicit.reads);
  writes.push(...implicit.writes);

  let string: Semantics['string'];
  if (isString) {
    const size = /\b(BYTE|WORD|DWORD|QWORD) PTR/.exec(ops.join(' '))?.[1];
    string = { op: m as StringOp, elementBytes: elementBytes[size ?? 'BYTE'] ?? 1, rep };
  }
  return {
    ext,
    cls,
    mem: memDirection(m, flow, ops, firstEffect),
    flow,
    reads: [...new Set(reads)],
    writes: [...new Set(writes)],
    addressReads: [...new Set(addressReads)],
    atomic: instruction.prefixes.includes('lock') || (m === 'xchg' && ops.some(isMemory)),
    string,
  };
}

export function mixCategory(s: Pick<Semantics, 'ext' | 'cls' | 'mem'>): string {
  return `${s.ext}.${s.cls}.${s.mem}`;
}
