// The skeleton phase against real services: memcached, redis, redis with an fsynced AOF, and nginx.
// Skips (with the reason) when bpftrace cannot attach here or a service or the load generator is missing.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import test, { type TestContext } from 'node:test';
import { computeBaseline } from '../../src/analyze/skeleton/baseline.ts';
import { syscallProfile } from '../../src/analyze/skeleton/syscalls.ts';
import { analyzeSkeleton } from '../../src/analyze/skeleton/threads.ts';
import { traceWhile } from '../../src/collect/bpftrace/run.ts';
import { loadOptionsFromWorkload } from '../../src/collect/load/options.ts';
import { runDittoLoad } from '../../src/collect/load/run.ts';
import { readProcSnapshot } from '../../src/collect/procfs/read.ts';
import { isDittoError } from '../../src/errors.ts';
import { type RunningTarget, startTarget } from '../../src/measure/target.ts';
import { packagePath } from '../../src/package-root.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';
import { start } from '../../src/sys/process.ts';

const loadBinary = packagePath('native', 'build', 'ditto-load');

/** A short class-pure load: no warm-up, so every response falls inside the traced window. */
function load(
  target: RunningTarget,
  getRatio: number,
  overrides: { rate?: number; durationS?: number } = {},
) {
  return runDittoLoad(
    loadOptionsFromWorkload(
      target.spec.workload,
      { host: target.host, port: target.port, protocol: target.spec.protocol },
      {
        rate: overrides.rate ?? 4000,
        durationS: overrides.durationS ?? 2,
        warmupS: 0,
        connections: 8,
        getRatio,
        preload: false,
        keys: 1000,
        paths: ['/4k.bin'],
      },
    ),
  );
}

/** Runs `body` against a fresh instance of examples/NAME.yaml; skips when something this machine lacks. */
async function withTarget(t: TestContext, name: string, body: (target: RunningTarget) => Promise<void>) {
  if (!existsSync(loadBinary)) {
    t.skip(`the load generator is not built (${loadBinary}); run make -C native`);
    return;
  }
  let target: RunningTarget;
  try {
    target = await startTarget(loadTargetSpec(packagePath('examples', `${name}.yaml`)));
  } catch (error) {
    if (isDittoError(error) && error.code === 'DITTO_TOOL_MISSING') {
      t.skip(error.oneLine());
      return;
    }
    throw error;
  }
  try {
    await body(target);
  } catch (error) {
    if (
      isDittoError(error) &&
      (error.code === 'DITTO_NOT_PERMITTED' || error.code === 'DITTO_TOOL_MISSING')
    ) {
      t.skip(`bpftrace cannot trace here: ${error.oneLine()}`);
      return;
    }
    throw error;
  } finally {
    await target.stop();
  }
}

async function preload(target: RunningTarget): Promise<void> {
  await load(target, 0, { rate: 0, durationS: 1 });
}

test('memcached: acceptor dispatching to 4 epoll network threads; get and set syscalls per request', async (t) => {
  await withTarget(t, 'memcached', async (target) => {
    const pid = target.process.pid;
    await preload(target);

    const started = performance.now();
    const before = readProcSnapshot([pid]);
    const baselineLoad = await load(target, 1);
    const baseline = computeBaseline(before, readProcSnapshot([pid]), { requests: baselineLoad.responses });
    const baselineMs = performance.now() - started;

    const get = await traceWhile(pid, () => load(target, 1));
    const { skeleton, roleOf } = analyzeSkeleton({ ...get, requests: get.result.responses });
    t.diagnostic(`skeleton ${JSON.stringify(skeleton)}`);
    assert.equal(skeleton.network.io, 'epoll');
    assert.equal(skeleton.network.dispatch, true);
    assert.equal(skeleton.network.acceptorIsMain, true);
    assert.equal(skeleton.network.networkThreads, 4);
    assert.ok(skeleton.threads.some((g) => g.role === 'background'));

    const set = await traceWhile(pid, () => load(target, 0));
    for (const [requestClass, traced] of [
      ['get', get],
      ['set', set],
    ] as const) {
      const profile = syscallProfile({
        requestClass,
        trace: traced.trace,
        requests: traced.result.responses,
        roleOf,
      });
      const perRequest = (name: string) =>
        profile.syscalls
          .filter((s) => s.name === name && s.role === 'network')
          .reduce((n, s) => n + s.callsPerRequest, 0);
      t.diagnostic(
        `${requestClass}: ${traced.result.responses} requests, attach ${Math.round(traced.attachMs)} ms, window ${Math.round(traced.windowMs)} ms; ` +
          profile.syscalls
            .filter((s) => s.callsPerRequest >= 0.01)
            .map((s) => `${s.role}/${s.name}/${s.target}: ${s.callsPerRequest.toFixed(3)}`)
            .join(', ') +
          `; io ${JSON.stringify(profile.io)}`,
      );
      assert.ok(Math.abs(perRequest('read') - 1) < 0.1, `${requestClass} reads ${perRequest('read')}`);
      assert.ok(
        Math.abs(perRequest('sendmsg') - 1) < 0.1,
        `${requestClass} sendmsg ${perRequest('sendmsg')}`,
      );
      const [bigger, smaller] =
        requestClass === 'get'
          ? ['networkOutBytes', 'networkInBytes']
          : ['networkInBytes', 'networkOutBytes'];
      assert.ok(profile.io[bigger as 'networkInBytes'] > profile.io[smaller as 'networkInBytes']);
    }
    t.diagnostic(`baseline (untraced, ${Math.round(baselineMs)} ms): ${JSON.stringify(baseline.total)}`);
    t.diagnostic(
      `throughput untraced ${baselineLoad.achievedRate.toFixed(0)}/s p99 ${baselineLoad.latencyUs.p99} µs; traced ${get.result.achievedRate.toFixed(0)}/s p99 ${get.result.latencyUs.p99} µs`,
    );
    assert.ok(Math.abs(baseline.total.syscrPerRequest - 1) < 0.1);
  });
});

