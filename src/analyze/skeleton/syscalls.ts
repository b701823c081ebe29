// Per-request syscall distributions and disk / network bytes of one request class, from a traced window in
// which only that class was sent (pure).
import { z } from 'zod';
import type { FdKind, LogBucket, SkeletonTrace } from '../../collect/bpftrace/parse.ts';
import { readinessCalls } from '../../collect/bpftrace/script.ts';
import { histogramSchema, mergeHistograms } from './histogram.ts';
import { type ThreadRole, threadRoleSchema } from './threads.ts';

const rate = z.number().nonnegative();

export const offsetPatternSchema = z.strictObject({
  pattern: z.enum(['sequential', 'random']),
  /** Calls that started where the previous call on the same fd ended. */
  sequentialFraction: z.number().min(0).max(1),
  /**
   * Calls that grew the file: they started at or past its end, or wrote on an append-only descriptor (redis's AOF).
   * Absent from profiles made before it was recorded: none.
   */
  extendingFraction: z.number().min(0).max(1).default(0),
  /** Where in the file calls start. */
  offsets: histogramSchema,
  maxFileSize: z.number().nonnegative(),
});

export const syscallEntrySchema = z.strictObject({
  name: z.string(),
  /** Role of the threads that make the call. */
  role: threadRoleSchema,
  /** For calls on an fd: what the fd is. */
  target: z.enum(['socket', 'file', 'other']).nullable(),
  callsPerRequest: rate,
  callsPerSecond: rate,
  /** Failed calls (EAGAIN on non-blocking sockets, mostly). */
  errorsPerRequest: rate,
  bytesPerRequest: rate.nullable(),
  /** Bytes moved per call (the return value), and bytes asked for where the call says. */
  sizes: histogramSchema.nullable(),
  requestedSizes: histogramSchema.nullable(),
  offsets: offsetPatternSchema.nullable(),
  /** epoll_wait, poll, select: ready events per call. */
  readyEvents: histogramSchema.nullable(),
});
export type SyscallEntry = z.infer<typeof syscallEntrySchema>;

export const ioPerRequestSchema = z.strictObject({
  networkInBytes: rate,
  networkOutBytes: rate,
  /** Bytes read from / written to regular files (page cache included; sendfile counts as a file read). */
  diskReadBytes: rate,
  diskWriteBytes: rate,
  fsyncs: rate,
  fsyncsPerSecond: rate,
});

export const syscallProfileSchema = z.strictObject({
  class: z.string().min(1),
  requests: z.number().int().nonnegative(),
  windowS: z.number().positive(),
  syscalls: z.array(syscallEntrySchema),
  io: ioPerRequestSchema,
});
export type SyscallProfile = z.infer<typeof syscallProfileSchema>;

export interface SyscallProfileInput {
  /** Request class name from the workload (get, set, GET /...): a name ditto chose, not the original's. */
  requestClass: string;
  trace: SkeletonTrace;
  requests: number;
  roleOf: ReadonlyMap<number, ThreadRole>;
}

const inCalls = new Set(['read', 'readv', 'pread64', 'recvfrom', 'recvmsg']);
const outCalls = new Set(['write', 'writev', 'pwrite64', 'sendto', 'sendmsg', 'sendfile']);
const syncCalls = new Set(['fsync', 'fdatasync', 'sync_file_range']);

