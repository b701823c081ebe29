import assert from 'node:assert/strict';
import test from 'node:test';
import { buildProgram } from '../../../../src/analyze/cpu/program.ts';
import { parseCostSummary } from '../../../../src/collect/valgrind/cachegrind.ts';
import {
  type CallgrindProfile,
  mergeCallgrindProfiles,
  parseCallgrind,
} from '../../../../src/collect/valgrind/callgrind.ts';
import { parseObjdump } from '../../../../src/collect/valgrind/objdump.ts';
import {
  checkDumpZeroed,
  checkWindowWork,
  effectiveIds,
  hasSettled,
  minInstructionsPerRequest,
  sumCostTotals,
} from '../../../../src/collect/valgrind/window.ts';
import { DittoError } from '../../../../src/errors.ts';

// A worker's window: a loop in the server calling into libc (compressed names, as callgrind writes by default).
const worker = [
  'positions: instr line',
  'events: Ir Dr',
  'ob=(1) /srv/server',
  'fn=(1) loop',
  '0x100 0 10 2',
  'jcnd=3/10 0x100 0',
  '0x104 0',
  '0x104 0 10 0',
  '0x108 0 1 0',
  'cob=(2) /lib/libc.so.6',
  'cfn=(2) memcpy',
  'calls=10 0x900 0',
  '0x108 0 40 10',
  'ob=(2)',
  'fn=(2)',
  '0x900 0 30 10',
  'totals: 51 12',
].join('\n');

// Another worker of the same service: the objects in the other order, one more instruction.
const other = [
  'positions: instr line',
  'events: Ir Dr',
  'ob=/lib/libc.so.6',
  'fn=memcpy',
  '0x900 0 6 2',
  'ob=/srv/server',
  'fn=loop',
  '0x100 0 2 0',
  'jcnd=1/2 0x100 0',
  '0x104 0',
  '0x104 0 2 0',
  '0x10c 0 1 1',
  '0x108 0 1 0',
  'cob=/lib/libc.so.6',
  'cfn=memcpy',
  'calls=2 0x900 0',
  '0x108 0 8 2',
  'totals: 12 3',
].join('\n');

// The master: idle in the window.
const master = ['events: Ir Dr', 'totals: 0 0'].join('\n');

const at = (p: CallgrindProfile, object: string, address: number) =>
  p.instructions.find((i) => p.objects[i.object] === object && i.address === address);

test('merging per-process dumps sums costs, jumps, calls and totals by object and address', () => {
  const merged = mergeCallgrindProfiles([worker, other, master].map((t) => parseCallgrind(t)));
  assert.deepEqual(merged.events, ['Ir', 'Dr']);
  assert.deepEqual(merged.totals, [63, 15]);
  assert.deepEqual(merged.objects, ['???', '/srv/server', '/lib/libc.so.6']);
  assert.equal(merged.instructions.length, 5);
  assert.deepEqual(at(merged, '/srv/server', 0x100)?.costs, [12, 2]);
  assert.deepEqual(at(merged, '/lib/libc.so.6', 0x900)?.costs, [36, 12]);
  assert.deepEqual(at(merged, '/srv/server', 0x10c)?.costs, [1, 1]);
  const ir = merged.instructions.reduce((s, i) => s + (i.costs[0] ?? 0), 0);
  assert.equal(ir, 63);
  assert.deepEqual(merged.jumps, [{ object: 1, from: 0x104, to: 0x100, taken: 4, executed: 12 }]);
  assert.equal(merged.calls.length, 1);
  const [call] = merged.calls;
  assert.equal(call?.count, 12);
  assert.equal(merged.objects[call?.targetObject ?? -1], '/lib/libc.so.6');
  // The callee is the function the libc instructions are listed under, whichever dump named it first.
  assert.equal(call?.callee, at(merged, '/lib/libc.so.6', 0x900)?.fn);
  assert.equal(merged.functions[call?.callee ?? -1], '2\u0000memcpy');
  // The inputs are left as they were.
  assert.deepEqual(at(parseCallgrind(worker), '/srv/server', 0x100)?.costs, [10, 2]);
});

