// The clone runtime built into real clones from small hand-written plans (stand-in empty bodies), driven by the
// clients users already have and by ditto-load: zero errors, planned response sizes, planned syscalls, bad input
// closing only its connection, and a clean exit on SIGTERM.
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test, { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClonePlan } from '../../src/artifacts/clone-plan.ts';
import { syscallName } from '../../src/collect/bpftrace/syscalls-x86_64.ts';
import type { LoadOptions } from '../../src/collect/load/options.ts';
import { parseRedisBenchmarkCsv } from '../../src/collect/load/redis-benchmark.ts';
import { runDittoLoad } from '../../src/collect/load/run.ts';
import { parseWrkOutput } from '../../src/collect/load/wrk.ts';
import { parseStatus } from '../../src/collect/procfs/parse.ts';
import { parseCallgrind } from '../../src/collect/valgrind/callgrind.ts';
import { cacheRunPlan } from '../../src/collect/valgrind/geometry.ts';
import { dittoLoadDriver, profileCpuBody } from '../../src/collect/valgrind/runner.ts';
import { emitCloneBuild, runtimeSourceFiles } from '../../src/emit/runtime/build.ts';
import { emitRuntimeConfig } from '../../src/emit/runtime/config.ts';
import { packagePath } from '../../src/package-root.ts';
import { runtimeIndirectJumps, runtimeInstructions } from '../../src/plan/runtime-cost.ts';
import { targetSpecSchema } from '../../src/spec/target-spec.ts';
import { freePort, waitForPort } from '../../src/sys/ports.ts';
import { type RunningProcess, run, start, stopAll } from '../../src/sys/process.ts';
import { smallPlan } from '../fixtures/runtime/plan.ts';

const work = mkdtempSync(join(tmpdir(), 'ditto-runtime-test-'));
after(async () => {
  await stopAll();
  rmSync(work, { recursive: true, force: true });
});

let cloneCount = 0;

async function buildClone(plan: ClonePlan): Promise<string> {
  const dir = join(work, `clone-${cloneCount++}`);
  for (const f of [...emitRuntimeConfig(plan), ...emitCloneBuild(), ...runtimeSourceFiles()]) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.content);
  }
  copyFileSync(packagePath('test', 'fixtures', 'runtime', 'body.c'), join(dir, 'src', 'body.c'));
  await run('make', ['-s', '-C', dir], { timeoutMs: 120_000 });
  return dir;
}

interface Clone {
  process: RunningProcess;
  port: number;
}

async function startClone(dir: string, wrapper: string[] = []): Promise<Clone> {
  const port = await freePort();
  const argv = [...wrapper, join(dir, 'bin', 'clone'), '--port', String(port)];
  // Scratch files land in the test's directory, removed at the end even if a wrapper (strace) kills the clone.
  const process = start(argv[0]!, argv.slice(1), { name: 'clone', env: { TMPDIR: work } });
  await waitForPort('127.0.0.1', port, { process, timeoutMs: 10_000 });
  return { process, port };
}

/** A wrapper that traces the clone's processes and threads for `calls` (strace's `trace=` list) into `out`. */
function strace(out: string, calls: string, ...flags: string[]): string[] {
  return ['strace', '-f', '-qq', ...flags, '-o', out, '-e', calls];
}

async function stopClone(clone: Clone): Promise<number> {
  const started = performance.now();
  const exit = await clone.process.stop({ signal: 'SIGTERM', graceMs: 3000 });
  assert.equal(exit.signal, undefined, `clone ${exit.description}`);
  assert.equal(exit.exitCode, 0, `clone ${exit.description}: ${clone.process.outputTail()}`);
  return performance.now() - started;
}

function loadOptions(clone: Clone, protocol: ClonePlan['protocol'], over: Partial<LoadOptions>): LoadOptions {
  return {
    host: '127.0.0.1',
    port: clone.port,
    protocol,
    rate: 0,
    arrival: 'poisson',
    connections: 4,
    threads: 1,
    durationS: 1,
    warmupS: 0,
    depth: 1,
    keys: 1000,
    keySize: 16,
    keyDistribution: 'uniform',
    zipfS: 0.99,
    getRatio: 1,
    valueSize: 64,
    preload: false,
    paths: ['/'],
    timeoutMs: 2000,
    seed: 1,
    histogram: false,
    ...over,
  };
}

