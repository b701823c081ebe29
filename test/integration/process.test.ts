import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { DittoError } from '../../src/errors.ts';
import { freePort, waitForPort } from '../../src/sys/ports.ts';
import { run, start } from '../../src/sys/process.ts';

test('run returns output and throws a one-line error with the stderr tail on failure', async () => {
  const ok = await run('sh', ['-c', 'echo hello']);
  assert.equal(ok.stdout, 'hello\n');
  await assert.rejects(run('sh', ['-c', 'echo boom >&2; exit 3']), (error: unknown) => {
    assert.ok(error instanceof DittoError);
    assert.equal(error.code, 'DITTO_TOOL_FAILED');
    assert.match(error.oneLine(), /exited with code 3: boom/);
    return true;
  });
});

test('a missing tool names the package to install', async () => {
  await assert.rejects(run('memcaslap-not-here', []), (error: unknown) => {
    assert.ok(error instanceof DittoError);
    assert.equal(error.code, 'DITTO_TOOL_MISSING');
    return true;
  });
});

test('run times out instead of hanging', async () => {
  await assert.rejects(
    run('sleep', ['10'], { timeoutMs: 200 }),
    (e: unknown) => e instanceof DittoError && e.code === 'DITTO_TIMEOUT',
  );
});

test('stop kills the whole process group after the grace period', async () => {
  // The shell ignores SIGTERM and has a child; both must be gone after stop().
  const child = start('sh', ['-c', 'trap "" TERM; sleep 30 & echo $! ; wait'], { captureStdout: true });
  for (let i = 0; i < 50 && child.stdout() === ''; i++) await new Promise((r) => setTimeout(r, 20));
  const grandchild = Number(child.stdout().trim());
  assert.ok(grandchild > 0);
  const exit = await child.stop({ graceMs: 300 });
  assert.equal(exit.signal, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  let alive = true;
  try {
    const state = readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(') ')[1]?.[0];
    alive = state !== 'Z';
  } catch {
    alive = false;
  }
  assert.equal(alive, false);
});

test('waitForPort fails fast with the stderr tail when the service dies', async () => {
  const port = await freePort();
  const service = start('sh', ['-c', 'echo "cannot bind: address in use" >&2; exit 71'], {
    name: 'fake-service',
  });
  await assert.rejects(
    waitForPort('127.0.0.1', port, { process: service, timeoutMs: 5000 }),
    (e: unknown) => {
      assert.ok(e instanceof DittoError);
      assert.match(e.message, /fake-service exited with code 71; output: cannot bind/);
      return true;
    },
  );
});
