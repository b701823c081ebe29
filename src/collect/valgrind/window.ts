// Pure helpers for one measured callgrind window of a service that may run as several processes (a master and the
// workers it forked, each writing its own dump): summing the dumps' totals, refusing a window that holds no work or
// costs from before it, and reading the credentials a process runs under (nginx workers switch to `nobody`).
import { DittoError } from '../../errors.ts';
import { acceptCalls, readinessCalls, receiveCalls, sendCalls } from '../bpftrace/script.ts';
import type { CostSummary } from './cachegrind.ts';

/** Below this many guest instructions per request the window missed the processes that did the work. */
export const minInstructionsPerRequest = 100;

/** Event totals summed over the dumps of one window (one per process). */
export function sumCostTotals(totals: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of totals) {
    for (const [event, value] of Object.entries(t)) out[event] = (out[event] ?? 0) + value;
  }
  return out;
}

/** Throws instead of letting a window without instructions become a CPU body of zeros. */
export function checkWindowWork(
  service: string,
  window: { instructions: number; requests: number; processes: number },
): void {
  const { instructions, requests, processes } = window;
  if (instructions >= minInstructionsPerRequest * requests) return;
  const perRequest = requests > 0 ? Math.round(instructions / requests) : 0;
  throw new DittoError(
    'DITTO_TOOL_FAILED',
    `the callgrind window of ${service} holds ${instructions} instructions for ${requests} requests ` +
      `(${perRequest} per request, summed over ${processes} process${processes === 1 ? '' : 'es'})`,
    {
      hint:
        'the requests were served by a process callgrind did not measure: a child started with exec (not ' +
        'fork), a process that exited before the dump, or a load client that reached another server',
    },
  );
}

/**
 * Throws when a dump's cost lines (`totals:`, their sum) count more than callgrind's own counters (`summary:`): the
 * window then holds costs from before it, as it did when PLT stubs' costs outlived `callgrind_control -z`.
 */
export function checkDumpZeroed(cost: CostSummary, what: string): void {
  const { summary, totals } = cost;
  if (!summary) return;
  // Only an excess counts: a thread dumped while blocked in a call can have a few instructions in its summary that
  // no cost line holds yet (memcached's clone: a background thread's 677 against 670).
  const exceeds = Object.entries(totals).some(
    ([event, t]) => t - (summary[event] ?? 0) > Math.max(2, 1e-4 * t),
  );
  if (!exceeds) return;
  throw new DittoError(
    'DITTO_TOOL_FAILED',
    `${what}: its cost lines sum to more than its summary (totals: ${Object.values(totals).join(' ')}; summary: ${Object.values(summary).join(' ')})`,
    {
      hint: 'the counters were not fully zeroed before the window: zero them with a dump (callgrind_control -d)',
    },
  );
}

/** Effective uid and gid from the text of /proc/PID/status (`Uid:` / `Gid:` list real, effective, saved, fs). */
export function effectiveIds(statusText: string): { uid: number; gid: number } {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+\\d+\\s+(\\d+)`, 'm').exec(statusText);
    if (!m) throw new DittoError('DITTO_TOOL_FAILED', `/proc/PID/status has no ${name}: line`);
    return Number(m[1]);
  };
  return { uid: field('Uid'), gid: field('Gid') };
}

/**
 * A measured window follows windows of the same load until its instructions per request are within this share of
 * the window's before: what a service does right after its preload is not its steady state. memcached, 1-s windows
 * at 3000 req/s after a 10k-item preload: 3746, 3126, 3155, 3113, 3110 per request, the first raised by its LRU
 * maintainer thread sorting the fresh items (601 per request, then 40-85).
 */
export const settleTolerance = 0.03;

/** The window whose instructions per request, `current`, follow `previous` (undefined for the first) is steady. */
export function hasSettled(previous: number | undefined, current: number): boolean {
  return previous !== undefined && previous > 0 && Math.abs(current / previous - 1) <= settleTolerance;
}

/** What one thread's dump shows it calling: whether it serves requests, and how often it went to sleep. */
export interface ThreadCalls {
  /** It called a function that receives, sends or waits for requests on sockets. */
  serves: boolean;
  /** Calls into a sleep or wait function from code that is not one itself: the times it slept in the window. */
  waits: number;
}

/** Functions a thread that serves requests calls: the skeleton's socket and readiness calls as glibc names them
 * (without their `__libc_`/`__GI_` prefixes), and the other ways to receive and send. */
const requestFunctions = new Set<string>([
  ...readinessCalls,
  'pselect',
  ...acceptCalls,
  ...receiveCalls,
  ...sendCalls,
  'recv',
  'recvmmsg',
  'send',
  'sendmmsg',
  'sendfile',
  'sendfile64',
]);

/** Functions a background thread sleeps in between its wake-ups. */
const waitFunctions = new Set([
  'nanosleep',
  'clock_nanosleep',
  'usleep',
  'sleep',
  'pthread_cond_wait',
  'pthread_cond_timedwait',
  'pthread_cond_clockwait',
  'sem_wait',
  'sem_timedwait',
  'sem_clockwait',
]);

/** `__GI___poll`, `__libc_recv`, `clock_nanosleep@@GLIBC_2.17` → `poll`, `recv`, `clock_nanosleep`. */
export function baseFunctionName(name: string): string {
  return name
    .replace(/@.*$/, '')
    .replace(/^_+/, '')
    .replace(/^(?:libc_|GI_+)/, '')
    .replace(/^_+/, '');
}

/**
 * Scans a callgrind dump's call records (`fn=` caller, `cfn=` callee, `calls=` count; compressed names or not).
 * The names are read here only and never kept.
 */
export function threadCalls(text: string): ThreadCalls {
  const names = new Map<string, string>();
  const resolve = (value: string) => {
    const m = /^\((\d+)\)(?:\s+(.*))?$/.exec(value);
    if (!m) return value;
    const [, id = '', name] = m;
    if (name !== undefined) names.set(id, name);
    return name ?? names.get(id) ?? '';
  };
  let caller = '';
  let callee: string | undefined;
  let serves = false;
  let waits = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=')) caller = baseFunctionName(resolve(line.slice(3)));
    else if (line.startsWith('cfn=')) {
      callee = baseFunctionName(resolve(line.slice(4)));
      if (requestFunctions.has(callee)) serves = true;
    } else if (line.startsWith('calls=') && callee !== undefined) {
      if (waitFunctions.has(callee) && !waitFunctions.has(caller))
        waits += Number(line.slice(6).split(' ')[0]) || 0;
      callee = undefined;
    }
  }
  return { serves, waits };
}

/**
 * Splits a window's thread dumps into the threads that serve requests and the background threads. A service none
 * of whose threads shows a request function (its I/O out of callgrind's sight) has every thread counted as serving.
 */
export function splitThreads<T extends { calls: ThreadCalls }>(
  dumps: readonly T[],
): { serving: T[]; background: T[] } {
  const serving = dumps.filter((d) => d.calls.serves);
  if (serving.length === 0) return { serving: [...dumps], background: [] };
  return { serving, background: dumps.filter((d) => !d.calls.serves) };
}
