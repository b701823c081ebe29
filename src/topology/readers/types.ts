// What every reader gets: where to put spans, and how to report a record it cannot read.
import type { Issues } from '../graph/issues.ts';
import type { JsonPath, JsonUnit, UnitMatcher } from '../json-stream.ts';
import type { Span } from '../span.ts';

export interface SpanSink {
  /** A whole trace (all of its spans). */
  addTrace(spans: Span[]): void;
  /** Loose spans of any traces. */
  addSpans(spans: Span[]): void;
  /** Where a reader counts records that are readable but carry nothing for the graph. */
  readonly issues: Issues;
}

/** Reports an unreadable record at a byte offset and JSON path (or CSV line). Throws unless --lenient. */
export type ReportBad = (message: string, offset: number, where: string) => void;

export interface JsonTraceReader {
  matcher: UnitMatcher;
  /** Handles one captured unit; returns the number of spans it produced. */
  unit(unit: JsonUnit): number;
  /** Flushes what the reader still holds; returns the number of spans. */
  end(): number;
}

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

export function num(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

export function pathText(path: JsonPath, ...more: (string | number)[]): string {
  let out = '';
  for (const part of [...path, ...more])
    out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out;
}
