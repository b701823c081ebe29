// Thread and process roles and the network model, from one traced window (pure).
// Roles come from behaviour (who accepts, who moves request bytes on sockets, who works per request, who wakes up
// on a timer). Thread names of the original only group threads that behave alike; they never reach the output.
import { z } from 'zod';
import type { SkeletonTrace } from '../../collect/bpftrace/parse.ts';
import { acceptCalls, readinessCalls, receiveCalls } from '../../collect/bpftrace/script.ts';
import { countFdKinds, type FdKindCounts, fdTargetKinds } from '../../collect/procfs/parse.ts';
import type { ServiceThreads } from '../../collect/procfs/read.ts';

export const threadRoles = ['main', 'acceptor', 'network', 'worker', 'background'] as const;
export const threadRoleSchema = z.enum(threadRoles);
export type ThreadRole = z.infer<typeof threadRoleSchema>;

export const processRoles = ['main', 'master', 'worker', 'helper'] as const;
export const processRoleSchema = z.enum(processRoles);
export type ProcessRole = z.infer<typeof processRoleSchema>;

/** Calls a thread blocks in, as the profile names them (socket reads block only in the blocking model). */
const blockingCalls = [
  ...readinessCalls,
  ...acceptCalls,
  'futex',
  'clock_nanosleep',
  'nanosleep',
  'io_uring_enter',
  'rt_sigtimedwait',
  'rt_sigsuspend',
  'pause',
  'wait4',
] as const;

export const threadGroupSchema = z.strictObject({
  role: threadRoleSchema,
  processRole: processRoleSchema,
  /** Threads in the group, per process of that role. */
  count: z.number().int().positive(),
  /** The group holds the main thread of its process. */
  mainThread: z.boolean(),
  /** Blocking calls the group makes, most frequent first. */
  blocksOn: z.array(z.string()),
  /** Background threads: mean time between wake-ups; null when the thread never woke in the window. */
  periodMs: z.number().positive().nullable(),
  /** Share of the service's socket request traffic (calls) handled by the whole group. */
  socketShare: z.number().min(0).max(1),
  syscallsPerSecond: z.number().nonnegative(),
});
export type ThreadGroup = z.infer<typeof threadGroupSchema>;

export const networkModelSchema = z.strictObject({
  /** How network threads wait for sockets. */
  io: z.enum(['epoll', 'poll', 'select', 'blocking', 'nonblocking']),
  /** Connections are accepted by threads that do not serve them (accept then hand off). */
  dispatch: z.boolean().nullable(),
  /** The process's main thread accepts; null when no accept was seen in the window. */
  acceptorIsMain: z.boolean().nullable(),
  acceptThreads: z.number().int().nonnegative(),
  /** Network threads per process and processes with network threads. */
  networkThreads: z.number().int().nonnegative(),
  networkProcesses: z.number().int().nonnegative(),
  /** Worker threads (per process) that serve requests off the network threads. */
  workerThreads: z.number().int().nonnegative(),
  /** A pool fixed at start, or a thread / process created per connection during the window. */
  connections: z.enum(['pool', 'thread-per-connection', 'process-per-connection']),
  /** Mean ready events returned per readiness call by network threads (batching); null without epoll/poll. */
  eventsPerWait: z.number().nonnegative().nullable(),
});
export type NetworkModel = z.infer<typeof networkModelSchema>;

const fdCount = z.number().nonnegative();

export const processGroupSchema = z.strictObject({
  role: processRoleSchema,
  count: z.number().int().positive(),
  threads: z.number().int().positive(),
  /** Open fds per process by kind when first seen (listening and client sockets, files, pipes, eventfd/epoll). */
  openFds: z.strictObject({ socket: fdCount, file: fdCount, pipe: fdCount, event: fdCount, other: fdCount }),
});

export const skeletonSchema = z.strictObject({
  processes: z.array(processGroupSchema),
  threads: z.array(threadGroupSchema),
  network: networkModelSchema,
  /** Threads and processes created / ended during the window. */
  clonesPerSecond: z.number().nonnegative(),
  exitsPerSecond: z.number().nonnegative(),
});
export type Skeleton = z.infer<typeof skeletonSchema>;

export interface SkeletonInput {
  trace: SkeletonTrace;
  service: ServiceThreads;
  /** Requests served during the window (the load result's responses). */
  requests: number;
}

export interface SkeletonAnalysis {
  skeleton: Skeleton;
  /** Role of every thread id seen, for joining other per-thread data (baseline); not part of the profile. */
  roleOf: Map<number, ThreadRole>;
}