/** Sends `data` on a new connection; resolves with what came back and whether the server closed it. */
function exchange(
  port: number,
  data: string | Buffer,
  waitMs = 1000,
): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ reply: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => finish(true));
    socket.on('error', () => finish(true));
    socket.write(data);
  });
}

/** Mean planned get payload of smallPlan: sizes 100 and 1000 weighted 3:1. */
const meanGetPayload = (100 * 3 + 1000) / 4;
/** Framing of one get response around its payload (key size 16, "/" for http). */
const getFraming = {
  // VALUE <16-byte key> 0 <3.25 digits>\r\n ... \r\nEND\r\n
  memcached: 6 + 16 + 3 + 3.25 + 2 + 2 + 5,
  // $<3.25 digits>\r\n ... \r\n
  redis: 1 + 3.25 + 2 + 2,
  http: 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: '.length + 3.25 + 4,
};

/** Calls of one syscall in an `strace -c` summary table (0 when absent). */
function straceCalls(table: string, name: string): number {
  return Number(
    new RegExp(`^\\s*[\\d.]+\\s+[\\d.]+\\s+\\d+\\s+(\\d+)(?:\\s+\\d+)?\\s+${name}$`, 'm').exec(table)?.[1] ??
      0,
  );
}

const clients = {
  memcached: async (port: number) => {
    const r = await run('memcaslap', ['-s', `127.0.0.1:${port}`, '-T', '1', '-c', '8', '-t', '2s'], {
      timeoutMs: 30_000,
    });
    const ops = Number(/Ops: (\d+)/.exec(r.stdout)?.[1] ?? 0);
    const tps = Number(/TPS: (\d+)/.exec(r.stdout)?.[1] ?? 0);
    assert.ok(ops > 1000, `memcaslap: ${r.stdout}`);
    assert.doesNotMatch(r.stdout + r.stderr, /error|fail|unexpected/i);
    return { throughput: tps, errors: 0 };
  },
  redis: async (port: number) => {
    const r = await run(
      'redis-benchmark',
      ['-p', String(port), '-c', '8', '-n', '20000', '-t', 'get,set', '--csv'],
      {
        timeoutMs: 60_000,
      },
    );
    assert.doesNotMatch(r.stderr, /error/i, r.stderr);
    const result = parseRedisBenchmarkCsv(r.stdout, `127.0.0.1:${port}`, {
      requestsPerTest: 20000,
      connections: 8,
    });
    assert.match(r.stdout, /"SET"/);
    assert.match(r.stdout, /"GET"/);
    return { throughput: result.achievedRate, errors: result.errors };
  },
  http: async (port: number) => {
    const r = await run('wrk', ['-t1', '-c8', '-d2s', '--latency', `http://127.0.0.1:${port}/`], {
      timeoutMs: 30_000,
    });
    const result = parseWrkOutput(r.stdout, `127.0.0.1:${port}`);
    return { throughput: result.achievedRate, errors: result.errors };
  },
};

const models: Parameters<typeof smallPlan>[1][] = [
  { model: 'dispatch', io: 'epoll', acceptThreads: 1, networkThreads: 2, workerProcesses: 0 },
  { model: 'event-loop', io: 'epoll', acceptThreads: 0, networkThreads: 1, workerProcesses: 0 },
  { model: 'process-workers', io: 'epoll', acceptThreads: 0, networkThreads: 1, workerProcesses: 2 },
  { model: 'thread-per-connection', io: 'blocking', acceptThreads: 1, networkThreads: 1, workerProcesses: 0 },
  {
    model: 'process-per-connection',
    io: 'blocking',
    acceptThreads: 1,
    networkThreads: 1,
    workerProcesses: 0,
  },
];

