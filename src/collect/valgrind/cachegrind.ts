// Reads the totals of a cachegrind (or callgrind) output file: the `events:` names and the `summary:`/`totals:`
// counts in the same order, plus the simulated cache geometry from the `desc:` lines (pure).
import { DittoError } from '../../errors.ts';

export interface CacheLevelDesc {
  sizeBytes: number;
  lineBytes: number;
  assoc: number;
}

export interface CostSummary {
  /** Event name → total count (e.g. Ir, I1mr, D1mr, DLmw, Bc, Bcm): the `totals:` line, else the `summary:` line. */
  totals: Record<string, number>;
  /** The `summary:` line alone (the tool's own counters), when the file has one. */
  summary?: Record<string, number>;
  /** Simulated caches as the tool reports them ("I1", "D1", "LL"). */
  caches: Record<string, CacheLevelDesc>;
}

export function parseCostSummary(text: string, what = 'valgrind output'): CostSummary {
  let events: string[] | undefined;
  let counts: number[] | undefined;
  let summaryCounts: number[] | undefined;
  const caches: Record<string, CacheLevelDesc> = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('events:')) events = line.slice(7).trim().split(/\s+/);
    // A file can carry both; summary: comes first and totals: (the sum of the cost lines) repeats it.
    else if (line.startsWith('summary:') || line.startsWith('totals:')) {
      counts = line
        .slice(line.indexOf(':') + 1)
        .trim()
        .split(/\s+/)
        .map(Number);
      if (line.startsWith('summary:')) summaryCounts = counts;
    } else if (line.startsWith('desc:')) {
      const m =
        /^desc:\s+(\w+) cache:\s+([\d,]+) B, (\d+) B, (?:(\d+)-way associative|direct-mapped|fully associative)/.exec(
          line,
        );
      if (m) {
        const sizeBytes = Number((m[2] ?? '').replaceAll(',', ''));
        const lineBytes = Number(m[3]);
        caches[m[1] ?? ''] = {
          sizeBytes,
          lineBytes,
          assoc: m[4] ? Number(m[4]) : line.includes('direct-mapped') ? 1 : sizeBytes / lineBytes,
        };
      }
    }
  }
  if (!events || !counts) {
    throw new DittoError('DITTO_TOOL_FAILED', `${what} has no events:/summary: lines`, {
      hint: 'the file is empty or truncated; stop valgrind with SIGTERM, never SIGKILL',
    });
  }
  if (counts.some((v) => !Number.isFinite(v))) {
    throw new DittoError('DITTO_TOOL_FAILED', `${what} has a malformed summary line`);
  }
  // Trailing zero counts are left out of a line.
  const byEvent = (values: number[]) => Object.fromEntries(events.map((name, i) => [name, values[i] ?? 0]));
  return { totals: byEvent(counts), ...(summaryCounts ? { summary: byEvent(summaryCounts) } : {}), caches };
}
