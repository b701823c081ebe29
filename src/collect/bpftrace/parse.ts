// Reads the JSON that `bpftrace -f json` prints for the skeleton script (pure): one object per line, maps and
// histograms keyed by "a,b,c" strings. Turns it into typed observations per thread.
import { DittoError } from '../../errors.ts';
import { fdKindCodes } from './script.ts';
import { syscallName } from './syscalls-x86_64.ts';

export type FdKind = keyof typeof fdKindCodes;

/** One bucket of a bpftrace log2 histogram: values in [min, max]. */
export interface LogBucket {
  min: number;
  max: number;
  count: number;
}

export interface RawBpftraceOutput {
  /** Count / sum / max maps: name → key ("" for a map without keys) → value. */
  maps: Map<string, Map<string, number>>;
  hists: Map<string, Map<string, LogBucket[]>>;
  attachedProbes: number | undefined;
}

export interface SyscallCount {
  pid: number;
  tid: number;
  name: string;
  count: number;
}

export interface IoObservation {
  tid: number;
  name: string;
  kind: FdKind;
  /** Sizes asked for (count / len argument); null for calls whose size is only known from the return. */
  requested: LogBucket[] | null;
  returned: LogBucket[];
  /** Calls that returned >= 0 and their byte total. */
  calls: number;
  bytes: number;
  /** Calls that failed (EAGAIN on a non-blocking socket, mostly). */
  errors: number;
}

export interface FileAccessObservation {
  tid: number;
  name: string;
  /** Calls that started where the previous call on the same fd ended. */
  sequential: number;
  random: number;
  /** Calls that moved bytes and grew the file (started at or past its end, or on an append-only fd). */
  extending: number;
  offsets: LogBucket[];
  maxFileSize: number;
}

export interface ReadinessObservation {
  tid: number;
  name: string;
  /** Ready-event counts of the calls that returned some. */
  ready: LogBucket[];
  /** Calls that returned nothing (timeout) or failed (EINTR). */
  empty: number;
}

export interface SkeletonTrace {
  elapsedNs: number;
  /** Every thread id traced: seeded from /proc plus those forked or cloned during the window. */
  tracked: number[];
  syscalls: SyscallCount[];
  io: IoObservation[];
  files: FileAccessObservation[];
  readiness: ReadinessObservation[];
  accepts: { tid: number; ok: number; failed: number }[];
  /** futex operations (op without the private and clock flags: 0 WAIT, 1 WAKE, 9 WAIT_BITSET, ...). */
  futex: { tid: number; op: number; count: number }[];
  /** Context switches away from a thread by state: 0 preempted (runnable), 1 sleeping, 2 uninterruptible. */
  switches: { tid: number; state: number; count: number }[];
  /** Wake-ups of one traced thread by another: hand-offs inside the service. */
  wakeups: { waker: number; wakee: number; count: number }[];
  forks: { parent: number; child: number }[];
  exits: number[];
}

function malformed(detail: string): DittoError {
  return new DittoError('DITTO_TOOL_FAILED', `bpftrace printed unexpected JSON: ${detail}`, {
    hint: 'ditto expects bpftrace 0.17 or newer with -f json',
  });
}

function isBuckets(value: unknown): value is LogBucket[] {
  return (
    Array.isArray(value) &&
    value.every((b) => typeof b === 'object' && b !== null && 'min' in b && 'max' in b && 'count' in b)
  );
}

/** Parses every line of bpftrace's JSON output; non-JSON lines (bpftrace's own chatter) are ignored. */
export function parseBpftraceJson(stdout: string): RawBpftraceOutput {
  const out: RawBpftraceOutput = { maps: new Map(), hists: new Map(), attachedProbes: undefined };
  for (const line of stdout.split('\n')) {
    const text = line.trim();
    if (!text.startsWith('{')) continue;
    let record: { type?: unknown; data?: unknown };
    try {
      record = JSON.parse(text);
    } catch {
      throw malformed(`a line is not JSON: ${text.slice(0, 80)}`);
    }
    const data = record.data;
    if (record.type === 'attached_probes') {
      const probes = (data as { probes?: unknown } | undefined)?.probes;
      if (typeof probes === 'number') out.attachedProbes = probes;
      continue;
    }
    if (record.type !== 'map' && record.type !== 'hist') continue;
    if (typeof data !== 'object' || data === null) throw malformed(`${String(record.type)} without data`);
    for (const [name, value] of Object.entries(data)) {
      if (record.type === 'hist') {
        const keyed = isBuckets(value) ? { '': value } : value;
        if (typeof keyed !== 'object' || keyed === null) throw malformed(`hist ${name}`);
        const entries = new Map<string, LogBucket[]>();
        for (const [key, buckets] of Object.entries(keyed)) {
          if (!isBuckets(buckets)) throw malformed(`hist ${name}[${key}]`);
          entries.set(key, buckets);
        }
        out.hists.set(name, entries);
      } else {
        const keyed = typeof value === 'number' ? { '': value } : value;
        if (typeof keyed !== 'object' || keyed === null) throw malformed(`map ${name}`);
        const entries = new Map<string, number>();
        for (const [key, n] of Object.entries(keyed)) {
          if (typeof n !== 'number') throw malformed(`map ${name}[${key}] is not a number`);
          entries.set(key, n);
        }
        out.maps.set(name, entries);
      }
    }
  }
  return out;
}

