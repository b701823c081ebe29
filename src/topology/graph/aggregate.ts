// Invocations from many traces → per-endpoint statistics → topology.json. Pure.
import type { Topology, TopologyCall, TopologyEndpoint, TopologyService } from '../../artifacts/topology.ts';
import { Counter, Reservoir, round } from './dist.ts';
import type { Issues } from './issues.ts';
import type { Invocation, VirtualKind } from './trace.ts';

class CallStats {
  invocationsWithCall = 0;
  calls = 0;
  asyncCalls = 0;
  overlapping = 0;
  sequential = 0;
  stageSum = 0;
  stageCount = 0;
  errors = 0;
  readonly perRequest = new Map<number, number>();
  readonly responseTime = new Reservoir();
  readonly requestBytes = new Reservoir();
  readonly responseBytes = new Reservoir();
  readonly rpc = new Counter<string>();
  readonly via = new Counter<string>();

  readonly service: string;
  readonly endpoint: string;

  constructor(service: string, endpoint: string) {
    this.service = service;
    this.endpoint = endpoint;
  }
}

class EndpointStats {
  invocations = 0;
  errors = 0;
  readonly kinds = new Counter<Invocation['kind']>();
  readonly virtual = new Counter<VirtualKind>();
  readonly role = new Counter<NonNullable<Invocation['role']>>();
  readonly responseTime = new Reservoir();
  readonly selfTime = new Reservoir();
  readonly requestBytes = new Reservoir();
  readonly responseBytes = new Reservoir();
  readonly rpc = new Counter<string>();
  readonly calls = new Map<string, CallStats>();
  readonly service: string;
  readonly endpoint: string;

  constructor(service: string, endpoint: string) {
    this.service = service;
    this.endpoint = endpoint;
  }
}

const sep = '\u0000';

export interface AggregateTotals {
  traces: number;
  spans: number;
  inputs: Topology['source']['inputs'];
}

export class Aggregator {
  private readonly endpoints = new Map<string, EndpointStats>();
  private readonly entries = new Counter<string>();
  private readonly selfCallKeys = new Set<string>();
  private readonly issues: Issues;

  constructor(issues: Issues) {
    this.issues = issues;
  }

  add(invocations: Invocation[]): void {
    for (const invocation of invocations) this.addOne(invocation);
  }

  private endpointStats(service: string, endpoint: string): EndpointStats {
    const key = service + sep + endpoint;
    let stats = this.endpoints.get(key);
    if (!stats) {
      stats = new EndpointStats(service, endpoint);
      this.endpoints.set(key, stats);
    }
    return stats;
  }

  private addOne(inv: Invocation): void {
    const key = inv.service + sep + inv.endpoint;
    const stats = this.endpointStats(inv.service, inv.endpoint);
    stats.invocations++;
    if (inv.error) stats.errors++;
    stats.kinds.add(inv.kind);
    stats.virtual.add(inv.virtual);
    stats.role.add(inv.role);
    stats.responseTime.add(inv.durationUs);
    stats.selfTime.add(inv.selfUs);
    if (inv.requestBytes !== undefined) stats.requestBytes.add(inv.requestBytes);
    if (inv.responseBytes !== undefined) stats.responseBytes.add(inv.responseBytes);
    stats.rpc.add(inv.rpcSystem);
    if (inv.root) this.entries.add(key);

    const stages = stageOf(inv);
    const syncCount = inv.calls.filter((c) => !c.async).length;
    const perCallee = new Map<string, number>();
    inv.calls.forEach((call, index) => {
      const calleeKey = call.service + sep + call.endpoint;
      if (calleeKey === key && !this.selfCallKeys.has(key)) {
        this.selfCallKeys.add(key);
        this.issues.add('selfCall', `${inv.service} ${inv.endpoint}`);
      }
      perCallee.set(calleeKey, (perCallee.get(calleeKey) ?? 0) + 1);
      let edge = stats.calls.get(calleeKey);
      if (!edge) {
        edge = new CallStats(call.service, call.endpoint);
        stats.calls.set(calleeKey, edge);
      }
      edge.calls++;
      if (call.error) edge.errors++;
      edge.responseTime.add(call.endUs - call.startUs);
      if (call.requestBytes !== undefined) edge.requestBytes.add(call.requestBytes);
      if (call.responseBytes !== undefined) edge.responseBytes.add(call.responseBytes);
      edge.rpc.add(call.rpcSystem);
      edge.via.add(call.via);
      if (call.async) {
        edge.asyncCalls++;
        return;
      }
      const stage = stages.get(index);
      if (stage === undefined) return;
      edge.stageSum += stage.index;
      edge.stageCount++;
      if (syncCount < 2) return;
      if (stage.size > 1) edge.overlapping++;
      else edge.sequential++;
    });
    for (const [calleeKey, count] of perCallee) {
      const edge = stats.calls.get(calleeKey)!;
      edge.invocationsWithCall++;
      edge.perRequest.set(count, (edge.perRequest.get(count) ?? 0) + 1);
    }
  }

