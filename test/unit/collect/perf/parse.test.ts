import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { countCpuModes, parsePerfScript } from '../../../../src/collect/perf/parse.ts';

const script = readFileSync(new URL('../../../fixtures/perf/memcached-script.txt', import.meta.url), 'utf8');

test('perf script samples: one per block, outermost frame first, frames hashed', () => {
  const samples = parsePerfScript(script);
  assert.equal(samples.length, 200);
  assert.deepEqual([...new Set(samples.map((s) => s.tid))].sort(), [6984, 6985, 6986, 6987, 6990]);
  for (const s of samples) {
    assert.equal(s.pid, 6976);
    for (const f of s.frames) assert.match(f, /^[0-9a-f]{16}$/);
  }
  // Worker stacks start at the same thread-start frames (clone3 → start_thread).
  const outermost = new Set(samples.filter((s) => s.frames.length > 3).map((s) => s.frames[0]));
  assert.ok(outermost.size <= 3);
});

test('nothing of the original survives parsing', () => {
  const text = JSON.stringify(parsePerfScript(script));
  for (const leak of ['memcached', 'libc', 'tcp_sendmsg', 'epoll', 'mc-worker', 'x86_64']) {
    assert.ok(!text.includes(leak), leak);
  }
});

test('truncated stacks ending in an all-ones address drop that frame', () => {
  const block =
    'w 1/2\n\tffffffff81000130 entry_SYSCALL_64 ([kernel.kallsyms])\n\t10ac4d send (/lib/libc.so.6)\n\tffffffffffffffff [unknown] ([unknown])\n';
  const [sample] = parsePerfScript(block);
  assert.equal(sample?.frames.length, 2);
  assert.equal(sample?.kernelLeaf, true);
});

test('cpu-clock samples count by the half of the address space their instruction pointer is in', () => {
  const text =
    '    7fb808ac0545\n ffffffff813a2413\n     7fb808ac04fa\n\n ffff800000000000\n     55d0c0ffee00\n';
  assert.deepEqual(countCpuModes(text), { user: 3, kernel: 2 });
});
