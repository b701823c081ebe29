// Every real trace in ../shared/fixtures/traces parses, and its services and service edges match a plain
// parent-join on the raw file (an independent count), plus the known facts from SOURCES.md.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Topology } from '../../../src/artifacts/topology.ts';
import { topologySchema } from '../../../src/artifacts/topology.ts';
import { topologyFromTraces } from '../../../src/topology/from-traces.ts';

const traces = join(import.meta.dirname, '../../../../shared/fixtures/traces');
const absent = !existsSync(traces);

interface RawSpan {
  id: string;
  parent?: string;
  service: string;
  kind?: string;
  shared?: boolean;
  links?: string[];
}

/** Instrumented services and caller → callee service pairs by joining each span to its parent. */
function joinCounts(spans: RawSpan[]): { services: Set<string>; edges: Set<string> } {
  const byId = new Map<string, RawSpan[]>();
  for (const s of spans) byId.set(s.id, [...(byId.get(s.id) ?? []), s]);
  const services = new Set(spans.map((s) => s.service));
  const edges = new Set<string>();
  for (const s of spans) {
    const parentIds = [s.parent, ...(s.links ?? [])];
    for (const [i, pid] of parentIds.entries()) {
      let candidates = pid ? (byId.get(pid) ?? []) : [];
      // A shared-id SERVER half is called by the CLIENT half with its own id.
      const client = (byId.get(s.id) ?? []).filter((c) => c.kind === 'CLIENT');
      if (i === 0 && s.shared && client.length > 0) candidates = client;
      const parent =
        candidates.find((c) => c.service === s.service && c !== s) ??
        candidates.find((c) => c.kind === 'SERVER') ??
        candidates[0];
      if (parent && parent !== s && parent.service !== s.service)
        edges.add(`${parent.service}->${s.service}`);
    }
  }
  return { services, edges };
}

function graphCounts(t: Topology): { services: Set<string>; edges: Set<string> } {
  const real = new Set(t.services.filter((s) => !s.virtual).map((s) => s.name));
  const edges = new Set(
    t.serviceEdges
      .filter((e) => real.has(e.from) && real.has(e.to) && e.from !== e.to)
      .map((e) => `${e.from}->${e.to}`),
  );
  return { services: real, edges };
}

/** The few fields of the raw files the join reads; JSON.parse output is cast to these shapes. */
interface JaegerFile {
  data?: JaegerTrace[];
}
interface JaegerTrace {
  spans: { traceID: string; spanID: string; processID: string; references?: { spanID: string }[] }[];
  processes: Record<string, { serviceName: string }>;
}
interface ZipkinSpan {
  id: string;
  parentId?: string;
  kind?: string;
  shared?: boolean;
  localEndpoint?: { serviceName?: string };
}
interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}
interface OtlpSpan {
  spanId: string;
  parentSpanId?: string;
  links?: { spanId: string }[];
}
interface OtlpResourceSpans {
  resource: { attributes: OtlpAttribute[] };
  scopeSpans: { spans: OtlpSpan[] }[];
}
interface OtlpDocument {
  resourceSpans?: OtlpResourceSpans[];
  batches?: OtlpResourceSpans[];
}

function rawJaeger(text: string): RawSpan[] {
  const json = JSON.parse(text) as JaegerFile & JaegerTrace;
  const list = Array.isArray(json.data) ? json.data : [json];
  return list.flatMap((trace) =>
    trace.spans.map((s) => ({
      id: `${s.traceID}/${s.spanID}`,
      parent: s.references?.[0] ? `${s.traceID}/${s.references[0].spanID}` : undefined,
      service: trace.processes[s.processID]!.serviceName,
    })),
  );
}

function rawZipkin(text: string): RawSpan[] {
  return (JSON.parse(text) as ZipkinSpan[]).map((s) => ({
    id: s.id,
    parent: s.parentId,
    service: s.localEndpoint?.serviceName ?? 'unknown',
    kind: s.kind,
    shared: s.shared === true,
  }));
}

function rawOtlp(text: string): RawSpan[] {
  const hex = (id: string) => (/^[0-9a-f]+$/i.test(id) ? id : Buffer.from(id, 'base64').toString('hex'));
  const docs: OtlpDocument[] = text.trim().startsWith('{"resourceSpans"')
    ? text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
    : [JSON.parse(text)];
  const out: RawSpan[] = [];
  for (const doc of docs) {
    for (const rs of doc.resourceSpans ?? doc.batches ?? []) {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
      assert.ok(service, 'every resource names its service');
      for (const scope of rs.scopeSpans) {
        for (const s of scope.spans) {
          out.push({
            id: hex(s.spanId),
            parent: s.parentSpanId ? hex(s.parentSpanId) : undefined,
            service,
            links: (s.links ?? []).map((l) => hex(l.spanId)),
          });
        }
      }
    }
  }
  return out;
}