for (const protocol of ['memcached', 'redis', 'http'] as const) {
  for (const network of models) {
    test(`${protocol} × ${network.model}: the users' client runs with zero errors, sizes as planned`, async () => {
      const dir = await buildClone(smallPlan(protocol, network));
      const clone = await startClone(dir);
      try {
        const client = await clients[protocol](clone.port);
        assert.equal(client.errors, 0);
        const load = await runDittoLoad(loadOptions(clone, protocol, {}));
        assert.equal(load.errors, 0, load.warnings.join('; '));
        assert.equal(load.protocolErrors, 0);
        assert.ok(load.responses > 500, `${load.responses} responses`);
        const perResponse = (load.bytesReceived ?? 0) / load.responses;
        const expected = meanGetPayload + getFraming[protocol];
        assert.ok(
          Math.abs(perResponse - expected) / expected < 0.06,
          `${perResponse.toFixed(1)} bytes per response, planned ${expected}`,
        );
        console.error(
          `# ${protocol} × ${network.model}: client ${client.throughput.toFixed(0)} req/s, ditto-load ${load.achievedRate.toFixed(0)} req/s, ${perResponse.toFixed(1)} B/response (planned ${expected})`,
        );
      } finally {
        const ms = await stopClone(clone);
        assert.ok(ms < 1500, `SIGTERM took ${ms.toFixed(0)} ms`);
      }
    });
  }
}

test('thread-per-connection with non-blocking sockets (spinning reads) serves ditto-load', async () => {
  const dir = await buildClone(
    smallPlan('memcached', {
      model: 'thread-per-connection',
      io: 'nonblocking',
      acceptThreads: 1,
      networkThreads: 1,
    }),
  );
  const clone = await startClone(dir);
  try {
    const load = await runDittoLoad(loadOptions(clone, 'memcached', { connections: 1, durationS: 0.5 }));
    assert.equal(load.errors, 0);
    assert.ok(load.responses > 100);
  } finally {
    await stopClone(clone);
  }
});

test('a background thread whose period follows the load: long sleeps when idle, 200 wake-ups/s at 2000 req/s', async () => {
  // Planned: 10 ms at 1000 req/s, inversely to the rate; an idle service counts as 1% of the reference (1 s).
  const background = [
    {
      count: 1,
      periodMs: 10,
      followsLoad: { referenceRate: 1000, exponent: 1 },
      body: null,
      busyShare: null,
    },
  ];
  const plan = smallPlan(
    'memcached',
    { model: 'dispatch', acceptThreads: 1, networkThreads: 2 },
    { background },
  );
  const clone = await startClone(await buildClone(plan));
  const task = (tid: string) => `/proc/${clone.process.pid}/task/${tid}`;
  try {
    await sleep(1500);
    // The only thread asleep in clock_nanosleep.
    const sleeper = readdirSync(`/proc/${clone.process.pid}/task`).find(
      (tid) =>
        syscallName(Number(readFileSync(`${task(tid)}/syscall`, 'utf8').split(' ')[0])) === 'clock_nanosleep',
    );
    assert.ok(sleeper, 'no thread of the clone sleeps in clock_nanosleep');
    const wakeups = () => parseStatus(readFileSync(`${task(sleeper)}/status`, 'utf8')).voluntarySwitches;
    const idleFrom = wakeups();
    await sleep(2000);
    const idle = (wakeups() - idleFrom) / 2;
    assert.ok(idle <= 3, `${idle} wake-ups/s while idle (planned 1)`);
    const loaded = runDittoLoad(loadOptions(clone, 'memcached', { rate: 2000, durationS: 4 }));
    await sleep(1500);
    const busyFrom = wakeups();
    await sleep(2000);
    const busy = (wakeups() - busyFrom) / 2;
    const load = await loaded;
    const planned = (100 * load.achievedRate) / 1000;
    assert.ok(
      Math.abs(busy / planned - 1) < 0.25,
      `${busy} wake-ups/s at ${load.achievedRate} req/s (planned ${planned})`,
    );
  } finally {
    await stopClone(clone);
  }
});

