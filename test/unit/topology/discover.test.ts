// eBPF discovery, pure parts: /proc/net/tcp, the bpftrace maps, and the graph, on output recorded from a real
// client → nginx (proxy_pass) → nginx (static) chain at 400 req/s (ditto-load, constant arrivals, 3 s window).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { type Topology, type TopologyCall, topologySchema } from '../../../src/artifacts/topology.ts';
import { parseBpftraceJson } from '../../../src/collect/bpftrace/parse.ts';
import { DittoError } from '../../../src/errors.ts';
import { groupServices, summarize, topologyFromTraffic } from '../../../src/topology/discover/build.ts';
import { ipv4FromKernel, parseDiscoverOutput } from '../../../src/topology/discover/parse.ts';
import {
  type ProcessInfo,
  parseProcNetTcp,
  processInfo,
  socketInodes,
} from '../../../src/topology/discover/procnet.ts';
import { discoverScript } from '../../../src/topology/discover/script.ts';

const dir = join(import.meta.dirname, '../../fixtures/topology/discover');
const read = (name: string) => readFileSync(join(dir, name), 'utf8');
const stdout = read('nginx-chain.bpftrace.jsonl');
const processes = JSON.parse(read('nginx-chain.processes.json')) as ProcessInfo[];
// Recorded: front master 5283 / worker 5286 listen on 18091, back master 5281 / worker 5285 on 18092.
const front = 'nginx:18091';
const back = 'nginx:18092';

function call(topology: Topology, from: string, to: string): TopologyCall {
  const found = topology.services
    .find((s) => s.name === from)
    ?.endpoints.flatMap((e) => e.calls)
    .find((c) => c.service === to);
  assert.ok(found, `no call ${from} → ${to}`);
  return found;
}

test('/proc/net/tcp: listeners and connections, IPv4, IPv6 and IPv4-mapped addresses', () => {
  const v4 = parseProcNetTcp(read('proc-net-tcp.txt'), 'tcp');
  assert.deepEqual(v4[0], {
    localAddr: '127.0.0.1',
    localPort: 18091,
    remoteAddr: '0.0.0.0',
    remotePort: 0,
    state: 10,
    inode: 128293,
  });
  assert.equal(v4.filter((s) => s.state === 6).length, v4.length - 2, 'TIME_WAIT rows');
  const v6 = parseProcNetTcp(read('proc-net-tcp6.txt'), 'tcp6');
  assert.equal(v6[0]?.localAddr, '0:0:0:0:0:0:0:1');
  assert.equal(v6[1]?.localAddr, '::');
  assert.equal(v6[2]?.localAddr, '127.0.0.1');
  assert.equal(v6[2]?.remotePort, 0xe49a);
  assert.throws(() => parseProcNetTcp('header\n 0: garbage\n', 'tcp'), DittoError);
});

test('a process listens where its fds point to a LISTEN socket; its other connections are outbound', () => {
  const sockets = parseProcNetTcp(read('proc-net-tcp6.txt'), 'tcp6');
  const inodes = socketInodes(['socket:[270223]', 'socket:[270224]', 'pipe:[1]', '/dev/null']);
  const info = processInfo({ pid: 7, ppid: 1, comm: 'node' }, sockets, inodes);
  assert.deepEqual(info.listeners, [{ addr: '::', port: 0xaa95, inode: 270223 }]);
  assert.deepEqual(info.clientPorts, [0xe49a]);
});

test('bpftrace maps → flows; bytes and messages are conserved between the two ends of each hop', () => {
  const traffic = parseDiscoverOutput(stdout);
  assert.equal(traffic.elapsedNs, 3_000_164_262);
  assert.equal(traffic.flows.length, 3);
  const frontOut = traffic.flows.find((f) => f.pid === 5286 && !f.inbound);
  const backIn = traffic.flows.find((f) => f.pid === 5285 && f.inbound);
  assert.ok(frontOut && backIn);
  assert.equal(frontOut.port, 18092);
  assert.equal(frontOut.remoteAddr, '127.0.0.1');
  assert.ok(backIn.peerWatched, 'the back end is called by a watched process');
  assert.equal(frontOut.sent.bytes, backIn.received.bytes);
  assert.equal(frontOut.received.bytes, backIn.sent.bytes);
  assert.equal(frontOut.sent.messages, backIn.received.messages);
  assert.equal(frontOut.sent.sizeMin, 60);
  assert.deepEqual(traffic.connects, [{ pid: 5286, remoteAddr: '127.0.0.1', port: 18092, count: 1200 }]);
  assert.equal(ipv4FromKernel(16777343), '127.0.0.1');
  assert.throws(() => parseDiscoverOutput('{"type": "map", "data": {"@x": 1}}'), /no maps/);
});