test('redis: one event loop that accepts and serves, plus background threads', async (t) => {
  await withTarget(t, 'redis', async (target) => {
    const traced = await traceWhile(target.process.pid, () => load(target, 0.5));
    const { skeleton } = analyzeSkeleton({ ...traced, requests: traced.result.responses });
    t.diagnostic(`skeleton ${JSON.stringify(skeleton)}`);
    assert.equal(skeleton.network.io, 'epoll');
    assert.equal(skeleton.network.dispatch, false);
    assert.equal(skeleton.network.networkThreads, 1);
    const loop = skeleton.threads.find((g) => g.role === 'network');
    assert.ok(loop?.mainThread && loop.count === 1);
    assert.ok(skeleton.threads.filter((g) => g.role === 'background').reduce((n, g) => n + g.count, 0) >= 2);
  });
});

test('redis-aof: sets append to a file and fdatasync it', async (t) => {
  await withTarget(t, 'redis-aof', async (target) => {
    const traced = await traceWhile(target.process.pid, () => load(target, 0, { rate: 1000 }));
    const requests = traced.result.responses;
    const { skeleton, roleOf } = analyzeSkeleton({ ...traced, requests });
    const profile = syscallProfile({ requestClass: 'set', trace: traced.trace, requests, roleOf });
    t.diagnostic(`skeleton ${JSON.stringify(skeleton)}`);
    t.diagnostic(`set: ${requests} requests; io ${JSON.stringify(profile.io)}`);
    assert.equal(skeleton.network.networkThreads, 1);
    assert.ok(profile.io.diskWriteBytes > 100, `disk bytes per set ${profile.io.diskWriteBytes}`);
    // appendfsync always: one fdatasync per event-loop pass, i.e. per set at this rate or per batch of sets.
    assert.ok(profile.io.fsyncs > 0.2, `fsyncs per set ${profile.io.fsyncs}`);
    const write = profile.syscalls.find((s) => s.name === 'write' && s.target === 'file');
    assert.equal(write?.offsets?.pattern, 'sequential');
    // The log only grows: every write lands at its end.
    assert.ok((write?.offsets?.extendingFraction ?? 0) > 0.99, JSON.stringify(write?.offsets));
  });
});

test('nginx: master plus worker processes, each an epoll loop that accepts', async (t) => {
  await withTarget(t, 'nginx', async (target) => {
    const traced = await traceWhile(target.process.pid, () => load(target, 1));
    const requests = traced.result.responses;
    const { skeleton, roleOf } = analyzeSkeleton({ ...traced, requests });
    const profile = syscallProfile({ requestClass: 'GET', trace: traced.trace, requests, roleOf });
    t.diagnostic(`skeleton ${JSON.stringify(skeleton)}`);
    t.diagnostic(`GET: ${requests} requests; io ${JSON.stringify(profile.io)}`);
    assert.deepEqual(
      skeleton.processes.map((p) => [p.role, p.count]),
      [
        ['master', 1],
        ['worker', 2],
      ],
    );
    assert.equal(skeleton.network.io, 'epoll');
    assert.equal(skeleton.network.dispatch, false);
    // With 8 connections one worker may get them all; whichever accepted serves.
    assert.ok(skeleton.network.networkProcesses >= 1);
    assert.ok(Math.abs(profile.io.diskReadBytes - 4096) < 100);
  });
});

test('a service that dies inside the traced window is reported with the phase', async (t) => {
  const service = start('sh', ['-c', 'sleep 60'], { name: 'short-lived' });
  try {
    await assert.rejects(
      traceWhile(service.pid, async () => {
        await service.stop({ graceMs: 500 });
        throw new Error('load failed: connection refused');
      }),
      (e: unknown) =>
        isDittoError(e) && e.code === 'DITTO_TARGET_FAILED' && /during the skeleton phase/.test(e.message),
    );
  } catch (error) {
    if (
      isDittoError(error) &&
      (error.code === 'DITTO_NOT_PERMITTED' || error.code === 'DITTO_TOOL_MISSING')
    ) {
      t.skip(`bpftrace cannot trace here: ${error.oneLine()}`);
      return;
    }
    throw error;
  } finally {
    await service.stop({ graceMs: 500 });
  }
});
