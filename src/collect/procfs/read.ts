// Reads per-thread accounting and open fds of a service's processes from /proc.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { DittoError } from '../../errors.ts';
import {
  countFdKinds,
  executableMappings,
  type FdKindCounts,
  type FdTargetKind,
  fdTargetKind,
  parseBlockedSyscall,
  parseIo,
  parseSchedstat,
  parseStat,
  parseStatus,
  type TaskSample,
} from './parse.ts';

export interface ProcSnapshot {
  /** Monotonic time of the snapshot (ns). */
  atNs: number;
  /** Threads that existed when the snapshot was taken; threads that exited meanwhile are missing. */
  tasks: TaskSample[];
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH';
}

function numericEntries(dir: string): number[] {
  try {
    return readdirSync(dir)
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => a - b);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** The process runs (a zombie has exited already). */
export function processExists(pid: number): boolean {
  try {
    const { state } = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return state !== 'Z' && state !== 'X';
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

/** The thread ids of a process (empty when it has exited). */
export function tasksOf(pid: number): number[] {
  return numericEntries(`/proc/${pid}/task`);
}

/** The root process and all its descendants (nginx workers, forked backends), root first. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of numericEntries('/proc')) {
    try {
      const { ppid } = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  const out: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

function readTask(pid: number, tid: number): TaskSample | undefined {
  const base = `/proc/${pid}/task/${tid}`;
  try {
    const read = (name: string) => readFileSync(`${base}/${name}`, 'utf8');
    const { utimeTicks, stimeTicks } = parseStat(read('stat'));
    return {
      pid,
      tid,
      comm: read('comm').trim(),
      utimeTicks,
      stimeTicks,
      ...parseSchedstat(read('schedstat')),
      ...parseStatus(read('status')),
      ...parseIo(read('io')),
    };
  } catch (error) {
    if (isMissing(error)) return undefined;
    if ((error as NodeJS.ErrnoException).code === 'EACCES') {
      throw new DittoError('DITTO_NOT_PERMITTED', `cannot read ${base}/io`, {
        hint: 'run ditto as root or as the user that runs the service',
      });
    }
    throw error;
  }
}

/** Per-thread counters of every thread of the given processes. */
export function readProcSnapshot(pids: readonly number[]): ProcSnapshot {
  const atNs = Number(process.hrtime.bigint());
  const tasks = pids.flatMap((pid) =>
    tasksOf(pid)
      .map((tid) => readTask(pid, tid))
      .filter((t): t is TaskSample => t !== undefined),
  );
  return { atNs, tasks };
}

/**
 * The syscall number each thread of the processes is blocked in now. Threads running, gone, or not readable (the
 * file needs ptrace access: another user's service without root) are left out.
 */
export function readBlockedSyscalls(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    for (const tid of tasksOf(pid)) {
      try {
        const nr = parseBlockedSyscall(readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8'));
        if (nr !== undefined) out.set(tid, nr);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (!isMissing(error) && code !== 'EACCES' && code !== 'EPERM') throw error;
      }
    }
  }
  return out;
}

/**
 * Runs `window` while sampling, every `intervalMs`, the syscall each thread is blocked in: per thread, the numbers
 * seen, or null when a read failed (a partial picture would pass a worker seen only in futex for a background
 * thread). Cheap: a few small reads per thread and sample, no tracing.
 */
export async function sampleBlockedSyscallsWhile<T>(
  pids: readonly number[],
  window: () => Promise<T>,
  intervalMs = 50,
): Promise<{ result: T; blockedIn: Map<number, Set<number>> | null }> {
  const blockedIn = new Map<number, Set<number>>();
  let failed = false;
  // Errors are kept here: thrown in the timer they would escape as uncaught exceptions.
  const sample = () => {
    if (failed) return;
    try {
      for (const [tid, nr] of readBlockedSyscalls(pids)) {
        const seen = blockedIn.get(tid) ?? new Set<number>();
        seen.add(nr);
        blockedIn.set(tid, seen);
      }
    } catch {
      failed = true;
    }
  };
  const timer = setInterval(sample, intervalMs);
  try {
    sample();
    const result = await window();
    return { result, blockedIn: failed ? null : blockedIn };
  } finally {
    clearInterval(timer);
  }
}

/** Open fds of a process by kind, from the link targets in /proc/PID/fd. */
export function readFdKinds(pid: number): FdKindCounts {
  const dir = `/proc/${pid}/fd`;
  const kinds: FdTargetKind[] = [];
  for (const fd of numericEntries(dir)) {
    try {
      const target = readlinkSync(`${dir}/${fd}`);
      const regular = target.startsWith('/') && statSync(`${dir}/${fd}`).isFile();
      kinds.push(fdTargetKind(target, regular));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return countFdKinds(kinds);
}

export interface ServiceThreads {
  rootPid: number;
  /** fds: open fds by kind when the process was first seen. */
  processes: { pid: number; ppid: number; fds: FdKindCounts }[];
  /** comm is the original's thread name: only for grouping threads, never for output. */
  threads: { pid: number; tid: number; comm: string }[];
}

function readComm(pid: number, tid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Processes and threads of the service rooted at rootPid, as they are now. */
export function readServiceThreads(rootPid: number): ServiceThreads {
  const processes: ServiceThreads['processes'] = [];
  const threads: ServiceThreads['threads'] = [];
  for (const pid of processTree(rootPid)) {
    let ppid: number;
    try {
      ppid = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ppid;
    } catch (error) {
      if (isMissing(error)) continue;
      throw error;
    }
    processes.push({ pid, ppid, fds: readFdKinds(pid) });
    for (const tid of tasksOf(pid)) {
      const comm = readComm(pid, tid);
      if (comm !== undefined) threads.push({ pid, tid, comm });
    }
  }
  return { rootPid, processes, threads };
}

/** Union of two readings (the second adds what was forked in between; the first keeps what exited). */
export function mergeServiceThreads(first: ServiceThreads, second: ServiceThreads): ServiceThreads {
  const processes = new Map(first.processes.map((p) => [p.pid, p]));
  for (const p of second.processes) if (!processes.has(p.pid)) processes.set(p.pid, p);
  const threads = new Map(first.threads.map((t) => [t.tid, t]));
  for (const t of second.threads) if (!threads.has(t.tid)) threads.set(t.tid, t);
  return { rootPid: first.rootPid, processes: [...processes.values()], threads: [...threads.values()] };
}

/** The executable files (binary and libraries) mapped by any of `pids`. */
export function mappedExecutables(pids: readonly number[]): string[] {
  const files = new Set<string>();
  for (const pid of pids) {
    try {
      for (const file of executableMappings(readFileSync(`/proc/${pid}/maps`, 'utf8'))) files.add(file);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
  return [...files].sort();
}
