// OTLP JSON: {"resourceSpans":[…]} (also as NDJSON, one object per line, as the collector's file exporter
// writes it) and the older Tempo/Jaeger layout {"batches":[…]} with scopeSpans or instrumentationLibrarySpans.
// One unit per resource; ids may be hex (the spec) or base64 (protobuf JSON mappings).
import type { JsonUnit } from '../json-stream.ts';
import { type Attributes, applyAttributes, parseKind, type Span } from '../span.ts';
import { isObject, type JsonTraceReader, pathText, type ReportBad, type SpanSink, str } from './types.ts';

/** Lower-case hex id, or undefined when the text is neither hex nor base64 of 8 or 16 bytes. */
export function normalizeId(raw: string): string | undefined {
  if (/^[0-9a-fA-F]+$/.test(raw) && (raw.length === 16 || raw.length === 32)) return raw.toLowerCase();
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(raw)) {
    const bytes = Buffer.from(raw, 'base64');
    if (bytes.length === 8 || bytes.length === 16) return bytes.toString('hex');
  }
  return undefined;
}

function anyValue(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  for (const key of ['stringValue', 'intValue', 'doubleValue', 'boolValue']) {
    if (value[key] !== undefined) return String(value[key]);
  }
  return undefined;
}

function attributes(list: unknown): Attributes {
  const attrs: Attributes = new Map();
  if (!Array.isArray(list)) return attrs;
  for (const item of list) {
    if (!isObject(item) || typeof item.key !== 'string') continue;
    const value = anyValue(item.value);
    if (value !== undefined) attrs.set(item.key, value);
  }
  return attrs;
}

/** Nanoseconds (decimal string or number) → microseconds. */
function micros(value: unknown): number {
  const text = str(value);
  if (!text) return 0;
  // Split off the last three digits so the integer part stays exact in a double.
  return text.length > 3 ? Number(text.slice(0, -3)) + Number(text.slice(-3)) / 1000 : Number(text) / 1000;
}

function toSpan(
  raw: unknown,
  service: string,
  where: string,
  offset: number,
  bad: ReportBad,
): Span | undefined {
  if (!isObject(raw)) return void bad('a span is not an object', offset, where);
  const rawTrace = str(raw.traceId);
  const rawSpan = str(raw.spanId);
  if (!rawTrace || !rawSpan) return void bad('span has no traceId/spanId', offset, where);
  const traceId = normalizeId(rawTrace);
  const spanId = normalizeId(rawSpan);
  if (!traceId || !spanId) {
    return void bad(`span id '${rawSpan}' / trace id '${rawTrace}' is neither hex nor base64`, offset, where);
  }
  const start = micros(raw.startTimeUnixNano);
  const span: Span = {
    traceId,
    spanId,
    service,
    name: str(raw.name) ?? '',
    kind: parseKind(raw.kind),
    startUs: start,
    durationUs: Math.max(0, micros(raw.endTimeUnixNano) - start),
  };
  const parent = str(raw.parentSpanId);
  if (parent) {
    const parentId = normalizeId(parent);
    if (!parentId) return void bad(`parentSpanId '${parent}' is neither hex nor base64`, offset, where);
    span.parentId = parentId;
  }
  if (Array.isArray(raw.links) && raw.links.length > 0) {
    const links: string[] = [];
    let foreign = 0;
    for (const link of raw.links) {
      if (!isObject(link)) continue;
      const linkTrace = normalizeId(str(link.traceId) ?? '');
      const linkSpan = normalizeId(str(link.spanId) ?? '');
      if (linkTrace === traceId && linkSpan) links.push(linkSpan);
      else foreign++;
    }
    if (links.length) span.links = links;
    if (foreign) span.foreignLinks = foreign;
  }
  const attrs = attributes(raw.attributes);
  if (isObject(raw.status) && (raw.status.code === 2 || raw.status.code === 'STATUS_CODE_ERROR')) {
    span.error = true;
  }
  applyAttributes(span, attrs);
  return span;
}

export function otlpReader(sink: SpanSink, bad: ReportBad): JsonTraceReader {
  return {
    matcher(path) {
      if (path.length === 0) return 'descend';
      const [first] = path;
      if (path.length === 1) return first === 'resourceSpans' || first === 'batches' ? 'descend' : 'skip';
      return path.length === 2 ? 'capture' : 'skip';
    },
    unit(unit: JsonUnit) {
      const where = pathText(unit.path);
      const resourceSpans = unit.value;
      if (!isObject(resourceSpans)) {
        bad('a resourceSpans entry is not an object', unit.offset, where);
        return 0;
      }
      const resource = isObject(resourceSpans.resource) ? resourceSpans.resource : {};
      const service = attributes(resource.attributes).get('service.name') ?? 'unknown_service';
      const scopes = resourceSpans.scopeSpans ?? resourceSpans.instrumentationLibrarySpans;
      const spans: Span[] = [];
      if (!Array.isArray(scopes)) {
        bad('resourceSpans entry has neither scopeSpans nor instrumentationLibrarySpans', unit.offset, where);
        return 0;
      }
      scopes.forEach((scope, s) => {
        if (!isObject(scope) || !Array.isArray(scope.spans)) return;
        scope.spans.forEach((raw, i) => {
          const span = toSpan(raw, service, `${where}.scopeSpans[${s}].spans[${i}]`, unit.offset, bad);
          if (span) spans.push(span);
        });
      });
      sink.addSpans(spans);
      return spans.length;
    },
    end: () => 0,
  };
}
