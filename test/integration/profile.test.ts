// `ditto profile` on real memcached: the whole pipeline, the "reveals nothing" guarantee, interruption and a
// service that dies mid-profile.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Profile, profileSchema } from '../../src/artifacts/profile.ts';
import { packagePath } from '../../src/package-root.ts';
import { jsonStrings, printableStrings } from '../../src/profile/privacy.ts';
import { profileVocabulary } from '../../src/profile/vocabulary.ts';
import { ditto, dittoArgv, dittoWithin } from '../e2e/ditto.ts';

const memcachedSpec = packagePath('examples', 'memcached.yaml');

/** The binary a spec runs and the shared libraries it links, found independently of ditto (ldd). */
function objectFiles(binary: string): string[] {
  const ldd = spawnSync('ldd', [binary], { encoding: 'utf8' }).stdout;
  const libs = [...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1] ?? '');
  return [binary, ...libs];
}

test('memcached profile: skeleton, syscalls per class, clusters, CPU body, and nothing of the original', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-profile-'));
  const out = join(dir, 'profile.json');
  const r = dittoWithin(
    600_000,
    'profile',
    '--target',
    memcachedSpec,
    '--out',
    out,
    '--window',
    '1s',
    '--quick-cache',
  );
  assert.equal(r.code, 0, r.stderr);
  const profile: Profile = profileSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  assert.deepEqual(
    profile.provenance.phases.map((p) => [p.name, p.status]),
    [
      ['skeleton', 'done'],
      ['baseline', 'done'],
      ['stacks', 'done'],
      ['cpu', 'done'],
    ],
  );
  t.diagnostic(`skeleton: ${JSON.stringify(profile.skeleton)}`);
  const network = profile.skeleton?.network;
  assert.equal(network?.io, 'epoll');
  assert.equal(network?.dispatch, true);
  assert.equal(network?.networkThreads, 4);
  assert.ok(profile.skeleton?.threads.some((t) => t.role === 'background'));
  assert.deepEqual(
    profile.syscalls.map((s) => s.class),
    ['get', 'set'],
  );
  const get = profile.syscalls[0];
  const set = profile.syscalls[1];
  assert.ok(get && set);
  // A get answers the value (1 KiB in examples/memcached.yaml); a set carries it.
  assert.ok(get.io.networkOutBytes > 1000 && get.io.networkInBytes < 100);
  assert.ok(set.io.networkInBytes > 1000 && set.io.networkOutBytes < 100);
  assert.ok(profile.threadClusters.some((c) => c.threads === 4 && c.roles.includes('network')));
  assert.deepEqual(
    profile.cpu.map((c) => c.class),
    ['get', 'set'],
  );
  for (const { body } of profile.cpu)
    assert.ok(body.instructionsPerRequest > 1000 && body.instructionsPerRequest < 50_000);
  assert.ok(profile.observed && profile.observed.baseline.total.cpuNsPerRequest > 0);
  // The LRU maintainer woke in both untraced windows, the second at about 4x the rate.
  const [profiled, busier] = profile.observed.backgroundWakeups;
  assert.ok(profiled && busier, JSON.stringify(profile.observed.backgroundWakeups));
  assert.ok(busier.requestsPerSecond > 2 * profiled.requestsPerSecond);
  assert.ok(profiled.wakeupsPerSecond > 0 && busier.wakeupsPerSecond > 0);

  // Reveals nothing: no printable string (≥ 6 characters) of memcached or its libraries is in the profile, apart
  // from words ditto defines itself (field names, syscall names such as "sendmsg" that libc contains as well).
  const vocabulary = profileVocabulary();
  const values = [...jsonStrings(profile)].filter((s) => !vocabulary.has(s));
  for (const file of objectFiles('/usr/bin/memcached')) {
    for (const s of printableStrings(readFileSync(file))) {
      if (vocabulary.has(s)) continue;
      const holder = values.find((v) => v.includes(s) || (v.length >= 6 && s.includes(v)));
      assert.equal(holder, undefined, `"${s}" of ${file} appears in the profile as "${holder}"`);
    }
  }
  const text = readFileSync(out, 'utf8');
  for (const leak of ['mc-worker', 'memcached', '/usr/', '/tmp/', 'k00000', 'ditto-filler', '0x']) {
    if (leak === 'memcached') continue; // the protocol's name, declared by the user
    assert.ok(!text.includes(leak), leak);
  }
  // Phase results were kept on disk as each phase ended.
  assert.deepEqual(readdirSync(`${out}.d`).sort(), [
    'baseline.json',
    'cpu.json',
    'skeleton.json',
    'stacks.json',
  ]);
});

/** Processes still alive that carry `mark` in their environment: descendants of a run that outlived it. */
function survivors(mark: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(mark)) {
        found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ')}`);
      }
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

test('SIGINT during the profile stops the tracer and the service and keeps the finished phases', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-profile-'));
  const out = join(dir, 'profile.json');
  const mark = `DITTO_TEST_MARK=${process.pid}-${Date.now()}`;
  const child = spawn(
    process.execPath,
    dittoArgv('profile', '--target', memcachedSpec, '--out', out, '--window', '2s'),
    {
      cwd: packagePath(),
      env: { ...process.env, [mark.split('=')[0] ?? '']: mark.split('=')[1] },
      stdio: 'ignore',
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Wait until the skeleton phase is on disk and the next phases run, then interrupt.
  const deadline = Date.now() + 120_000;
  while (!existsSync(join(`${out}.d`, 'skeleton.json')) && Date.now() < deadline) await sleep(200);
  assert.ok(existsSync(join(`${out}.d`, 'skeleton.json')), 'the skeleton phase never finished');
  await sleep(1500);
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  await sleep(500);
  assert.deepEqual(survivors(mark), []);
  assert.ok(!existsSync(out), 'no profile.json from an interrupted run');
  assert.ok(existsSync(join(`${out}.d`, 'skeleton.json')), 'finished phases are kept');
});

test('a service that dies mid-profile: the failing phase is named, finished phases are kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-profile-'));
  const spec = join(dir, 'dying.yaml');
  // memcached that is killed 4 s after start: during the skeleton phase.
  writeFileSync(
    spec,
    [
      'name: dying',
      'command: [timeout, "4", memcached, -u, root, -l, "{host}", -p, "{port}", -U, "0", -t, "2"]',
      'protocol: memcached',
      'workload: { qps: 1000, connections: 4 }',
    ].join('\n'),
  );
  const out = join(dir, 'profile.json');
  const r = ditto(
    'profile',
    '--target',
    spec,
    '--out',
    out,
    '--window',
    '3s',
    '--phases',
    'baseline,skeleton',
  );
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^ditto: phase (skeleton|baseline) failed: /m);
  assert.ok(!existsSync(out));
});

test('a service that cannot start: its output tail is shown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-profile-'));
  const spec = join(dir, 'broken.yaml');
  writeFileSync(
    spec,
    'name: broken\ncommand: [memcached, --no-such-flag, -p, "{port}"]\nprotocol: memcached\n',
  );
  const r = ditto('profile', '--target', spec, '--out', join(dir, 'p.json'), '--phases', 'baseline');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /broken exited with code \d+; output: .*(unrecognized|invalid) option/);
});