export function syscallProfile(input: SyscallProfileInput): SyscallProfile {
  const { trace, requests, roleOf } = input;
  const seconds = trace.elapsedNs / 1e9;
  const perRequest = (n: number) => (requests > 0 ? n / requests : 0);
  const perSecond = (n: number) => (seconds > 0 ? n / seconds : 0);
  const roleOfTid = (tid: number): ThreadRole => roleOf.get(tid) ?? 'background';

  const entries = new Map<string, SyscallEntry & { count: number; errors: number; bytes: number }>();
  const entry = (name: string, role: ThreadRole, target: FdKind | null) => {
    const key = JSON.stringify([role, name, target]);
    let e = entries.get(key);
    if (!e) {
      e = {
        name,
        role,
        target,
        callsPerRequest: 0,
        callsPerSecond: 0,
        errorsPerRequest: 0,
        bytesPerRequest: null,
        sizes: null,
        requestedSizes: null,
        offsets: null,
        readyEvents: null,
        count: 0,
        errors: 0,
        bytes: 0,
      };
      entries.set(key, e);
    }
    return e;
  };

  // Calls measured with their fd kind; the raw counts of the same (thread, call) are then already covered.
  const sized = new Set<string>();
  const sizes = new Map<string, { returned: LogBucket[][]; requested: LogBucket[][] }>();
  for (const io of trace.io) {
    sized.add(`${io.tid}:${io.name}`);
    const e = entry(io.name, roleOfTid(io.tid), io.kind);
    e.count += io.calls + io.errors;
    e.errors += io.errors;
    e.bytes += io.bytes;
    const key = JSON.stringify([e.role, e.name, e.target]);
    const h = sizes.get(key) ?? { returned: [], requested: [] };
    h.returned.push(io.returned);
    if (io.requested) h.requested.push(io.requested);
    sizes.set(key, h);
  }
  for (const s of trace.syscalls) {
    if (sized.has(`${s.tid}:${s.name}`)) continue;
    entry(s.name, roleOfTid(s.tid), syncCalls.has(s.name) ? 'file' : null).count += s.count;
  }

  for (const [key, h] of sizes) {
    const e = entries.get(key);
    if (!e) continue;
    e.sizes = mergeHistograms(h.returned);
    e.requestedSizes = h.requested.length > 0 ? mergeHistograms(h.requested) : null;
    e.bytesPerRequest = perRequest(e.bytes);
  }

  for (const e of entries.values()) {
    const files = trace.files.filter((f) => f.name === e.name && roleOfTid(f.tid) === e.role);
    if (e.target === 'file' && files.length > 0) {
      const sequential = files.reduce((n, f) => n + f.sequential, 0);
      const total = sequential + files.reduce((n, f) => n + f.random, 0);
      const fraction = total > 0 ? sequential / total : 1;
      const extending = files.reduce((n, f) => n + f.extending, 0);
      e.offsets = {
        pattern: fraction >= 0.5 ? 'sequential' : 'random',
        sequentialFraction: fraction,
        extendingFraction: total > 0 ? Math.min(1, extending / total) : 0,
        offsets: mergeHistograms(files.map((f) => f.offsets)),
        maxFileSize: Math.max(...files.map((f) => f.maxFileSize)),
      };
    }
    if (readinessCalls.includes(e.name)) {
      const ready = trace.readiness.filter((r) => r.name === e.name && roleOfTid(r.tid) === e.role);
      const empty = ready.reduce((n, r) => n + r.empty, 0);
      e.readyEvents = mergeHistograms([...ready.map((r) => r.ready), [{ min: 0, max: 0, count: empty }]]);
    }
    e.callsPerRequest = perRequest(e.count);
    e.callsPerSecond = perSecond(e.count);
    e.errorsPerRequest = perRequest(e.errors);
  }

  let networkIn = 0;
  let networkOut = 0;
  let diskRead = 0;
  let diskWrite = 0;
  for (const io of trace.io) {
    if (io.kind === 'socket') {
      if (inCalls.has(io.name)) networkIn += io.bytes;
      if (outCalls.has(io.name)) networkOut += io.bytes;
      // sendfile copies from a file to the socket.
      if (io.name === 'sendfile') diskRead += io.bytes;
    } else if (io.kind === 'file') {
      if (inCalls.has(io.name)) diskRead += io.bytes;
      if (outCalls.has(io.name)) diskWrite += io.bytes;
    }
  }
  const fsyncs = trace.syscalls.filter((s) => syncCalls.has(s.name)).reduce((n, s) => n + s.count, 0);

  const syscalls = [...entries.values()]
    .map(({ count: _count, errors: _errors, bytes: _bytes, ...e }) => e)
    .sort((a, b) => b.callsPerSecond - a.callsPerSecond || a.name.localeCompare(b.name));
  return syscallProfileSchema.parse({
    class: input.requestClass,
    requests,
    windowS: seconds,
    syscalls,
    io: {
      networkInBytes: perRequest(networkIn),
      networkOutBytes: perRequest(networkOut),
      diskReadBytes: perRequest(diskRead),
      diskWriteBytes: perRequest(diskWrite),
      fsyncs: perRequest(fsyncs),
      fsyncsPerSecond: perSecond(fsyncs),
    },
  });
}
