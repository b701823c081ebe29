// Splits the CPU time of a set of processes into user and kernel mode by sampling cpu-clock with perf (a software
// event: it needs no hardware counters). The kernel's own split (utime/stime in /proc) is sampled by the scheduler
// tick at HZ: a service at 5k req/s gets a few dozen ticks per window, and memcached's user CPU per request moved by
// half between two identical runs. A few thousand perf samples fix the share to a percent.
import { existsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DittoError } from '../../errors.ts';
import { run, start } from '../../sys/process.ts';
import { type CpuModeSamples, countCpuModes } from './parse.ts';
import { cpuClockRecordArgs, withPerfData } from './record.ts';

const attachTimeoutMs = 10_000;

/**
 * Runs `body` while perf samples the processes `pids` (and their threads) at `frequencyHz`, and returns its result
 * with the samples counted by mode.
 */
export async function sampleCpuModesWhile<T>(
  pids: readonly number[],
  body: () => Promise<T>,
  options: { frequencyHz?: number } = {},
): Promise<{ result: T; modes: CpuModeSamples }> {
  return withPerfData(async (data) => {
    const perf = start('perf', cpuClockRecordArgs(pids, data, options.frequencyHz ?? 1999), { name: 'perf' });
    // perf writes the file's header once it has opened its events: from then on it samples.
    const deadline = performance.now() + attachTimeoutMs;
    while (perf.running && !(existsSync(data) && statSync(data).size > 0)) {
      if (performance.now() > deadline) {
        await perf.stop();
        throw new DittoError(
          'DITTO_TOOL_FAILED',
          `perf record did not start sampling within ${attachTimeoutMs} ms`,
        );
      }
      await sleep(20);
    }
    if (!perf.running) throw perf.failure('DITTO_TOOL_FAILED', 'sampling CPU modes');
    let result: T;
    try {
      result = await body();
    } finally {
      await perf.stop({ signal: 'SIGINT', graceMs: 15_000 });
    }
    const script = await run('perf', ['script', '-i', data, '-F', 'ip'], { timeoutMs: 120_000 });
    return { result, modes: countCpuModes(script.stdout) };
  });
}
