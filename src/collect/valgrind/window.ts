// Pure helpers for one measured callgrind window of a service that may run as several processes (a master and the
// workers it forked, each writing its own dump): summing the dumps' totals, refusing a window that holds no work or
// costs from before it, and reading the credentials a process runs under (nginx workers switch to `nobody`).
import { DittoError } from '../../errors.ts';
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
  const differs = Object.entries(totals).some(
    ([event, t]) => Math.abs(t - (summary[event] ?? 0)) > Math.max(2, 1e-4 * t),
  );
  if (!differs) return;
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
