// eBPF discovery on real chains started here on free ports of 127.0.0.1, under fixed-rate load from ditto-load:
// client → nginx (proxy_pass) → nginx (static), and client → nginx (memcached_pass) → memcached.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Topology, type TopologyCall, topologySchema } from '../../src/artifacts/topology.ts';
import { loadOptionsFromWorkload } from '../../src/collect/load/options.ts';
import { runDittoLoad } from '../../src/collect/load/run.ts';
import { isDittoError } from '../../src/errors.ts';
import { packagePath } from '../../src/package-root.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';
import { freePort, waitForPort } from '../../src/sys/ports.ts';
import { type RunningProcess, start } from '../../src/sys/process.ts';
import { discoverTopology } from '../../src/topology/discover/run.ts';

const nginx = '/usr/sbin/nginx';
const memcached = '/usr/bin/memcached';
const host = '127.0.0.1';
const rate = 400;
const windowSec = 4;

function nginxConfig(dir: string, server: string): string {
  return `daemon off;
master_process on;
worker_processes 1;
${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  server {
${server}
  }
}
`;
}

/** Starts nginx with `server` (the body of a server block) in its own directory; stops nothing it did not start. */
async function startNginx(root: string, name: string, port: number, server: string): Promise<RunningProcess> {
  const dir = join(root, name);
  writeFileSync(join(root, `${name}.conf`), nginxConfig(dir, `    listen ${host}:${port};\n${server}`));
  const proc = start(nginx, ['-c', join(root, `${name}.conf`), '-p', dir], { name: `nginx (${name})` });
  await waitForPort(host, port, { process: proc, what: `nginx (${name})` });
  return proc;
}

function call(topology: Topology, from: string, to: string): TopologyCall {
  const found = topology.services
    .find((s) => s.name === from)
    ?.endpoints.flatMap((e) => e.calls)
    .find((c) => c.service === to);
  assert.ok(found, `no call ${from} → ${to} in ${topology.serviceEdges.map((e) => `${e.from}→${e.to}`)}`);
  return found;
}

const within = (value: number | undefined, expected: number, share: number) =>
  value !== undefined && Math.abs(value - expected) <= expected * share;

/** Drives `rate` req/s of GET `path` through the front while discovery watches `pids`. */
async function discoverUnderLoad(t: TestContext, frontPort: number, path: string, pids: number[]) {
  const workload = loadTargetSpec(packagePath('examples', 'nginx.yaml')).workload;
  const load = runDittoLoad(
    loadOptionsFromWorkload(
      workload,
      { host, port: frontPort, protocol: 'http' },
      { rate, arrival: 'constant', connections: 4, durationS: windowSec + 6, warmupS: 0, paths: [path] },
    ),
  );
  await sleep(300);
  let discovery: Awaited<ReturnType<typeof discoverTopology>> | undefined;
  try {
    discovery = await discoverTopology({ pids, windowSec });
  } catch (error) {
    if (
      isDittoError(error) &&
      (error.code === 'DITTO_NOT_PERMITTED' || error.code === 'DITTO_TOOL_MISSING')
    ) {
      t.skip(`bpftrace cannot attach here: ${error.oneLine()}`);
    } else throw error;
  } finally {
    const result = await load;
    assert.equal(result.errors, 0, result.warnings.join('; '));
    assert.ok(within(result.achievedRate, rate, 0.02), `ditto-load reached ${result.achievedRate} req/s`);
  }
  return discovery;
}

function missing(t: TestContext, ...files: string[]): boolean {
  const absent = [...files, packagePath('native', 'build', 'ditto-load')].filter((f) => !existsSync(f));
  if (absent.length > 0)
    t.skip(`${absent.join(', ')} missing (install nginx-light / memcached, run make setup)`);
  return absent.length > 0;
}

/** Checks the edges every chain has: client → front (virtual, inbound) and front → back, at the driven rate. */
function checkChain(topology: Topology, front: string, back: string) {
  topologySchema.parse(topology);
  assert.equal(topology.source.method, 'ebpf');
  assert.ok(within(topology.source.windowSec, windowSec, 0.05), `window ${topology.source.windowSec} s`);
  assert.deepEqual(
    topology.serviceEdges.map((e) => `${e.from} → ${e.to}`),
    [`client → ${front}`, `${front} → ${back}`],
  );
  assert.equal(topology.services.find((s) => s.name === 'client')?.virtual, true);
  assert.deepEqual(
    topology.entries.map((e) => e.service),
    [front],
  );
  const inbound = call(topology, 'client', front);
  const hop = call(topology, front, back);
  assert.ok(within(inbound.ratePerSec, rate, 0.2), `client → ${front} at ${inbound.ratePerSec}/s`);
  assert.ok(within(hop.ratePerSec, rate, 0.2), `${front} → ${back} at ${hop.ratePerSec}/s`);
  assert.ok(within(hop.callsPerRequest.mean, 1, 0.05), `calls per request ${hop.callsPerRequest.mean}`);
  // Neither upstream keeps connections alive by default: one connection per call.
  assert.ok(within(hop.connectionsPerSec, rate, 0.2), `${hop.connectionsPerSec} connections/s`);
  return { inbound, hop };
}

