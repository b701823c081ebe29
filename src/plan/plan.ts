// profile.json (+ knobs) → clone plan: every number the emitters need (pure).
import type { SyscallEntry } from '../analyze/skeleton/syscalls.ts';
import type { BodyPlan, ClonePlan, SyscallOp } from '../artifacts/clone-plan.ts';
import type { Profile, RequestClass } from '../artifacts/profile.ts';
import { readinessCalls, receiveCalls, sendCalls } from '../collect/bpftrace/script.ts';
import { negligibleMpki } from '../collect/valgrind/geometry.ts';
import { DittoError } from '../errors.ts';
import { backgroundPlan } from './background.ts';
import { responseFraming } from './framing.ts';
import { bodyIndirectJumps, bodyIndirectMispredictRate, bodyInstructions } from './runtime-cost.ts';

/**
 * Knobs, 1 = as profiled (the tuner moves them): `instructions.<class>` scales a class's dynamic instructions
 * (the clone's total: the body gets the scaled figure less the runtime's own instructions),
 * `syscalls.<class>` its per-request system calls, `response.<class>` its response payload.
 */
export type Knobs = Record<string, number>;

const knob = (knobs: Knobs, name: string) => knobs[name] ?? 1;

function networkPlan(profile: Profile): ClonePlan['network'] {
  const skeleton = profile.skeleton;
  if (!skeleton) {
    throw new DittoError(
      'DITTO_ARTIFACT_INVALID',
      'profile.skeleton: missing (the skeleton phase did not run)',
      {
        hint: 'profile again with the skeleton phase (needs bpftrace)',
      },
    );
  }
  const n = skeleton.network;
  // poll and select loops are served by the same readiness loop the runtime builds on (epoll).
  const io: ClonePlan['network']['io'] = n.io === 'blocking' || n.io === 'nonblocking' ? n.io : 'epoll';
  const common = {
    io,
    ...socketCalls(profile),
    acceptThreads: n.acceptThreads,
    networkThreads: Math.max(1, n.networkThreads),
    workerProcesses: 0,
  };
  if (n.connections === 'thread-per-connection') return { ...common, model: 'thread-per-connection' };
  if (n.connections === 'process-per-connection') return { ...common, model: 'process-per-connection' };
  if (n.networkProcesses > 1)
    return { ...common, model: 'process-workers', workerProcesses: n.networkProcesses };
  if (n.dispatch) return { ...common, model: 'dispatch', acceptThreads: Math.max(1, n.acceptThreads) };
  return { ...common, model: 'event-loop' };
}

const fileOps: Record<string, SyscallOp['op']> = {
  read: 'file_read',
  readv: 'file_read',
  write: 'file_write',
  writev: 'file_write',
  pread64: 'file_pread',
  pwrite64: 'file_pwrite',
  // Syncs are recorded against files (they name no descriptor kind of their own).
  fsync: 'fsync',
  fdatasync: 'fdatasync',
};
const plainOps: Record<string, SyscallOp['op']> = {
  fsync: 'fsync',
  fdatasync: 'fdatasync',
  open: 'open_close',
  openat: 'open_close',
  stat: 'stat',
  fstat: 'stat',
  newfstatat: 'stat',
  statx: 'stat',
};
// sendfile is recorded against the descriptor it writes to: the socket.
const socketOps: Record<string, SyscallOp['op']> = { sendfile: 'sendfile' };

function opOf(name: string, target: 'socket' | 'file' | 'other' | null): SyscallOp['op'] | undefined {
  if (target === 'file') return fileOps[name];
  if (target === 'socket') return socketOps[name];
  if (target === null) return plainOps[name];
  return undefined;
}

const writeOps = new Set<SyscallOp['op']>(['file_write', 'file_pwrite']);

/** Where the op's calls start in the file: writes that mostly grew the original's file append. */
function patternOf(op: SyscallOp['op'], offsets: SyscallEntry['offsets']): SyscallOp['pattern'] {
  if (writeOps.has(op) && (offsets?.extendingFraction ?? 0) >= 0.5) return 'append';
  return offsets?.pattern ?? 'sequential';
}

/** What a server may defer to the end of a loop pass for every request the pass served. */
const batchableOps = new Set<SyscallOp['op']>(['file_write', 'file_pwrite', 'fsync', 'fdatasync']);