function rawNezha(text: string): RawSpan[] {
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [trace, span, parent, pod] = line.split(',');
      return {
        id: `${trace}/${span}`,
        parent: `${trace}/${parent}`,
        service: pod!.split('-').slice(0, -2).join('-'),
      };
    });
}

const cases: { file: string; raw: (text: string) => RawSpan[]; services: number }[] = [
  { file: 'jaeger/traceweaver_hotelreservation_load100_300traces.json', raw: rawJaeger, services: 6 },
  { file: 'jaeger/traceweaver_mediamicroservices_load100_300traces.json', raw: rawJaeger, services: 10 },
  { file: 'jaeger/traceweaver_nodejs_load100_300traces.json', raw: rawJaeger, services: 6 },
  { file: 'jaeger/jaegerui_fixture_genai_10svc.json', raw: rawJaeger, services: 10 },
  { file: 'jaeger/jaegerui_fixture_producer_consumer_followsfrom.json', raw: rawJaeger, services: 2 },
  { file: 'zipkin/zipkinlens_smartthings_mobile_web_install.json', raw: rawZipkin, services: 16 },
  { file: 'zipkin/zipkinlens_smartthings_oauth_authorization.json', raw: rawZipkin, services: 8 },
  { file: 'zipkin/zipkinlens_yelp.json', raw: rawZipkin, services: 6 },
  { file: 'zipkin/zipkinlens_messaging_kafka.json', raw: rawZipkin, services: 2 },
  { file: 'zipkin/zipkinlens_messaging2.json', raw: rawZipkin, services: 4 },
  { file: 'zipkin/zipkinlens_ascend.json', raw: rawZipkin, services: 3 },
  { file: 'otlp/oteldemo_otel_tui_traces.ndjson', raw: rawOtlp, services: 8 },
  { file: 'otlp/kiali_istio_bookinfo_batches.json', raw: rawOtlp, services: 5 },
  { file: 'csv/nezha_onlineboutique_2022-08-23_17_00_spans.csv', raw: rawNezha, services: 10 },
  { file: 'csv/nezha_trainticket_2023-01-30_11_39_spans.csv', raw: rawNezha, services: 28 },
];

for (const c of cases) {
  test(`${c.file}: services and service edges match a parent join`, async (t) => {
    if (absent) return t.skip(`${traces} absent`);
    const path = join(traces, c.file);
    const topology = await topologyFromTraces([path]);
    topologySchema.parse(topology);
    const expected = joinCounts(c.raw(readFileSync(path, 'utf8')));
    const actual = graphCounts(topology);
    assert.equal(expected.services.size, c.services, 'the independent count matches SOURCES.md');
    assert.deepEqual([...actual.services].sort(), [...expected.services].sort());
    assert.deepEqual([...actual.edges].sort(), [...expected.edges].sort());
  });
}

function alibabaRows(file: string): Record<string, string>[] {
  const [header, ...lines] = gunzipSync(readFileSync(join(traces, file)))
    .toString('utf8')
    .trim()
    .split('\n');
  const names = header!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v])));
}

for (const [file, services] of [
  ['csv/alibaba2021_callgraph_sample_casper.csv.gz', 134],
  ['csv/alibaba2022_callgraph_sample_casper.csv.gz', 226],
] as const) {
  test(`${file}: microservices and um → dm pairs match the rows`, async (t) => {
    if (absent) return t.skip(`${traces} absent`);
    const topology = await topologyFromTraces([join(traces, file)]);
    const rows = alibabaRows(file);
    const all = new Set(rows.flatMap((r) => [r.um!, r.dm!]).filter((id) => id !== ''));
    assert.equal(all.size, services, 'SOURCES.md count (placeholders included)');
    const placeholder = (id: string) => ['', 'UNKNOWN', 'UNAVAILABLE', 'USER', '(?)'].includes(id);
    const real = topology.services.filter((s) => !s.virtual).map((s) => s.name);
    assert.deepEqual(real.sort(), [...all].filter((id) => !placeholder(id)).sort());
    // Every row is a call um → dm, whatever its rpcid nests under; nothing else is an edge.
    const known = rows.filter((r) => !placeholder(r.um!));
    const pairs = new Set(known.filter((r) => !placeholder(r.dm!)).map((r) => `${r.um}->${r.dm}`));
    const realSet = new Set(real);
    const edges = topology.serviceEdges.filter((e) => realSet.has(e.to)).map((e) => `${e.from}->${e.to}`);
    assert.deepEqual(edges.sort(), [...pairs].sort());
    // A call to an unnamed callee goes to a virtual peer of its caller.
    const anonymousCallees = new Set(known.filter((r) => placeholder(r.dm!)).map((r) => r.um));
    const toVirtual = new Set(topology.serviceEdges.filter((e) => !realSet.has(e.to)).map((e) => e.from));
    assert.deepEqual([...toVirtual].sort(), [...anonymousCallees].sort());
    // A cache or database that never calls anything in the rows calls nothing in the graph.
    const callers = new Set(rows.map((r) => r.um));
    const backends = topology.services.filter(
      (s) => (s.kind === 'cache' || s.kind === 'database') && !callers.has(s.name),
    );
    assert.ok(backends.length > 0);
    for (const s of backends)
      assert.ok(
        s.endpoints.every((e) => e.calls.length === 0),
        `${s.name} calls`,
      );
    assert.ok((topology.dropped.find((d) => d.reason === 'orphanSpan')?.count ?? 0) > 0);
  });
}

