// The graph builder on small synthetic traces: one property per test.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { Topology, TopologyCall } from '../../../src/artifacts/topology.ts';
import { topologySchema } from '../../../src/artifacts/topology.ts';
import { TopologyBuilder } from '../../../src/topology/graph/builder.ts';
import type { Span } from '../../../src/topology/span.ts';

type Part = Partial<Span> & Pick<Span, 'spanId' | 'service' | 'name'>;

function span(part: Part): Span {
  return { traceId: 't', kind: 'server', startUs: 0, durationUs: 0, ...part };
}

/** A client span in `from` at [start, start+duration) and the server span it calls in `to`. */
function rpc(
  id: string,
  parentId: string,
  from: string,
  to: string,
  name: string,
  start: number,
  duration: number,
) {
  return [
    span({
      spanId: `${id}c`,
      parentId,
      service: from,
      name,
      kind: 'client',
      startUs: start,
      durationUs: duration,
    }),
    span({ spanId: id, parentId: `${id}c`, service: to, name, startUs: start + 1, durationUs: duration - 2 }),
  ];
}

function build(...traces: Span[][]): Topology {
  const builder = new TopologyBuilder();
  traces.forEach((spans, i) => {
    builder.addTrace(spans.map((s) => ({ ...s, traceId: `t${i}` })));
  });
  return topologySchema.parse(builder.finish());
}

function callsOf(topology: Topology, service: string, endpoint: string): Map<string, TopologyCall> {
  const e = topology.services.find((s) => s.name === service)?.endpoints.find((x) => x.name === endpoint);
  assert.ok(e, `${service} ${endpoint}`);
  return new Map(e.calls.map((c) => [`${c.service} ${c.endpoint}`, c]));
}

function dropped(topology: Topology, reason: string): number {
  return topology.dropped.find((d) => d.reason === reason)?.count ?? 0;
}

const root = span({ spanId: 'r', service: 'front', name: 'GET /', startUs: 0, durationUs: 100 });

test('overlapping siblings run in parallel, a later one in sequence after them', () => {
  const topology = build([
    root,
    ...rpc('a', 'r', 'front', 'users', 'get', 10, 40),
    ...rpc('b', 'r', 'front', 'posts', 'list', 20, 40),
    ...rpc('c', 'r', 'front', 'render', 'page', 70, 20),
  ]);
  const calls = callsOf(topology, 'front', 'GET /');
  assert.equal(calls.get('users get')?.mode, 'parallel');
  assert.equal(calls.get('posts list')?.mode, 'parallel');
  assert.equal(calls.get('users get')?.stage, 0);
  assert.equal(calls.get('render page')?.mode, 'sequential');
  assert.equal(calls.get('render page')?.stage, 1);
  assert.equal(calls.get('render page')?.confidence, 1);
  // Self time is what no synchronous call covers: 100 − [10, 60) − [70, 90).
  assert.equal(topology.services.find((s) => s.name === 'front')!.endpoints[0]!.selfTimeUs?.p50, 30);
});

test('parallel or sequential is a majority over traces, with its confidence', () => {
  const overlapping = [
    root,
    ...rpc('a', 'r', 'front', 'users', 'get', 10, 40),
    ...rpc('b', 'r', 'front', 'posts', 'list', 20, 40),
  ];
  const sequential = [
    root,
    ...rpc('a', 'r', 'front', 'users', 'get', 10, 20),
    ...rpc('b', 'r', 'front', 'posts', 'list', 40, 20),
  ];
  const topology = build(overlapping, overlapping, overlapping, sequential);
  const call = callsOf(topology, 'front', 'GET /').get('posts list')!;
  assert.equal(call.mode, 'parallel');
  assert.equal(call.confidence, 0.75);
  assert.deepEqual(call.observations, { calls: 4, async: 0, overlapping: 3, sequential: 1 });
});

test('FOLLOWS_FROM and producer → consumer calls are async and take no time from the caller', () => {
  const topology = build([
    root,
    span({
      spanId: 'f',
      parentId: 'r',
      followsFrom: true,
      service: 'audit',
      name: 'record',
      startUs: 150,
      durationUs: 10,
    }),
    span({
      spanId: 'p',
      parentId: 'r',
      service: 'front',
      name: 'publish',
      kind: 'producer',
      startUs: 10,
      durationUs: 5,
      peer: 'kafka',
      peerKind: 'messaging',
    }),
    span({
      spanId: 'k',
      parentId: 'p',
      service: 'mailer',
      name: 'consume',
      kind: 'consumer',
      startUs: 300,
      durationUs: 50,
    }),
  ]);
  const calls = callsOf(topology, 'front', 'GET /');
  assert.equal(calls.get('audit record')?.mode, 'async');
  const consume = calls.get('mailer consume')!;
  assert.equal(consume.mode, 'async');
  assert.equal(consume.via, 'kafka');
  assert.equal(topology.services.find((s) => s.name === 'front')!.endpoints[0]!.selfTimeUs?.p50, 100);
  assert.ok(topology.serviceEdges.every((e) => e.async));
  // Async callees lie outside the caller on purpose: no clock-skew correction.
  assert.equal(dropped(topology, 'clockSkew'), 0);
});