  toTopology(totals: AggregateTotals): Topology {
    const byService = new Map<string, EndpointStats[]>();
    for (const stats of this.endpoints.values()) {
      const list = byService.get(stats.service);
      if (list) list.push(stats);
      else byService.set(stats.service, [stats]);
    }
    this.countEndpointCycles();
    const services: TopologyService[] = [...byService.entries()]
      .sort(([a], [b]) => compare(a, b))
      .map(([name, list]) => serviceOf(name, list));
    const edges = new Map<string, { from: string; to: string; calls: number; async: number }>();
    for (const stats of this.endpoints.values()) {
      for (const edge of stats.calls.values()) {
        const key = stats.service + sep + edge.service;
        const entry = edges.get(key) ?? { from: stats.service, to: edge.service, calls: 0, async: 0 };
        entry.calls += edge.calls;
        entry.async += edge.asyncCalls;
        edges.set(key, entry);
      }
    }
    const serviceEdges = [...edges.values()]
      .sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to))
      .map((e) => ({ from: e.from, to: e.to, calls: e.calls, async: e.async * 2 > e.calls }));
    const entryTotal = [...this.entries.counts.values()].reduce((a, b) => a + b, 0);
    const entries = [...this.entries.counts.entries()]
      .map(([key, count]) => {
        const [service = '', endpoint = ''] = key.split(sep);
        return { service, endpoint, count, share: round(count / entryTotal, 4) };
      })
      .sort((a, b) => b.count - a.count || compare(a.service, b.service) || compare(a.endpoint, b.endpoint));
    const endpointCount = services.reduce((n, s) => n + s.endpoints.length, 0);
    const callCount = services.reduce((n, s) => n + s.endpoints.reduce((m, e) => m + e.calls.length, 0), 0);
    return {
      schemaVersion: 1,
      source: { method: 'traces', inputs: totals.inputs },
      stats: {
        traces: totals.traces,
        spans: totals.spans,
        services: services.length,
        virtualServices: services.filter((s) => s.virtual).length,
        endpoints: endpointCount,
        calls: callCount,
        serviceEdges: serviceEdges.length,
      },
      services,
      serviceEdges,
      entries,
      dropped: this.issues.list(),
    };
  }

  /** Counts endpoints that sit on a call loop (A → B → A) across the aggregated graph. */
  private countEndpointCycles(): void {
    const state = new Map<string, 1 | 2>();
    for (const start of this.endpoints.keys()) {
      if (state.has(start)) continue;
      const stack: [string, string[]][] = [[start, this.calleeKeys(start)]];
      state.set(start, 1);
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const next = top[1].pop();
        if (next === undefined) {
          state.set(top[0], 2);
          stack.pop();
          continue;
        }
        if (next === top[0]) continue; // self-calls are reported on their own
        const seen = state.get(next);
        if (seen === 1) this.issues.add('endpointCycle', next.replace(sep, ' '));
        if (seen !== undefined) continue;
        state.set(next, 1);
        stack.push([next, this.calleeKeys(next)]);
      }
    }
  }

  private calleeKeys(key: string): string[] {
    return [...(this.endpoints.get(key)?.calls.keys() ?? [])];
  }
}

