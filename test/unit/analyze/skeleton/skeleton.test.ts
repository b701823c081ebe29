import assert from 'node:assert/strict';
import test from 'node:test';
import { analyzeSkeleton, type Skeleton } from '../../../../src/analyze/skeleton/threads.ts';
import { recordedRun } from '../../collect/bpftrace/fixtures.ts';

const groups = (s: Skeleton, role: string) => s.threads.filter((g) => g.role === role);
const count = (s: Skeleton, role: string) => groups(s, role).reduce((n, g) => n + g.count, 0);

test('memcached: epoll, the main thread accepts and dispatches to 4 network threads; background threads found', () => {
  const { skeleton, roleOf } = analyzeSkeleton(recordedRun('memcached-get'));
  assert.deepEqual(
    skeleton.processes.map((p) => [p.role, p.count, p.threads]),
    [['main', 1, 10]],
  );
  // Listening sockets and the eventfds / pipes memcached uses to hand connections to its threads.
  assert.ok((skeleton.processes[0]?.openFds.socket ?? 0) >= 1);
  assert.ok((skeleton.processes[0]?.openFds.pipe ?? 0) >= 4);
  assert.equal(skeleton.network.io, 'epoll');
  assert.equal(skeleton.network.dispatch, true);
  assert.equal(skeleton.network.acceptorIsMain, true);
  assert.equal(skeleton.network.networkThreads, 4);
  assert.equal(skeleton.network.connections, 'pool');
  const [acceptor] = groups(skeleton, 'acceptor');
  assert.ok(acceptor?.mainThread);
  assert.deepEqual(acceptor?.blocksOn.slice(0, 1), ['epoll_wait']);
  assert.equal(count(skeleton, 'network'), 4);
  assert.equal(count(skeleton, 'background'), 5);
  // The LRU maintainer sleeps in clock_nanosleep with a period of a few ms under load.
  const periodic = groups(skeleton, 'background').find((g) => g.periodMs !== null);
  assert.ok(periodic?.blocksOn.includes('clock_nanosleep'));
  assert.ok((periodic?.periodMs ?? 0) > 0.5 && (periodic?.periodMs ?? 0) < 1000);
  assert.equal(roleOf.size, 10);
});

test('redis: a single event loop that accepts and serves, plus idle background threads', () => {
  for (const run of ['redis-get', 'redis-set'] as const) {
    const { skeleton } = analyzeSkeleton(recordedRun(run));
    assert.equal(skeleton.network.io, 'epoll', run);
    assert.equal(skeleton.network.dispatch, false, run);
    assert.equal(skeleton.network.networkThreads, 1, run);
    const [loop] = groups(skeleton, 'network');
    assert.ok(loop?.mainThread && loop.count === 1, run);
    assert.ok(count(skeleton, 'background') >= 3, run);
  }
});

test('nginx: a master process and two single-threaded epoll worker processes that accept', () => {
  const { skeleton } = analyzeSkeleton(recordedRun('nginx-get'));
  assert.deepEqual(
    skeleton.processes.map((p) => [p.role, p.count, p.threads]),
    [
      ['master', 1, 1],
      ['worker', 2, 1],
    ],
  );
  assert.equal(skeleton.network.io, 'epoll');
  assert.equal(skeleton.network.networkProcesses, 2);
  assert.equal(skeleton.network.networkThreads, 1);
  assert.equal(skeleton.network.dispatch, false);
  const [worker] = groups(skeleton, 'network');
  assert.equal(worker?.processRole, 'worker');
  assert.ok(worker?.blocksOn.includes('epoll_wait') && worker.blocksOn.includes('accept4'));
  assert.deepEqual(
    groups(skeleton, 'main').map((g) => g.processRole),
    ['master'],
  );
});

test('threads forked during the window that serve sockets mean a thread per connection', () => {
  const run = recordedRun('redis-get');
  const loop = run.service.rootPid;
  const child = 999_001;
  const trace = {
    ...run.trace,
    forks: [{ parent: loop, child }],
    syscalls: [...run.trace.syscalls, { pid: loop, tid: child, name: 'read', count: 5000 }],
    io: [
      ...run.trace.io,
      {
        tid: child,
        name: 'read',
        kind: 'socket' as const,
        requested: null,
        returned: [],
        calls: 5000,
        bytes: 1,
        errors: 0,
      },
    ],
  };
  const { skeleton } = analyzeSkeleton({ ...run, trace });
  assert.equal(skeleton.network.connections, 'thread-per-connection');
  assert.ok(skeleton.clonesPerSecond > 0);
});

test('the skeleton holds no thread name of the original', () => {
  for (const name of ['memcached-get', 'redis-aof-set', 'nginx-get'] as const) {
    const run = recordedRun(name);
    const text = JSON.stringify(analyzeSkeleton(run).skeleton);
    for (const t of run.service.threads) assert.ok(!text.includes(t.comm), `${name}: ${t.comm}`);
    assert.ok(!/"(tid|pid)"/.test(text));
  }
});

test('an nginx worker that got no connection in the window is still a worker with an epoll loop', () => {
  const run = recordedRun('nginx-get');
  const [busy, idle] = run.service.processes.filter((p) => p.pid !== run.service.rootPid).map((p) => p.pid);
  assert.ok(busy && idle);
  const keep = <T extends { tid: number }>(items: T[]) => items.filter((i) => i.tid !== idle);
  const trace = {
    ...run.trace,
    syscalls: keep(run.trace.syscalls),
    io: keep(run.trace.io),
    readiness: keep(run.trace.readiness),
    accepts: keep(run.trace.accepts),
    switches: keep(run.trace.switches),
  };
  const { skeleton } = analyzeSkeleton({ ...run, trace });
  assert.deepEqual(
    skeleton.processes.map((p) => [p.role, p.count]),
    [
      ['master', 1],
      ['worker', 2],
    ],
  );
  assert.equal(skeleton.network.networkProcesses, 2);
  assert.equal(groups(skeleton, 'network')[0]?.count, 1);
});

test('an nginx worker that accepted a late reconnection but served little in the window is no dispatcher', () => {
  const run = recordedRun('nginx-get');
  const [, late] = run.service.processes.filter((p) => p.pid !== run.service.rootPid).map((p) => p.pid);
  assert.ok(late);
  const quiet = <T extends { tid: number }>(items: T[]) => items.filter((i) => i.tid !== late);
  const trace = {
    ...run.trace,
    io: quiet(run.trace.io),
    accepts: [...quiet(run.trace.accepts), { tid: late, ok: 1, failed: 0 }],
  };
  const { skeleton } = analyzeSkeleton({ ...run, trace });
  assert.equal(skeleton.network.dispatch, false);
});

test('without readiness calls the network model is blocking, or non-blocking when most socket reads fail', () => {
  const run = recordedRun('redis-get');
  const loop = run.service.rootPid;
  const io = (errors: number) => ({
    tid: loop,
    name: 'read',
    kind: 'socket' as const,
    requested: null,
    returned: [],
    calls: 5000,
    bytes: 5000 * 30,
    errors,
  });
  const noWaits = run.trace.syscalls.filter((s) => !s.name.startsWith('epoll'));
  const model = (errors: number) =>
    analyzeSkeleton({
      ...run,
      trace: { ...run.trace, syscalls: noWaits, readiness: [], io: [io(errors)] },
      requests: 5000,
    }).skeleton.network;
  assert.equal(model(0).io, 'blocking');
  assert.equal(model(0).eventsPerWait, null);
  assert.equal(model(20_000).io, 'nonblocking');
});
