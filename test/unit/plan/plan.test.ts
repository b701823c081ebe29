import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { clonePlanSchema } from '../../../src/artifacts/clone-plan.ts';
import { type Profile, profileSchema } from '../../../src/artifacts/profile.ts';
import { DittoError } from '../../../src/errors.ts';
import { responseFraming } from '../../../src/plan/framing.ts';
import { planClone } from '../../../src/plan/plan.ts';

const profile = (name: string): Profile =>
  profileSchema.parse(
    JSON.parse(readFileSync(new URL(`../../fixtures/profile/${name}.json`, import.meta.url), 'utf8')),
  );

test('memcached: dispatch model with 4 epoll network threads, get and set classes, bodies, background threads', () => {
  const p = profile('memcached');
  const plan = clonePlanSchema.parse(planClone(p));
  assert.deepEqual(plan.network, {
    model: 'dispatch',
    io: 'epoll',
    acceptThreads: 1,
    networkThreads: 4,
    workerProcesses: 0,
  });
  assert.deepEqual(
    plan.classes.map((c) => [c.name, Number(c.share.toFixed(9))]),
    [
      ['get', 0.9],
      ['set', 0.1],
    ],
  );
  const [get, set] = plan.classes;
  // A get's response on the wire equals what memcached sent per get: payload + framing.
  const sent = p.syscalls[0]?.io.networkOutBytes ?? 0;
  const payload = get?.responsePayload[0]?.size ?? 0;
  assert.ok(
    Math.abs(payload + 'VALUE '.length + 16 + ' 0 '.length + String(payload).length + 2 + 2 + 5 - sent) <= 1,
  );
  assert.equal(set?.responsePayload[0]?.size, 0);
  assert.deepEqual(get?.syscalls, []);
  assert.equal(get?.body?.instructions, p.cpu[0]?.body.instructionsPerRequest);
  assert.ok(plan.background.some((b) => b.periodMs !== null));
  assert.equal(plan.dataFile, null);
});

test('knobs scale instructions, syscalls and responses', () => {
  const p = profile('memcached');
  const plain = planClone(p);
  const tuned = planClone(p, { 'instructions.get': 0.5, 'response.get': 2 });
  assert.equal(tuned.classes[0]?.body?.instructions, (plain.classes[0]?.body?.instructions ?? 0) * 0.5);
  assert.ok(
    (tuned.classes[0]?.responsePayload[0]?.size ?? 0) > 2 * (plain.classes[0]?.responsePayload[0]?.size ?? 0),
  );
  assert.deepEqual(tuned.knobs, { 'instructions.get': 0.5, 'response.get': 2 });
});

test('a profile without a skeleton names the missing field', () => {
  const p = { ...profile('memcached'), skeleton: null };
  assert.throws(
    () => planClone(p),
    (e: unknown) => e instanceof DittoError && e.message.startsWith('profile.skeleton: missing'),
  );
});

test('framing: payload + framing = the profiled response size', () => {
  const cases = [
    ['memcached', 1062, 1062 - (6 + 16 + 3 + 4 + 2 + 2 + 5)],
    ['redis', 1030, 1030 - (1 + 4 + 2 + 2)],
    ['memcached', 10, 0],
  ] as const;
  for (const [protocol, bytes, payload] of cases) {
    assert.equal(responseFraming(protocol, 'get', 16).payloadFor(bytes), payload, `${protocol} ${bytes}`);
  }
  assert.equal(responseFraming('redis', 'set', 16).payloadFor(5), 0);
});
