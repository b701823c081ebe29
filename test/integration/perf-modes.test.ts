import assert from 'node:assert/strict';
import test from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sampleCpuModesWhile } from '../../src/collect/perf/modes.ts';
import { perfSoftwareEvents } from '../../src/sys/capabilities.ts';
import { start } from '../../src/sys/process.ts';

/** The user share perf samples of a process running `script` for about a second. */
async function userShareOf(script: string): Promise<{ share: number; samples: number }> {
  const busy = start('sh', ['-c', script]);
  try {
    const { modes, unusable } = await sampleCpuModesWhile([busy.pid], () => sleep(1000));
    assert.ok(modes, unusable);
    const samples = modes.user + modes.kernel;
    return { share: modes.user / samples, samples };
  } finally {
    await busy.stop();
  }
}

test('perf samples split CPU time by mode: a shell loop runs in user mode, dd of single bytes in the kernel', async (t) => {
  const perf = await perfSoftwareEvents();
  if (!perf.works) {
    t.skip(`perf cannot sample cpu-clock here: ${perf.detail}`);
    return;
  }
  const loop = await userShareOf('while :; do :; done');
  const copy = await userShareOf('exec dd if=/dev/zero of=/dev/null bs=1 status=none');
  // About a second of a busy CPU at 1999 Hz.
  assert.ok(loop.samples > 500 && copy.samples > 500, `${loop.samples} and ${copy.samples} samples`);
  assert.ok(loop.share > 0.9, `shell loop: user share ${loop.share}`);
  assert.ok(copy.share < 0.6, `dd bs=1: user share ${copy.share}`);
});

test('a process perf cannot sample still runs the body; the sampling says why it has no modes', async (t) => {
  if (!(await perfSoftwareEvents()).works) {
    t.skip('perf is not usable here');
    return;
  }
  const sampling = await sampleCpuModesWhile([2 ** 22 + 12345], async () => 'ran');
  assert.equal(sampling.result, 'ran');
  assert.equal(sampling.modes, undefined);
  assert.match(sampling.unusable ?? '', /perf/);
});
