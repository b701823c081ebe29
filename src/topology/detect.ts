// Which trace format a file holds, from its first bytes. Pure.

import { isAlibabaHeader } from './readers/alibaba.ts';
import { splitCsvLine } from './readers/csv-line.ts';
import { resolveColumns } from './readers/span-csv.ts';

export const traceFormats = ['jaeger', 'zipkin', 'otlp', 'alibaba', 'csv'] as const;
export type TraceFormat = (typeof traceFormats)[number];

export function detectFormat(head: string): TraceFormat | undefined {
  const text = head.replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('{') || text.startsWith('[')) {
    if (/"(resourceSpans|batches|scopeSpans|instrumentationLibrarySpans)"\s*:/.test(text)) return 'otlp';
    if (/"(traceID|spanID|operationName|processID)"\s*:/.test(text)) return 'jaeger';
    if (/"traceId"\s*:/.test(text) && /"(id|localEndpoint|remoteEndpoint)"\s*:/.test(text)) return 'zipkin';
    return undefined;
  }
  const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
  if (!firstLine.includes(',')) return undefined;
  const header = splitCsvLine(firstLine);
  if (isAlibabaHeader(header)) return 'alibaba';
  const columns = resolveColumns(header, {});
  if (columns.traceId !== undefined && columns.spanId !== undefined) return 'csv';
  return undefined;
}
