// Watched processes + the traffic eBPF saw between them → topology.json (pure).
//
// A service is the set of watched processes that share a listening socket (nginx master and workers), named by
// command and listening port ("nginx:8080"). An edge goes from the side that connected to the side that
// accepted; it is measured on the caller's side. Peers that were not watched become virtual services: "client"
// for connections into a watched listener from elsewhere, "ADDR:PORT" for connections to an unwatched listener.
// The wire shows neither operations nor which inbound request caused which outbound call, so each service has one
// endpoint per listening port, and its outbound calls hang off that endpoint (or off "*" when it has several).

import type { Topology, TopologyCall, TopologyEndpoint, TopologyService } from '../../artifacts/topology.ts';
import type { LogBucket } from '../../collect/bpftrace/parse.ts';
import { type DistSummary, round } from '../graph/dist.ts';
import type { DiscoveredTraffic, Flow, MessageSide } from './parse.ts';
import type { ProcessInfo } from './procnet.ts';

export interface DiscoverContext {
  /** Addresses of this host: a connection to one of them (or to 127.0.0.0/8) may reach a watched listener. */
  localAddrs: readonly string[];
}

/** Name of the virtual service for inbound connections from unwatched processes. */
export const clientService = 'client';
/** Calling endpoint of a client: the virtual one, or a watched process that listens on no port. */
const clientEndpoint = '(client)';
/** Calling endpoint of a watched service that listens on several ports (which one caused a call is unknown). */
const anyEndpoint = '*';

export const endpointName = (port: number) => `tcp:${port}`;

interface Service {
  name: string;
  pids: number[];
  ports: number[];
  listeners: ProcessInfo['listeners'];
}

/** Groups processes that share a listening socket; a forked child that exited before it was read joins its parent. */
export function groupServices(
  processes: readonly ProcessInfo[],
  forks: DiscoveredTraffic['forks'],
): Service[] {
  const parent = new Map<number, number>();
  const find = (pid: number): number => {
    let root = pid;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root) as number;
    return root;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb));
  };
  const byInode = new Map<number, number>();
  for (const p of processes) {
    parent.set(p.pid, find(p.pid));
    for (const l of p.listeners) {
      const other = byInode.get(l.inode);
      if (other === undefined) byInode.set(l.inode, p.pid);
      else union(p.pid, other);
    }
  }
  const known = new Set(processes.map((p) => p.pid));
  for (const { parent: from, child } of forks) {
    if (!known.has(child) && known.has(from)) parent.set(child, find(from));
  }
  const groups = new Map<number, number[]>();
  for (const pid of parent.keys()) {
    const root = find(pid);
    groups.set(root, [...(groups.get(root) ?? []), pid]);
  }
  const info = new Map(processes.map((p) => [p.pid, p]));
  const services = [...groups.values()].map((pids): Service => {
    pids.sort((a, b) => a - b);
    const members = pids.map((pid) => info.get(pid)).filter((p): p is ProcessInfo => p !== undefined);
    const listeners = uniqueBy(
      members.flatMap((p) => p.listeners),
      (l) => `${l.addr}:${l.port}`,
    );
    const ports = [...new Set(listeners.map((l) => l.port))].sort((a, b) => a - b);
    // The lowest pid is the parent (nginx master); workers may rename themselves.
    const comm = members[0]?.comm ?? 'unknown';
    return { name: ports.length > 0 ? `${comm}:${ports.join('+')}` : comm, pids, ports, listeners };
  });
  // Processes without a listener are named by command only; tell apart those that share it.
  const seen = new Map<string, number>();
  for (const s of services) seen.set(s.name, (seen.get(s.name) ?? 0) + 1);
  for (const s of services) if ((seen.get(s.name) ?? 0) > 1) s.name = `${s.name}[${s.pids[0]}]`;
  return services.sort((a, b) => compare(a.name, b.name));
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  const map = new Map<string, T>();
  for (const item of items) if (!map.has(key(item))) map.set(key(item), item);
  return [...map.values()];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const anyAddr = new Set(['0.0.0.0', '::']);