test('SmartThings: 16 instrumented services, shared span ids split', async (t) => {
  if (absent) return t.skip(`${traces} absent`);
  const topology = await topologyFromTraces([
    join(traces, 'zipkin/zipkinlens_smartthings_mobile_web_install.json'),
  ]);
  assert.equal(topology.services.filter((s) => !s.virtual).length, 16);
  assert.ok((topology.dropped.find((d) => d.reason === 'sharedSpanId')?.count ?? 0) >= 290);
});

test('TraceWeaver media: parallel fan-out is detected', async (t) => {
  if (absent) return t.skip(`${traces} absent`);
  const topology = await topologyFromTraces([
    join(traces, 'jaeger/traceweaver_mediamicroservices_load100_300traces.json'),
  ]);
  const calls = topology.services.flatMap((s) => s.endpoints.flatMap((e) => e.calls));
  const parallel = calls.filter((c) => c.mode === 'parallel');
  assert.ok(parallel.length >= 2, 'compose-review fans out in parallel');
  assert.ok(parallel.every((c) => c.confidence > 0.5));
});

test('Kafka: producer → consumer edges are async and go via the broker', async (t) => {
  if (absent) return t.skip(`${traces} absent`);
  const topology = await topologyFromTraces([join(traces, 'zipkin/zipkinlens_messaging_kafka.json')]);
  const toB = topology.serviceEdges.find((e) => e.from === 'servicea' && e.to === 'serviceb');
  assert.equal(toB?.async, true);
  const poll = topology.services
    .find((s) => s.name === 'servicea')!
    .endpoints.find((e) => e.name === 'poll')!;
  const call = poll.calls.find((c) => c.service === 'serviceb')!;
  assert.equal(call.mode, 'async');
  assert.equal(call.via, 'kafka');
  assert.equal(topology.services.find((s) => s.name === 'kafka')?.kind, 'messaging');
});

test('Jaeger FOLLOWS_FROM and producer/consumer are async', async (t) => {
  if (absent) return t.skip(`${traces} absent`);
  const topology = await topologyFromTraces([
    join(traces, 'jaeger/jaegerui_fixture_producer_consumer_followsfrom.json'),
  ]);
  const calls = topology.services.flatMap((s) => s.endpoints.flatMap((e) => e.calls));
  assert.ok(calls.some((c) => c.mode === 'async'));
});

test('Yelp: uninstrumented peers become virtual nodes', async (t) => {
  if (absent) return t.skip(`${traces} absent`);
  const topology = await topologyFromTraces([join(traces, 'zipkin/zipkinlens_yelp.json')]);
  const virtual = topology.services.filter((s) => s.virtual).map((s) => s.name);
  for (const name of ['blt', 'memcache', 'mysql']) assert.ok(virtual.includes(name), name);
});

test('OTLP: base64 ids resolve, payload sizes are read, links are counted', async (t) => {
  if (absent) return t.skip(`${traces} absent`);
  const bookinfo = await topologyFromTraces([join(traces, 'otlp/kiali_istio_bookinfo_batches.json')]);
  assert.equal(bookinfo.entries.length, 1);
  const sized = bookinfo.services
    .flatMap((s) => s.endpoints.flatMap((e) => e.calls))
    .filter((c) => c.responseBytes);
  assert.ok(sized.length > 0);
  const demo = await topologyFromTraces([join(traces, 'otlp/oteldemo_otel_tui_traces.ndjson')]);
  assert.equal(demo.dropped.find((d) => d.reason === 'foreignLink')?.count, 53);
});
