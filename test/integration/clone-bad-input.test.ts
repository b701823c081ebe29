// Bad input to generate / build / compare: one-line errors that name the field, the compiler's first error,
// the signal of a clone that dies under load.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { profileSchema } from '../../src/artifacts/profile.ts';
import { buildClone } from '../../src/build/build.ts';
import { generateClone } from '../../src/build/generate.ts';
import { cloneTargetSpec } from '../../src/deploy/local.ts';
import { DittoError } from '../../src/errors.ts';
import { measureService } from '../../src/measure/measure.ts';
import { packagePath } from '../../src/package-root.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';
import { ditto } from '../e2e/ditto.ts';

const fixture = packagePath('test', 'fixtures', 'profile', 'memcached.json');
const profileJson = () => JSON.parse(readFileSync(fixture, 'utf8'));

test('a profile of another schema version, or with a missing field, is named in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-bad-'));
  const future = join(dir, 'future.json');
  writeFileSync(future, JSON.stringify({ ...profileJson(), schemaVersion: 2 }));
  let r = ditto('generate', '--profile', future, '--out', join(dir, 'c1'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /future\.json: schemaVersion 2 is not supported/);

  const missing = join(dir, 'missing.json');
  const p = profileJson();
  delete p.workload.qps;
  writeFileSync(missing, JSON.stringify(p));
  r = ditto('generate', '--profile', missing, '--out', join(dir, 'c2'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /missing\.json: workload\.qps: /);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});

test("a build failure shows the compiler's first error and the file it came from", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-bad-'));
  generateClone(profileSchema.parse(profileJson()), dir);
  appendFileSync(join(dir, 'src', 'body.c'), '\nint broken(void) { return }\n');
  await assert.rejects(buildClone(dir), (e: unknown) => {
    assert.ok(e instanceof DittoError);
    assert.match(e.message, /build of .* failed: src\/body\.c:\d+:\d+: error: /);
    return true;
  });
});

/** Pids of running processes whose command line contains `text`. */
function pidsRunning(text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('a clone that crashes under load is reported with its signal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-crash-'));
  generateClone(profileSchema.parse(profileJson()), dir);
  await buildClone(dir);
  const spec = cloneTargetSpec(dir, loadTargetSpec(packagePath('examples', 'memcached.yaml')));
  const measuring = measureService(spec, 'clone', {
    loads: [1000],
    durationS: 3,
    repeats: 1,
    platforms: ['A'],
    traced: false,
    simulated: false,
    onProgress: () => {},
  });
  // Preload takes 1 s, then the closed-loop saturation run starts: crash the clone during it.
  await sleep(2000);
  for (const pid of pidsRunning(join(dir, 'bin', 'clone'))) process.kill(pid, 'SIGSEGV');
  await assert.rejects(measuring, (e: unknown) => {
    assert.ok(e instanceof DittoError);
    assert.match(e.oneLine(), /clone died under .*load.*killed by SIGSEGV \(segmentation fault\)/);
    return true;
  });
});