interface ThreadFacts {
  tid: number;
  pid: number;
  comm: string;
  syscalls: number;
  byName: Map<string, number>;
  socketCalls: number;
  socketErrors: number;
  socketReads: number;
  fileCalls: number;
  accepts: number;
  sleeps: number;
  wokenByTraced: number;
}

/** A thread that moves this many socket calls per request (or more) serves requests. */
const perRequestThreshold = 0.05;
const socketReadCalls = new Set<string>(receiveCalls);

function threadFacts(input: SkeletonInput): Map<number, ThreadFacts> {
  const { trace, service } = input;
  const facts = new Map<number, ThreadFacts>();
  const commOf = new Map(service.threads.map((t) => [t.tid, t]));
  const get = (tid: number, pid?: number): ThreadFacts => {
    let f = facts.get(tid);
    if (!f) {
      const known = commOf.get(tid);
      f = {
        tid,
        pid: known?.pid ?? pid ?? tid,
        comm: known?.comm ?? '',
        syscalls: 0,
        byName: new Map(),
        socketCalls: 0,
        socketErrors: 0,
        socketReads: 0,
        fileCalls: 0,
        accepts: 0,
        sleeps: 0,
        wokenByTraced: 0,
      };
      facts.set(tid, f);
    }
    return f;
  };
  for (const t of service.threads) get(t.tid, t.pid);
  for (const s of trace.syscalls) {
    const f = get(s.tid, s.pid);
    f.pid = s.pid;
    f.syscalls += s.count;
    f.byName.set(s.name, (f.byName.get(s.name) ?? 0) + s.count);
  }
  for (const io of trace.io) {
    const f = get(io.tid);
    if (io.kind === 'socket') {
      f.socketCalls += io.calls + io.errors;
      f.socketErrors += io.errors;
      if (socketReadCalls.has(io.name)) f.socketReads += io.calls + io.errors;
    } else if (io.kind === 'file') f.fileCalls += io.calls + io.errors;
  }
  for (const a of trace.accepts) get(a.tid).accepts += a.ok;
  // Switch states: 0 preempted, 0x100 preempted (TASK_REPORT_MAX); low bits set mean the thread went to sleep.
  for (const s of trace.switches) if ((s.state & 0xff) !== 0) get(s.tid).sleeps += s.count;
  for (const w of trace.wakeups) get(w.wakee).wokenByTraced += w.count;
  return facts;
}

function roleOfThread(f: ThreadFacts, requests: number, serving: ReadonlySet<number>): ThreadRole {
  const perRequest = (n: number) => (requests > 0 ? n / requests : n > 0 ? 1 : 0);
  if (perRequest(f.socketCalls) >= perRequestThreshold) return 'network';
  if (f.accepts > 0) return 'acceptor';
  // Work handed over by the threads that serve sockets, or file I/O at the request rate.
  if (perRequest(f.fileCalls) >= perRequestThreshold || perRequest(f.wokenByTraced) >= perRequestThreshold) {
    return 'worker';
  }
  if (f.tid === f.pid && !serving.has(f.pid)) return 'main';
  return 'background';
}

const waitCalls = new Set<string>([...readinessCalls, ...acceptCalls]);

function onlyWaited(threads: readonly ThreadFacts[]): boolean {
  return threads.every((f) => [...f.byName.keys()].every((name) => waitCalls.has(name)));
}

function blocksOn(threads: readonly ThreadFacts[]): string[] {
  const counts = new Map<string, number>();
  for (const f of threads) {
    for (const name of blockingCalls) {
      const n = f.byName.get(name) ?? 0;
      if (n > 0) counts.set(name, (counts.get(name) ?? 0) + n);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name]) => name);
}

