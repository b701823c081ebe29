import assert from 'node:assert/strict';
import test from 'node:test';
import { mixCategory, semanticsOf } from '../../../../src/analyze/cpu/isa.ts';
import { parseObjdump } from '../../../../src/collect/valgrind/objdump.ts';

function sem(text: string) {
  const d = [...parseObjdump(`   1000:\t${text}\n   1010:\tnop\n`).values()][0];
  assert.ok(d, text);
  return semanticsOf(d);
}
const RAX = 0;
const RCX = 1;
const RDX = 2;
const RSP = 4;
const RSI = 6;
const RDI = 7;

test('mix categories from Intel-syntax operands', () => {
  const cases: [string, string][] = [
    ['mov    rax,QWORD PTR [rdi+0x8]', 'base.mov.uncond.mem_r'],
    ['mov    DWORD PTR [rax+0x38],edx', 'base.mov.uncond.mem_w'],
    ['mov    edi,esi', 'base.mov.uncond.no_mem'],
    ['add    QWORD PTR [rip+0x10],0x1', 'base.arith.int.mem_rw'],
    ['cmp    DWORD PTR [rdx],0x2f', 'base.arith.int.mem_r'],
    ['lea    rax,[rdi+rsi*4]', 'base.arith.int.no_mem'],
    ['cmove  eax,edx', 'base.mov.cond.no_mem'],
    ['sete   BYTE PTR [rdi]', 'base.mov.cond.mem_w'],
    ['push   rbx', 'base.mov.uncond.mem_w'],
    ['pop    rbx', 'base.mov.uncond.mem_r'],
    ['call   1c4c0', 'base.call.mem_w'],
    ['call   QWORD PTR [rax+0x10]', 'base.call.mem_rw'],
    ['ret', 'base.ret.mem_r'],
    ['jne    1c568', 'base.branch.cond.no_mem'],
    ['jmp    rax', 'base.branch.uncond.no_mem'],
    ['imul   eax,DWORD PTR [rsi+rdx*4],0xcc9e2d51', 'base.mul.int.mem_r'],
    ['div    rcx', 'base.div.int.no_mem'],
    ['crc32  eax,BYTE PTR [rdi]', 'base.crc32.mem_r'],
    ['stos   BYTE PTR es:[rdi],al', 'base.string.mem_w'],
    ['movs   QWORD PTR es:[rdi],QWORD PTR ds:[rsi]', 'base.string.mem_rw'],
    ['nop    WORD PTR [rax+rax*1+0x0]', 'base.other.no_mem'],
    ['lock cmpxchg DWORD PTR [rdi],edx', 'base.arith.int.mem_rw'],
    ['movdqu xmm0,XMMWORD PTR [rsi]', 'sse.mov.uncond.mem_r'],
    ['pcmpeqb xmm0,xmm1', 'sse.arith.int.no_mem'],
    ['pmovmskb eax,xmm0', 'sse.mov.uncond.no_mem'],
    ['addsd  xmm0,QWORD PTR [rip+0x10]', 'sse.arith.fp.mem_r'],
    ['mulsd  xmm0,xmm1', 'sse.mul.fp.no_mem'],
    ['divsd  xmm0,xmm1', 'sse.div.fp.no_mem'],
    ['vmovdqu YMMWORD PTR [rdi],ymm0', 'avx.mov.uncond.mem_w'],
    ['vpcmpeqb ymm1,ymm0,YMMWORD PTR [rdi]', 'avx.arith.int.mem_r'],
    ['vfmadd231sd xmm0,xmm1,xmm2', 'avx.mul.fp.no_mem'],
    ['vpxor  xmm0,xmm0,xmm0', 'avx.arith.int.no_mem'],
  ];
  for (const [text, category] of cases) assert.equal(mixCategory(sem(text)), category, text);
});

test('atomics: lock-prefixed read-modify-writes and exchanges with memory', () => {
  assert.equal(sem('lock cmpxchg DWORD PTR [rdi],edx').atomic, true);
  assert.equal(sem('lock xadd   DWORD PTR [rax+0x10],ecx').atomic, true);
  assert.equal(sem('xchg   DWORD PTR [rdi],eax').atomic, true);
  assert.equal(sem('xchg   rax,rdx').atomic, false);
  assert.equal(sem('add    QWORD PTR [rip+0x10],0x1').atomic, false);
  assert.equal(sem('cmpxchg DWORD PTR [rdi],edx').atomic, false);
});

test('register reads and writes, implicit operands, zero idioms, partial writes', () => {
  assert.deepEqual(sem('mov    rax,QWORD PTR [rdi+rsi*8]'), {
    ...sem('mov    rax,QWORD PTR [rdi+rsi*8]'),
    reads: [RDI, RSI],
    writes: [RAX],
    addressReads: [RDI, RSI],
  });
  // Address registers are those of a memory operand that is accessed: not lea's, not a stored register's.
  assert.deepEqual(sem('lea    rax,[rdi+rsi*4]').addressReads, []);
  assert.deepEqual(sem('mov    QWORD PTR [rbx+0x8],rdx').addressReads, [3]);
  assert.deepEqual(sem('mov    rax,QWORD PTR [rip+0x10]').addressReads, []);
  const add = sem('add    rax,rdx');
  assert.deepEqual([add.reads, add.writes], [[RAX, RDX], [RAX]]);
  const xor = sem('xor    eax,eax');
  assert.deepEqual([xor.reads, xor.writes], [[], [RAX]]);
  const byteWrite = sem('mov    al,BYTE PTR [rsi]');
  assert.deepEqual([byteWrite.reads.sort(), byteWrite.writes], [[RAX, RSI], [RAX]]);
  const cmp = sem('cmp    rcx,rdx');
  assert.deepEqual([cmp.reads, cmp.writes], [[RCX, RDX], []]);
  const push = sem('push   rdi');
  assert.deepEqual([push.reads.sort(), push.writes], [[RSP, RDI], [RSP]]);
  const mul = sem('mul    rcx');
  assert.deepEqual(
    [mul.reads.sort(), mul.writes.sort()],
    [
      [RAX, RCX],
      [RAX, RDX],
    ],
  );
  const rep = sem('rep movs BYTE PTR es:[rdi],BYTE PTR ds:[rsi]');
  assert.deepEqual(rep.string, { op: 'movs', elementBytes: 1, rep: true });
  assert.deepEqual(rep.reads.sort(), [RCX, RSI, RDI]);
  assert.equal(sem('rep stos QWORD PTR es:[rdi],rax').string?.elementBytes, 8);
  const xchg = sem('xchg   rdx,rax');
  assert.deepEqual(
    [xchg.reads.sort(), xchg.writes.sort()],
    [
      [RAX, RDX],
      [RAX, RDX],
    ],
  );
  assert.equal(sem('jne    10').flow, 'cond');
  assert.equal(sem('jmp    10').flow, 'jump');
  assert.equal(sem('ret').flow, 'ret');
});