/**
 * A file write or sync made once per event-loop pass for all the requests it served (redis with appendfsync
 * always: the AOF buffer is written and synced before the pass's replies go out) shows as fewer calls than
 * requests, as many as the network threads' readiness waits. Drawn per request instead, the clone would sync on
 * every request's path and fall far behind the original under load.
 */
function perLoopPass(op: SyscallOp['op'], calls: number, waitsPerRequest: number): boolean {
  return batchableOps.has(op) && calls < 0.95 && Math.abs(calls / waitsPerRequest - 1) <= 0.1;
}

/** The calls a request makes on files (reading requests, sending responses and readiness waits are the runtime's own). */
function syscallOps(profile: Profile, cls: RequestClass, scale: number): SyscallOp[] {
  const entries = profile.syscalls.find((s) => s.class === cls)?.syscalls ?? [];
  const waitsPerRequest = entries
    .filter((e) => e.role === 'network' && readinessCalls.includes(e.name))
    .reduce((n, e) => n + e.callsPerRequest, 0);
  const ops: SyscallOp[] = [];
  for (const e of entries) {
    if (e.role !== 'network' && e.role !== 'worker') continue;
    const op = opOf(e.name, e.target);
    if (!op || e.callsPerRequest <= 0) continue;
    const batch = perLoopPass(op, e.callsPerRequest, waitsPerRequest) ? 'loop' : 'request';
    // A pass's one call carries every request's bytes; per-request calls share a request's bytes.
    const bytesPerRequest = e.bytesPerRequest ?? 0;
    const bytes = Math.round(batch === 'loop' ? bytesPerRequest : bytesPerRequest / e.callsPerRequest);
    ops.push({
      op,
      perRequest: e.callsPerRequest * scale,
      bytes,
      pattern: patternOf(op, e.offsets),
      batch,
    });
  }
  return ops;
}

type Receive = ClonePlan['network']['receive'];
type Send = ClonePlan['network']['send'];

/**
 * The calls the network threads receive requests and send responses with: the most frequent of each kind on
 * sockets, over the classes weighted by their share. read and write when the profile has no socket calls.
 */
export function socketCalls(profile: Profile): { receive: Receive; send: Send } {
  const counts = new Map<string, number>();
  for (const { name, share } of profile.workload.classes) {
    const entries = profile.syscalls.find((s) => s.class === name)?.syscalls ?? [];
    for (const e of entries) {
      if (e.role !== 'network' || e.target !== 'socket') continue;
      counts.set(e.name, (counts.get(e.name) ?? 0) + share * e.callsPerRequest);
    }
  }
  const most = <T extends string>(calls: readonly T[]): T => {
    let best = calls[0]!;
    for (const c of calls) if ((counts.get(c) ?? 0) > (counts.get(best) ?? 0)) best = c;
    return best;
  };
  return { receive: most(receiveCalls), send: most(sendCalls) };
}

type CpuBody = NonNullable<Profile['cpu'][number]['body']>;

/**
 * A d-cache curve that stops below the platforms' LLCs (a quick sweep) says nothing about what misses them: its
 * last bin, "misses at the largest size", would become a region that fits every LLC. The smallest platform LLC's
 * own miss count (its misses per kilo-instruction, per data access) adds the missing point at the largest power of
 * two within that LLC, so what misses it becomes a region beyond every LLC and the rest a region within them
 * (unless those misses are negligible: then all of it lies within).
 */
