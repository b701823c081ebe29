// Zipkin v2 JSON: a list of spans (or a list of traces, each a list of spans), one unit per span.
import type { JsonUnit } from '../json-stream.ts';
import { type Attributes, applyAttributes, parseKind, type Span } from '../span.ts';
import {
  isObject,
  type JsonTraceReader,
  num,
  pathText,
  type ReportBad,
  type SpanSink,
  str,
} from './types.ts';

function toSpan(raw: unknown, where: string, offset: number, bad: ReportBad): Span | undefined {
  if (!isObject(raw)) return void bad('a span is not an object', offset, where);
  const traceId = str(raw.traceId);
  const spanId = str(raw.id);
  if (!traceId || !spanId)
    return void bad('span has no traceId/id (is this a Zipkin v2 file?)', offset, where);
  const local = isObject(raw.localEndpoint) ? raw.localEndpoint : {};
  const remote = isObject(raw.remoteEndpoint) ? raw.remoteEndpoint : undefined;
  const span: Span = {
    // Zipkin ids are hex of varying case and length; the lower-case form joins parent and child.
    traceId: traceId.toLowerCase(),
    spanId: spanId.toLowerCase(),
    service: str(local.serviceName) ?? 'unknown',
    name: str(raw.name) ?? '',
    kind: parseKind(raw.kind),
    startUs: num(raw.timestamp) ?? 0,
    durationUs: num(raw.duration) ?? 0,
  };
  const parentId = str(raw.parentId);
  if (parentId) span.parentId = parentId.toLowerCase();
  if (raw.shared === true) span.shared = true;
  const remoteName = remote ? str(remote.serviceName) : undefined;
  if (remoteName) {
    span.peer = remoteName;
    span.peerKind = span.kind === 'producer' || span.kind === 'consumer' ? 'messaging' : 'peer';
  }
  const attrs: Attributes = new Map();
  if (isObject(raw.tags)) for (const [k, v] of Object.entries(raw.tags)) attrs.set(k, String(v));
  applyAttributes(span, attrs);
  return span;
}

export function zipkinReader(sink: SpanSink, bad: ReportBad): JsonTraceReader {
  return {
    matcher(path, first) {
      if (path.length === 0) return 'descend';
      if (path.length === 1) return first === 0x5b ? 'descend' : 'capture';
      return path.length === 2 ? 'capture' : 'skip';
    },
    unit(unit: JsonUnit) {
      const span = toSpan(unit.value, pathText(unit.path), unit.offset, bad);
      if (!span) return 0;
      sink.addSpans([span]);
      return 1;
    },
    end: () => 0,
  };
}
