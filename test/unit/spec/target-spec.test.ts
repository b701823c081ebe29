import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import test from 'node:test';
import { DittoError } from '../../../src/errors.ts';
import { loadTargetSpec, parseTargetSpec } from '../../../src/spec/load.ts';

const examples = new URL('../../../examples/', import.meta.url);

test('every bundled example spec is valid', () => {
  const files = readdirSync(examples).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 4);
  for (const file of files) loadTargetSpec(new URL(file, examples).pathname);
});

test('defaults fill the workload', () => {
  const spec = parseTargetSpec('name: x\ncommand: [srv, "{port}"]\nprotocol: redis\n', 'x.yaml');
  assert.equal(spec.workload.connections, 8);
  assert.equal(spec.stop.signal, 'SIGTERM');
});

const invalid: [string, RegExp][] = [
  ['name: x\ncommand: [srv]\nprotocol: gopher\n', /^bad\.yaml: protocol: /],
  ['name: x\ncommand: [srv]\nprotocol: http\nworkload: { qps: -5 }\n', /^bad\.yaml: workload\.qps: /],
  [
    'name: x\ncommand: [srv]\nprotocol: http\nworkload: { conections: 5 }\n',
    /^bad\.yaml: workload: .*conections/,
  ],
  [
    'name: x\ncommand: ["", a]\nprotocol: http\n',
    /^bad\.yaml: command: the first element must name the program/,
  ],
  ['name: x\ncommand: [srv]\nprotocol: http\nfiles: [{ path: a }]\n', /^bad\.yaml: files\[0\]/],
  ['name: [x\n', /^bad\.yaml:\d+: not valid YAML/],
];

test('invalid specs name the file and the field', () => {
  for (const [text, expected] of invalid) {
    assert.throws(
      () => parseTargetSpec(text, 'bad.yaml'),
      (e: unknown) => e instanceof DittoError && e.code === 'DITTO_SPEC_INVALID' && expected.test(e.message),
      text,
    );
  }
});

test('a missing spec file is a one-line error', () => {
  assert.throws(() => loadTargetSpec('/nonexistent/spec.yaml'), /cannot read target spec \(ENOENT\)/);
});