const badInputs = {
  memcached: ['set k 0 0 notanumber\r\n', 'set k 0 0 3\r\nabcdef\r\n', `get ${'k'.repeat(1_500_000)}`],
  redis: ['*1\r\n$abc\r\n', '*2\r\n$3\r\nGET\r\n$2000000\r\n', `PING${' x'.repeat(800_000)}`],
  http: ['BREW / HTTP/1.1\r\n\r\n', 'GET / SPDY/9\r\n\r\n', `GET /${'a'.repeat(1_500_000)}`],
};
const goodRequest = {
  memcached: { send: 'get a\r\n', expect: /^VALUE a 0 \d+\r\nx+\r\nEND\r\n$/ },
  redis: { send: '*2\r\n$3\r\nGET\r\n$1\r\na\r\n', expect: /^\$\d+\r\nx+\r\n$/ },
  http: {
    send: 'GET / HTTP/1.1\r\n\r\n',
    expect: /^HTTP\/1\.1 200 OK\r\n[\s\S]*Content-Length: \d+\r\n\r\nx+$/,
  },
};

for (const protocol of ['memcached', 'redis', 'http'] as const) {
  test(`${protocol}: malformed or oversized input closes that connection; the clone keeps serving`, async () => {
    const dir = await buildClone(smallPlan(protocol, models[0]!));
    const clone = await startClone(dir);
    try {
      for (const bad of badInputs[protocol]) {
        const r = await exchange(clone.port, bad, 3000);
        assert.ok(r.closed, `${JSON.stringify(bad.slice(0, 40))} left the connection open`);
        const good = await exchange(clone.port, goodRequest[protocol].send, 300);
        assert.match(good.reply, goodRequest[protocol].expect);
      }
      assert.ok(clone.process.running);
    } finally {
      await stopClone(clone);
    }
  });
}

test('protocol details: pipelining in order, multi-get, noreply, quit, HEAD, Connection: close, redis helpers', async () => {
  const mc = await startClone(await buildClone(smallPlan('memcached', models[1]!)));
  const rd = await startClone(await buildClone(smallPlan('redis', models[1]!)));
  const ht = await startClone(await buildClone(smallPlan('http', models[1]!)));
  try {
    const m = await exchange(
      mc.port,
      'get a b\r\nset k 0 0 3 noreply\r\nabc\r\nadd k 1 2 1\r\nz\r\ndelete k\r\nversion\r\nincr k 1\r\nquit\r\nget c\r\n',
    );
    assert.match(
      m.reply,
      /^VALUE a 0 \d+\r\nx+\r\nVALUE b 0 \d+\r\nx+\r\nEND\r\nSTORED\r\nDELETED\r\nVERSION [\d.]+\r\nERROR\r\n$/,
    );
    assert.ok(m.closed);
    const r = await exchange(
      rd.port,
      'PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n*1\r\n$4\r\nFOO!\r\n*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n',
    );
    assert.equal(
      r.reply,
      '+PONG\r\n+OK\r\n-ERR unknown command\r\n-ERR unknown command\r\n*2\r\n$4\r\nsave\r\n$0\r\n\r\n',
    );
    const h = await exchange(
      ht.port,
      'HEAD / HTTP/1.1\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbodyGET / HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n',
    );
    const responses = h.reply.split('HTTP/1.1 200 OK').slice(1);
    assert.equal(responses.length, 3, h.reply);
    assert.match(responses[0]!, /Content-Length: (100|1000)\r\n\r\n$/);
    assert.match(responses[1]!, /Content-Length: 0\r\n\r\n$/);
    assert.match(responses[2]!, /Connection: close\r\n\r\nx+$/);
    assert.ok(h.closed);
  } finally {
    await Promise.all([stopClone(mc), stopClone(rd), stopClone(ht)]);
  }
});

type FileOps = ClonePlan['classes'][number]['syscalls'];

/** A memcached plan (dispatch model) whose gets and sets make the given file ops. */
function fileOpsPlan(gets: FileOps, sets: FileOps): ClonePlan {
  const base = smallPlan('memcached', models[0]!);
  const [get, set] = base.classes;
  return {
    ...base,
    classes: [
      { ...get!, syscalls: gets },
      { ...set!, syscalls: sets },
    ],
  };
}

