import assert from 'node:assert/strict';
import test from 'node:test';
import { eventColumn, parseCallgrind } from '../../../../src/collect/valgrind/callgrind.ts';
import { DittoError } from '../../../../src/errors.ts';
import { fixtureText } from './fixtures.ts';

test('parses a recorded callgrind window: events, totals, instructions, jumps and calls', () => {
  const p = parseCallgrind(fixtureText('memcached-window.clg.gz'));
  assert.equal(p.events.join(' '), 'Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw Bc Bcm Bi Bim');
  assert.equal(p.trigger, 'dump window');
  assert.equal(p.totals?.[0], 11492153);
  assert.equal(p.objects.filter((o) => o.startsWith('/')).length, 3);
  assert.equal(p.instructions.length, 6141);
  assert.equal(p.jumps.length, 555);
  assert.equal(p.calls.length, 319);
  // Self costs add up to the summary (calls= lines carry inclusive costs and must not be counted).
  const ir = eventColumn(p, 'Ir');
  const sum = p.instructions.reduce((s, i) => s + (i.costs[ir] ?? 0), 0);
  assert.ok(Math.abs(sum - 11492153) <= 2, `self Ir ${sum}`);
  const libevent = p.objects.findIndex((o) => o.includes('libevent'));
  const jcnd = p.jumps.find((j) => j.object === libevent && j.from === 0x1c517);
  assert.deepEqual(jcnd, { object: libevent, from: 0x1c517, to: 0x1c568, taken: 648, executed: 3103 });
  const jump = p.jumps.find((j) => j.object === libevent && j.from === 0x1c577);
  assert.equal(jump?.executed, undefined);
  assert.equal(jump?.to, 0x1c519);
});

test('compressed names resolve; relative positions and empty files are rejected', () => {
  const text = [
    'events: Ir',
    'ob=(1) /bin/x',
    'fn=(1) main',
    '0x10 0 5',
    'cob=(1)',
    'cfn=(2) helper',
    'calls=5 0x40 0',
    '0x14 0 500',
    'fn=(2)',
    '0x40 0 100',
    'totals: 605',
  ].join('\n');
  const p = parseCallgrind(text);
  assert.deepEqual(p.objects, ['???', '/bin/x']);
  assert.equal(p.instructions.length, 2);
  assert.deepEqual(p.calls[0], {
    object: 1,
    site: 0x14,
    targetObject: 1,
    target: 0x40,
    callee: p.instructions[1]?.fn,
    count: 5,
  });
  assert.throws(() => parseCallgrind('events: Ir\nfn=a\n+3 0 1\n'), /compress-pos=no/);
  assert.throws(
    () => parseCallgrind(''),
    (e: unknown) => e instanceof DittoError && /no events/.test(e.message),
  );
});
