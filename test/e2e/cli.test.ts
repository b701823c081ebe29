// The ditto command line as a user runs it: exit codes, one-line errors, stdout for results only.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { loadResultSchema } from '../../src/artifacts/load-result.ts';
import { ditto } from './ditto.ts';

test('--help lists the commands', () => {
  const r = ditto('--help');
  assert.equal(r.code, 0);
  for (const command of ['doctor', 'load', 'demo']) assert.match(r.stdout, new RegExp(`\\b${command}\\b`));
});

test('an invalid spec: exit 1 and one line naming the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-cli-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'name: bad\ncommand: [memcached]\nprotocol: memcached\nworkload: { qps: fast }\n');
  const r = ditto('load', '--spec', file);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^ditto: ${file}: workload\\.qps: `));
  assert.equal(r.stdout, '');
});

test('bad arguments: exit 1 with a message', () => {
  const r = ditto('load', '--target', 'nowhere', '--protocol', 'redis');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--target: "nowhere" is not host:port/);
  assert.equal(ditto('load', '--protocol', 'gopher').code, 1);
});

test('doctor --json describes every capability', () => {
  const r = ditto('doctor', '--json', '--no-mount');
  assert.equal(r.code, 0, r.stderr);
  const found = JSON.parse(r.stdout) as { capabilities: { id: string; available: boolean }[] };
  const ids = found.capabilities.map((c) => c.id);
  for (const id of ['tracefs', 'bpftrace', 'perf', 'perf-hw', 'valgrind', 'strace', 'gcc', 'objdump'])
    assert.ok(ids.includes(id), id);
});

test('load --spec --json: starts the target, prints only the result on stdout, stops the target', () => {
  const r = ditto(
    'load',
    '--spec',
    'examples/memcached.yaml',
    '--qps',
    '1000',
    '--duration',
    '1s',
    '--warmup',
    '0',
    '--json',
  );
  assert.equal(r.code, 0, r.stderr);
  const result = loadResultSchema.parse(JSON.parse(r.stdout));
  assert.equal(result.requestedRate, 1000);
  assert.match(r.stderr, /started memcached on 127\.0\.0\.1:\d+/);
});