test('syscalls per request follow the plan: 1 fdatasync and 1 pwrite per set, 0.5 pread per get', async () => {
  const plan = fileOpsPlan(
    [{ op: 'file_pread', perRequest: 0.5, bytes: 4096, pattern: 'random', batch: 'request' }],
    [
      { op: 'file_pwrite', perRequest: 1, bytes: 512, pattern: 'sequential', batch: 'request' },
      { op: 'fdatasync', perRequest: 1, bytes: 0, pattern: 'sequential', batch: 'request' },
    ],
  );
  const dir = await buildClone(plan);
  const out = join(work, 'strace.txt');
  const clone = await startClone(dir, strace(out, 'trace=fdatasync,pwrite64,pread64', '-c'));
  let sets = 0;
  let gets = 0;
  try {
    const s = await runDittoLoad(
      loadOptions(clone, 'memcached', { getRatio: 0, connections: 2, durationS: 1 }),
    );
    const g = await runDittoLoad(
      loadOptions(clone, 'memcached', { getRatio: 1, connections: 2, durationS: 1 }),
    );
    assert.equal(s.errors + g.errors, 0);
    sets = s.responses;
    gets = g.responses;
  } finally {
    await clone.process.stop({ signal: 'SIGTERM', graceMs: 5000 });
  }
  const table = readFileSync(out, 'utf8');
  const calls = (name: string) => straceCalls(table, name);
  console.error(`# syscalls: ${sets} sets, ${gets} gets\n${table}`);
  // In-flight requests when a run ends are served but not counted by the client: allow a few per connection.
  assert.ok(Math.abs(calls('fdatasync') - sets) <= 8, `fdatasync ${calls('fdatasync')} for ${sets} sets`);
  assert.ok(Math.abs(calls('pwrite64') - sets) <= 8, `pwrite ${calls('pwrite64')} for ${sets} sets`);
  assert.ok(Math.abs(calls('pread64') / gets - 0.5) < 0.05, `pread ${calls('pread64')} for ${gets} gets`);
});

test('new connections reuse closed ones with their buffers: nothing is allocated once one is spare', async () => {
  const dir = await buildClone(smallPlan('memcached', models[1]!));
  const dumps = join(work, 'callgrind-connections');
  mkdirSync(dumps);
  const clone = await startClone(dir, [
    'valgrind',
    '--tool=callgrind',
    '--dump-instr=yes',
    '--compress-strings=no',
    '--compress-pos=no',
    `--callgrind-out-file=${dumps}/cg.%p`,
    `--vgdb-prefix=${dumps}/vgdb`,
  ]);
  // One get per connection, then quit: the clone closes it.
  const churn = async () => {
    for (let i = 0; i < 20; i++) {
      const { reply, closed } = await exchange(clone.port, 'get k\r\nquit\r\n', 5000);
      assert.ok(closed && reply.endsWith('END\r\n'), reply);
    }
  };
  let calls: { callee: string; count: number }[] = [];
  try {
    await churn();
    const pid = String(clone.process.pid);
    // callgrind_control exits 0 even when it finds no process: the dump's absence tells.
    const control = (what: string) =>
      run('callgrind_control', [`--vgdb-prefix=${dumps}/vgdb`, what, pid], { timeoutMs: 30_000 });
    await control('-z');
    await churn();
    await control('-d');
    const dump = readdirSync(dumps).find((f) => f.endsWith('.1'));
    assert.ok(dump, `no window dump in ${readdirSync(dumps).join(' ')}`);
    const profile = parseCallgrind(readFileSync(join(dumps, dump), 'utf8'));
    calls = profile.calls.map((c) => ({
      callee: profile.functions[c.callee]?.split('\0')[1] ?? '',
      count: c.count,
    }));
  } finally {
    await clone.process.stop({ signal: 'SIGTERM', graceMs: 10_000 });
  }
  const allocations = calls
    .filter((c) => /^(malloc|calloc|realloc)$/.test(c.callee))
    .reduce((n, c) => n + c.count, 0);
  assert.ok(calls.length > 0, 'the window holds no calls');
  assert.equal(allocations, 0, `${allocations} allocations for 20 new connections`);
});

