import assert from 'node:assert/strict';
import test from 'node:test';
import { syscallProfile } from '../../../../src/analyze/skeleton/syscalls.ts';
import { analyzeSkeleton } from '../../../../src/analyze/skeleton/threads.ts';
import { type Recorded, recordedRun } from '../../collect/bpftrace/fixtures.ts';

function profile(name: Recorded, requestClass: string) {
  const run = recordedRun(name);
  const { roleOf } = analyzeSkeleton(run);
  return syscallProfile({ requestClass, trace: run.trace, requests: run.requests, roleOf });
}

const near = (actual: number | null | undefined, expected: number, tolerance: number, what: string) =>
  assert.ok(
    actual !== null && actual !== undefined && Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual}`,
  );

test('memcached get: one socket read of the ~22 B request and one sendmsg of the ~1 KiB value per request', () => {
  const p = profile('memcached-get', 'get');
  const read = p.syscalls.find((s) => s.name === 'read' && s.target === 'socket');
  const sendmsg = p.syscalls.find((s) => s.name === 'sendmsg');
  near(read?.callsPerRequest, 1, 0.03, 'reads');
  near(sendmsg?.callsPerRequest, 1, 0.03, 'sendmsg');
  assert.equal(read?.role, 'network');
  assert.deepEqual(
    read?.requestedSizes?.map((b) => b.min),
    [16384],
  );
  assert.deepEqual(
    sendmsg?.sizes?.map((b) => b.min),
    [1024],
  );
  near(p.io.networkInBytes, 22, 1, 'in');
  near(p.io.networkOutBytes, 1062, 2, 'out');
  assert.equal(p.io.diskWriteBytes, 0);
  const epoll = p.syscalls.find((s) => s.name === 'epoll_wait' && s.role === 'network');
  assert.ok(epoll?.readyEvents && epoll.readyEvents.length > 0);
});

test('memcached set: the value comes in, an 8 B STORED goes out', () => {
  const p = profile('memcached-set', 'set');
  near(p.io.networkInBytes, 1057, 2, 'in');
  near(p.io.networkOutBytes, 8, 0.01, 'out');
});

test('redis-aof set: file writes and fdatasync per set, appended sequentially', () => {
  const p = profile('redis-aof-set', 'set');
  // A 512-byte value's SET command in the AOF's own encoding.
  near(p.io.diskWriteBytes, 556, 5, 'disk write');
  assert.ok(p.io.fsyncs > 0.1, `fsyncs ${p.io.fsyncs}`);
  const write = p.syscalls.find((s) => s.name === 'write' && s.target === 'file');
  assert.equal(write?.offsets?.pattern, 'sequential');
  // Every write grows the log (redis opens it append-only).
  assert.equal(write?.offsets?.extendingFraction, 1);
  assert.ok((write?.offsets?.maxFileSize ?? 0) > 1_000_000);
  const sync = p.syscalls.find((s) => s.name === 'fdatasync');
  assert.equal(sync?.target, 'file');
  // /proc reads are not disk reads.
  assert.equal(p.io.diskReadBytes, 0);
});

test('redis without persistence writes nothing to disk', () => {
  const p = profile('redis-set', 'set');
  assert.equal(p.io.diskWriteBytes, 0);
  assert.equal(p.io.fsyncs, 0);
});

test('nginx: recvfrom, openat, fstat, writev of headers, sendfile of the 4 KiB file and close per request', () => {
  const p = profile('nginx-get', 'GET /4k.bin');
  for (const name of ['recvfrom', 'openat', 'newfstatat', 'writev', 'sendfile', 'close']) {
    near(p.syscalls.find((s) => s.name === name)?.callsPerRequest, 1, 0.02, name);
  }
  near(p.io.diskReadBytes, 4096, 1, 'file bytes');
  near(p.io.networkOutBytes, 4096 + 255, 5, 'out');
});
