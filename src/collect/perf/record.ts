// Samples call stacks of a set of processes with perf (DWARF unwinding: Debian builds have no frame pointers).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../sys/process.ts';
import { parsePerfScript, type StackSample } from './parse.ts';

export interface StackRecording {
  samples: StackSample[];
  /** Wall time of the recording, for the profile's provenance. */
  seconds: number;
}

/**
 * Records `seconds` of cpu-clock samples with stacks from `pids` (and their threads). The raw perf.data holds the
 * original's code addresses and symbols: it is deleted as soon as it is parsed into hashed frames.
 */
export async function recordCallStacks(
  pids: readonly number[],
  options: { seconds: number; frequencyHz?: number },
): Promise<StackRecording> {
  return withPerfData(async (data) => {
    const started = performance.now();
    await run(
      'perf',
      [
        ...cpuClockRecordArgs(pids, data, options.frequencyHz ?? 499),
        '--call-graph',
        'dwarf,8192',
        '--',
        'sleep',
        String(options.seconds),
      ],
      { timeoutMs: (options.seconds + 60) * 1000 },
    );
    const seconds = (performance.now() - started) / 1000;
    const script = await run('perf', ['script', '-i', data, '-F', 'comm,pid,tid,ip,sym,dso'], {
      timeoutMs: 120_000,
    });
    return { samples: parsePerfScript(script.stdout), seconds };
  });
}

/**
 * `perf record` of cpu-clock samples of `pids` (and their threads) into `data`; more options may follow. Without
 * --no-buildid-cache perf copies every binary its samples hit into ~/.debug, out of reach of withPerfData.
 */
export function cpuClockRecordArgs(pids: readonly number[], data: string, frequencyHz: number): string[] {
  return [
    'record',
    '-q',
    '--no-buildid-cache',
    '-e',
    'cpu-clock',
    '-F',
    String(frequencyHz),
    '-p',
    pids.join(','),
    '-o',
    data,
  ];
}

/**
 * Runs `f` with the path of a perf.data file in a private temporary directory, removed afterwards: the file holds
 * the service's code addresses and symbols.
 */
export async function withPerfData<T>(f: (data: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-perf-'));
  try {
    return await f(join(dir, 'perf.data'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