/** The watched service whose listener a connection to addr:port reaches. */
function listenerOf(services: readonly Service[], addr: string, port: number, ctx: DiscoverContext) {
  const local = addr.startsWith('127.') || ctx.localAddrs.includes(addr);
  if (!local) return undefined;
  const candidates = services.filter((s) => s.listeners.some((l) => l.port === port));
  return (
    candidates.find((s) => s.listeners.some((l) => l.port === port && l.addr === addr)) ??
    candidates.find((s) => s.listeners.some((l) => l.port === port && anyAddr.has(l.addr)))
  );
}

/** Sizes of the messages of one direction, summed over flows. */
class Messages {
  bytes = 0;
  messages = 0;
  sizeSum = 0;
  min: number | undefined;
  max: number | undefined;
  readonly buckets = new Map<number, LogBucket>();

  add(side: MessageSide): void {
    this.bytes += side.bytes;
    this.messages += side.messages;
    this.sizeSum += side.sizeSum;
    if (side.sizeMin !== undefined) this.min = Math.min(this.min ?? side.sizeMin, side.sizeMin);
    if (side.sizeMax !== undefined) this.max = Math.max(this.max ?? side.sizeMax, side.sizeMax);
    mergeBuckets(this.buckets, side.sizes);
  }

  summary(): DistSummary | undefined {
    return summarize([...this.buckets.values()], this.sizeSum, this.min, this.max);
  }
}

function mergeBuckets(into: Map<number, LogBucket>, buckets: readonly LogBucket[]): void {
  for (const b of buckets) {
    const have = into.get(b.min);
    if (have) have.count += b.count;
    else into.set(b.min, { ...b });
  }
}

/** Percentiles interpolated inside log2 buckets, clamped to the exact min and max; count and mean are exact. */
export function summarize(
  buckets: readonly LogBucket[],
  sum: number,
  min: number | undefined,
  max: number | undefined,
): DistSummary | undefined {
  const sorted = [...buckets].filter((b) => b.count > 0).sort((a, b) => a.min - b.min);
  const count = sorted.reduce((n, b) => n + b.count, 0);
  if (count === 0) return undefined;
  const first = sorted[0] as LogBucket;
  const last = sorted[sorted.length - 1] as LogBucket;
  const lo = min ?? first.min;
  const hi = max ?? last.max;
  const quantile = (q: number) => {
    const rank = q * count;
    let before = 0;
    for (const b of sorted) {
      if (before + b.count >= rank) {
        const from = Math.max(b.min, lo);
        const to = Math.min(b.max, hi);
        return from + ((rank - before) / b.count) * Math.max(0, to - from);
      }
      before += b.count;
    }
    return hi;
  };
  return {
    count,
    mean: round(sum / count),
    min: round(lo),
    p50: round(quantile(0.5)),
    p90: round(quantile(0.9)),
    p99: round(quantile(0.99)),
    max: round(hi),
  };
}

/** Request / response traffic of one caller → callee pair, or into one endpoint, in the caller's terms. */
class Exchange {
  readonly requests = new Messages();
  readonly responses = new Messages();
  readonly latency = new Map<number, LogBucket>();
  latencySum = 0;
  connections = 0;

  /** A flow seen from the calling side (outbound) or the called side (inbound). */
  add(flow: Flow): void {
    this.requests.add(flow.inbound ? flow.received : flow.sent);
    this.responses.add(flow.inbound ? flow.sent : flow.received);
    mergeBuckets(this.latency, flow.latencyUs);
    this.latencySum += flow.latencySumUs;
  }

  latencySummary(): DistSummary | undefined {
    return summarize([...this.latency.values()], this.latencySum, undefined, undefined);
  }
}

