import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import { clonePlanSchema } from '../../../src/artifacts/clone-plan.ts';
import { type Profile, profileSchema } from '../../../src/artifacts/profile.ts';
import { negligibleMpki } from '../../../src/collect/valgrind/geometry.ts';
import { DittoError } from '../../../src/errors.ts';
import { responseFraming } from '../../../src/plan/framing.ts';
import { planClone, socketCalls } from '../../../src/plan/plan.ts';
import {
  bodyIndirectMispredictRate,
  bodyInstructions,
  runtimeIndirectJumps,
  runtimeIndirectMispredictRate,
  runtimeInstructions,
} from '../../../src/plan/runtime-cost.ts';

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
    receive: 'read',
    send: 'sendmsg',
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
  assert.equal(
    get?.body?.instructions,
    (p.cpu[0]?.body.instructionsPerRequest ?? 0) - (runtimeInstructions.memcached.get ?? 0),
  );
  assert.ok(plan.background.some((b) => b.periodMs !== null));
  assert.equal(plan.dataFile, null);
});

test('knobs scale instructions, syscalls and responses', () => {
  const p = profile('memcached');
  const plain = planClone(p);
  const tuned = planClone(p, { 'instructions.get': 0.5, 'response.get': 2 });
  // The knob scales the clone's total; the runtime's own share stays.
  const own = runtimeInstructions.memcached.get ?? 0;
  assert.equal(
    (tuned.classes[0]?.body?.instructions ?? 0) + own,
    ((plain.classes[0]?.body?.instructions ?? 0) + own) * 0.5,
  );
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

test('socket calls: the most frequent receive and send calls of the network threads, weighted by class share', () => {
  assert.deepEqual(socketCalls(profile('memcached')), { receive: 'read', send: 'sendmsg' });
  assert.deepEqual(socketCalls(profile('redis')), { receive: 'read', send: 'write' });
  // nginx-like: recvfrom + writev of the headers, the file body with sendfile (a socket call, not a send choice).
  const p = profile('redis');
  const entry = p.syscalls[0]!.syscalls[0]!;
  const nginx: Profile = {
    ...p,
    protocol: 'http',
    workload: { ...p.workload, classes: [{ name: 'get', share: 1 }] },
    syscalls: [
      {
        ...p.syscalls[0]!,
        syscalls: [
          { ...entry, name: 'recvfrom', target: 'socket', callsPerRequest: 1, bytesPerRequest: 80 },
          { ...entry, name: 'writev', target: 'socket', callsPerRequest: 1, bytesPerRequest: 240 },
          { ...entry, name: 'sendfile', target: 'socket', callsPerRequest: 1, bytesPerRequest: 4096 },
          { ...entry, name: 'write', target: 'socket', callsPerRequest: 0.01, bytesPerRequest: 1 },
          { ...entry, name: 'read', target: 'socket', callsPerRequest: 2, role: 'acceptor' },
          { ...entry, name: 'newfstatat', target: null, callsPerRequest: 1, bytesPerRequest: null },
          { ...entry, name: 'openat', target: null, callsPerRequest: 1, bytesPerRequest: null },
        ],
      },
    ],
  };
  assert.deepEqual(socketCalls(nginx), { receive: 'recvfrom', send: 'writev' });
  const plan = planClone(nginx);
  assert.deepEqual(plan.classes[0]?.syscalls, [
    { op: 'sendfile', perRequest: 1, bytes: 4096, pattern: 'sequential', batch: 'request' },
    { op: 'stat', perRequest: 1, bytes: 0, pattern: 'sequential', batch: 'request' },
    { op: 'open_close', perRequest: 1, bytes: 0, pattern: 'sequential', batch: 'request' },
  ]);
  // No socket calls profiled: read and write.
  assert.deepEqual(socketCalls({ ...p, syscalls: [] }), { receive: 'read', send: 'write' });
});

test('syncs recorded against files are planned (redis appendfsync: fdatasync after the AOF write)', () => {
  const set = planClone(profile('redis-aof')).classes.find((c) => c.name === 'set');
  const ops = new Map(set?.syscalls.map((s) => [s.op, s]));
  assert.equal(ops.get('fdatasync')?.perRequest, 0.4655);
  assert.equal(ops.get('file_write')?.perRequest, 0.4655);
});

test('writes that grew the original file append; writes in place and reads keep their offsets', () => {
  const aof = profile('redis-aof');
  const withExtending = (fraction: number, name = 'write'): Profile => ({
    ...aof,
    syscalls: aof.syscalls.map((s) => ({
      ...s,
      syscalls: s.syscalls.map((e) =>
        e.target === 'file' && e.offsets
          ? { ...e, name, offsets: { ...e.offsets, extendingFraction: fraction } }
          : e,
      ),
    })),
  });
  const fileOp = (p: Profile) =>
    planClone(p)
      .classes.find((c) => c.name === 'set')
      ?.syscalls.find((s) => s.op.startsWith('file_'));
  assert.equal(fileOp(withExtending(1))?.pattern, 'append');
  assert.equal(fileOp(withExtending(1, 'pwrite64'))?.pattern, 'append');
  assert.equal(fileOp(withExtending(0.4))?.pattern, 'sequential');
  // A read at the end of a file reads nothing: reads never append.
  assert.equal(fileOp(withExtending(1, 'read'))?.op, 'file_read');
  assert.equal(fileOp(withExtending(1, 'read'))?.pattern, 'sequential');
  // Profiles made before the fraction was recorded: none grew.
  assert.equal(fileOp(aof)?.pattern, 'sequential');
});

test('a write and sync made as often as the readiness waits are made once per loop pass, per-request otherwise', () => {
  const aof = profile('redis-aof');
  const set = (p: Profile) => planClone(p).classes.find((c) => c.name === 'set')?.syscalls ?? [];
  // appendfsync always: 0.4655 writes and fdatasyncs per set, 0.467 epoll_waits: each pass logs and syncs its sets.
  const perPass = new Map(set(aof).map((s) => [s.op, s]));
  assert.equal(perPass.get('fdatasync')?.batch, 'loop');
  assert.equal(perPass.get('file_write')?.batch, 'loop');
  // Each set adds its own record to the pass's one write.
  assert.equal(perPass.get('file_write')?.bytes, 556);
  // The same calls with a readiness wait per request: half the sets sync, on their own path.
  const oneWaitPerRequest: Profile = {
    ...aof,
    syscalls: aof.syscalls.map((s) => ({
      ...s,
      syscalls: s.syscalls.map((e) => (e.name === 'epoll_wait' ? { ...e, callsPerRequest: 1 } : e)),
    })),
  };
  const perRequest = new Map(set(oneWaitPerRequest).map((s) => [s.op, s]));
  assert.equal(perRequest.get('fdatasync')?.batch, 'request');
  assert.equal(perRequest.get('file_write')?.batch, 'request');
  assert.equal(perRequest.get('file_write')?.bytes, Math.round(556 / 0.4655));
});

test('runtime instructions: a table entry per protocol and profiled class, subtracted without going negative', () => {
  for (const [protocol, classes] of [
    ['memcached', ['get', 'set']],
    ['redis', ['get', 'set']],
    ['http', ['get']],
  ] as const) {
    for (const cls of classes) {
      const own = runtimeInstructions[protocol][cls] ?? 0;
      assert.ok(own > 300 && own < 3000, `${protocol} ${cls}: ${own}`);
      assert.equal(bodyInstructions(protocol, cls, own + 1000), 1000);
      assert.equal(bodyInstructions(protocol, cls, own / 2), 0);
    }
  }
});

test("the body's indirect jumps make the mispredicts the runtime's predicted ones do not", () => {
  const own = runtimeIndirectJumps.memcached.get ?? 0;
  // memcached's get: 25% of 45 jumps, `own` of them the runtime's, which are predicted: the body's rate is higher.
  const rate = bodyIndirectMispredictRate('memcached', 'get', 45, 0.25) ?? 0;
  assert.ok(Math.abs(rate * (45 - own) + own * runtimeIndirectMispredictRate - 0.25 * 45) < 1e-9);
  assert.ok(rate > 0.25 * (45 / (45 - own)) - 0.01);
  assert.equal(bodyIndirectMispredictRate('memcached', 'get', own + 27, null), null);
  // Fewer jumps than the runtime's: the body makes none, the rate stays as profiled.
  assert.equal(bodyIndirectMispredictRate('memcached', 'get', own / 2, 0.25), 0.25);
  // The planner applies it (the fixture predates the jump count).
  const p = profile('memcached');
  const profiled = p.cpu[0]?.body.branches;
  assert.ok(profiled?.indirectMispredictRate);
  profiled.indirectPerRequest = own + 27;
  const get = planClone(p).classes[0]?.body?.branches;
  assert.ok(get);
  assert.ok(
    Math.abs(
      (get.indirectMispredictRate ?? 0) * get.indirectPerRequest +
        own * runtimeIndirectMispredictRate -
        profiled.indirectMispredictRate * profiled.indirectPerRequest,
    ) < 1e-6,
  );
});

/** The profile as a quick sweep would have made it (curve up to 1 MiB), its LLC misses per 1000 instructions
 * on every platform set to `llcMpki` when given. */
function quickSweep(full: Profile, llcMpki?: number): Profile {
  const cut = 14; // sizes 128 B … 1 MiB
  return {
    ...full,
    cpu: full.cpu.map((c) => {
      if (!c.body) return c;
      const { cache } = c.body;
      const m = cache.dcache.missRatio.slice(0, cut);
      const mi = cache.icache.missRatio.slice(0, cut);
      const platforms =
        llcMpki === undefined
          ? c.body.platforms
          : c.body.platforms.map((p) => ({ ...p, mpki: { ...p.mpki, llc: llcMpki } }));
      return {
        ...c,
        body: {
          ...c.body,
          platforms,
          cache: {
            sizesBytes: cache.sizesBytes.slice(0, cut),
            dcache: {
              ...cache.dcache,
              missRatio: m,
              workingSet: cache.dcache.workingSet.slice(0, cut),
              beyondLargest: m.at(-1) ?? 0,
            },
            icache: {
              ...cache.icache,
              missRatio: mi,
              workingSet: cache.icache.workingSet.slice(0, cut),
              beyondLargest: mi.at(-1) ?? 0,
            },
          },
        },
      };
    }),
  };
}

test('a quick sweep (curve up to 1 MiB) gains the point of the smallest platform LLC from its misses', () => {
  const full = profile('memcached');
  for (const llcMpki of [undefined, 0.05]) {
    const quick = quickSweep(full, llcMpki);
    const get = planClone(quick).classes.find((c) => c.name === 'get')?.body;
    const body = quick.cpu.find((c) => c.class === 'get')?.body;
    assert.ok(get && body);
    const llc = body.platforms.reduce((a, p) =>
      p.geometry.llc.sizeBytes < a.geometry.llc.sizeBytes ? p : a,
    );
    assert.equal(get.cache.sizesBytes.at(-1), 16 << 20);
    const d = get.cache.dcache;
    const misses = llc.mpki.llc < negligibleMpki ? 0 : (llc.mpki.llc * body.instructionsPerRequest) / 1000;
    const expected = Math.min(misses / d.accessesPerRequest, body.cache.dcache.beyondLargest);
    assert.ok(Math.abs(d.beyondLargest - expected) < 1e-12);
    if (llcMpki) assert.ok(d.beyondLargest > 0);
    // Nothing lost: the new bin and what misses the LLC add up to what missed the last measured size.
    assert.ok(
      Math.abs((d.workingSet.at(-1) ?? 0) + d.beyondLargest - body.cache.dcache.beyondLargest) < 1e-12,
    );
  }
  // A full sweep reaches past the LLCs and stays as profiled.
  assert.deepEqual(
    planClone(full).classes.find((c) => c.name === 'get')?.body?.cache,
    full.cpu.find((c) => c.class === 'get')?.body?.cache,
  );
});

test('negligible LLC misses (under 0.01 per 1000 instructions) make no tail beyond the LLCs', () => {
  const quick = quickSweep(profile('memcached'), 0.003);
  for (const c of planClone(quick).classes) {
    const d = c.body?.cache.dcache;
    assert.ok(d);
    assert.equal(d.beyondLargest, 0, c.name);
  }
});