test('appending writes grow the data file by what they write, through an append-only descriptor', async () => {
  const plan = fileOpsPlan(
    [],
    [
      { op: 'file_write', perRequest: 1, bytes: 300, pattern: 'append', batch: 'request' },
      { op: 'file_pwrite', perRequest: 1, bytes: 200, pattern: 'append', batch: 'request' },
    ],
  );
  const dir = await buildClone(plan);
  const out = join(work, 'strace-append.txt');
  const clone = await startClone(dir, strace(out, 'trace=openat,write,pwrite64', '-y'));
  // This clone's scratch directory: the only one left (a clone removes its own when it exits).
  const dataFile = () => {
    const scratch = readdirSync(work).filter((f) => f.startsWith('ditto-clone-'));
    assert.equal(scratch.length, 1, `scratch directories ${scratch.join(' ')}`);
    return statSync(join(work, scratch[0]!, 'data')).size;
  };
  let sets = 0;
  let grown = 0;
  try {
    const before = dataFile();
    const load = await runDittoLoad(
      loadOptions(clone, 'memcached', { getRatio: 0, connections: 2, durationS: 1 }),
    );
    assert.equal(load.errors, 0);
    sets = load.responses;
    grown = dataFile() - before;
  } finally {
    await clone.process.stop({ signal: 'SIGTERM', graceMs: 5000 });
  }
  console.error(`# ${sets} sets grew the data file by ${grown} bytes`);
  assert.ok(sets > 100, `${sets} sets`);
  // In-flight sets when the run ends are served but not counted: a few per connection.
  assert.ok(Math.abs(grown / 500 - sets) <= 8, `${grown} bytes for ${sets} sets of 500`);
  // -y names each descriptor's file: the calls on the data file, and the append-only opens of it.
  const trace = readFileSync(out, 'utf8');
  assert.match(trace, /openat\([^)]*\/data", O_WRONLY\|O_APPEND\|O_CLOEXEC/);
  const onData = (call: string) =>
    trace.split(`${call}(`).filter((rest) => /^\d+<[^>]*\/data>/.test(rest)).length;
  assert.ok(Math.abs(onData('write') - sets) <= 8, `${onData('write')} writes for ${sets} sets`);
  assert.ok(Math.abs(onData('pwrite64') - sets) <= 8, `${onData('pwrite64')} pwrites for ${sets} sets`);
});

test('loop-pass ops: each event-loop pass writes its sets in one call and syncs once, then responds', async () => {
  const base = smallPlan('redis', {
    model: 'event-loop',
    networkThreads: 1,
    acceptThreads: 0,
    send: 'write',
  });
  const plan: ClonePlan = {
    ...base,
    classes: [
      {
        ...base.classes[1]!,
        syscalls: [
          { op: 'fdatasync', perRequest: 0.5, bytes: 0, pattern: 'sequential', batch: 'loop' },
          { op: 'file_write', perRequest: 0.5, bytes: 300, pattern: 'sequential', batch: 'loop' },
        ],
      },
    ],
  };
  const dir = await buildClone(plan);
  const out = join(work, 'strace-pass.txt');
  const clone = await startClone(dir, strace(out, 'trace=epoll_wait,write,fdatasync'));
  let sets = 0;
  try {
    const load = await runDittoLoad(
      loadOptions(clone, 'redis', { getRatio: 0, connections: 8, durationS: 1 }),
    );
    assert.equal(load.errors + (load.protocolErrors ?? 0), 0);
    sets = load.responses;
  } finally {
    await clone.process.stop({ signal: 'SIGTERM', graceMs: 5000 });
  }
  // The passes, from one epoll_wait to the next: what each wrote (file writes are 300-byte multiples, responses
  // to sets are "+OK\r\n" multiples) and whether it synced.
  const passes: { calls: string[] }[] = [];
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const call = /^\d+\s+(epoll_wait|write|fdatasync)\(.*\)\s+= (\d+)$/.exec(line);
    if (!call) continue;
    if (call[1] === 'epoll_wait') passes.push({ calls: [] });
    else passes.at(-1)?.calls.push(call[1] === 'write' && Number(call[2]) % 300 === 0 ? 'log' : call[1]!);
  }
  const syncing = passes.filter((p) => p.calls.includes('fdatasync'));
  console.error(`# ${sets} sets, ${passes.length} passes, ${syncing.length} synced`);
  assert.ok(syncing.length > 100, `${syncing.length} syncing passes`);
  // 8 connections in a closed loop: passes serve several sets, so fewer syncs than sets.
  assert.ok(syncing.length < 0.8 * sets, `${syncing.length} syncs for ${sets} sets`);
  for (const p of syncing) {
    // One log write, one sync, then only the responses: nothing is acknowledged before it is synced.
    assert.deepEqual(p.calls.slice(0, 2), ['log', 'fdatasync'], p.calls.join(' '));
    assert.ok(
      p.calls.slice(2).every((c) => c === 'write'),
      p.calls.join(' '),
    );
  }
});