test('a merged profile builds the same program as the analyses expect (edges from summed jumps and calls)', () => {
  const merged = mergeCallgrindProfiles([parseCallgrind(worker), parseCallgrind(other)]);
  const server = parseObjdump(
    [
      '0000000000000100 <loop>:',
      ' 100:\tadd    rax,0x1',
      ' 104:\tjne    100 <loop>',
      ' 108:\tcall   900 <memcpy>',
      ' 10c:\tret',
    ].join('\n'),
  );
  const libc = parseObjdump(['0000000000000900 <memcpy>:', ' 900:\tret'].join('\n'));
  const program = buildProgram(
    merged,
    new Map([
      [1, server],
      [2, libc],
    ]),
  );
  assert.equal(program.mappedIr, 63);
  const edge = (from: number, to: number) =>
    program.edges.find((e) => program.nodes[e.from]?.address === from && program.nodes[e.to]?.address === to)
      ?.count;
  assert.equal(edge(0x104, 0x100), 4);
  assert.equal(edge(0x108, 0x900), 12);
  assert.equal(program.nodes.find((n) => n.address === 0x104)?.taken, 4);
});

test('dumps with different events do not merge; an empty list is an error', () => {
  assert.throws(
    () => mergeCallgrindProfiles([parseCallgrind(worker), parseCallgrind('events: Ir\ntotals: 1\n')]),
    /different events/,
  );
  assert.throws(() => mergeCallgrindProfiles([]), DittoError);
});

test('window totals are summed over processes; a window without work is refused', () => {
  assert.deepEqual(
    sumCostTotals([
      { Ir: 0, D1mr: 0 },
      { Ir: 5000, D1mr: 7 },
      { Ir: 6000, D1mr: 3, Bc: 2 },
    ]),
    { Ir: 11000, D1mr: 10, Bc: 2 },
  );
  checkWindowWork('nginx', { instructions: 2000 * 11000, requests: 2000, processes: 3 });
  checkWindowWork('tiny', { instructions: minInstructionsPerRequest * 10, requests: 10, processes: 1 });
  assert.throws(
    () => checkWindowWork('nginx', { instructions: 0, requests: 2000, processes: 1 }),
    (e: unknown) =>
      e instanceof DittoError &&
      /window of nginx holds 0 instructions for 2000 requests/.test(e.message) &&
      /did not measure/.test(e.hint ?? ''),
  );
  assert.throws(() => checkWindowWork('x', { instructions: 99, requests: 1, processes: 2 }), /2 processes/);
});

test('effective ids come from the Uid:/Gid: lines of /proc/PID/status', () => {
  const status = 'Name:\tnginx\nUid:\t0\t65534\t65534\t65534\nGid:\t0\t65533\t65533\t65533\n';
  assert.deepEqual(effectiveIds(status), { uid: 65534, gid: 65533 });
  assert.throws(() => effectiveIds('Name:\tx\n'), /no Uid/);
});

test('a window dump whose cost lines outgrow its summary is refused (counters not fully zeroed)', () => {
  // Header lines of two real window dumps of a loop calling labs() through the PLT 1001 times per iteration: zeroed
  // with `callgrind_control -z`, the PLT jumps of the 2 s before the window stayed in the cost lines; zeroed with a
  // dump, they did not. Trailing zero counts are left out of summary lines.
  const leaked =
    'events: Ir Bc Bcm Bi Bim\nsummary: 8891792 809224 806 806806\ntotals: 10304206 809224 806 2219217 3\n';
  const clean =
    'events: Ir Bc Bcm Bi Bim\nsummary: 8604960 783120 780 780780\ntotals: 8604960 783120 780 780780\n';
  checkDumpZeroed(parseCostSummary(clean), 'window dump');
  // A thread dumped while blocked in a call: its summary holds a few instructions no cost line has yet.
  const blocked = 'events: Ir Dr Dw\nsummary: 677 151 23\ntotals: 670 147 23\n';
  checkDumpZeroed(parseCostSummary(blocked), 'thread dump');
  assert.throws(
    () => checkDumpZeroed(parseCostSummary(leaked), 'window dump'),
    (e: unknown) =>
      e instanceof DittoError &&
      e.code === 'DITTO_TOOL_FAILED' &&
      /^window dump: its cost lines sum to more than its summary/.test(e.message),
  );
});

test('a window is steady once its instructions per request are within 3% of the window before', () => {
  // memcached's windows after its preload: the first holds its LRU maintainer's transient.
  const windows = [3746, 3126, 3155, 3113];
  const settledAt = windows.findIndex((w, i) => hasSettled(windows[i - 1], w));
  assert.equal(settledAt, 2);
  assert.equal(hasSettled(undefined, 3746), false);
  assert.equal(hasSettled(0, 3746), false);
  assert.equal(hasSettled(1000, 975), true);
  assert.equal(hasSettled(1000, 960), false);
});