interface Edge {
  from: string;
  fromEndpoint: string;
  to: string;
  toEndpoint: string;
  exchange: Exchange;
}

interface Note {
  reason: string;
  count: number;
  action: string;
  explanation: string;
  examples: string[];
}

export function topologyFromTraffic(
  processes: readonly ProcessInfo[],
  traffic: DiscoveredTraffic,
  ctx: DiscoverContext,
): Topology {
  const windowSec = traffic.elapsedNs / 1e9;
  const services = groupServices(processes, traffic.forks);
  const serviceOfPid = new Map<number, Service>();
  for (const s of services) for (const pid of s.pids) serviceOfPid.set(pid, s);
  const byPort = new Map<number, Service>();
  for (const s of services) for (const port of s.ports) byPort.set(port, s);
  const notes: Note[] = [];

  const edges = new Map<string, Edge>();
  const edgeOf = (from: string, fromEndpoint: string, to: string, toEndpoint: string): Exchange => {
    const key = [from, fromEndpoint, to, toEndpoint].join('\u0000');
    let edge = edges.get(key);
    if (!edge) {
      edge = { from, fromEndpoint, to, toEndpoint, exchange: new Exchange() };
      edges.set(key, edge);
    }
    return edge.exchange;
  };
  /** Inbound traffic per endpoint of a watched service, from every peer. */
  const inbound = new Map<string, { service: Service; port: number; exchange: Exchange }>();
  const virtualPeers = new Set<string>();
  const callerEndpoint = (s: Service) =>
    s.ports.length === 1
      ? endpointName(s.ports[0] as number)
      : s.ports.length === 0
        ? clientEndpoint
        : anyEndpoint;

  const unattributed: string[] = [];
  for (const flow of traffic.flows) {
    const service = serviceOfPid.get(flow.pid);
    if (!service) {
      unattributed.push(`pid ${flow.pid}`);
      continue;
    }
    if (flow.inbound) {
      const key = `${service.name}\u0000${flow.port}`;
      let entry = inbound.get(key);
      if (!entry) {
        entry = { service, port: flow.port, exchange: new Exchange() };
        inbound.set(key, entry);
      }
      entry.exchange.add(flow);
      if (!flow.peerWatched) {
        edgeOf(clientService, clientEndpoint, service.name, endpointName(flow.port)).add(flow);
        virtualPeers.add(clientService);
      }
      continue;
    }
    const callee = listenerOf(services, flow.remoteAddr, flow.port, ctx);
    const to = callee?.name ?? `${flow.remoteAddr}:${flow.port}`;
    if (!callee) virtualPeers.add(to);
    edgeOf(service.name, callerEndpoint(service), to, endpointName(flow.port)).add(flow);
  }
  if (unattributed.length > 0) {
    notes.push({
      reason: 'unknownProcess',
      count: unattributed.length,
      action: 'dropped',
      explanation: 'traffic of a process that was neither read from /proc nor forked by a watched one',
      examples: unattributed.slice(0, 3),
    });
  }

  // Connections opened: counted by the caller's connect(), or for unwatched callers by the accepting side.
  for (const c of traffic.connects) {
    const service = serviceOfPid.get(c.pid);
    if (!service) continue;
    const to = listenerOf(services, c.remoteAddr, c.port, ctx)?.name ?? `${c.remoteAddr}:${c.port}`;
    const edge = edges.get([service.name, callerEndpoint(service), to, endpointName(c.port)].join('\u0000'));
    if (edge) edge.exchange.connections += c.count;
  }
  for (const a of traffic.accepts) {
    const service = byPort.get(a.port);
    if (!service || a.peerWatched) continue;
    const edge = edges.get(
      [clientService, clientEndpoint, service.name, endpointName(a.port)].join('\u0000'),
    );
    if (edge) edge.exchange.connections += a.count;
  }
  const ipv6 = traffic.ipv6.reduce((n, v) => n + v.events, 0);
  if (ipv6 > 0) {
    notes.push({
      reason: 'ipv6Traffic',
      count: ipv6,
      action: 'dropped',
      explanation:
        'sends and receives on IPv6 connections (other than IPv4-mapped) are not attributed to edges',
      examples: traffic.ipv6.slice(0, 3).map((v) => `pid ${v.pid}: ${v.events}`),
    });
  }

  const perSec = (n: number) => (windowSec > 0 ? round(n / windowSec, 1) : 0);
  const callOf = (edge: Edge, invocations: number): TopologyCall => {
    const x = edge.exchange;
    const calls = x.requests.messages;
    const mean = invocations > 0 ? calls / invocations : 0;
    const responseTimeUs = x.latencySummary();
    const requestBytes = x.requests.summary();
    const responseBytes = x.responses.summary();
    return {
      service: edge.to,
      endpoint: edge.toEndpoint,
      // The wire shows rates, not which request made which call: calls per request is a ratio of rates.
      probability: round(Math.min(1, mean), 4),
      callsPerRequest: { mean: round(mean, 3), distribution: [] },
      mode: 'sequential' as const,
      // Nothing on the wire says whether calls of one request overlap.
      confidence: 0,
      stage: 0,
      observations: { calls, async: 0, overlapping: 0, sequential: 0 },
      errors: 0,
      ratePerSec: perSec(calls),
      bytesPerSec: { sent: perSec(x.requests.bytes), received: perSec(x.responses.bytes) },
      connectionsPerSec: perSec(x.connections),
      ...(responseTimeUs ? { responseTimeUs } : {}),
      ...(requestBytes ? { requestBytes } : {}),
      ...(responseBytes ? { responseBytes } : {}),
    };
  };

  // Endpoints: one per listening port that saw requests, plus the calling endpoint of each caller.
  const endpoints = new Map<string, Map<string, TopologyEndpoint>>();
  const endpointOf = (service: string, name: string, kind: TopologyEndpoint['kind']): TopologyEndpoint => {
    let list = endpoints.get(service);
    if (!list) {
      list = new Map();
      endpoints.set(service, list);
    }
    let endpoint = list.get(name);
    if (!endpoint) {
      endpoint = { name, invocations: 0, kind, errors: 0, calls: [] };
      list.set(name, endpoint);
    }
    return endpoint;
  };
  for (const { service, port, exchange } of inbound.values()) {
    const endpoint = endpointOf(service.name, endpointName(port), 'server');
    endpoint.invocations = exchange.requests.messages;
    setSizes(endpoint, exchange);
    const responseTimeUs = exchange.latencySummary();
    if (responseTimeUs) endpoint.responseTimeUs = responseTimeUs;
  }
  const virtualCallees = new Map<string, Exchange>();
  for (const edge of edges.values()) {
    if (!virtualPeers.has(edge.to)) continue;
    const key = `${edge.to}\u0000${edge.toEndpoint}`;
    const x = virtualCallees.get(key) ?? new Exchange();
    x.requests.add(sideOf(edge.exchange.requests));
    x.responses.add(sideOf(edge.exchange.responses));
    virtualCallees.set(key, x);
  }
  for (const [key, x] of virtualCallees) {
    const [service = '', name = ''] = key.split('\u0000');
    const endpoint = endpointOf(service, name, 'server');
    endpoint.invocations = x.requests.messages;
    setSizes(endpoint, x);
  }

  const background: string[] = [];
  const callers = new Map<string, Edge[]>();
  for (const edge of edges.values()) {
    const key = `${edge.from}\u0000${edge.fromEndpoint}`;
    callers.set(key, [...(callers.get(key) ?? []), edge]);
  }
  for (const [key, list] of callers) {
    const [from = '', name = ''] = key.split('\u0000');
    const calling = name === clientEndpoint;
    const endpoint = endpointOf(from, name, calling ? 'client' : name === anyEndpoint ? 'unknown' : 'server');
    if (calling) endpoint.invocations = list.reduce((n, e) => n + e.exchange.requests.messages, 0);
    if (name === anyEndpoint) {
      endpoint.invocations = [...inbound.values()]
        .filter((i) => i.service.name === from)
        .reduce((n, i) => n + i.exchange.requests.messages, 0);
    }
    if (endpoint.invocations === 0) background.push(`${from} ${name}`);
    endpoint.calls = list
      .map((edge) => callOf(edge, endpoint.invocations))
      .sort((a, b) => compare(a.service, b.service) || compare(a.endpoint, b.endpoint));
  }
  if (background.length > 0) {
    notes.push({
      reason: 'callsWithoutRequests',
      count: background.length,
      action: 'kept',
      explanation:
        'an endpoint made calls but received no request in the window (background work); calls per request is 0',
      examples: background.slice(0, 3),
    });
  }

  const topologyServices: TopologyService[] = [];
  const names = new Set([...services.map((s) => s.name), ...virtualPeers]);
  for (const name of [...names].sort(compare)) {
    const list = [...(endpoints.get(name)?.values() ?? [])].sort((a, b) => compare(a.name, b.name));
    topologyServices.push({
      name,
      kind: virtualPeers.has(name) ? 'peer' : 'service',
      virtual: virtualPeers.has(name),
      endpoints: list,
    });
  }

  const serviceEdges = new Map<string, { from: string; to: string; calls: number; async: boolean }>();
  for (const edge of edges.values()) {
    const key = `${edge.from}\u0000${edge.to}`;
    const entry = serviceEdges.get(key) ?? { from: edge.from, to: edge.to, calls: 0, async: false };
    entry.calls += edge.exchange.requests.messages;
    serviceEdges.set(key, entry);
  }

  // Requests enter where a client (virtual, or a watched process that listens on nothing) sends them.
  const entryCounts = [...edges.values()]
    .filter((e) => e.fromEndpoint === clientEndpoint)
    .map((e) => ({ service: e.to, endpoint: e.toEndpoint, count: e.exchange.requests.messages }));
  const entryTotal = entryCounts.reduce((n, e) => n + e.count, 0);
  const entries = entryCounts
    .filter((e) => e.count > 0)
    .map((e) => ({ ...e, share: round(e.count / entryTotal, 4) }))
    .sort((a, b) => b.count - a.count || compare(a.service, b.service));

  const sortedEdges = [...serviceEdges.values()].sort(
    (a, b) => compare(a.from, b.from) || compare(a.to, b.to),
  );
  return {
    schemaVersion: 1,
    source: { method: 'ebpf', inputs: [], windowSec: round(windowSec, 3) },
    stats: {
      traces: 0,
      spans: 0,
      services: topologyServices.length,
      virtualServices: topologyServices.filter((s) => s.virtual).length,
      endpoints: topologyServices.reduce((n, s) => n + s.endpoints.length, 0),
      calls: topologyServices.reduce((n, s) => n + s.endpoints.reduce((m, e) => m + e.calls.length, 0), 0),
      serviceEdges: sortedEdges.length,
    },
    services: topologyServices,
    serviceEdges: sortedEdges,
    entries,
    dropped: notes.sort((a, b) => compare(a.reason, b.reason)),
  };
}

/** A Messages total as one side, to fold several callers into the virtual callee they share. */
function sideOf(m: Messages): MessageSide {
  return {
    bytes: m.bytes,
    messages: m.messages,
    sizes: [...m.buckets.values()],
    sizeSum: m.sizeSum,
    sizeMin: m.min,
    sizeMax: m.max,
  };
}

function setSizes(endpoint: TopologyEndpoint, x: Exchange): void {
  const requestBytes = x.requests.summary();
  const responseBytes = x.responses.summary();
  if (requestBytes) endpoint.requestBytes = requestBytes;
  if (responseBytes) endpoint.responseBytes = responseBytes;
}
