// Parsers of /proc/PID/task/TID/{stat,schedstat,status,io} and of /proc/PID/fd link targets (pure).
import { DittoError } from '../../errors.ts';

export interface TaskCounters {
  /** CPU time in clock ticks (USER_HZ, 100 per second here): coarse, used only to split run time. */
  utimeTicks: number;
  stimeTicks: number;
  /** From schedstat: time on CPU and waiting on a run queue (ns), and the number of time slices. */
  runNs: number;
  waitNs: number;
  slices: number;
  voluntarySwitches: number;
  involuntarySwitches: number;
  /** From io: bytes through read()/write()-style calls (not sendmsg/sendto), and their call counts. */
  rchar: number;
  wchar: number;
  syscr: number;
  syscw: number;
  /** Block-device bytes. */
  readBytes: number;
  writeBytes: number;
}

export interface TaskSample extends TaskCounters {
  pid: number;
  tid: number;
  /** The thread's name: used transiently to group threads, never written to an artifact. */
  comm: string;
}

function bad(file: string, detail: string): DittoError {
  return new DittoError('DITTO_TOOL_FAILED', `unexpected /proc format in ${file}: ${detail}`);
}

function int(text: string | undefined, file: string, field: string): number {
  const n = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(n)) throw bad(file, `${field} is "${text}"`);
  return n;
}

/** stat: "tid (comm) S ppid ..."; comm may hold spaces and parentheses, so fields count from the last ')'. */
export function parseStat(text: string): {
  state: string;
  ppid: number;
  utimeTicks: number;
  stimeTicks: number;
} {
  const close = text.lastIndexOf(')');
  if (close < 0) throw bad('stat', 'no ")"');
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return {
    state: fields[0] ?? '',
    ppid: int(fields[1], 'stat', 'ppid'),
    utimeTicks: int(fields[11], 'stat', 'utime'),
    stimeTicks: int(fields[12], 'stat', 'stime'),
  };
}

export function parseSchedstat(text: string): { runNs: number; waitNs: number; slices: number } {
  const [run, wait, slices] = text.trim().split(/\s+/);
  return {
    runNs: int(run, 'schedstat', 'run'),
    waitNs: int(wait, 'schedstat', 'wait'),
    slices: int(slices, 'schedstat', 'slices'),
  };
}

function keyValues(text: string, separator: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(separator);
    if (at > 0) out.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return out;
}

export function parseStatus(text: string): { voluntarySwitches: number; involuntarySwitches: number } {
  const kv = keyValues(text, ':');
  return {
    voluntarySwitches: int(kv.get('voluntary_ctxt_switches'), 'status', 'voluntary_ctxt_switches'),
    involuntarySwitches: int(kv.get('nonvoluntary_ctxt_switches'), 'status', 'nonvoluntary_ctxt_switches'),
  };
}

export function parseIo(
  text: string,
): Pick<TaskCounters, 'rchar' | 'wchar' | 'syscr' | 'syscw' | 'readBytes' | 'writeBytes'> {
  const kv = keyValues(text, ':');
  return {
    rchar: int(kv.get('rchar'), 'io', 'rchar'),
    wchar: int(kv.get('wchar'), 'io', 'wchar'),
    syscr: int(kv.get('syscr'), 'io', 'syscr'),
    syscw: int(kv.get('syscw'), 'io', 'syscw'),
    readBytes: int(kv.get('read_bytes'), 'io', 'read_bytes'),
    writeBytes: int(kv.get('write_bytes'), 'io', 'write_bytes'),
  };
}

/**
 * The syscall a thread is blocked in, from /proc/PID/task/TID/syscall ("230 0x1 …"): its number, or undefined when
 * the thread runs ("running") or waits outside a syscall ("-1 …").
 */
export function parseBlockedSyscall(text: string): number | undefined {
  const first = text.trim().split(/\s+/)[0] ?? '';
  return /^\d+$/.test(first) ? Number(first) : undefined;
}

export const fdTargetKinds = ['socket', 'file', 'pipe', 'event', 'other'] as const;
export type FdTargetKind = (typeof fdTargetKinds)[number];

/**
 * Kind of an open fd from its /proc/PID/fd link target ("socket:[123]", "pipe:[4]", "anon_inode:[eventfd]",
 * "/path") and whether the path is a regular file (directories and devices are "other").
 */
export function fdTargetKind(target: string, regularFile: boolean): FdTargetKind {
  if (target.startsWith('socket:')) return 'socket';
  if (target.startsWith('pipe:')) return 'pipe';
  if (target.startsWith('anon_inode:')) return 'event';
  if (target.startsWith('/') && regularFile) return 'file';
  return 'other';
}

export type FdKindCounts = Record<FdTargetKind, number>;

export function countFdKinds(kinds: readonly FdTargetKind[]): FdKindCounts {
  const counts: FdKindCounts = { socket: 0, file: 0, pipe: 0, event: 0, other: 0 };
  for (const kind of kinds) counts[kind]++;
  return counts;
}

/** Files mapped executable in a /proc/PID/maps text: the binary and the libraries a process runs. */
export function executableMappings(maps: string): string[] {
  const files = new Set<string>();
  for (const line of maps.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const perms = fields[1] ?? '';
    const path = fields.slice(5).join(' ');
    if (perms.includes('x') && path.startsWith('/')) files.add(path.replace(/ \(deleted\)$/, ''));
  }
  return [...files].sort();
}