export function analyzeSkeleton(input: SkeletonInput): SkeletonAnalysis {
  const { trace, service, requests } = input;
  const seconds = trace.elapsedNs / 1e9;
  const facts = threadFacts(input);
  const servingPids = new Set(
    [...facts.values()].filter((f) => f.socketCalls > 0 || f.accepts > 0).map((f) => f.pid),
  );
  const roleOf = new Map<number, ThreadRole>();
  for (const f of facts.values()) roleOf.set(f.tid, roleOfThread(f, requests, servingPids));

  // Process roles: the root is the master when other processes serve; children serve (worker) or not (helper).
  const pids = new Set([...service.processes.map((p) => p.pid), ...[...facts.values()].map((f) => f.pid)]);
  const threadsOf = (pid: number) => [...facts.values()].filter((f) => f.pid === pid);
  const serves = (pid: number) =>
    threadsOf(pid).some((f) => ['network', 'acceptor', 'worker'].includes(roleOf.get(f.tid) ?? ''));
  const servingChildren = [...pids].filter((pid) => pid !== service.rootPid && serves(pid));
  // A worker process that got no connection in the window looks like its busy siblings (same names and thread
  // count) and only waited: it is a worker too, and its threads take the roles of the corresponding threads there.
  const shape = (pid: number) =>
    JSON.stringify(
      threadsOf(pid)
        .map((f) => [f.comm, f.tid === f.pid])
        .sort(),
    );
  const workerShapes = new Map(servingChildren.map((pid) => [shape(pid), pid]));
  const idleWorkers = new Set<number>();
  for (const pid of pids) {
    const sibling = workerShapes.get(shape(pid));
    if (pid === service.rootPid || sibling === undefined || serves(pid) || !onlyWaited(threadsOf(pid)))
      continue;
    idleWorkers.add(pid);
    const busy = threadsOf(sibling);
    for (const f of threadsOf(pid)) {
      const twin = busy.find((b) => b.comm === f.comm && (b.tid === b.pid) === (f.tid === f.pid));
      const role = twin && roleOf.get(twin.tid);
      if (role) roleOf.set(f.tid, role);
    }
  }
  const processRoleOf = (pid: number): ProcessRole => {
    if (pid === service.rootPid) return servingChildren.length > 0 && !serves(pid) ? 'master' : 'main';
    return serves(pid) || idleWorkers.has(pid) ? 'worker' : 'helper';
  };

  // Groups: same process role, thread role, main-thread flag and name (names group only; they are dropped).
  const groups = new Map<string, ThreadFacts[]>();
  for (const f of facts.values()) {
    const key = JSON.stringify([processRoleOf(f.pid), roleOf.get(f.tid), f.tid === f.pid, f.comm]);
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const totalSocket = [...facts.values()].reduce((n, f) => n + f.socketCalls, 0);
  const threadGroups: ThreadGroup[] = [...groups.values()].map((members) => {
    const first = members[0] as ThreadFacts;
    const processes = new Set(members.map((m) => m.pid)).size;
    const role = roleOf.get(first.tid) as ThreadRole;
    const sleeps = members.reduce((n, m) => n + m.sleeps, 0) / members.length;
    return {
      role,
      processRole: processRoleOf(first.pid),
      count: Math.round(members.length / processes),
      mainThread: first.tid === first.pid,
      blocksOn: blocksOn(members),
      periodMs: role === 'background' && sleeps > 0 ? (seconds * 1000) / sleeps : null,
      socketShare: totalSocket > 0 ? members.reduce((n, m) => n + m.socketCalls, 0) / totalSocket : 0,
      syscallsPerSecond: seconds > 0 ? members.reduce((n, m) => n + m.syscalls, 0) / seconds : 0,
    };
  });
  const merged = mergeIdle(threadGroups);
  const roleOrder = (g: ThreadGroup) =>
    threadRoles.indexOf(g.role) * 10 + processRoles.indexOf(g.processRole);
  merged.sort((a, b) => roleOrder(a) - roleOrder(b) || Number(b.mainThread) - Number(a.mainThread));

  const fdsOf = new Map(service.processes.map((p) => [p.pid, p.fds]));
  const processCounts = new Map<ProcessRole, { count: number; threads: number; fds: FdKindCounts }>();
  for (const pid of pids) {
    const role = processRoleOf(pid);
    const entry = processCounts.get(role) ?? { count: 0, threads: 0, fds: countFdKinds([]) };
    entry.count++;
    entry.threads += threadsOf(pid).length;
    const fds = fdsOf.get(pid);
    if (fds) for (const kind of fdTargetKinds) entry.fds[kind] += fds[kind];
    processCounts.set(role, entry);
  }
  const processes = [...processCounts].map(([role, e]) => ({
    role,
    count: e.count,
    threads: Math.max(1, Math.round(e.threads / e.count)),
    openFds: Object.fromEntries(
      fdTargetKinds.map((kind) => [kind, Math.round((e.fds[kind] / e.count) * 10) / 10]),
    ) as FdKindCounts,
  }));
  processes.sort((a, b) => processRoles.indexOf(a.role) - processRoles.indexOf(b.role));

  const skeleton: Skeleton = {
    processes,
    threads: merged,
    network: networkModel(input, facts, roleOf),
    clonesPerSecond: seconds > 0 ? trace.forks.length / seconds : 0,
    exitsPerSecond: seconds > 0 ? trace.exits.length / seconds : 0,
  };
  return { skeleton: skeletonSchema.parse(skeleton), roleOf };
}

/** Groups that differ only by the original's names and never woke in the window are one group. */
function mergeIdle(groups: readonly ThreadGroup[]): ThreadGroup[] {
  const out: ThreadGroup[] = [];
  const idle = new Map<string, ThreadGroup>();
  for (const g of groups) {
    if (g.periodMs !== null || g.role !== 'background') {
      out.push(g);
      continue;
    }
    const key = JSON.stringify([g.processRole, g.mainThread, g.blocksOn]);
    const same = idle.get(key);
    if (same) {
      same.count += g.count;
      same.socketShare += g.socketShare;
      same.syscallsPerSecond += g.syscallsPerSecond;
    } else {
      const copy = { ...g };
      idle.set(key, copy);
      out.push(copy);
    }
  }
  return out;
}

function networkModel(
  input: SkeletonInput,
  facts: Map<number, ThreadFacts>,
  roleOf: Map<number, ThreadRole>,
): NetworkModel {
  const { trace, service } = input;
  const all = [...facts.values()];
  const network = all.filter((f) => roleOf.get(f.tid) === 'network');
  const acceptors = all.filter((f) => f.accepts > 0);
  const networkPids = new Set(network.map((f) => f.pid));
  const perProcess = (threads: readonly ThreadFacts[]) => {
    const pidsOf = new Set(threads.map((f) => f.pid)).size;
    return pidsOf === 0 ? 0 : Math.round(threads.length / pidsOf);
  };

  const networkTids = new Set(network.map((f) => f.tid));
  const callsOf = (names: readonly string[]) =>
    network.reduce((n, f) => n + names.reduce((m, name) => m + (f.byName.get(name) ?? 0), 0), 0);
  const epoll = callsOf(['epoll_wait', 'epoll_pwait', 'epoll_pwait2']);
  const poll = callsOf(['poll', 'ppoll']);
  const select = callsOf(['select', 'pselect6']);
  const reads = network.reduce((n, f) => n + f.socketReads, 0);
  const failed = network.reduce((n, f) => n + f.socketErrors, 0);
  const io: NetworkModel['io'] =
    epoll > 0
      ? 'epoll'
      : poll > 0
        ? 'poll'
        : select > 0
          ? 'select'
          : reads > 0 && failed / reads > 0.5
            ? 'nonblocking'
            : 'blocking';

  let ready = 0;
  let waits = 0;
  for (const r of trace.readiness) {
    if (!networkTids.has(r.tid)) continue;
    waits += r.empty;
    for (const b of r.ready) {
      ready += ((b.min + b.max) / 2) * b.count;
      waits += b.count;
    }
  }

  // Threads or processes forked in the window that went on to serve sockets: one per connection.
  const forkedChildren = new Set(trace.forks.map((f) => f.child));
  const forkedServers = network.filter((f) => forkedChildren.has(f.tid));
  const connections: NetworkModel['connections'] =
    forkedServers.length === 0
      ? 'pool'
      : forkedServers.some((f) => f.tid === f.pid)
        ? 'process-per-connection'
        : 'thread-per-connection';

  const acceptedAny = acceptors.length > 0;
  const acceptedBy = (threads: readonly ThreadFacts[]) => threads.reduce((n, f) => n + f.accepts, 0);
  return {
    io,
    // Most connections are accepted by threads that serve no sockets. A majority, not "any": an nginx worker that
    // accepts a reconnection at the end of the window serves almost nothing in it, yet serves what it accepts.
    dispatch: acceptedAny
      ? acceptedBy(acceptors.filter((f) => !networkTids.has(f.tid))) > acceptedBy(acceptors) / 2
      : null,
    acceptorIsMain: acceptedAny
      ? acceptors.some((f) => f.tid === f.pid && (f.pid === service.rootPid || networkPids.has(f.pid)))
      : null,
    acceptThreads: perProcess(acceptors),
    networkThreads: perProcess(network),
    networkProcesses: networkPids.size,
    workerThreads: perProcess(all.filter((f) => roleOf.get(f.tid) === 'worker')),
    connections,
    eventsPerWait:
      io === 'epoll' || io === 'poll' || io === 'select' ? (waits > 0 ? ready / waits : 0) : null,
  };
}