test('clock skew: a callee outside its caller is shifted inside, with its subtree, and counted', () => {
  const topology = build([
    root,
    span({
      spanId: 'ac',
      parentId: 'r',
      service: 'front',
      name: 'get',
      kind: 'client',
      startUs: 10,
      durationUs: 40,
    }),
    // The users host runs 1000 µs behind: its server span starts before the client span that caused it.
    span({ spanId: 'a', parentId: 'ac', service: 'users', name: 'get', startUs: -989, durationUs: 38 }),
    span({
      spanId: 'dc',
      parentId: 'a',
      service: 'users',
      name: 'query',
      kind: 'client',
      startUs: -985,
      durationUs: 30,
    }),
    span({ spanId: 'd', parentId: 'dc', service: 'db', name: 'query', startUs: -983, durationUs: 28 }),
  ]);
  assert.equal(dropped(topology, 'clockSkew'), 1);
  // db runs on the users host's clock: the shift of the users subtree puts it in place too.
  const users = topology.services.find((s) => s.name === 'users')!.endpoints[0]!;
  assert.equal(users.selfTimeUs?.p50, 8);
  assert.equal(callsOf(topology, 'users', 'get').get('db query')?.responseTimeUs?.p50, 30);
});

test('parent cycles are dropped and counted; self-calls are kept and counted', () => {
  const topology = build(
    [
      root,
      span({ spanId: 'x', parentId: 'y', service: 'loop', name: 'a', startUs: 1, durationUs: 1 }),
      span({ spanId: 'y', parentId: 'x', service: 'loop', name: 'b', startUs: 1, durationUs: 1 }),
      span({ spanId: 'z', parentId: 'z', service: 'loop', name: 'c', startUs: 1, durationUs: 1 }),
    ],
    [
      span({ spanId: 'r', service: 'tree', name: 'walk', startUs: 0, durationUs: 100 }),
      ...rpc('n', 'r', 'tree', 'tree', 'walk', 10, 50),
    ],
  );
  assert.equal(dropped(topology, 'cycle'), 3);
  assert.equal(
    topology.services.some((s) => s.name === 'loop'),
    false,
  );
  assert.equal(dropped(topology, 'selfCall'), 1);
  const walk = callsOf(topology, 'tree', 'walk').get('tree walk')!;
  assert.equal(walk.probability, 0.5, 'the outer walk calls walk, the inner one does not');
  assert.ok(topology.serviceEdges.some((e) => e.from === 'tree' && e.to === 'tree'));
});

test('call probability and the calls-per-request distribution', () => {
  const trace = (n: number) => [
    root,
    ...Array.from({ length: n }, (_, i) =>
      rpc(`d${i}`, 'r', 'front', 'db', 'select', 10 + 20 * i, 15),
    ).flat(),
  ];
  const topology = build(trace(0), trace(1), trace(2), trace(2));
  const call = callsOf(topology, 'front', 'GET /').get('db select')!;
  assert.equal(call.probability, 0.75);
  assert.equal(call.callsPerRequest.mean, 1.667);
  assert.deepEqual(call.callsPerRequest.distribution, [
    { calls: 1, share: 0.3333 },
    { calls: 2, share: 0.6667 },
  ]);
  assert.equal(call.mode, 'sequential');
  assert.deepEqual(topology.entries, [{ service: 'front', endpoint: 'GET /', count: 4, share: 1 }]);
});

test('Zipkin B3: client and server halves sharing one span id are split, children hang under the server', () => {
  const topology = build([
    root,
    span({
      spanId: 's',
      parentId: 'r',
      service: 'front',
      name: 'get',
      kind: 'client',
      startUs: 10,
      durationUs: 60,
    }),
    span({
      spanId: 's',
      parentId: 'r',
      service: 'users',
      name: 'get',
      kind: 'server',
      shared: true,
      startUs: 12,
      durationUs: 56,
    }),
    span({
      spanId: 'q',
      parentId: 's',
      service: 'users',
      name: 'query',
      kind: 'client',
      startUs: 20,
      durationUs: 30,
      peer: 'mysql',
      peerKind: 'database',
    }),
  ]);
  assert.equal(dropped(topology, 'sharedSpanId'), 1);
  assert.deepEqual(
    topology.serviceEdges.map((e) => `${e.from}->${e.to}`),
    ['front->users', 'users->mysql'],
  );
  const mysql = topology.services.find((s) => s.name === 'mysql')!;
  assert.equal(mysql.virtual, true);
  assert.equal(mysql.kind, 'database');
  assert.equal(callsOf(topology, 'users', 'get').get('mysql query')?.mode, 'sequential');
});

test("a span link on an inner span makes an async edge from the linked span's invocation", () => {
  const topology = build([
    root,
    span({ spanId: 'w', service: 'worker', name: 'batch', startUs: 200, durationUs: 50 }),
    span({
      spanId: 'i',
      parentId: 'w',
      service: 'worker',
      name: 'item',
      kind: 'internal',
      startUs: 210,
      durationUs: 5,
      links: ['r', 'gone'],
    }),
  ]);
  const call = callsOf(topology, 'front', 'GET /').get('worker batch')!;
  assert.equal(call.mode, 'async');
  assert.equal(dropped(topology, 'unresolvedLink'), 1);
});
