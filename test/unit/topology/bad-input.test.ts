// Bad trace files: a clear error naming the file and the position, and with --lenient the partial graph plus a
// count of what was skipped.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { topologySchema } from '../../../src/artifacts/topology.ts';
import { DittoError } from '../../../src/errors.ts';
import { topologyFromTraces } from '../../../src/topology/from-traces.ts';

const fixtures = join(import.meta.dirname, '../../fixtures/topology');
const fixture = (name: string) => join(fixtures, name);

async function failure(paths: string[], options: Parameters<typeof topologyFromTraces>[1] = {}) {
  try {
    await topologyFromTraces(paths, options);
  } catch (error) {
    assert.ok(error instanceof DittoError, String(error));
    return error;
  }
  assert.fail('expected a DittoError');
}

function dropped(topology: { dropped: { reason: string; count: number }[] }, reason: string): number {
  return topology.dropped.find((d) => d.reason === reason)?.count ?? 0;
}

test('a truncated file: file, line and column, and the JSON path', async () => {
  const path = fixture('truncated.jaeger.json');
  const error = await failure([path]);
  assert.equal(error.code, 'DITTO_TRACE_INVALID');
  assert.match(
    error.message,
    /truncated\.jaeger\.json:9:1: unexpected end of file \(the file is truncated\)/,
  );
  assert.match(error.message, /inside data\[1\]/);
  assert.match(error.oneLine(), /--lenient to keep the 2 spans read before this point/);
});

test('a truncated file with --lenient: the complete traces are kept and the break is counted', async () => {
  const warnings: string[] = [];
  const topology = await topologyFromTraces([fixture('truncated.jaeger.json')], {
    lenient: true,
    progress: (m) => warnings.push(m),
  });
  topologySchema.parse(topology);
  assert.equal(topology.stats.traces, 1);
  assert.equal(topology.stats.spans, 2);
  assert.deepEqual(
    topology.serviceEdges.map((e) => `${e.from}->${e.to}`),
    ['front->back'],
  );
  assert.equal(dropped(topology, 'truncatedFile'), 1);
  assert.ok(
    warnings.some((w) => /keeping the 2 spans read before it/.test(w)),
    warnings.join('\n'),
  );
});

test('an unknown processID: the span and the trace are named; --lenient skips only that span', async () => {
  const path = fixture('unknown-process.jaeger.json');
  const error = await failure([path]);
  assert.match(
    error.message,
    /unknown-process\.jaeger\.json:\d+:\d+: span b: processID 'p9' is not in the trace's processes/,
  );
  assert.match(error.message, /data\[0\]\.spans\[1\]/);
  assert.match(error.oneLine(), /--lenient/);
  const topology = await topologyFromTraces([path], { lenient: true });
  assert.equal(topology.stats.spans, 2);
  assert.deepEqual(
    topology.services.map((s) => s.name),
    ['front'],
  );
  assert.equal(topology.services[0]!.endpoints[0]!.invocations, 2);
  assert.equal(dropped(topology, 'invalidRecord'), 1);
  assert.match(topology.dropped.find((d) => d.reason === 'invalidRecord')!.examples[0]!, /processID 'p9'/);
});

test('content that is no trace format: the message suggests --format', async () => {
  const error = await failure([fixture('not-a-trace.txt')]);
  assert.equal(error.code, 'DITTO_TRACE_FORMAT');
  assert.match(error.message, /not-a-trace\.txt: cannot tell the trace format/);
  assert.match(error.oneLine(), /--format jaeger\|zipkin\|otlp\|alibaba\|csv/);
});

test('the wrong --format: the message names the position and the format the content looks like', async () => {
  const error = await failure([fixture('unresolved.zipkin.json')], { format: 'jaeger' });
  assert.equal(error.code, 'DITTO_TRACE_INVALID');
  assert.match(error.message, /unresolved\.zipkin\.json:2:1: trace has no spans array/);
  assert.match(error.message, /the content looks like zipkin: try --format zipkin/);
});

test('parent ids that do not resolve: the subtree is kept as a root and counted', async () => {
  const topology = await topologyFromTraces([fixture('unresolved.zipkin.json')]);
  assert.equal(dropped(topology, 'orphanSpan'), 1);
  assert.deepEqual(topology.dropped.find((d) => d.reason === 'orphanSpan')!.examples, ['trace 1 span e']);
  const store = topology.services.find((s) => s.name === 'store')!;
  assert.equal(store.endpoints[0]!.invocations, 1);
  // An orphan is not an entry point: its caller exists but is missing.
  assert.deepEqual(
    topology.entries.map((e) => e.service),
    ['front'],
  );
});

test('an id that is neither hex nor base64: position and path; --lenient counts it and an unresolved link', async () => {
  const path = fixture('bad-id.otlp.json');
  const error = await failure([path]);
  assert.match(
    error.message,
    /bad-id\.otlp\.json:1:\d+: parentSpanId 'not an id!' is neither hex nor base64/,
  );
  assert.match(error.message, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]/);
  const topology = await topologyFromTraces([path], { lenient: true });
  assert.equal(topology.stats.spans, 2);
  assert.equal(dropped(topology, 'invalidRecord'), 1);
  assert.equal(dropped(topology, 'unresolvedLink'), 1);
});

test('a missing file and an empty file', async () => {
  const missing = await failure([fixture('no-such-file.json')]);
  assert.equal(missing.code, 'DITTO_FILE_NOT_FOUND');
  assert.match(missing.message, /no-such-file\.json: no such trace file/);
  const empty = await failure([fixture('empty.zipkin.json')], { format: 'zipkin' });
  assert.match(empty.message, /empty\.zipkin\.json: no spans found \(read as zipkin\)/);
  const lenient = await topologyFromTraces([fixture('empty.zipkin.json')], {
    format: 'zipkin',
    lenient: true,
  });
  assert.equal(lenient.stats.spans, 0);
});