test('client → nginx (proxy_pass) → nginx (static): edges, rates and payload sizes', async (t) => {
  if (missing(t, nginx)) return;
  const root = mkdtempSync(join(tmpdir(), 'ditto-discover-'));
  const [frontPort, backPort] = [await freePort(), await freePort()];
  const body = 2000;
  const started: RunningProcess[] = [];
  try {
    for (const name of ['front', 'back/www']) mkdirSync(join(root, name), { recursive: true });
    writeFileSync(join(root, 'back', 'www', 'page.html'), 'x'.repeat(body));
    started.push(await startNginx(root, 'back', backPort, `    root ${root}/back/www;`));
    started.push(
      await startNginx(root, 'front', frontPort, `    location / { proxy_pass http://${host}:${backPort}; }`),
    );
    const discovery = await discoverUnderLoad(
      t,
      frontPort,
      '/page.html',
      started.map((p) => p.pid),
    );
    if (!discovery) return;
    const front = `nginx:${frontPort}`;
    const back = `nginx:${backPort}`;
    const { inbound, hop } = checkChain(discovery.topology, front, back);
    // A GET of a few dozen bytes; the page plus HTTP headers back.
    for (const c of [inbound, hop]) {
      assert.ok(
        (c.requestBytes?.mean ?? 0) > 30 && (c.requestBytes?.mean ?? 0) < 300,
        `${c.requestBytes?.mean}`,
      );
      assert.ok(
        (c.responseBytes?.mean ?? 0) > body && (c.responseBytes?.mean ?? 0) < body + 400,
        `${c.responseBytes?.mean}`,
      );
      assert.ok(within(c.bytesPerSec?.received, (c.responseBytes?.mean ?? 0) * rate, 0.2));
    }
    t.diagnostic(
      `attach ${Math.round(discovery.attachMs)} ms; client → front ${inbound.ratePerSec}/s, front → back ` +
        `${hop.ratePerSec}/s, request ${hop.requestBytes?.mean} B, response ${hop.responseBytes?.mean} B`,
    );
  } finally {
    await Promise.all(started.map((p) => p.stop({ signal: 'SIGTERM' })));
    rmSync(root, { recursive: true, force: true });
  }
});

/** Stores one value in memcached over its text protocol. */
function memcachedSet(port: number, key: string, value: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let reply = '';
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (!reply.endsWith('\r\n')) return;
      socket.end();
      if (reply.startsWith('STORED')) resolve();
      else reject(new Error(`memcached answered ${reply.trim()}`));
    });
    socket.write(`set ${key} 0 0 ${value.length}\r\n${value}\r\n`);
  });
}

test('client → nginx (memcached_pass) → memcached: edges, rates and payload sizes', async (t) => {
  if (missing(t, nginx, memcached)) return;
  const root = mkdtempSync(join(tmpdir(), 'ditto-discover-'));
  const [frontPort, cachePort] = [await freePort(), await freePort()];
  const value = 1500;
  const started: RunningProcess[] = [];
  try {
    mkdirSync(join(root, 'front'));
    const user = process.getuid?.() === 0 ? ['-u', 'root'] : [];
    const cache = start(memcached, ['-l', host, '-p', String(cachePort), '-U', '0', '-t', '2', ...user], {
      name: 'memcached',
    });
    started.push(cache);
    await waitForPort(host, cachePort, { process: cache, what: 'memcached' });
    await memcachedSet(cachePort, '/v', 'v'.repeat(value));
    started.push(
      await startNginx(
        root,
        'front',
        frontPort,
        `    location / { set $memcached_key "$uri"; memcached_pass ${host}:${cachePort}; }`,
      ),
    );
    const discovery = await discoverUnderLoad(
      t,
      frontPort,
      '/v',
      started.map((p) => p.pid),
    );
    if (!discovery) return;
    const front = `nginx:${frontPort}`;
    const { inbound, hop } = checkChain(discovery.topology, front, `memcached:${cachePort}`);
    // "get /v\r\n"; "VALUE /v 0 1500\r\n" + value + "\r\nEND\r\n".
    assert.equal(hop.requestBytes?.mean, 'get /v\r\n'.length);
    assert.equal(hop.responseBytes?.mean, `VALUE /v 0 ${value}\r\n`.length + value + '\r\nEND\r\n'.length);
    assert.ok((inbound.responseBytes?.mean ?? 0) > value && (inbound.responseBytes?.mean ?? 0) < value + 400);
    t.diagnostic(
      `attach ${Math.round(discovery.attachMs)} ms; client → front ${inbound.ratePerSec}/s, front → memcached ` +
        `${hop.ratePerSec}/s, request ${hop.requestBytes?.mean} B, response ${hop.responseBytes?.mean} B`,
    );
  } finally {
    await Promise.all(started.map((p) => p.stop({ signal: 'SIGTERM' })));
    rmSync(root, { recursive: true, force: true });
  }
});
