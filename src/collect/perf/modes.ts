// Splits the CPU time of a set of processes into user and kernel mode by sampling cpu-clock with perf (a software
// event: it needs no hardware counters). The kernel's own split (utime/stime in /proc) is sampled by the scheduler
// tick at HZ: a service at 5k req/s gets a few dozen ticks per window, and memcached's user CPU per request moved by
// half between two identical runs. A few thousand perf samples fix the share to a percent.
import { existsSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DittoError } from '../../errors.ts';
import { type RunningProcess, run, start } from '../../sys/process.ts';
import { type CpuModeSamples, countCpuModes } from './parse.ts';
import { cpuClockRecordArgs, withPerfData } from './record.ts';

const attachTimeoutMs = 10_000;

export interface CpuModeSampling<T> {
  result: T;
  /** The samples by mode, or undefined when perf gave none worth using ... */
  modes: CpuModeSamples | undefined;
  /** ... and why (one line), for the caller to fall back to another split. */
  unusable?: string;
}

/** Waits until perf has opened its events (it then writes the file's header); the reason when it does not. */
async function attached(perf: RunningProcess, data: string): Promise<string | undefined> {
  const deadline = performance.now() + attachTimeoutMs;
  while (perf.running && !(existsSync(data) && statSync(data).size > 0)) {
    if (performance.now() > deadline) {
      await perf.stop();
      return `perf record did not start sampling within ${attachTimeoutMs} ms`;
    }
    await sleep(20);
  }
  return perf.running ? undefined : perf.failure('DITTO_TOOL_FAILED', 'sampling CPU modes').oneLine();
}

/**
 * Runs `body` while perf samples the processes `pids` (and their threads) at `frequencyHz`, and returns its result
 * with the samples counted by mode. `body` runs whatever perf does: when perf cannot attach or dies, `modes` is
 * undefined.
 */
export async function sampleCpuModesWhile<T>(
  pids: readonly number[],
  body: () => Promise<T>,
  options: { frequencyHz?: number } = {},
): Promise<CpuModeSampling<T>> {
  return withPerfData(async (data) => {
    const perf = start('perf', cpuClockRecordArgs(pids, data, options.frequencyHz ?? 1999), { name: 'perf' });
    const notAttached = await attached(perf, data);
    if (notAttached) return { result: await body(), modes: undefined, unusable: notAttached };
    let result: T;
    try {
      result = await body();
    } finally {
      await perf.stop({ signal: 'SIGINT', graceMs: 15_000 });
    }
    // perf record ends on SIGINT by writing its data and exiting with 130; killed after the grace, it wrote none.
    if (perf.exit?.signal === 'SIGKILL')
      return { result, modes: undefined, unusable: 'perf record did not stop on SIGINT' };
    try {
      const script = await run('perf', ['script', '-i', data, '-F', 'ip'], { timeoutMs: 120_000 });
      return { result, modes: countCpuModes(script.stdout) };
    } catch (error) {
      if (!(error instanceof DittoError)) throw error;
      return { result, modes: undefined, unusable: error.oneLine() };
    }
  });
}
