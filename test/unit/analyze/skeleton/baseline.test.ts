import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import {
  backgroundCounters,
  backgroundThreads,
  computeBaseline,
  sampledBackground,
} from '../../../../src/analyze/skeleton/baseline.ts';
import { analyzeSkeleton } from '../../../../src/analyze/skeleton/threads.ts';
import type { ProcSnapshot } from '../../../../src/collect/procfs/read.ts';
import { recordedRun } from '../../collect/bpftrace/fixtures.ts';

function snapshots(name: string): { requests: number; before: ProcSnapshot; after: ProcSnapshot } {
  return JSON.parse(
    readFileSync(new URL(`../../../fixtures/procfs/${name}.snapshots.json`, import.meta.url), 'utf8'),
  );
}

test('memcached get: one read() of the 22 B request per request, the network threads use the most CPU', () => {
  const { requests, before, after } = snapshots('memcached-get');
  const { roleOf } = analyzeSkeleton(recordedRun('memcached-get'));
  const b = computeBaseline(before, after, { requests, roleOf });
  assert.equal(b.threads, 10);
  assert.ok(Math.abs(b.total.syscrPerRequest - 1) < 0.03);
  assert.ok(Math.abs(b.total.rcharPerRequest - 22) < 1);
  const network = b.byRole.find((r) => r.role === 'network');
  assert.equal(network?.threads, 4);
  const busiest = [...b.byRole].sort((x, y) => y.cpuNsPerRequest - x.cpuNsPerRequest)[0];
  assert.equal(busiest?.role, 'network');
  const user = b.total.cpuUserNsPerRequest ?? 0;
  const system = b.total.cpuSystemNsPerRequest ?? 0;
  assert.ok(Math.abs(user + system - b.total.cpuNsPerRequest) < 1);
});

test('redis-aof set: block-device writes appear per request', () => {
  const { requests, before, after } = snapshots('redis-aof-set');
  const b = computeBaseline(before, after, { requests });
  assert.ok(b.total.blockWriteBytesPerRequest > 1000);
  assert.deepEqual(b.byRole, []);
});

test('a thread born inside the window counts from zero; no requests is refused', () => {
  const { before, after } = snapshots('redis-aof-set');
  const first = after.tasks[0];
  assert.ok(first);
  const born = { ...first, tid: 4_000_000, runNs: 5000 };
  const b = computeBaseline(before, { ...after, tasks: [born] }, { requests: 10 });
  assert.equal(b.total.cpuNsPerRequest, 500);
  assert.throws(() => computeBaseline(before, after, { requests: 0 }));
});

test("background threads: seen waiting, never on a socket (memcached's, as /proc/TID/syscall showed them)", () => {
  // epoll_wait 232, futex 202, clock_nanosleep 230, read 0, fdatasync 75.
  const blockedIn = new Map<number, Set<number>>([
    [1, new Set([232])], // main: accepts through epoll
    [2, new Set([232, 202])], // worker, also waits on a lock
    [3, new Set([202])], // idle helper
    [4, new Set([230, 202])], // LRU maintainer
    [5, new Set([0])], // reads its socket without a readiness wait
    [6, new Set([75])], // redis's fsync thread
    [7, new Set<number>()], // never seen waiting
  ]);
  assert.deepEqual([...backgroundThreads(blockedIn)].sort(), [3, 4, 6]);
});

test('background counters: the threads the samples show as background, or null with no samples', () => {
  const { requests, before, after } = snapshots('memcached-get');
  const tids = after.tasks.map((t) => t.tid);
  const idle = sampledBackground(new Map(tids.map((tid) => [tid, new Set([202])]))); // all in futex: background
  assert.equal(idle?.size, tids.length);
  const all = backgroundCounters(before, after, idle, requests);
  const total = computeBaseline(before, after, { requests }).total;
  assert.ok(Math.abs((all?.cpuNsPerRequest ?? -1) - total.cpuNsPerRequest) < 1e-6);
  const serving = sampledBackground(new Map(tids.map((tid) => [tid, new Set([232])]))); // epoll_wait: none
  assert.equal(backgroundCounters(before, after, serving, requests)?.cpuNsPerRequest, 0);
  assert.equal(sampledBackground(null), null);
  assert.equal(sampledBackground(new Map()), null);
  assert.equal(backgroundCounters(before, after, null, requests), null);
});
