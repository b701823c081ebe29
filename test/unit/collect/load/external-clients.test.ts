import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { loadResultSchema } from '../../../../src/artifacts/load-result.ts';
import { parseMemcaslapOutput } from '../../../../src/collect/load/memcaslap.ts';
import { parseRedisBenchmarkCsv } from '../../../../src/collect/load/redis-benchmark.ts';
import { parseWrkOutput } from '../../../../src/collect/load/wrk.ts';
import { DittoError } from '../../../../src/errors.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../fixtures/load/${name}`, import.meta.url), 'utf8');

test('wrk --latency output: rate, percentiles in µs, bytes with binary units', () => {
  const r = parseWrkOutput(fixture('wrk-latency.txt'), '127.0.0.1:39080');
  loadResultSchema.parse(r);
  assert.equal(r.requests, 116346);
  assert.equal(r.achievedRate, 55386.21);
  assert.equal(r.durationS, 2.1);
  assert.equal(r.connections, 32);
  assert.equal(r.latencyUs.p50, 444);
  assert.equal(r.latencyUs.p90, 1280);
  assert.equal(r.latencyUs.p99, 2560);
  assert.equal(r.latencyUs.max, 5330);
  assert.equal(r.bytesReceived, Math.round(481.22 * 1024 * 1024));
  assert.equal(r.errors, 0);
});

test('wrk counts non-2xx responses as errors', () => {
  const text = fixture('wrk-non2xx.txt');
  assert.throws(
    () => parseWrkOutput(text, 't'),
    (e: unknown) => e instanceof DittoError && e.oneLine().includes('--latency'),
  );
  const withLatency = text.replace(
    '  71564 requests',
    '  Latency Distribution\n     50%   50.00us\n     75%   60.00us\n     90%   70.00us\n     99%  400.00us\n  71564 requests',
  );
  const r = parseWrkOutput(withLatency, 't');
  assert.equal(r.errors, 71564);
  assert.ok(r.warnings.some((w) => w.includes('71,564 error replies')));
});

test('redis-benchmark CSV: tests combined with request-weighted means', () => {
  const r = parseRedisBenchmarkCsv(fixture('redis-benchmark.csv'), 't', {
    requestsPerTest: 50000,
    connections: 32,
  });
  loadResultSchema.parse(r);
  assert.equal(r.requests, 100000);
  const seconds = 50000 / 85470.09 + 50000 / 75187.97;
  assert.ok(Math.abs(r.achievedRate - 100000 / seconds) < 1e-6);
  assert.ok(Math.abs((r.latencyUs.p50 ?? 0) - (191 + 231) / 2) < 1e-9);
  assert.ok(Math.abs((r.latencyUs.p99 ?? 0) - (495 + 407) / 2) < 1e-9);
  assert.equal(r.latencyUs.max, 1591);
});

test('redis-benchmark without --csv names the fix', () => {
  assert.throws(
    () => parseRedisBenchmarkCsv(fixture('redis-benchmark.txt'), 't', { requestsPerTest: 1, connections: 1 }),
    (e: unknown) => e instanceof DittoError && e.oneLine().includes('add --csv'),
  );
});

test('memcaslap -S output: totals and log2-bucket percentiles', () => {
  const r = parseMemcaslapOutput(fixture('memcaslap-stats.txt'), 't');
  loadResultSchema.parse(r);
  assert.equal(r.requests, 240173);
  assert.equal(r.achievedRate, 120075);
  assert.equal(r.connections, 32);
  assert.equal(r.latencyUs.min, 11);
  assert.equal(r.latencyUs.max, 12416);
  // Buckets up to 16, 32, 64, 128 µs: 8626 62997 38418 11051 (cumulative 121092 of 240141): the median is <= 128 µs.
  assert.equal(r.latencyUs.p50, 128);
  assert.equal(r.bytesSent, 41678850);
  const total = (r.histogram ?? []).reduce((s, [, c]) => s + c, 0);
  assert.equal(total, 240141);
});

test('memcaslap without -S names the fix', () => {
  assert.throws(
    () => parseMemcaslapOutput(fixture('memcaslap-plain.txt'), 't'),
    (e: unknown) => e instanceof DittoError && e.oneLine().includes('add -S'),
  );
});
