// `ditto topology` as a user runs it: files on disk, stdout for results only, one-line errors.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { topologySchema } from '../../src/artifacts/topology.ts';
import { packagePath } from '../../src/package-root.ts';
import { ditto } from './ditto.ts';

const fixtures = packagePath('test', 'fixtures', 'topology');
const trace = join(fixtures, 'unresolved.zipkin.json');
const dir = mkdtempSync(join(tmpdir(), 'ditto-topology-'));

test('--out writes a schema-valid topology.json and says so on stderr only', () => {
  const out = join(dir, 'topology.json');
  const r = ditto('topology', trace, '--out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`wrote ${out}: 3 services, 3 endpoints, 1 call edges`));
  const topology = topologySchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  assert.deepEqual(
    topology.serviceEdges.map((e) => `${e.from}->${e.to}`),
    ['front->back'],
  );
  assert.deepEqual(topology.source.inputs, [{ path: trace, format: 'zipkin', spans: 4 }]);
});

test('--summary prints the overview on stdout', () => {
  const r = ditto('topology', trace, '--out', join(dir, 'summary.json'), '--summary');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1 traces, 4 spans → 3 services \(0 virtual\)/);
  assert.match(r.stdout, /entry points:\n\s+100\.0%\s+front get \/ {2}\(1\)/);
  assert.match(r.stdout, /→ back get sequential/);
  assert.match(r.stdout, /orphanSpan: 1 \(kept-as-root\)/);
});

test('--dot and --mermaid render the service graph, to stdout or a file', () => {
  const dot = ditto('topology', trace, '--out', join(dir, 'dot.json'), '--dot', '-');
  assert.equal(dot.code, 0, dot.stderr);
  assert.match(dot.stdout, /^digraph topology \{/);
  assert.match(dot.stdout, /"front" -> "back" \[label="1"\];/);
  const file = join(dir, 'graph.mmd');
  const mermaid = ditto('topology', trace, '--out', join(dir, 'mermaid.json'), '--mermaid', file);
  assert.equal(mermaid.code, 0, mermaid.stderr);
  assert.equal(mermaid.stdout, '');
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^flowchart LR\n/);
  assert.match(text, /s\d -->\|1\| s\d/);
});

test('--json prints only topology.json on stdout', () => {
  const r = ditto('topology', trace, '--out', join(dir, 'json.json'), '--json');
  assert.equal(r.code, 0, r.stderr);
  const topology = topologySchema.parse(JSON.parse(r.stdout));
  assert.equal(topology.stats.spans, 4);
});

test('bad input: exit 1, one line naming the file and position, nothing written', () => {
  const out = join(dir, 'bad.json');
  const truncated = join(fixtures, 'truncated.jaeger.json');
  const r = ditto('topology', truncated, '--out', out);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, new RegExp(`^ditto: ${truncated}:9:1: unexpected end of file`));
  assert.equal(existsSync(out), false);
  const lenient = ditto('topology', truncated, '--out', out, '--lenient');
  assert.equal(lenient.code, 0, lenient.stderr);
  assert.equal(topologySchema.parse(JSON.parse(readFileSync(out, 'utf8'))).stats.spans, 2);
  const format = ditto('topology', join(fixtures, 'not-a-trace.txt'), '--out', out);
  assert.equal(format.code, 1);
  assert.match(format.stderr, /^ditto: .*not-a-trace\.txt: cannot tell the trace format .*--format/);
  assert.equal(format.stderr.trim().split('\n').length, 1);
  assert.equal(ditto('topology', '--out', out).code, 1, 'no trace file');
});