/** A get-only plan whose requests make the given file ops and reach the socket with the given calls. */
function syscallPlan(
  protocol: ClonePlan['protocol'],
  receive: ClonePlan['network']['receive'],
  send: ClonePlan['network']['send'],
  syscalls: ClonePlan['classes'][number]['syscalls'],
): ClonePlan {
  const base = smallPlan(protocol, { ...models[1]!, receive, send }, { background: [] });
  return {
    ...base,
    classes: [{ ...base.classes[0]!, responsePayload: [{ size: 1000, weight: 1 }], syscalls }],
  };
}

/** strace -c -f of a clone under `connections` × depth-1 get load: calls per served request, by syscall. */
async function syscallsPerRequest(plan: ClonePlan, names: string[]): Promise<Record<string, number>> {
  const dir = await buildClone(plan);
  const out = join(work, `strace-${cloneCount}.txt`);
  const clone = await startClone(dir, strace(out, `trace=${names.join(',')}`, '-c'));
  let requests = 0;
  try {
    const load = await runDittoLoad(loadOptions(clone, plan.protocol, { connections: 2, durationS: 3 }));
    assert.equal(load.errors + (load.protocolErrors ?? 0), 0);
    requests = load.responses;
  } finally {
    await clone.process.stop({ signal: 'SIGTERM', graceMs: 5000 });
  }
  assert.ok(requests > 1000, `${requests} requests`);
  const table = readFileSync(out, 'utf8');
  console.error(
    `# ${plan.protocol} ${plan.network.receive}/${plan.network.send}: ${requests} requests\n${table}`,
  );
  return Object.fromEntries(names.map((n) => [n, straceCalls(table, n) / requests]));
}

/** Measured within 2% of planned, for each syscall; under 0.02 per request where the plan has none. */
function assertPerRequest(measured: Record<string, number>, planned: Record<string, number>) {
  for (const [name, want] of Object.entries(planned)) {
    const got = measured[name] ?? 0;
    // Planned none: only the start's calls (the loader reading libraries, the data file being written).
    if (want === 0) assert.ok(got < 0.02, `${name}: ${got.toFixed(4)} per request, planned none`);
    else
      assert.ok(
        Math.abs(got - want) / want < 0.02,
        `${name}: ${got.toFixed(4)} per request, planned ${want}`,
      );
  }
}

test('file ops under load as planned: stat, open_close, sendfile (headers by writev, body by sendfile), file_read, file_write', async () => {
  const plan = syscallPlan('http', 'recvfrom', 'writev', [
    { op: 'stat', perRequest: 1, bytes: 0, pattern: 'sequential', batch: 'request' },
    { op: 'open_close', perRequest: 1, bytes: 0, pattern: 'sequential', batch: 'request' },
    { op: 'sendfile', perRequest: 1, bytes: 1000, pattern: 'sequential', batch: 'request' },
    { op: 'file_read', perRequest: 1.5, bytes: 100, pattern: 'sequential', batch: 'request' },
    { op: 'file_write', perRequest: 1, bytes: 200, pattern: 'random', batch: 'request' },
  ]);
  const names = [
    'recvfrom',
    'writev',
    'sendfile',
    'newfstatat',
    'openat',
    'close',
    'read',
    'write',
    'sendto',
  ];
  const m = await syscallsPerRequest(plan, names);
  // One writev of the headers (one iovec) and one sendfile of the 1000-byte body per request, as nginx does.
  assertPerRequest(m, {
    recvfrom: 1,
    writev: 1,
    sendfile: 1,
    newfstatat: 1,
    openat: 1,
    close: 1,
    read: 1.5,
    write: 1,
    sendto: 0,
  });
});

