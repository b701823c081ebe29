// The normalized span every reader produces; the graph builder knows nothing about trace formats.

export type SpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal' | 'unknown';

export interface Span {
  traceId: string;
  spanId: string;
  /** The synchronous parent (CHILD_OF, parentId, parentSpanId). */
  parentId?: string;
  /** Parents to try in order when `parentId` is not in the trace (Alibaba: the caller's enclosing invocations). */
  parentFallbacks?: string[];
  /** The parent is a predecessor the span does not block (Jaeger FOLLOWS_FROM). */
  followsFrom?: boolean;
  /** Span ids (same trace) this span links to (OTLP links); cross-trace links are counted, not followed. */
  links?: string[];
  /** Links that point into another trace. */
  foreignLinks?: number;
  service: string;
  name: string;
  kind: SpanKind;
  /** Microseconds; only differences matter. */
  startUs: number;
  durationUs: number;
  /** The peer a client span talks to when it is not instrumented (remote endpoint, peer.service, db.system). */
  peer?: string;
  /** What kind of peer it is, for the virtual node. */
  peerKind?: 'database' | 'cache' | 'messaging' | 'peer';
  /** The span's own service is a stateful backend (Alibaba db / mc / mq rows name them). */
  role?: 'database' | 'cache' | 'messaging';
  rpcSystem?: string;
  requestBytes?: number;
  responseBytes?: number;
  error?: boolean;
  /** Zipkin B3: the SERVER half reuses the CLIENT half's id. */
  shared?: boolean;
}

/** A key/value view of span attributes, used by the readers to pull the few attributes ditto needs. */
export type Attributes = Map<string, string>;

const requestSizeKeys = [
  'request_size',
  'http.request.body.size',
  'http.request_content_length',
  'http.request_content_length_uncompressed',
  'messaging.message.body.size',
  'messaging.message_payload_size_bytes',
  'rpc.request.size',
];
const responseSizeKeys = [
  'response_size',
  'http.response.body.size',
  'http.response_content_length',
  'http.response_content_length_uncompressed',
  'rpc.response.size',
];
const peerKeys = ['peer.service', 'db.system', 'messaging.system', 'server.address', 'net.peer.name'];

function firstNumber(attrs: Attributes, keys: string[]): number | undefined {
  for (const key of keys) {
    const raw = attrs.get(key);
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  return undefined;
}

/** Fills peer, rpcSystem, payload sizes and error from attributes (OTel semconv and common tracer tags). */
export function applyAttributes(span: Span, attrs: Attributes): void {
  const request = firstNumber(attrs, requestSizeKeys);
  if (request !== undefined) span.requestBytes = request;
  const response = firstNumber(attrs, responseSizeKeys);
  if (response !== undefined) span.responseBytes = response;
  const rpc =
    attrs.get('rpc.system') ??
    attrs.get('messaging.system') ??
    attrs.get('db.system') ??
    (attrs.has('http.method') || attrs.has('http.request.method') ? 'http' : undefined);
  if (rpc) span.rpcSystem = rpc;
  if (span.peer === undefined) {
    for (const key of peerKeys) {
      const value = attrs.get(key);
      if (!value) continue;
      span.peer = value;
      span.peerKind = key === 'db.system' ? 'database' : key === 'messaging.system' ? 'messaging' : 'peer';
      break;
    }
  }
  const error = attrs.get('error');
  if (error === 'true' || attrs.get('otel.status_code') === 'ERROR') span.error = true;
}

const spanKinds: Record<string, SpanKind> = {
  server: 'server',
  client: 'client',
  producer: 'producer',
  consumer: 'consumer',
  internal: 'internal',
};

/** Reads "server", "SERVER", "SPAN_KIND_SERVER" or the OTLP integers 1..5. */
export function parseKind(raw: unknown): SpanKind {
  if (typeof raw === 'number') {
    return (['unknown', 'internal', 'server', 'client', 'producer', 'consumer'] as const)[raw] ?? 'unknown';
  }
  if (typeof raw !== 'string') return 'unknown';
  const name = raw.toLowerCase().replace(/^span_kind_/, '');
  return spanKinds[name] ?? (/^\d$/.test(name) ? parseKind(Number(name)) : 'unknown');
}
