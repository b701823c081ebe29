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
  const dir = mkdtempSync(join(tmpdir(), 'ditto-perf-'));
  const data = join(dir, 'perf.data');
  try {
    const started = performance.now();
    await run(
      'perf',
      [
        'record',
        '-q',
        '-e',
        'cpu-clock',
        '-F',
        String(options.frequencyHz ?? 499),
        '--call-graph',
        'dwarf,8192',
        '-p',
        pids.join(','),
        '-o',
        data,
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
