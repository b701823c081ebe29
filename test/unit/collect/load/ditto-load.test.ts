import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { loadResultSchema } from '../../../../src/artifacts/load-result.ts';
import { parseDittoLoadOutput } from '../../../../src/collect/load/ditto-load.ts';
import { dittoLoadArgv, loadOptionsFromWorkload } from '../../../../src/collect/load/options.ts';
import { DittoError } from '../../../../src/errors.ts';
import { targetSpecSchema } from '../../../../src/spec/target-spec.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../fixtures/load/${name}`, import.meta.url), 'utf8');

test('open-loop output: rate check, client CPU per request, histogram kept', () => {
  const r = loadResultSchema.parse(parseDittoLoadOutput(fixture('ditto-load-open.json'), '127.0.0.1:1'));
  assert.equal(r.mode, 'open');
  assert.equal(r.requestedRate, 5000);
  assert.equal(r.rateReached, true);
  assert.equal(r.requests, 5014);
  assert.ok(Math.abs((r.clientCpuPerRequestUs ?? 0) - ((0.030689 + 0.141031) * 1e6) / 5014) < 1e-9);
  assert.equal(r.histogram?.length, 659);
  assert.deepEqual(r.warnings, []);
});

test('closed-loop output has no requested rate', () => {
  const r = parseDittoLoadOutput(fixture('ditto-load-closed.json'), 't');
  assert.equal(r.mode, 'closed');
  assert.equal(r.requestedRate, null);
  assert.equal(r.rateReached, null);
});

test('a rate short by more than 1 % and unsent requests are flagged', () => {
  const raw = JSON.parse(fixture('ditto-load-open.json'));
  const r = parseDittoLoadOutput(JSON.stringify({ ...raw, achievedRate: 4900, unsent: 12 }), 't');
  assert.equal(r.rateReached, false);
  assert.ok(r.warnings.some((w) => w.startsWith('achieved 4,900 of 5,000 req/s requested')));
  assert.ok(r.warnings.some((w) => w.startsWith('12 scheduled requests were never sent')));
});

test('no JSON or a wrong shape is a DITTO_LOAD_FAILED error naming the field', () => {
  assert.throws(
    () => parseDittoLoadOutput('oops', 't'),
    (e: unknown) => e instanceof DittoError && e.code === 'DITTO_LOAD_FAILED',
  );
  assert.throws(
    () => parseDittoLoadOutput(JSON.stringify({ tool: 'ditto-load', protocol: 'memcached' }), 't'),
    /stdout: mode/,
  );
});

test('argv follows the workload: key options for key-value protocols, paths for http', () => {
  const workload = targetSpecSchema.shape.workload.parse({
    valueSizes: [
      { size: 64, weight: 3 },
      { size: 4096, weight: 1 },
    ],
  });
  const kv = dittoLoadArgv(
    loadOptionsFromWorkload(workload, { host: '127.0.0.1', port: 7, protocol: 'redis' }),
  );
  assert.equal(kv[kv.indexOf('--value-sizes') + 1], '64:3,4096:1');
  assert.ok(kv.includes('--preload'));
  assert.ok(!kv.includes('--paths'));
  const http = dittoLoadArgv(
    loadOptionsFromWorkload(workload, { host: '127.0.0.1', port: 7, protocol: 'http' }),
  );
  assert.equal(http[http.indexOf('--paths') + 1], '/');
  assert.ok(!http.includes('--preload') && !http.includes('--keys'));
});
