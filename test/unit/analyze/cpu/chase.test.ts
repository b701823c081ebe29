import assert from 'node:assert/strict';
import test from 'node:test';
import { pointerChasing } from '../../../../src/analyze/cpu/chase.ts';
import { semanticsOf } from '../../../../src/analyze/cpu/isa.ts';
import { buildProgram, type Program } from '../../../../src/analyze/cpu/program.ts';
import { parseCallgrind } from '../../../../src/collect/valgrind/callgrind.ts';
import { parseObjdump } from '../../../../src/collect/valgrind/objdump.ts';
import { fixtureDisassembly, fixtureText, windowRequests } from '../../collect/valgrind/fixtures.ts';

const events = ['Ir', 'D1mr', 'DLmr'];

/** A loop of `lines` run `runs` times (each line: its text and its L1 / LL misses over all runs). */
function loop(lines: [string, number, number][], runs: number): Program {
  const text = lines.map(([t], i) => `   ${(0x1000 + 16 * i).toString(16)}:\t${t}\n`).join('');
  const decoded = [...parseObjdump(text).values()];
  const nodes = decoded.map((d, i) => ({
    object: 0,
    address: d.address,
    length: 16,
    execs: runs,
    costs: [runs, lines[i]?.[1] ?? 0, lines[i]?.[2] ?? 0],
    semantics: semanticsOf(d),
    taken: undefined,
  }));
  const edges = nodes.map((_, i) => ({ from: i, to: (i + 1) % nodes.length, count: runs }));
  return { events, nodes, edges, mappedIr: runs * nodes.length, unmappedIr: 0 };
}

test('a list walk chases: each load takes its address from the load before', () => {
  const walk = loop(
    [
      ['mov    rax,QWORD PTR [rax+0x8]', 100, 10],
      ['add    rcx,0x1', 0, 0],
    ],
    1000,
  );
  const c = pointerChasing(walk, 1000);
  assert.ok(Math.abs(c.loadsPerRequest - 1) < 1e-9);
  assert.ok(Math.abs(c.chaseLoadsPerRequest - 1) < 1e-6, JSON.stringify(c));
  assert.ok(Math.abs((c.chaseL1MissesPerRequest ?? 0) - 0.1) < 1e-6);
  assert.ok(Math.abs((c.chaseL2MissesPerRequest ?? 0) - 0.01) < 1e-6);
});

test('an array walk does not: its index comes from arithmetic, a stored value from a load is no address', () => {
  const scan = loop(
    [
      ['mov    rdx,QWORD PTR [rdi+rcx*8]', 100, 0],
      ['mov    QWORD PTR [rsi+rcx*8],rdx', 0, 0],
      ['add    rcx,0x1', 0, 0],
    ],
    1000,
  );
  const c = pointerChasing(scan, 1000);
  assert.ok(Math.abs(c.loadsPerRequest - 1) < 1e-9);
  assert.equal(c.chaseLoadsPerRequest, 0);
  assert.equal(c.chaseL1MissesPerRequest, 0);
  assert.equal(c.l1MissesPerRequest, 0.1);
});

test('the latest write decides: a register reloaded then recomputed no longer chases', () => {
  const recomputed = loop(
    [
      ['mov    rbx,QWORD PTR [rdi]', 0, 0],
      ['lea    rbx,[rdi+0x40]', 0, 0],
      ['mov    rax,QWORD PTR [rbx]', 0, 0],
    ],
    10,
  );
  assert.equal(pointerChasing(recomputed, 10).chaseLoadsPerRequest, 0);
});

test('memcached: a tenth of its loads chase, and a third of its L1 misses are theirs', () => {
  const profile = parseCallgrind(fixtureText('memcached-window.clg.gz'));
  const c = pointerChasing(buildProgram(profile, fixtureDisassembly(profile)), windowRequests);
  assert.ok(c.loadsPerRequest > 600 && c.loadsPerRequest < 1000, JSON.stringify(c));
  assert.ok(c.chaseLoadsPerRequest > 60 && c.chaseLoadsPerRequest < 150, JSON.stringify(c));
  const l1 = c.l1MissesPerRequest ?? 0;
  const chaseL1 = c.chaseL1MissesPerRequest ?? 0;
  assert.ok(chaseL1 > 0.2 * l1 && chaseL1 < 0.5 * l1, JSON.stringify(c));
  assert.ok((c.chaseL2MissesPerRequest ?? 0) <= (c.l2MissesPerRequest ?? 0));
});
