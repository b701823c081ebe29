import assert from 'node:assert/strict';
import test from 'node:test';
import { parseBpftraceJson, parseSkeletonTrace } from '../../../../src/collect/bpftrace/parse.ts';
import { DittoError } from '../../../../src/errors.ts';
import { recorded, recordedOutput, recordedRun } from './fixtures.ts';

test('maps, keyed and unkeyed histograms and the probe count are read; other lines are skipped', () => {
  const raw = parseBpftraceJson(
    [
      'Attaching 3 probes...',
      '{"type": "attached_probes", "data": {"probes": 3}}',
      '{"type": "printf", "data": "hello\\n"}',
      '{"type": "map", "data": {"@n": 42}}',
      '{"type": "map", "data": {"@sc": {"10,11,0": 5, "10,11,1": 7}}}',
      '{"type": "hist", "data": {"@h": [{"min": 1, "max": 1, "count": 2}]}}',
      '{"type": "hist", "data": {"@kh": {"7": [{"min": 64, "max": 127, "count": 9}]}}}',
    ].join('\n'),
  );
  assert.equal(raw.attachedProbes, 3);
  assert.equal(raw.maps.get('@n')?.get(''), 42);
  assert.equal(raw.maps.get('@sc')?.get('10,11,1'), 7);
  assert.deepEqual(raw.hists.get('@h')?.get(''), [{ min: 1, max: 1, count: 2 }]);
  assert.equal(raw.hists.get('@kh')?.get('7')?.[0]?.count, 9);
});

test('broken JSON and output without maps are errors that say what happened', () => {
  assert.throws(
    () => parseBpftraceJson('{"type": "map", "data": {"@n": '),
    (e: unknown) => e instanceof DittoError && /not JSON/.test(e.message),
  );
  assert.throws(
    () => parseSkeletonTrace('{"type": "attached_probes", "data": {"probes": 40}}\n'),
    (e: unknown) => e instanceof DittoError && /no maps/.test(e.message),
  );
});

test('every recorded run parses into per-thread observations', () => {
  for (const name of recorded) {
    const trace = parseSkeletonTrace(recordedOutput(name));
    assert.ok(trace.elapsedNs > 1e9, name);
    assert.ok(trace.tracked.length >= 3, name);
    assert.ok(trace.syscalls.length > 0 && trace.io.length > 0, name);
  }
});

test('memcached get: four threads read requests from sockets and answer with sendmsg', () => {
  const { trace, requests } = recordedRun('memcached-get');
  const sendmsg = trace.io.filter((io) => io.name === 'sendmsg' && io.kind === 'socket');
  assert.equal(sendmsg.length, 4);
  const replies = sendmsg.reduce((n, io) => n + io.calls, 0);
  assert.ok(Math.abs(replies - requests) / requests < 0.001, `${replies} replies for ${requests} requests`);
  // Requests are read with a 16 KiB buffer: the asked size differs from the returned one.
  const read = trace.io.find((io) => io.name === 'read' && io.kind === 'socket');
  assert.deepEqual(
    read?.requested?.map((b) => b.min),
    [16384],
  );
  assert.ok(trace.accepts.some((a) => a.ok > 0));
  assert.ok(trace.switches.some((s) => s.state === 1));
});

test('redis-aof set: appends to a regular file sequentially and fdatasyncs it', () => {
  const { trace } = recordedRun('redis-aof-set');
  const file = trace.files.find((f) => f.name === 'write');
  assert.ok(file && file.sequential > 100 * file.random);
  assert.equal(file.extending, file.sequential + file.random);
  assert.ok(file.maxFileSize > 1_000_000);
  assert.ok(trace.syscalls.some((s) => s.name === 'fdatasync' && s.count > 100));
});

test('nginx: sendfile to sockets in two worker processes', () => {
  const { trace } = recordedRun('nginx-get');
  const sendfile = trace.io.filter((io) => io.name === 'sendfile' && io.kind === 'socket');
  assert.equal(new Set(sendfile.map((io) => io.tid)).size, 2);
  assert.ok(sendfile.every((io) => io.bytes / io.calls === 4096));
});
