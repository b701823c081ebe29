import assert from 'node:assert/strict';
import test from 'node:test';
import { isDittoError } from '../../../src/errors.ts';
import { parseDurationS } from '../../../src/spec/duration.ts';

test('durations: units, plain seconds, and zero only where allowed', () => {
  assert.equal(parseDurationS('10s', '--duration'), 10);
  assert.equal(parseDurationS('500ms', '--duration'), 0.5);
  assert.equal(parseDurationS('2m', '--duration'), 120);
  assert.equal(parseDurationS('3', '--duration'), 3);
  for (const zero of ['0', '0s', '0ms']) {
    assert.equal(parseDurationS(zero, '--warmup', { allowZero: true }), 0);
    assert.throws(
      () => parseDurationS(zero, '--duration'),
      (e) => isDittoError(e) && e.message === `--duration: "${zero}" is not a duration`,
    );
  }
  assert.throws(() => parseDurationS('-1s', '--warmup', { allowZero: true }), isDittoError);
  assert.throws(() => parseDurationS('soon', '--duration'), isDittoError);
});
