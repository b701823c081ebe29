// Golden files of the runtime configuration emitter (UPDATE_GOLDEN=1 rewrites config.c from plan.json), and its
// arithmetic: fixed-point weights and per-request call counts.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import test from 'node:test';
import { clonePlanSchema } from '../../../src/artifacts/clone-plan.ts';
import { emitCloneBuild, runtimeSourceFiles } from '../../../src/emit/runtime/build.ts';
import {
  callsPerRequest,
  cumulativeThresholds,
  emitRuntimeConfig,
  renderRuntimeConfig,
} from '../../../src/emit/runtime/config.ts';
import { packagePath } from '../../../src/package-root.ts';
import { smallPlan } from '../../fixtures/runtime/plan.ts';

const goldenDir = packagePath('test', 'golden', 'runtime-config');
const cases = readdirSync(goldenDir).sort();

test('golden cases exist', () => {
  assert.ok(cases.length >= 3, `only ${cases.length} cases in ${goldenDir}`);
});

for (const name of cases) {
  test(`runtime config golden: ${name}`, () => {
    const dir = `${goldenDir}/${name}`;
    const plan = clonePlanSchema.parse(JSON.parse(readFileSync(`${dir}/plan.json`, 'utf8')));
    const files = emitRuntimeConfig(plan);
    assert.deepEqual(
      files.map((f) => f.path),
      ['src/config.c'],
    );
    const actual = files[0]!.content;
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(`${dir}/config.c`)) {
      writeFileSync(`${dir}/config.c`, actual);
    }
    assert.equal(actual, readFileSync(`${dir}/config.c`, 'utf8'));
  });
}

test('cumulative thresholds end at exactly 2^32 and follow the weights', () => {
  assert.deepEqual(cumulativeThresholds([3, 1]), [3221225472, 4294967296]);
  assert.deepEqual(cumulativeThresholds([1]), [4294967296]);
  const t = cumulativeThresholds([0.1, 0.2, 0.7]);
  assert.equal(t[2], 2 ** 32);
  assert.ok(t[0]! < t[1]! && t[1]! < t[2]!);
});

test('fractional calls per request: whole calls plus the probability of one more', () => {
  assert.deepEqual(callsPerRequest(1), { calls: 1, extra: 0 });
  assert.deepEqual(callsPerRequest(2.25), { calls: 2, extra: 2 ** 30 });
  assert.deepEqual(callsPerRequest(0.9999999999999), { calls: 0, extra: 2 ** 32 - 1 });
});

test('bodies are referenced by the agreed names only when the plan has them', () => {
  const c = renderRuntimeConfig(smallPlan('memcached', { model: 'dispatch' }));
  for (const fn of ['ditto_body_class_get', 'ditto_body_class_set', 'ditto_body_background_0']) {
    assert.match(c, new RegExp(`void ${fn}\\(ditto_body_ctx \\*ctx\\);`));
  }
  const plan = smallPlan('memcached', { model: 'dispatch' });
  const none = renderRuntimeConfig({
    ...plan,
    classes: plan.classes.map((k) => ({ ...k, body: null })),
    background: [{ count: 1, periodMs: null, followsLoad: null, body: null, busyShare: null }],
  });
  assert.doesNotMatch(none, /ditto_body_/);
  assert.match(none, /\{1u, 0ULL, 0\.0, 0\.0, NULL, 0\.0\}/);
});

test('a data file large enough for every op, even when the plan has none', () => {
  const plan = smallPlan('http', { model: 'event-loop' }, { dataFile: null });
  assert.match(renderRuntimeConfig(plan), /\.data_file_bytes = 4096ULL/);
  const bigOp = smallPlan('http', { model: 'event-loop' }, { dataFile: { bytes: 100 } });
  bigOp.classes[0]!.syscalls = [
    { op: 'file_pread', perRequest: 1, bytes: 65536, pattern: 'random', batch: 'request' },
  ];
  assert.match(renderRuntimeConfig(bigOp), /\.data_file_bytes = 65536ULL/);
  const noOps = smallPlan('http', { model: 'event-loop' }, { dataFile: null });
  noOps.classes[1]!.syscalls = [];
  assert.match(renderRuntimeConfig(noOps), /\.data_file_bytes = 0ULL/);
});

test('a class named twice is an error', () => {
  const plan = smallPlan('redis', { model: 'event-loop' });
  assert.throws(
    () => renderRuntimeConfig({ ...plan, classes: [plan.classes[0]!, plan.classes[0]!] }),
    /get appears twice/,
  );
});

test('the clone Makefile compiles runtime/ and src/ into bin/clone with -O2', () => {
  const [makefile, ...rest] = emitCloneBuild();
  assert.equal(rest.length, 0);
  assert.equal(makefile!.path, 'Makefile');
  assert.match(makefile!.content, /-O2/);
  assert.match(makefile!.content, /\$\(wildcard runtime\/\*\.c\) \$\(wildcard src\/\*\.c\)/);
  assert.match(makefile!.content, /bin\/clone:/);
});

test('runtime sources are the package native/runtime files under runtime/', () => {
  const files = runtimeSourceFiles();
  const names = files.map((f) => f.path);
  for (const n of ['runtime/body.h', 'runtime/config.h', 'runtime/main.c']) assert.ok(names.includes(n), n);
  assert.ok(names.every((n) => /^runtime\/[\w-]+\.[ch]$/.test(n)));
});