function keyParts(key: string, size: number, what: string): number[] {
  const parts = key.split(',').map(Number);
  if (parts.length !== size || parts.some((n) => !Number.isInteger(n))) {
    throw malformed(`${what} key "${key}" is not ${size} integers`);
  }
  return parts;
}

const kindOfCode = new Map<number, FdKind>(
  Object.entries(fdKindCodes).map(([kind, code]) => [code, kind as FdKind]),
);

function kindName(code: number): FdKind {
  const kind = kindOfCode.get(code);
  if (!kind) throw malformed(`fd kind code ${code}`);
  return kind;
}

const bucketTotal = (buckets: readonly LogBucket[]) => buckets.reduce((n, b) => n + b.count, 0);

/** Drops the empty buckets bpftrace prints between filled ones. */
const nonEmpty = (buckets: readonly LogBucket[]) => buckets.filter((b) => b.count > 0);

/** Turns the skeleton script's output into observations. */
export function parseSkeletonTrace(stdout: string): SkeletonTrace {
  const raw = parseBpftraceJson(stdout);
  const map = (name: string) => raw.maps.get(`@${name}`) ?? new Map<string, number>();
  const hist = (name: string) => raw.hists.get(`@${name}`) ?? new Map<string, LogBucket[]>();
  const elapsed = map('elapsed_ns').get('');
  if (elapsed === undefined) {
    throw new DittoError('DITTO_TOOL_FAILED', 'bpftrace printed no maps (it was killed before it could)', {
      hint: 'stop bpftrace with SIGINT and give it a few seconds',
    });
  }

  const syscalls = [...map('sc')].map(([key, count]) => {
    const [pid, tid, id] = keyParts(key, 3, '@sc') as [number, number, number];
    return { pid, tid, name: syscallName(id), count };
  });

  const ioKeys = new Set([...hist('io_ret').keys(), ...map('io_err').keys()]);
  const io = [...ioKeys].map((key): IoObservation => {
    const [tid, id, kind] = keyParts(key, 3, '@io') as [number, number, number];
    const returned = nonEmpty(hist('io_ret').get(key) ?? []);
    const requested = hist('io_req').get(key);
    return {
      tid,
      name: syscallName(id),
      kind: kindName(kind),
      requested: requested ? nonEmpty(requested) : null,
      returned,
      calls: bucketTotal(returned),
      bytes: map('io_bytes').get(key) ?? 0,
      errors: map('io_err').get(key) ?? 0,
    };
  });

  const fileKeys = new Set([...map('f_seq').keys(), ...map('f_rand').keys()]);
  const files = [...fileKeys].map((key): FileAccessObservation => {
    const [tid, id] = keyParts(key, 2, '@f_seq') as [number, number];
    return {
      tid,
      name: syscallName(id),
      sequential: map('f_seq').get(key) ?? 0,
      random: map('f_rand').get(key) ?? 0,
      extending: map('f_ext').get(key) ?? 0,
      offsets: nonEmpty(hist('f_off').get(key) ?? []),
      maxFileSize: map('f_size').get(key) ?? 0,
    };
  });

  const readyKeys = new Set([...hist('ready').keys(), ...map('ready_none').keys()]);
  const readiness = [...readyKeys].map((key): ReadinessObservation => {
    const [tid, id] = keyParts(key, 2, '@ready') as [number, number];
    return {
      tid,
      name: syscallName(id),
      ready: nonEmpty(hist('ready').get(key) ?? []),
      empty: map('ready_none').get(key) ?? 0,
    };
  });

  const acceptTids = new Set([...map('accepted').keys(), ...map('accept_fail').keys()]);
  const accepts = [...acceptTids].map((key) => ({
    tid: keyParts(key, 1, '@accepted')[0] as number,
    ok: map('accepted').get(key) ?? 0,
    failed: map('accept_fail').get(key) ?? 0,
  }));

  const pairs = <A extends string, B extends string>(name: string, a: A, b: B) =>
    [...map(name)].map(([key, count]) => {
      const [x, y] = keyParts(key, 2, `@${name}`) as [number, number];
      return { [a]: x, [b]: y, count } as Record<A | B | 'count', number>;
    });

  return {
    elapsedNs: elapsed,
    tracked: [...map('track').keys()].map((k) => keyParts(k, 1, '@track')[0] as number).sort((x, y) => x - y),
    syscalls,
    io,
    files,
    readiness,
    accepts,
    futex: pairs('futex', 'tid', 'op'),
    switches: pairs('sw', 'tid', 'state'),
    wakeups: pairs('wake', 'waker', 'wakee'),
    forks: pairs('fork', 'parent', 'child').map(({ parent, child }) => ({ parent, child })),
    exits: [...map('exit').keys()].map((k) => keyParts(k, 1, '@exit')[0] as number),
  };
}
