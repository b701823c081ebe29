import assert from 'node:assert/strict';
import test from 'node:test';
import { branchBehaviour } from '../../../../src/analyze/cpu/branches.ts';
import { dependencyDistances, maxDistance } from '../../../../src/analyze/cpu/dependencies.ts';
import { semanticsOf } from '../../../../src/analyze/cpu/isa.ts';
import { instructionMix } from '../../../../src/analyze/cpu/mix.ts';
import { buildProgram, type Program } from '../../../../src/analyze/cpu/program.ts';
import { stringOps } from '../../../../src/analyze/cpu/string-ops.ts';
import { parseCallgrind } from '../../../../src/collect/valgrind/callgrind.ts';
import { parseObjdump } from '../../../../src/collect/valgrind/objdump.ts';
import { fixtureDisassembly, fixtureText, windowRequests } from '../../collect/valgrind/fixtures.ts';

const profile = parseCallgrind(fixtureText('memcached-window.clg.gz'));
const program = buildProgram(profile, fixtureDisassembly(profile));
const sum = (xs: number[]) => xs.reduce((s, v) => s + v, 0);

test('the join maps every instruction of the recorded window and explains nearly all control flow', () => {
  assert.equal(program.unmappedIr, 0);
  assert.equal(program.mappedIr, 11492153);
  assert.equal(program.nodes.length, 6141);
  assert.ok(dependencyDistances(program).edgeCoverage > 0.98);
  // An instruction is never entered more often than it ran (rep string ops aside, which count iterations).
  const into = new Float64Array(program.nodes.length);
  for (const e of program.edges) into[e.to] = (into[e.to] ?? 0) + e.count;
  program.nodes.forEach((n, i) => {
    if (!n.semantics.string?.rep) assert.ok((into[i] ?? 0) <= n.execs * 1.0001 + 1, `node ${i}`);
  });
});

test('instruction mix of memcached: fractions sum to 1, integer ALU and moves dominate', () => {
  const mix = instructionMix(program).categories;
  assert.ok(Math.abs(sum(Object.values(mix)) - 1) < 1e-9);
  const [top] = Object.keys(mix);
  assert.equal(top, 'base.arith.int.no_mem');
  assert.ok((mix['base.branch.cond.no_mem'] ?? 0) > 0.1);
  assert.ok((mix['base.mov.uncond.mem_r'] ?? 0) > 0.08);
  assert.ok((mix['base.call.mem_w'] ?? 0) > 0.01);
  assert.ok((mix['base.ret.mem_r'] ?? 0) > 0.01);
});

test("memcached's atomics: its mutexes' lock cmpxchg and unlocking xchg, ~24 per request", () => {
  const { atomicShare, categories } = instructionMix(program);
  const instructions = sum(program.nodes.map((n) => n.execs)) / windowRequests;
  const perRequest = (atomicShare ?? 0) * instructions;
  assert.ok(perRequest > 18 && perRequest < 30, String(perRequest));
  // Every exchange with memory is one; the rest are among the integer read-modify-writes.
  const exchanges = (categories['base.mov.uncond.mem_rw'] ?? 0) * instructions;
  const rmw = (categories['base.arith.int.mem_rw'] ?? 0) * instructions;
  assert.ok(
    exchanges > 5 && perRequest - exchanges > 5 && perRequest - exchanges < rmw,
    `${exchanges} ${rmw}`,
  );
});

test('branches: taken-rate histogram from jcnd counts, mispredict proxy from the branch simulator', () => {
  const b = branchBehaviour(program, windowRequests);
  assert.ok(b.conditionalPerRequest > 400 && b.conditionalPerRequest < 800, String(b.conditionalPerRequest));
  assert.ok(Math.abs(sum(b.takenRate.map((x) => x.fraction)) - 1) < 1e-9);
  assert.ok(Math.abs(sum(b.minorityRate.map((x) => x.fraction)) - 1) < 1e-9);
  assert.ok(Math.abs(sum(b.joint.map((x) => x.fraction)) - 1) < 1e-9);
  // Most sites are strongly biased.
  assert.ok((b.minorityRate[0]?.fraction ?? 0) > 0.5);
  assert.ok((b.conditionalMispredictRate ?? 1) < 0.05);
  assert.ok(b.takenShare > 0.2 && b.takenShare < 0.8);
  // Indirect jumps and calls (PLT stubs, libevent's callbacks, switch tables): ~45 per request in this window, a
  // fifth mispredicted by valgrind's last-target predictor.
  assert.ok(b.indirectPerRequest > 30 && b.indirectPerRequest < 60, String(b.indirectPerRequest));
  assert.ok((b.indirectMispredictRate ?? 0) > 0.1 && (b.indirectMispredictRate ?? 1) < 0.3);
});

