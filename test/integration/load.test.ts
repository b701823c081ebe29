// ditto-load against real servers started on free ports of 127.0.0.1.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import test from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadResultSchema } from '../../src/artifacts/load-result.ts';
import { loadOptionsFromWorkload } from '../../src/collect/load/options.ts';
import { runDittoLoad, runExternalClient } from '../../src/collect/load/run.ts';
import { DittoError } from '../../src/errors.ts';
import { loadOptionsForTarget } from '../../src/measure/sweep.ts';
import { startTarget } from '../../src/measure/target.ts';
import { packagePath } from '../../src/package-root.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';
import { freePort } from '../../src/sys/ports.ts';

const spec = (name: string) => loadTargetSpec(packagePath('examples', `${name}.yaml`));

for (const name of ['memcached', 'redis', 'nginx']) {
  test(`${name}: a fixed-rate run reaches its rate with no errors`, async () => {
    const target = await startTarget(spec(name));
    try {
      const options = loadOptionsForTarget(target, {
        rate: 2000,
        durationS: 2,
        warmupS: 0.5,
        connections: 4,
        arrival: 'constant',
      });
      const r = loadResultSchema.parse(await runDittoLoad(options));
      assert.equal(r.mode, 'open');
      assert.equal(r.errors, 0, r.warnings.join('; '));
      assert.equal(r.timeouts, 0);
      assert.equal(r.protocolErrors, 0);
      assert.ok(Math.abs(r.achievedRate - 2000) / 2000 < 0.02, `achieved ${r.achievedRate}`);
      assert.equal(r.responses, r.requests);
      assert.ok((r.latencyUs.p50 ?? 0) > 0 && (r.latencyUs.p50 ?? 0) <= (r.latencyUs.p99 ?? 0));
      assert.ok((r.bytesReceived ?? 0) > 0 && (r.bytesSent ?? 0) > 0);
    } finally {
      await target.stop();
    }
  });
}

test('memcached: closed loop reports a maximum throughput; the spec client (memcaslap) gives the same shape', async () => {
  const target = await startTarget(spec('memcached'));
  try {
    const options = loadOptionsForTarget(target, {
      rate: 0,
      durationS: 1,
      warmupS: 0.2,
    });
    const closed = await runDittoLoad(options);
    assert.equal(closed.mode, 'closed');
    assert.equal(closed.requestedRate, null);
    assert.ok(closed.achievedRate > 5000, `closed loop reached only ${closed.achievedRate} req/s`);
    const external = loadResultSchema.parse(
      await runExternalClient(
        { ...target.spec, workload: { ...target.spec.workload, durationS: 1 } },
        target.host,
        target.port,
      ),
    );
    assert.equal(external.tool, 'memcaslap');
    assert.ok(external.achievedRate > 1000);
  } finally {
    await target.stop();
  }
});

test('coordinated omission: a 200 ms server stall shows in p99.9 of a fixed-rate run', async () => {
  const target = await startTarget(spec('memcached'));
  try {
    const options = loadOptionsForTarget(target, {
      rate: 2000,
      durationS: 4,
      warmupS: 0.5,
      connections: 4,
    });
    const running = runDittoLoad(options);
    await sleep(2000);
    target.process.signal('SIGSTOP');
    await sleep(200);
    target.process.signal('SIGCONT');
    const r = await running;
    // ~2000 req/s × 0.2 s = 400 requests queue behind the stall: well above 0.1 % of 8000.
    assert.ok(r.latencyUs.p999 !== null && r.latencyUs.p999 >= 150_000, `p99.9 = ${r.latencyUs.p999} us`);
    assert.ok((r.latencyUs.max ?? 0) >= 190_000, `max = ${r.latencyUs.max} us`);
    assert.equal(r.timeouts, 0);
  } finally {
    target.process.signal('SIGCONT');
    await target.stop();
  }
});

test('a refused connection is a one-line DITTO_TARGET_UNREACHABLE error', async () => {
  const port = await freePort();
  const options = loadOptionsFromWorkload(
    spec('memcached').workload,
    { host: '127.0.0.1', port, protocol: 'memcached' },
    {
      durationS: 1,
    },
  );
  await assert.rejects(runDittoLoad(options), (e: unknown) => {
    assert.ok(e instanceof DittoError);
    assert.equal(e.code, 'DITTO_TARGET_UNREACHABLE');
    assert.match(e.oneLine(), /refused/i);
    return true;
  });
});

test('a server that answers garbage is flagged, not trusted, and the run ends', async () => {
  const server = createServer((socket) => {
    socket.on('data', () => socket.write('HELLO THERE\r\n'));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    const options = loadOptionsFromWorkload(
      spec('memcached').workload,
      { host: '127.0.0.1', port, protocol: 'memcached' },
      {
        rate: 500,
        durationS: 1,
        warmupS: 0,
        preload: false,
      },
    );
    const started = Date.now();
    const r = await runDittoLoad(options);
    assert.ok(Date.now() - started < 15_000);
    assert.ok((r.protocolErrors ?? 0) > 0);
    assert.ok(r.warnings.some((w) => w.includes('malformed replies')));
  } finally {
    server.close();
  }
});

test('an unreachable rate is flagged: achieved vs requested', async () => {
  const target = await startTarget(spec('memcached'));
  try {
    const options = loadOptionsForTarget(target, {
      rate: 2_000_000,
      durationS: 1,
      warmupS: 0.2,
      connections: 4,
    });
    const r = await runDittoLoad(options);
    assert.equal(r.rateReached, false);
    assert.ok(r.warnings.some((w) => w.includes('of 2,000,000 req/s requested')));
  } finally {
    await target.stop();
  }
});