function extendToLlc(body: CpuBody): CpuBody['cache'] {
  const { cache } = body;
  const d = cache.dcache;
  const last = cache.sizesBytes.at(-1) ?? 0;
  const llc = Math.min(...body.platforms.map((p) => p.geometry.llc.sizeBytes));
  const size = 2 ** Math.floor(Math.log2(llc));
  const platform = body.platforms.find((p) => p.geometry.llc.sizeBytes === llc);
  if (!platform || size <= last || d.accessesPerRequest <= 0 || d.beyondLargest <= 0) return cache;
  // Negligible LLC misses make no region: one beyond every LLC would miss on each platform, also where the
  // original missed none (memcached: 0.003 per 1000 instructions on B's 25 MiB LLC, none on A's 30 MiB).
  const llcMisses =
    platform.mpki.llc < negligibleMpki ? 0 : (platform.mpki.llc * body.instructionsPerRequest) / 1000;
  const ratio = Math.min(d.beyondLargest, llcMisses / d.accessesPerRequest);
  const i = cache.icache;
  return {
    sizesBytes: [...cache.sizesBytes, size],
    dcache: {
      ...d,
      missRatio: [...d.missRatio, ratio],
      workingSet: [...d.workingSet, d.beyondLargest - ratio],
      beyondLargest: ratio,
    },
    // The i-cache misses nothing there worth a bin: its curve keeps its last ratio.
    icache: {
      ...i,
      missRatio: [...i.missRatio, i.beyondLargest],
      workingSet: [...i.workingSet, 0],
    },
  };
}

/** A profiled body as the emitter takes it, with the instructions and branches it must make itself. */
function asBodyPlan(body: CpuBody, instructions: number, branches: CpuBody['branches']): BodyPlan {
  return {
    instructions,
    mix: body.mix,
    branches,
    dependencies: body.dependencies,
    stringOps: body.stringOps,
    cache: extendToLlc(body),
  };
}

function bodyPlan(profile: Profile, cls: RequestClass, scale: number): BodyPlan | null {
  const body = profile.cpu.find((c) => c.class === cls)?.body;
  if (!body) return null;
  // A body plan's indirect jumps are the body's: the runtime makes the rest, predicted.
  return asBodyPlan(body, bodyInstructions(profile.protocol, cls, body.instructionsPerRequest * scale), {
    ...body.branches,
    indirectPerRequest: bodyIndirectJumps(profile.protocol, cls, body.branches.indirectPerRequest),
    indirectMispredictRate: bodyIndirectMispredictRate(
      profile.protocol,
      cls,
      body.branches.indirectPerRequest,
      body.branches.indirectMispredictRate,
    ),
  });
}

/**
 * A background wake-up's body: what the original's background threads did per wake-up while the most common class
 * was served (the runtime's own sleep loop is a few dozen instructions: nothing to take off).
 */
function backgroundBodyPlan(profile: Profile): BodyPlan | null {
  const byShare = [...profile.workload.classes].sort((a, b) => b.share - a.share);
  const body = byShare
    .map(({ name }) => profile.cpu.find((c) => c.class === name)?.background)
    .find((b) => b);
  return body ? asBodyPlan(body, body.instructionsPerRequest, body.branches) : null;
}

function dataFileBytes(profile: Profile, classes: ClonePlan['classes']): number | null {
  const usesFile = classes.some((c) => c.syscalls.some((s) => s.op !== 'fsync' && s.op !== 'fdatasync'));
  const syncs = classes.some((c) => c.syscalls.length > 0);
  if (!usesFile && !syncs) return null;
  let largest = 0;
  for (const s of profile.syscalls)
    for (const e of s.syscalls) largest = Math.max(largest, e.offsets?.maxFileSize ?? 0);
  // At least 1 MiB, so sequential appends and random reads have room before wrapping.
  return Math.max(largest, 1 << 20);
}

export function planClone(profile: Profile, knobs: Knobs = {}, seed = 1): ClonePlan {
  const keySize = 16;
  const classes: ClonePlan['classes'] = profile.workload.classes.map(({ name, share }) => {
    const io = profile.syscalls.find((s) => s.class === name)?.io;
    const responseBytes = (io?.networkOutBytes ?? 0) * knob(knobs, `response.${name}`);
    const payload = responseFraming(profile.protocol, name, keySize).payloadFor(responseBytes);
    return {
      name,
      share,
      responsePayload: [{ size: payload, weight: 1 }],
      syscalls: syscallOps(profile, name, knob(knobs, `syscalls.${name}`)),
      body: bodyPlan(profile, name, knob(knobs, `instructions.${name}`)),
    };
  });
  return {
    schemaVersion: 1,
    protocol: profile.protocol,
    network: networkPlan(profile),
    classes,
    background: backgroundPlan(profile, backgroundBodyPlan(profile)),
    dataFile: (() => {
      const bytes = dataFileBytes(profile, classes);
      return bytes === null ? null : { bytes };
    })(),
    knobs,
    seed,
  };
}
