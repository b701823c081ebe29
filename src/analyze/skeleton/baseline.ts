// Per-request CPU time, context switches and read()/write() accounting from two /proc snapshots taken around an
// untraced load window (pure).
import { z } from 'zod';
import { acceptCalls, readinessCalls, receiveCalls, sendCalls } from '../../collect/bpftrace/script.ts';
import { syscallName } from '../../collect/bpftrace/syscalls-x86_64.ts';
import type { TaskCounters } from '../../collect/procfs/parse.ts';
import type { ProcSnapshot } from '../../collect/procfs/read.ts';
import { type ThreadRole, threadRoleSchema } from './threads.ts';

const rate = z.number().nonnegative();

export const baselineCountersSchema = z.strictObject({
  /** On-CPU ns per request (schedstat), split into user and system by the tick counts of /proc stat. */
  cpuNsPerRequest: rate,
  cpuUserNsPerRequest: rate.nullable(),
  cpuSystemNsPerRequest: rate.nullable(),
  runQueueWaitNsPerRequest: rate,
  voluntarySwitchesPerRequest: rate,
  involuntarySwitchesPerRequest: rate,
  /** Through read()/write()-style calls only: sendmsg, sendto and recvfrom are not counted by the kernel here. */
  rcharPerRequest: rate,
  wcharPerRequest: rate,
  syscrPerRequest: rate,
  syscwPerRequest: rate,
  /** Block-device bytes. */
  blockReadBytesPerRequest: rate,
  blockWriteBytesPerRequest: rate,
});
export type BaselineCounters = z.infer<typeof baselineCountersSchema>;

export const baselineSchema = z.strictObject({
  requests: z.number().int().positive(),
  windowS: z.number().positive(),
  /** Threads seen in either snapshot. */
  threads: z.number().int().nonnegative(),
  total: baselineCountersSchema,
  /** The same per thread role, where the skeleton phase assigned roles. */
  byRole: z.array(
    baselineCountersSchema.extend({ role: threadRoleSchema, threads: z.number().int().positive() }),
  ),
});
export type Baseline = z.infer<typeof baselineSchema>;

type Delta = TaskCounters;

const counterKeys = [
  'utimeTicks',
  'stimeTicks',
  'runNs',
  'waitNs',
  'slices',
  'voluntarySwitches',
  'involuntarySwitches',
  'rchar',
  'wchar',
  'syscr',
  'syscw',
  'readBytes',
  'writeBytes',
] as const satisfies readonly (keyof TaskCounters)[];

function zero(): Delta {
  return Object.fromEntries(counterKeys.map((k) => [k, 0])) as unknown as Delta;
}

function add(into: Delta, d: Delta): void {
  for (const k of counterKeys) into[k] += d[k];
}

function perRequest(d: Delta, requests: number, sampledUserShare?: number): BaselineCounters {
  const ticks = d.utimeTicks + d.stimeTicks;
  const userShare = sampledUserShare ?? (ticks > 0 ? d.utimeTicks / ticks : null);
  const r = (n: number) => Math.max(0, n) / requests;
  return {
    cpuNsPerRequest: r(d.runNs),
    cpuUserNsPerRequest: userShare === null ? null : r(d.runNs * userShare),
    cpuSystemNsPerRequest: userShare === null ? null : r(d.runNs * (1 - userShare)),
    runQueueWaitNsPerRequest: r(d.waitNs),
    voluntarySwitchesPerRequest: r(d.voluntarySwitches),
    involuntarySwitchesPerRequest: r(d.involuntarySwitches),
    rcharPerRequest: r(d.rchar),
    wcharPerRequest: r(d.wchar),
    syscrPerRequest: r(d.syscr),
    syscwPerRequest: r(d.syscw),
    blockReadBytesPerRequest: r(d.readBytes),
    blockWriteBytesPerRequest: r(d.writeBytes),
  };
}

/**
 * Differences between two snapshots divided by the requests served in between. A thread that started inside the
 * window counts from zero; one that ended inside it is lost (the kernel drops its counters with it).
 */
export function computeBaseline(
  before: ProcSnapshot,
  after: ProcSnapshot,
  options: {
    requests: number;
    roleOf?: ReadonlyMap<number, ThreadRole>;
    /** The user share of the whole window's CPU time, from finer samples than the ticks (perf): total only. */
    userShare?: number;
  },
): Baseline {
  if (options.requests <= 0) throw new Error('computeBaseline needs the number of requests served (> 0)');
  const earlier = new Map(before.tasks.map((t) => [t.tid, t]));
  const total = zero();
  const byRole = new Map<ThreadRole, { delta: Delta; threads: number }>();
  for (const task of after.tasks) {
    const start = earlier.get(task.tid);
    const delta = zero();
    for (const k of counterKeys) delta[k] = task[k] - (start?.[k] ?? 0);
    add(total, delta);
    const role = options.roleOf?.get(task.tid);
    if (role) {
      const entry = byRole.get(role) ?? { delta: zero(), threads: 0 };
      add(entry.delta, delta);
      entry.threads++;
      byRole.set(role, entry);
    }
  }
  const tids = new Set([...before.tasks, ...after.tasks].map((t) => t.tid));
  return baselineSchema.parse({
    requests: options.requests,
    windowS: (after.atNs - before.atNs) / 1e9,
    threads: tids.size,
    total: perRequest(total, options.requests, options.userShare),
    byRole: [...byRole].map(([role, e]) => ({
      role,
      threads: e.threads,
      ...perRequest(e.delta, options.requests),
    })),
  });
}

/** Calls a thread that serves sockets waits in: readiness waits, accepts, and reads and writes. */
const socketWaits = new Set<string>([...readinessCalls, ...acceptCalls, ...receiveCalls, ...sendCalls]);

/**
 * The background threads, found without tracing from the syscalls each thread was seen blocked in: those seen
 * waiting, and never in a socket wait (memcached's LRU maintainer sleeps in clock_nanosleep, its idle helpers in
 * futex; its workers wait in epoll_wait). A thread never seen waiting is left out. The rule assumes the threads
 * that serve requests do their own socket I/O: workers handed requests through a queue (thread pools) wait in
 * futex and count here, and a thread blocked writing a file or pipe counts as serving.
 */
export function backgroundThreads(blockedIn: ReadonlyMap<number, ReadonlySet<number>>): Set<number> {
  const out = new Set<number>();
  for (const [tid, calls] of blockedIn) {
    if (calls.size > 0 && ![...calls].some((nr) => socketWaits.has(syscallName(nr)))) out.add(tid);
  }
  return out;
}

/** The counters of some threads (the background ones) between two snapshots; null when they are unknown. */
export function backgroundCounters(
  before: ProcSnapshot,
  after: ProcSnapshot,
  tids: ReadonlySet<number> | null,
  requests: number,
): BaselineCounters | null {
  if (!tids) return null;
  const roleOf = new Map<number, ThreadRole>([...tids].map((tid) => [tid, 'background']));
  const { byRole } = computeBaseline(before, after, { requests, roleOf });
  return byRole[0] ?? perRequest(zero(), requests);
}

/** The background threads of blocked-syscall samples (backgroundThreads); null when no thread was seen blocked. */
export function sampledBackground(
  blockedIn: ReadonlyMap<number, ReadonlySet<number>> | null,
): Set<number> | null {
  return blockedIn && blockedIn.size > 0 ? backgroundThreads(blockedIn) : null;
}