test('topology: client → front → back with the rates, sizes and connections the raw maps give', () => {
  const topology = topologySchema.parse(
    topologyFromTraffic(processes, parseDiscoverOutput(stdout), { localAddrs: ['127.0.0.1'] }),
  );
  assert.equal(topology.source.method, 'ebpf');
  assert.equal(topology.source.windowSec, 3);
  assert.deepEqual(
    topology.services.map((s) => [s.name, s.virtual]),
    [
      ['client', true],
      [front, false],
      [back, false],
    ],
  );
  assert.deepEqual(
    topology.serviceEdges.map((e) => `${e.from}>${e.to}`),
    [`client>${front}`, `${front}>${back}`],
  );
  assert.deepEqual(topology.entries, [{ service: front, endpoint: 'tcp:18091', count: 1200, share: 1 }]);

  // An independent reading of the raw maps: messages sent by the caller over the window.
  const raw = parseBpftraceJson(stdout);
  const seconds = (raw.maps.get('@elapsed_ns')?.get('') ?? 0) / 1e9;
  const msgs = raw.maps.get('@msgs');
  const bytes = raw.maps.get('@bytes');
  const hop = call(topology, front, back);
  assert.equal(
    hop.ratePerSec,
    Math.round(((msgs?.get('5286,0,16777343,18092,0,1') ?? 0) / seconds) * 10) / 10,
  );
  assert.ok(Math.abs((hop.ratePerSec ?? 0) - 400) < 1, `front → back at ${hop.ratePerSec}/s`);
  assert.equal(
    hop.bytesPerSec?.received,
    Math.round(((bytes?.get('5286,0,16777343,18092,0,2') ?? 0) / seconds) * 10) / 10,
  );
  assert.equal(hop.callsPerRequest.mean, 1.001); // 1201 calls for 1200 requests: one straddled the window start
  assert.deepEqual(
    [hop.requestBytes?.min, hop.requestBytes?.p50, hop.requestBytes?.max],
    [60, 60, 60],
    'constant sizes give exact percentiles',
  );
  assert.equal(hop.responseBytes?.mean, 1234);
  assert.ok(Math.abs((hop.connectionsPerSec ?? 0) - 400) < 1, 'proxy_pass opens a connection per request');
  assert.equal(hop.confidence, 0, 'the wire says nothing about the order of calls');

  const inbound = call(topology, 'client', front);
  assert.ok(Math.abs((inbound.ratePerSec ?? 0) - 400) < 1);
  assert.equal(inbound.requestBytes?.mean, 41);
  assert.equal(inbound.connectionsPerSec, 0, 'ditto-load keeps its connections');
  const backEndpoint = topology.services.find((s) => s.name === back)?.endpoints[0];
  assert.equal(backEndpoint?.invocations, 1201);
  assert.deepEqual(topology.dropped, []);
});

test('a connection to an unwatched listener becomes a virtual ADDR:PORT service', () => {
  const onlyFront = processes.filter((p) => p.listeners[0]?.port === 18091);
  const topology = topologyFromTraffic(onlyFront, parseDiscoverOutput(stdout), { localAddrs: [] });
  const hop = call(topology, front, '127.0.0.1:18092');
  assert.ok(Math.abs((hop.ratePerSec ?? 0) - 400) < 1);
  const virtual = topology.services.find((s) => s.name === '127.0.0.1:18092');
  assert.equal(virtual?.virtual, true);
  assert.equal(virtual?.endpoints[0]?.invocations, 1201);
  // The back end's traffic belongs to no process that was read: counted, not silently dropped.
  assert.equal(topology.dropped[0]?.reason, 'unknownProcess');
});

test('services: processes sharing a listening socket are one; listener-less processes are told apart', () => {
  const base = { ppid: 1, clientPorts: [] };
  const services = groupServices(
    [
      { ...base, pid: 10, comm: 'nginx', listeners: [{ addr: '0.0.0.0', port: 80, inode: 5 }] },
      { ...base, pid: 11, comm: 'nginx', listeners: [{ addr: '0.0.0.0', port: 80, inode: 5 }] },
      { ...base, pid: 20, comm: 'worker', listeners: [] },
      { ...base, pid: 21, comm: 'worker', listeners: [] },
    ],
    [{ parent: 10, child: 12 }],
  );
  assert.deepEqual(
    services.map((s) => [s.name, s.pids]),
    [
      ['nginx:80', [10, 11, 12]],
      ['worker[20]', [20]],
      ['worker[21]', [21]],
    ],
  );
});

test('sizes from log2 buckets: exact count and mean, percentiles inside the bucket and within min / max', () => {
  const s = summarize(
    [
      { min: 64, max: 127, count: 90 },
      { min: 1024, max: 2047, count: 10 },
    ],
    90 * 100 + 10 * 1500,
    70,
    1600,
  );
  assert.ok(s);
  assert.equal(s.count, 100);
  assert.equal(s.mean, 240);
  assert.equal(s.min, 70);
  assert.equal(s.max, 1600);
  assert.ok(s.p50 >= 70 && s.p50 <= 127);
  assert.ok(s.p99 >= 1024 && s.p99 <= 1600);
  assert.equal(summarize([], 0, undefined, undefined), undefined);
});

test('the script seeds the watched pids and ports and closes its own window', () => {
  const script = discoverScript({
    pids: [5, 5, 6],
    listenPorts: [80],
    ownClientPorts: [40000],
    windowSec: 2.5,
  });
  assert.match(script, /@w\[5\] = 1;\n {2}@w\[6\] = 1;/);
  assert.match(script, /@listen\[80\] = 1;/);
  assert.match(script, /@wport\[40000\] = 1;/);
  assert.match(script, /nsecs - @t_begin >= 2500000000/);
  assert.throws(() => discoverScript({ pids: [], listenPorts: [], ownClientPorts: [], windowSec: 1 }));
});
