// Jaeger UI / query-API JSON: {"data":[trace…]}, a bare trace object {traceID, spans, processes}, or an array of
// traces. Each trace is one unit; a bare trace is read span by span (its processes may come after its spans).
import type { JsonUnit } from '../json-stream.ts';
import { type Attributes, applyAttributes, parseKind, type Span } from '../span.ts';
import {
  isObject,
  type Json,
  type JsonTraceReader,
  num,
  pathText,
  type ReportBad,
  type SpanSink,
  str,
} from './types.ts';

function tagMap(tags: unknown): Attributes {
  const attrs: Attributes = new Map();
  if (!Array.isArray(tags)) return attrs;
  for (const tag of tags) {
    if (isObject(tag) && typeof tag.key === 'string') attrs.set(tag.key, String(tag.value));
  }
  return attrs;
}

function processNames(processes: unknown): Map<string, string> {
  const names = new Map<string, string>();
  if (!isObject(processes)) return names;
  for (const [id, process] of Object.entries(processes)) {
    if (isObject(process) && typeof process.serviceName === 'string') names.set(id, process.serviceName);
  }
  return names;
}

/** One Jaeger span; undefined (after reporting) when it cannot be used. */
function toSpan(
  raw: unknown,
  processes: Map<string, string>,
  where: string,
  offset: number,
  bad: ReportBad,
): Span | undefined {
  if (!isObject(raw)) return void bad('a span is not an object', offset, where);
  const traceId = str(raw.traceID);
  const spanId = str(raw.spanID);
  if (!traceId || !spanId) {
    return void bad('span has no traceID/spanID (is this a Jaeger file?)', offset, where);
  }
  const processId = str(raw.processID);
  const embedded = isObject(raw.process) ? str(raw.process.serviceName) : undefined;
  const service = embedded ?? (processId === undefined ? undefined : processes.get(processId));
  if (service === undefined) {
    return void bad(
      `span ${spanId}: processID '${processId}' is not in the trace's processes`,
      offset,
      where,
    );
  }
  const attrs = tagMap(raw.tags);
  const span: Span = {
    traceId,
    spanId,
    service,
    name: str(raw.operationName) ?? '',
    kind: parseKind(attrs.get('span.kind')),
    startUs: num(raw.startTime) ?? 0,
    durationUs: num(raw.duration) ?? 0,
  };
  const refs = Array.isArray(raw.references) ? raw.references.filter(isObject) : [];
  const childOf = refs.find((r) => r.refType === 'CHILD_OF');
  const parent = childOf ?? refs.find((r) => r.refType === 'FOLLOWS_FROM');
  if (parent) {
    span.parentId = str(parent.spanID);
    if (parent !== childOf) span.followsFrom = true;
  }
  const links = refs.filter((r) => r !== parent);
  if (links.length > 0) {
    span.links = links.filter((r) => str(r.traceID) === traceId).map((r) => str(r.spanID) ?? '');
    const foreign = links.length - span.links.length;
    if (foreign > 0) span.foreignLinks = foreign;
  }
  applyAttributes(span, attrs);
  return span;
}

function traceSpans(trace: Json, where: string, offset: number, bad: ReportBad): Span[] {
  const processes = processNames(trace.processes);
  const spans: Span[] = [];
  if (!Array.isArray(trace.spans)) {
    bad('trace has no spans array (is this a Jaeger file?)', offset, where);
    return spans;
  }
  trace.spans.forEach((raw, i) => {
    const span = toSpan(raw, processes, `${where}.spans[${i}]`, offset, bad);
    if (span) spans.push(span);
  });
  return spans;
}

export function jaegerReader(sink: SpanSink, bad: ReportBad): JsonTraceReader {
  // Bare trace: spans wait for the processes map.
  const bareSpans: { raw: unknown; where: string; offset: number }[] = [];
  let bareProcesses: unknown;
  return {
    matcher(path) {
      if (path.length === 0) return 'descend';
      const [first] = path;
      if (path.length === 1) {
        if (first === 'data' || first === 'spans') return 'descend';
        if (first === 'processes' || typeof first === 'number') return 'capture';
        return 'skip';
      }
      if (path.length === 2 && (first === 'data' || first === 'spans')) return 'capture';
      return 'skip';
    },
    unit(unit: JsonUnit) {
      const [first] = unit.path;
      if (first === 'spans') {
        bareSpans.push({ raw: unit.value, where: pathText(unit.path), offset: unit.offset });
        return 0;
      }
      if (first === 'processes') {
        bareProcesses = unit.value;
        return 0;
      }
      if (!isObject(unit.value)) {
        bad('a trace is not an object', unit.offset, pathText(unit.path));
        return 0;
      }
      const spans = traceSpans(unit.value, pathText(unit.path), unit.offset, bad);
      sink.addTrace(spans);
      return spans.length;
    },
    end() {
      if (bareSpans.length === 0) return 0;
      const processes = processNames(bareProcesses);
      const spans: Span[] = [];
      for (const { raw, where, offset } of bareSpans) {
        const span = toSpan(raw, processes, where, offset, bad);
        if (span) spans.push(span);
      }
      sink.addSpans(spans);
      return spans.length;
    },
  };
}
