// A generic span table: one row per span, columns named by a mapping (`--columns traceId=TraceID,…`) or
// recognised from common header names (e.g. the Nezha exports: TraceID,SpanID,ParentID,PodName,…).
import { DittoError } from '../../errors.ts';
import { parseKind, type Span } from '../span.ts';
import type { CsvTraceReader } from './csv-line.ts';
import type { ReportBad, SpanSink } from './types.ts';

export const spanColumns = [
  'traceId',
  'spanId',
  'parentId',
  'service',
  'pod',
  'name',
  'start',
  'end',
  'duration',
  'kind',
] as const;
export type SpanColumn = (typeof spanColumns)[number];
export type ColumnMapping = Partial<Record<SpanColumn, string>>;

const aliases: Record<SpanColumn, string[]> = {
  traceId: ['traceid', 'trace_id'],
  spanId: ['spanid', 'span_id', 'id'],
  parentId: ['parentid', 'parent_id', 'parentspanid', 'parent_span_id', 'parent'],
  service: ['service', 'servicename', 'service_name', 'service.name'],
  pod: ['podname', 'pod', 'pod_name'],
  name: ['operationname', 'operation_name', 'operation', 'name', 'spanname', 'span_name'],
  start: ['starttimeunixnano', 'starttime', 'start_time', 'start', 'timestamp', 'starttimeunixmicro'],
  end: ['endtimeunixnano', 'endtime', 'end_time', 'end'],
  duration: ['duration', 'duration_us', 'durationus'],
  kind: ['kind', 'spankind', 'span_kind', 'span.kind'],
};

const noParent = new Set(['', 'root', '0', '-1', 'null', 'none', 'nan']);

/** `traceId=TraceID,spanId=SpanID` → mapping; names the bad part. */
export function parseColumnMapping(text: string): ColumnMapping {
  const mapping: ColumnMapping = {};
  for (const part of text.split(',')) {
    const [key, column] = part.split('=').map((s) => s.trim());
    if (!key || !column || !(spanColumns as readonly string[]).includes(key)) {
      throw new DittoError('DITTO_USAGE', `--columns: cannot read '${part}'`, {
        hint: `use field=Column pairs; fields: ${spanColumns.join(', ')}`,
      });
    }
    mapping[key as SpanColumn] = column;
  }
  return mapping;
}

/** Column index per field from the header, the explicit mapping first. */
export function resolveColumns(
  header: string[],
  mapping: ColumnMapping,
): Partial<Record<SpanColumn, number>> {
  const lower = header.map((h) => h.trim().toLowerCase());
  const index: Partial<Record<SpanColumn, number>> = {};
  for (const field of spanColumns) {
    const explicit = mapping[field];
    const at = explicit
      ? lower.indexOf(explicit.toLowerCase())
      : lower.findIndex((h) => aliases[field].includes(h));
    if (at >= 0) index[field] = at;
    else if (explicit) {
      throw new DittoError('DITTO_USAGE', `--columns: no column '${explicit}' in the header`, {
        hint: `the header has: ${header.join(', ')}`,
      });
    }
  }
  return index;
}

/** Microseconds from an epoch timestamp in s, ms, µs or ns, told apart by magnitude. */
export function toMicros(value: number): number {
  if (value > 1e17) return value / 1000;
  if (value > 1e14) return value;
  if (value > 1e11) return value * 1000;
  return value * 1e6;
}

/** A Kubernetes pod name without its ReplicaSet hash and pod suffix (cart-7d5c9-x2x4z → cart). */
export function serviceOfPod(pod: string): string {
  const parts = pod.split('-');
  return parts.length > 2 ? parts.slice(0, -2).join('-') : pod;
}

export function spanCsvReader(
  header: string[],
  mapping: ColumnMapping,
  sink: SpanSink,
  bad: ReportBad,
  file: string,
): CsvTraceReader {
  const at = resolveColumns(header, mapping);
  const missing = (['traceId', 'spanId', 'name'] as const).filter((f) => at[f] === undefined);
  if (at.service === undefined && at.pod === undefined) missing.push('service' as never);
  if (at.start === undefined) missing.push('start' as never);
  if (missing.length > 0) {
    throw new DittoError('DITTO_TRACE_INVALID', `${file}:1: span CSV header lacks ${missing.join(', ')}`, {
      hint: `map them with --columns, e.g. --columns traceId=…,spanId=…,parentId=…,service=…,name=…,start=…,end=…`,
    });
  }
  const get = (fields: string[], f: SpanColumn) => (at[f] === undefined ? undefined : fields[at[f]]?.trim());
  return {
    row(fields, line) {
      const traceId = get(fields, 'traceId');
      const spanId = get(fields, 'spanId');
      const startRaw = Number(get(fields, 'start'));
      if (!traceId || !spanId || !Number.isFinite(startRaw)) {
        bad('row lacks a trace id, span id or numeric start time', 0, `line ${line}`);
        return 0;
      }
      const start = toMicros(startRaw);
      const endRaw = Number(get(fields, 'end'));
      const durationRaw = Number(get(fields, 'duration'));
      const durationUs = Number.isFinite(endRaw)
        ? Math.max(0, toMicros(endRaw) - start)
        : Number.isFinite(durationRaw)
          ? durationRaw
          : 0;
      const pod = get(fields, 'pod');
      const span: Span = {
        traceId,
        spanId,
        service: get(fields, 'service') || (pod ? serviceOfPod(pod) : 'unknown'),
        name: get(fields, 'name') ?? '',
        kind: parseKind(get(fields, 'kind')),
        startUs: start,
        durationUs,
      };
      const parent = get(fields, 'parentId');
      if (parent && !noParent.has(parent.toLowerCase())) span.parentId = parent;
      sink.addSpans([span]);
      return 1;
    },
    end: () => 0,
  };
}
