// ditto generate → build → run on the committed memcached profile: the clone serves the user's own client, and
// nothing of the original is in its sources or binary.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { profileSchema } from '../../src/artifacts/profile.ts';
import { buildClone } from '../../src/build/build.ts';
import { generateClone } from '../../src/build/generate.ts';
import { runExternalClient } from '../../src/collect/load/run.ts';
import { startClone } from '../../src/deploy/local.ts';
import { packagePath } from '../../src/package-root.ts';
import { printableStrings } from '../../src/profile/privacy.ts';
import { profileVocabulary } from '../../src/profile/vocabulary.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';

const profile = (name: string) =>
  profileSchema.parse(
    JSON.parse(readFileSync(packagePath('test', 'fixtures', 'profile', `${name}.json`), 'utf8')),
  );

async function builtClone(name: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `ditto-clone-${name}-`));
  generateClone(profile(name), dir);
  await buildClone(dir);
  return dir;
}

/** Printable strings of the clone's generated sources and binary. */
function cloneStrings(dir: string): Set<string> {
  const out = new Set<string>();
  const files = [join(dir, 'bin', 'clone'), ...readdirSync(join(dir, 'src')).map((f) => join(dir, 'src', f))];
  for (const file of files) for (const s of printableStrings(readFileSync(file))) out.add(s);
  return out;
}

/** Generates, builds and starts the clone of a profiled example and drives it with the example's own client. */
async function servesOwnClient(name: string): Promise<string> {
  const dir = await builtClone(name);
  const spec = loadTargetSpec(packagePath('examples', `${name}.yaml`));
  const clone = await startClone(dir);
  try {
    // Short runs: redis-benchmark sends qps × durationS requests per test.
    const workload = { ...spec.workload, durationS: 2, qps: Math.min(spec.workload.qps, 5000) };
    const result = await runExternalClient({ ...spec, workload }, clone.host, clone.port);
    assert.equal(result.errors, 0, `${spec.client?.tool} errors against the ${name} clone`);
    assert.ok(result.achievedRate > 500, `${spec.client?.tool} reached ${result.achievedRate} req/s`);
    assert.ok(clone.process.running);
  } finally {
    await clone.stop();
  }
  return dir;
}

for (const name of ['redis', 'redis-aof', 'nginx']) {
  test(`${name} clone: built and served to its users' client with zero errors`, async () => {
    await servesOwnClient(name);
  });
}

test('memcached clone: built, served to memcaslap with zero errors, reveals nothing of memcached', async () => {
  const dir = await servesOwnClient('memcached');

  // Words (6+ letters) of the memcached clone that memcached or its libraries contain too, beyond the words any
  // clone has (a clone of redis, built by the same generator, runtime, compiler and libc) and ditto's own
  // vocabulary (field, syscall and protocol names), would have come from the original.
  const words = (strings: Iterable<string>) => {
    const out = new Set<string>();
    for (const s of strings) for (const w of s.split(/[^A-Za-z0-9_]+/)) if (w.length >= 6) out.add(w);
    return out;
  };
  const allowed = new Set([...words(cloneStrings(await builtClone('redis'))), ...words(profileVocabulary())]);
  const ldd = spawnSync('ldd', ['/usr/bin/memcached'], { encoding: 'utf8' }).stdout;
  const targetFiles = ['/usr/bin/memcached', ...[...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1] ?? '')];
  const targetWords = new Set<string>();
  for (const file of targetFiles)
    for (const w of words(printableStrings(readFileSync(file)))) targetWords.add(w);
  const own = [...words(cloneStrings(dir))].filter((w) => !allowed.has(w));
  assert.deepEqual(
    own.filter((w) => targetWords.has(w)),
    [],
  );
});