test('rep string bytes per request: memset (stos) and memcpy (movs)', () => {
  const s = stringOps(program, windowRequests);
  assert.ok(s.byOp.stos > 1000, JSON.stringify(s));
  assert.ok(s.byOp.movs > 0);
  assert.ok(s.repStartsPerRequest > 1 && s.repStartsPerRequest < 10);
  assert.ok(Math.abs(s.repBytesPerRequest - sum(Object.values(s.byOp))) < 1e-6);
});

test('dependency distances of memcached: normalized, short distances most common', () => {
  const d = dependencyDistances(program);
  for (const h of [d.raw, d.war, d.waw]) {
    assert.equal(h.bins.length, maxDistance);
    assert.ok(Math.abs(sum(h.bins) + h.beyond - 1) < 1e-9);
  }
  assert.ok((d.raw.bins[0] ?? 0) > 0.15);
  assert.ok(d.raw.beyond < 0.25);
});

/** A tiny program from text: `lines` are [address, execs, instruction]. */
function tiny(
  lines: [number, number, string][],
  jumps: { from: number; to: number; taken: number; executed?: number }[],
): Program {
  const text = lines.map(([a, , t]) => `   ${a.toString(16)}:\t${t}`).join('\n');
  const decoded = parseObjdump(text);
  const events = ['Ir'];
  const costs = lines.map(([a, n]) => `0x${a.toString(16)} 0 ${n}`);
  const jumpLines = jumps.map((j) =>
    j.executed === undefined
      ? `jump=${j.taken} 0x${j.to.toString(16)} 0\n0x${j.from.toString(16)} 0`
      : `jcnd=${j.taken}/${j.executed} 0x${j.to.toString(16)} 0\n0x${j.from.toString(16)} 0`,
  );
  const p = parseCallgrind(
    `events: ${events.join(' ')}\npositions: instr line\nob=/x\nfn=f\n${costs.join('\n')}\n${jumpLines.join('\n')}\n`,
  );
  assert.ok(semanticsOf(decoded.get(lines[0]?.[0] ?? 0) ?? decoded.values().next().value!));
  return buildProgram(p, new Map([[1, decoded]]));
}

test('RAW distances follow the latest write across a loop back-edge (not the second-to-last write)', () => {
  // 10: mov rax,1 ; 14: add rax,rbx ; 18: add rax,rbx ; 1c: dec rcx ; 20: jne 14 (taken 9 of 10) ; 22: mov rdx,rax
  const p = tiny(
    [
      [0x10, 1, 'mov    eax,0x1'],
      [0x14, 10, 'add    rax,rbx'],
      [0x18, 10, 'add    rax,rbx'],
      [0x1c, 10, 'dec    rcx'],
      [0x20, 10, 'jne    14'],
      [0x22, 1, 'mov    rdx,rax'],
      [0x25, 1, 'ret'],
    ],
    [{ from: 0x20, to: 0x14, taken: 9, executed: 10 }],
  );
  const d = dependencyDistances(p);
  // Reads of rax: 0x14 ×10 (1st iteration: distance 1 to the mov; later: 3 back to 0x18 around the loop),
  // 0x18 ×10 (distance 1), 0x22 ×1 (distance 3: 0x18 … jne). rcx at 0x1c: 4 (around the loop) 9×, unknown 1×.
  // rbx is never written: beyond.
  const raw = d.raw.bins;
  const total = 10 + 10 + 10 + 10 + 1 + 10 + 1; // rax@14, rbx@14, rax@18, rbx@18, rax@22, rcx@1c, rsp@ret
  assert.ok(Math.abs((raw[0] ?? 0) - (1 + 10) / total) < 1e-9, `d=1 ${raw[0]}`);
  assert.ok(Math.abs((raw[2] ?? 0) - (9 + 1) / total) < 1e-9, `d=3 ${raw[2]}`);
  assert.ok(Math.abs((raw[3] ?? 0) - 9 / total) < 1e-9, `d=4 ${raw[3]}`);
  assert.ok(Math.abs(d.raw.beyond - (20 + 1 + 1) / total) < 1e-9);
  assert.equal(d.edgeCoverage < 1, true);
});