/** Groups an invocation's synchronous calls into stages: calls whose intervals overlap share a stage. */
function stageOf(inv: Invocation): Map<number, { index: number; size: number }> {
  const order = inv.calls
    .map((call, index) => ({ call, index }))
    .filter(({ call }) => !call.async)
    .sort((a, b) => a.call.startUs - b.call.startUs || a.call.endUs - b.call.endUs);
  const result = new Map<number, { index: number; size: number }>();
  let stage: { index: number; size: number } | undefined;
  let stageEnd = Number.NEGATIVE_INFINITY;
  for (const { call, index } of order) {
    if (!stage || call.startUs >= stageEnd) {
      stage = { index: stage ? stage.index + 1 : 0, size: 0 };
      stageEnd = call.endUs;
    } else stageEnd = Math.max(stageEnd, call.endUs);
    stage.size++;
    result.set(index, stage);
  }
  return result;
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function serviceOf(name: string, list: EndpointStats[]): TopologyService {
  const instrumented = list.some((e) => e.invocations > sum(e.virtual.counts.values()));
  const virtualKinds = new Counter<VirtualKind>();
  const roles = new Counter<NonNullable<Invocation['role']>>();
  for (const e of list) {
    for (const [k, n] of e.virtual.counts) virtualKinds.add(k, n);
    for (const [k, n] of e.role.counts) roles.add(k, n);
  }
  const kind = roles.top() ?? (instrumented ? 'service' : (virtualKinds.top() ?? 'peer'));
  return {
    name,
    kind,
    virtual: !instrumented,
    endpoints: list.sort((a, b) => compare(a.endpoint, b.endpoint)).map(endpointOf),
  };
}

function endpointOf(stats: EndpointStats): TopologyEndpoint {
  const calls = [...stats.calls.values()].map((edge) => callOf(edge, stats.invocations));
  calls.sort((a, b) => a.stage - b.stage || compare(a.service, b.service) || compare(a.endpoint, b.endpoint));
  return withOptional(
    {
      name: stats.endpoint,
      invocations: stats.invocations,
      kind: stats.kinds.top() ?? 'unknown',
      errors: stats.errors,
      calls,
    },
    {
      responseTimeUs: stats.responseTime.summary(),
      selfTimeUs: stats.selfTime.summary(),
      requestBytes: stats.requestBytes.summary(),
      responseBytes: stats.responseBytes.summary(),
      rpcSystem: stats.rpc.top(),
    },
  );
}

function callOf(edge: CallStats, callerInvocations: number): TopologyCall {
  const syncCalls = edge.calls - edge.asyncCalls;
  const evidence = edge.overlapping + edge.sequential;
  let mode: TopologyCall['mode'];
  let confidence: number;
  if (edge.asyncCalls > syncCalls) {
    mode = 'async';
    confidence = edge.asyncCalls / edge.calls;
  } else if (evidence === 0) {
    // Always the only synchronous call: nothing could run beside it.
    mode = 'sequential';
    confidence = 1;
  } else {
    mode = edge.overlapping > edge.sequential ? 'parallel' : 'sequential';
    confidence = Math.max(edge.overlapping, edge.sequential) / evidence;
  }
  const distribution = [...edge.perRequest.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([calls, n]) => ({ calls, share: round(n / edge.invocationsWithCall, 4) }));
  return withOptional(
    {
      service: edge.service,
      endpoint: edge.endpoint,
      probability: round(Math.min(1, edge.invocationsWithCall / callerInvocations), 4),
      callsPerRequest: { mean: round(edge.calls / edge.invocationsWithCall, 3), distribution },
      mode,
      confidence: round(confidence, 3),
      stage: edge.stageCount ? round(edge.stageSum / edge.stageCount, 2) : 0,
      observations: {
        calls: edge.calls,
        async: edge.asyncCalls,
        overlapping: edge.overlapping,
        sequential: edge.sequential,
      },
      errors: edge.errors,
    },
    {
      responseTimeUs: edge.responseTime.summary(),
      requestBytes: edge.requestBytes.summary(),
      responseBytes: edge.responseBytes.summary(),
      rpcSystem: edge.rpc.top(),
      via: edge.via.top(),
    },
  );
}

/** Adds the defined optional fields only, so the JSON has no nulls. */
function withOptional<T extends object, O extends object>(base: T, optional: O): T & Partial<O> {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) out[k] = v;
  return out as T & Partial<O>;
}