for (const [protocol, receive, send] of [
  ['memcached', 'read', 'sendmsg'],
  ['redis', 'recvmsg', 'write'],
  ['memcached', 'readv', 'sendto'],
  ['http', 'read', 'writev'],
] as const) {
  test(`${protocol}: requests received with ${receive}, responses sent with ${send}, one each per request`, async () => {
    const all = ['read', 'readv', 'recvfrom', 'recvmsg', 'write', 'writev', 'sendto', 'sendmsg'];
    const m = await syscallsPerRequest(syscallPlan(protocol, receive, send, []), all);
    assertPerRequest(m, Object.fromEntries(all.map((n) => [n, n === receive || n === send ? 1 : 0])));
  });
}

test('the runtime tables (src/plan/runtime-cost.ts) are within 10% (indirect jumps: 2) of a fresh callgrind measurement', async () => {
  // As the profile measures the original: one class at a time, the per-instruction callgrind window only.
  const window = cacheRunPlan().filter((p) => p.role.kind === 'platform' && p.role.level === 'l2');
  for (const [protocol, classes] of Object.entries(runtimeInstructions)) {
    for (const [cls, table] of Object.entries(classes)) {
      const base = smallPlan(protocol as ClonePlan['protocol'], { ...models[1]! }, { background: [] });
      // Empty bodies (fixtures/runtime/body.c) and no file ops; memcached gets hit with one byte (a miss is
      // shorter than any profiled get).
      const payload = protocol === 'memcached' && cls === 'get' ? 1 : 0;
      const plan: ClonePlan = {
        ...base,
        classes: base.classes.map((c) => ({
          ...c,
          responsePayload: [{ size: payload, weight: 1 }],
          syscalls: [],
        })),
      };
      const dir = await buildClone(plan);
      const spec = targetSpecSchema.parse({
        name: 'clone',
        command: [join(dir, 'bin', 'clone'), '--port', '{port}'],
        protocol,
        workload: { getRatio: cls === 'get' ? 1 : 0 },
      });
      const run = await profileCpuBody(spec, { load: dittoLoadDriver(spec), plan: window.slice(0, 1) });
      const measured = run.body.instructionsPerRequest;
      const jumps = run.body.branches.indirectPerRequest;
      const jumpsTable =
        (runtimeIndirectJumps[protocol as ClonePlan['protocol']] as Record<string, number>)[cls] ?? 0;
      console.error(
        `# runtime ${protocol} ${cls}: instructions ${measured.toFixed(0)} (table ${table}), indirect jumps ${jumps.toFixed(1)} (table ${jumpsTable})`,
      );
      assert.ok(
        Math.abs(measured - table) / table < 0.1,
        `${protocol} ${cls}: ${measured.toFixed(0)}, table ${table}`,
      );
      assert.ok(
        Math.abs(jumps - jumpsTable) < 2,
        `${protocol} ${cls}: ${jumps} indirect jumps, table ${jumpsTable}`,
      );
    }
  }
});

test('every golden runtime config compiles and links with the runtime', async () => {
  const golden = packagePath('test', 'golden', 'runtime-config');
  for (const name of readdirSync(golden)) {
    const dir = join(work, `golden-${name}`);
    mkdirSync(join(dir, 'src'), { recursive: true });
    for (const f of [...emitCloneBuild(), ...runtimeSourceFiles()]) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.content);
    }
    copyFileSync(join(golden, name, 'config.c'), join(dir, 'src', 'config.c'));
    copyFileSync(packagePath('test', 'fixtures', 'runtime', 'body.c'), join(dir, 'src', 'body.c'));
    await run('make', ['-s', '-C', dir], { timeoutMs: 120_000 });
  }
});
