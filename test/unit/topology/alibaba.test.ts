// Alibaba call-graph rows on a small synthetic file: rpcids shared by several calls, calls nested under the
// caller's own earlier call, duplicate rows, and unknown callers and callees.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { topologySchema } from '../../../src/artifacts/topology.ts';
import { topologyFromTraces } from '../../../src/topology/from-traces.ts';
import { ancestorRpcIds } from '../../../src/topology/readers/alibaba.ts';

const file = join(import.meta.dirname, '../../fixtures/topology/alibaba-nesting.csv');

test('ancestor rpcids, nearest first', () => {
  assert.deepEqual(ancestorRpcIds('0.1.2.3'), ['0.1.2', '0.1', '0']);
  assert.deepEqual(ancestorRpcIds('0'), []);
});

test('each row is one call um → dm; nothing else becomes an edge', async () => {
  const topology = topologySchema.parse(await topologyFromTraces([file]));
  assert.deepEqual(
    topology.serviceEdges.map((e) => `${e.from}->${e.to}`),
    ['front->cache1', 'front->cache2', 'front->front-peer', 'front->users', 'users->userdb'],
  );
  const count = (reason: string) => topology.dropped.find((d) => d.reason === reason)?.count ?? 0;
  // 0.1.1 (front → users) nests under front's own cache call 0.1: it belongs to front's invocation at 0.
  assert.equal(count('enclosingParent'), 1);
  const home = topology.services.find((s) => s.name === 'front')!.endpoints.find((e) => e.name === 'home')!;
  assert.deepEqual(home.calls.map((c) => c.service).sort(), ['cache1', 'cache2', 'front-peer', 'users']);
  // 0.1.1.1 is logged twice.
  assert.equal(count('duplicateSpan'), 2);
  // UNKNOWN → audit at 0.2: a caller that is not in the trace; UNKNOWN → (?) says nothing.
  assert.equal(count('orphanSpan'), 1);
  assert.equal(count('anonymousCall'), 1);
  assert.equal(topology.services.find((s) => s.name === 'front-peer')?.virtual, true);
  assert.equal(topology.services.find((s) => s.name === 'userdb')?.kind, 'database');
  assert.deepEqual(topology.entries, [{ service: 'front', endpoint: 'home', count: 1, share: 1 }]);
});
