// Runs the skeleton bpftrace program around a piece of work (usually a load run) on every thread of a service.
import { DittoError } from '../../errors.ts';
import { ensureTracefs } from '../../sys/capabilities.ts';
import { type RunningProcess, start } from '../../sys/process.ts';
import { installHint } from '../../sys/tools.ts';
import {
  mergeServiceThreads,
  processExists,
  readServiceThreads,
  type ServiceThreads,
} from '../procfs/read.ts';
import { parseSkeletonTrace, type SkeletonTrace } from './parse.ts';
import { readyMarker, skeletonScript } from './script.ts';

export interface TraceOptions {
  /** Named in errors: "the service exited during the skeleton phase". */
  phase?: string;
  /** bpftrace stops itself after this long even if never signalled. */
  maxSeconds?: number;
  attachTimeoutMs?: number;
}

export interface TracedWork<T> {
  trace: SkeletonTrace;
  /** The service's processes and threads, read before and after the window. */
  service: ServiceThreads;
  result: T;
  /** bpftrace's JSON output as printed, for recording. */
  stdout: string;
  /** Wall time from attach to stop as seen from here (the trace's own elapsedNs is exact). */
  windowMs: number;
  attachMs: number;
}

/** bpftrace's harmless RLIMIT_MEMLOCK complaint (no CAP_SYS_RESOURCE) is not an error. */
function meaningfulStderr(text: string): string {
  return text
    .split('\n')
    .filter((line) => line.trim() && !line.includes('RLIMIT_MEMLOCK'))
    .slice(-6)
    .join('\n');
}

function attachFailure(stderr: string, description: string): DittoError {
  if (description.startsWith('could not start')) {
    return new DittoError('DITTO_TOOL_MISSING', 'bpftrace not found', { hint: installHint('bpftrace') });
  }
  const why = meaningfulStderr(stderr) || description;
  if (/permission|not permitted|attaching probe|kernel headers|BTF/i.test(why)) {
    return new DittoError('DITTO_NOT_PERMITTED', `bpftrace cannot attach its tracepoints: ${why}`, {
      hint: 'run as root on a kernel with BTF and tracefs (see ditto doctor)',
    });
  }
  return new DittoError('DITTO_TOOL_FAILED', `bpftrace ${description}: ${why}`);
}

export interface AttachedBpftrace {
  tracer: RunningProcess;
  attachMs: number;
}

/**
 * Starts `bpftrace -f json` on a script that prints `readyMarker` from an interval probe, and resolves once it has:
 * only then does bpftrace handle SIGINT (0.17 loses one that arrives within ~1 s of attaching).
 */
export async function startBpftrace(
  script: string,
  options: { attachTimeoutMs: number; mapKeysMax: number },
): Promise<AttachedBpftrace> {
  const attachStarted = performance.now();
  const tracer = start('bpftrace', ['-f', 'json', '--no-warnings', '-e', script], {
    name: 'bpftrace',
    captureStdout: true,
    env: { BPFTRACE_MAP_KEYS_MAX: String(options.mapKeysMax) },
  });
  while (!tracer.stdout().includes(readyMarker)) {
    if (!tracer.running) {
      const exit = await tracer.exited;
      throw attachFailure(tracer.outputTail(20), exit.description);
    }
    if (performance.now() - attachStarted > options.attachTimeoutMs) {
      await tracer.stop({ signal: 'SIGKILL', graceMs: 1000 });
      throw new DittoError('DITTO_TIMEOUT', `bpftrace did not attach within ${options.attachTimeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { tracer, attachMs: performance.now() - attachStarted };
}

/** Detaching 40-odd probes and printing the maps takes seconds, and much longer on an overloaded machine. */
const printGraceMs = 60_000;

/**
 * Traces every thread of the service rooted at rootPid (and whatever it forks or clones) while `work` runs,
 * then stops bpftrace with SIGINT so that it prints its maps.
 */
export async function traceWhile<T>(
  rootPid: number,
  work: () => Promise<T>,
  options: TraceOptions = {},
): Promise<TracedWork<T>> {
  const phase = options.phase ?? 'skeleton';
  const tracefs = await ensureTracefs();
  if (!tracefs.available) {
    throw new DittoError('DITTO_NOT_PERMITTED', `tracefs is not available: ${tracefs.detail}`, {
      ...(tracefs.hint ? { hint: tracefs.hint } : {}),
    });
  }
  const before = readServiceThreads(rootPid);
  if (before.threads.length === 0) {
    throw new DittoError('DITTO_TARGET_FAILED', `the service (pid ${rootPid}) is not running`);
  }
  const script = skeletonScript({
    tids: before.threads.map((t) => t.tid),
    maxSeconds: options.maxSeconds ?? 600,
  });
  const { tracer, attachMs } = await startBpftrace(script, {
    attachTimeoutMs: options.attachTimeoutMs ?? 60_000,
    // Big maps cost memory only when filled; the default cap (4096 keys) is small for many threads.
    mapKeysMax: 65_536,
  });
  const windowStarted = performance.now();
  const died = (cause?: unknown) =>
    new DittoError('DITTO_TARGET_FAILED', `the service (pid ${rootPid}) exited during the ${phase} phase`, {
      ...(cause === undefined ? {} : { cause }),
    });
  let result: T;
  try {
    result = await work();
  } catch (error) {
    // A load that fails because the service died should say so, not only that the load failed.
    throw processExists(rootPid) ? error : died(error);
  } finally {
    await tracer.stop({ signal: 'SIGINT', graceMs: printGraceMs });
  }
  const windowMs = performance.now() - windowStarted;
  if (!processExists(rootPid)) throw died();
  const exit = await tracer.exited;
  if (exit.signal === 'SIGKILL') {
    throw new DittoError(
      'DITTO_TOOL_FAILED',
      `bpftrace did not print its maps within ${printGraceMs / 1000} s of SIGINT`,
      { hint: 'the machine may be overloaded; retry when it is quieter' },
    );
  }
  const stdout = tracer.stdout();
  const trace = parseSkeletonTrace(stdout);
  const service = mergeServiceThreads(before, readServiceThreads(rootPid));
  return { trace, service, result, stdout, windowMs, attachMs };
}
