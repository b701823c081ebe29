// One trace → the endpoint invocations it contains and the calls each one made. Pure.
// An invocation is a span where a request enters a service (a root, a SERVER or CONSUMER span, or a span whose
// parent is in another service); its calls are the invocations (or uninstrumented peers) reached from it without
// entering another invocation.
import type { Span } from '../span.ts';
import type { Issues } from './issues.ts';

export type VirtualKind = 'database' | 'cache' | 'messaging' | 'peer';

export interface CallObservation {
  service: string;
  endpoint: string;
  startUs: number;
  endUs: number;
  async: boolean;
  /** The broker of a producer/consumer call (remote endpoint of the producer). */
  via?: string;
  requestBytes?: number;
  responseBytes?: number;
  rpcSystem?: string;
  error: boolean;
}

export interface Invocation {
  service: string;
  endpoint: string;
  kind: Span['kind'];
  /** Seen only as the remote side of a client span. */
  virtual?: VirtualKind;
  /** A stateful backend named by the trace (Alibaba db / mc rows). */
  role?: Span['role'];
  root: boolean;
  durationUs: number;
  selfUs: number;
  requestBytes?: number;
  responseBytes?: number;
  rpcSystem?: string;
  error: boolean;
  calls: CallObservation[];
}

const serverSuffix = '#server';

function spanRef(span: Span): string {
  return `trace ${span.traceId} span ${span.spanId}`;
}

function hasTiming(span: Span): boolean {
  return span.durationUs > 0 || span.startUs > 0;
}

/** Fills what `into` lacks from `part` (Zipkin reports late annotations of one span as separate records). */
function merge(into: Span, part: Span): void {
  if (into.kind === 'unknown') into.kind = part.kind;
  if (!hasTiming(into)) {
    into.startUs = part.startUs;
    into.durationUs = part.durationUs;
  }
  into.shared ||= part.shared;
  into.peer ??= part.peer;
  into.peerKind ??= part.peerKind;
  into.rpcSystem ??= part.rpcSystem;
  into.requestBytes ??= part.requestBytes;
  into.responseBytes ??= part.responseBytes;
  into.error ||= part.error;
}

/**
 * Resolves span ids that occur more than once: parts of one span are merged, the client and server halves of a
 * B3 shared id are split (server ids get a suffix and the client as parent), true duplicates are dropped.
 */
function indexSpans(spans: Span[], issues: Issues): Map<string, Span> {
  const groups = new Map<string, Span[]>();
  for (const span of spans) {
    const group = groups.get(span.spanId);
    if (group) group.push(span);
    else groups.set(span.spanId, [span]);
  }
  const byId = new Map<string, Span>();
  for (const [id, group] of groups) {
    if (group.length === 1) {
      byId.set(id, group[0]!);
      continue;
    }
    const distinct: Span[] = [];
    for (const span of group) {
      const same = distinct.find(
        (d) =>
          d.service === span.service &&
          (d.kind === span.kind || d.kind === 'unknown' || span.kind === 'unknown'),
      );
      if (!same) distinct.push(span);
      else if (hasTiming(same) && hasTiming(span) && same.kind !== 'unknown' && span.kind !== 'unknown') {
        issues.add('duplicateSpan', spanRef(span));
      } else {
        merge(same, span);
        issues.add('mergedSpan', spanRef(span));
      }
    }
    const client = distinct.find((d) => d.kind === 'client');
    if (!client) {
      byId.set(id, distinct[0]!);
      for (const extra of distinct.slice(1)) issues.add('duplicateSpan', spanRef(extra));
      continue;
    }
    byId.set(id, client);
    let servers = 0;
    for (const span of distinct) {
      if (span === client) continue;
      if (span.kind === 'server' || span.shared) {
        servers++;
        span.parentId = id;
        span.spanId = `${id}${serverSuffix}${servers > 1 ? servers : ''}`;
        byId.set(span.spanId, span);
        issues.add('sharedSpanId', spanRef(client));
      } else issues.add('duplicateSpan', spanRef(span));
    }
  }
  return byId;
}

function isAsyncEdge(child: Span, parent: Span): boolean {
  return Boolean(child.followsFrom) || child.kind === 'consumer' || parent.kind === 'producer';
}

/** Union length of [start, end) intervals clipped to [from, to]. */
function coveredUs(intervals: [number, number][], from: number, to: number): number {
  const clipped = intervals
    .map(([s, e]): [number, number] => [Math.max(s, from), Math.min(e, to)])
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curStart = Number.NEGATIVE_INFINITY;
  let curEnd = Number.NEGATIVE_INFINITY;
  for (const [s, e] of clipped) {
    if (s > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = s;
      curEnd = e;
    } else if (e > curEnd) curEnd = e;
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

export function analyzeTrace(spans: Span[], issues: Issues): Invocation[] {
  const byId = indexSpans(spans, issues);
  // Children of a shared (B3) id were created by its server half, which now has a suffixed id.
  for (const span of byId.values()) {
    const server = span.parentId === undefined ? undefined : byId.get(`${span.parentId}${serverSuffix}`);
    const client = server && byId.get(span.parentId!);
    const clientSide = client && span.service === client.service && span.service !== server.service;
    if (server && server !== span && !clientSide) span.parentId = server.spanId;
  }
  const children = new Map<string, Span[]>();
  const parentOf = new Map<Span, Span>();
  const roots: Span[] = [];
  for (const span of byId.values()) {
    const parentId = span.parentId;
    if (!parentId) {
      roots.push(span);
      continue;
    }
    let parent = parentId === span.spanId ? undefined : byId.get(parentId);
    if (!parent && parentId !== span.spanId && span.parentFallbacks) {
      const fallback = span.parentFallbacks.find((id) => id !== span.spanId && byId.has(id));
      if (fallback !== undefined) {
        parent = byId.get(fallback);
        span.parentId = fallback;
        issues.add('enclosingParent', spanRef(span));
      }
    }
    if (!parent) {
      if (parentId === span.spanId) continue; // its own parent: reported with the unreachable spans below
      issues.add('orphanSpan', spanRef(span));
      roots.push(span);
      continue;
    }
    parentOf.set(span, parent);
    const list = children.get(parent.spanId);
    if (list) list.push(span);
    else children.set(parent.spanId, [span]);
  }

  // Walk from the roots: what is never reached sits on a parent cycle. Shift subtrees that lie outside their
  // synchronous caller (clock skew between hosts) into the middle of the caller.
  const reached = new Set<Span>();
  const stack: [Span, number][] = roots.map((r) => [r, 0]);
  while (stack.length > 0) {
    const [span, delta] = stack.pop()!;
    if (reached.has(span)) continue;
    reached.add(span);
    span.startUs += delta;
    const end = span.startUs + span.durationUs;
    for (const child of children.get(span.spanId) ?? []) {
      let childDelta = delta;
      const childStart = child.startUs + delta;
      const outside = childStart < span.startUs || childStart + child.durationUs > end;
      if (
        outside &&
        child.service !== span.service &&
        !isAsyncEdge(child, span) &&
        child.durationUs <= span.durationUs
      ) {
        // The smallest shift that puts the child inside its caller keeps its order among siblings.
        childDelta +=
          childStart < span.startUs ? span.startUs - childStart : end - (childStart + child.durationUs);
        issues.add('clockSkew', spanRef(child));
      }
      stack.push([child, childDelta]);
    }
  }
  const unreached = byId.size - reached.size;
  if (unreached > 0) {
    const first = [...byId.values()].find((s) => !reached.has(s));
    issues.add('cycle', first ? spanRef(first) : undefined, unreached);
  }

  const isInvocation = (span: Span): boolean => {
    const parent = parentOf.get(span);
    return !parent || span.kind === 'server' || span.kind === 'consumer' || parent.service !== span.service;
  };

  const invocations: Invocation[] = [];
  const ownerOf = new Map<Span, Invocation>();
  const entered = new Map<Span, Invocation>();
  for (const span of reached) {
    if (!isInvocation(span)) continue;
    const invocation: Invocation = {
      service: span.service,
      endpoint: span.name,
      kind: span.kind,
      root: !span.parentId,
      durationUs: span.durationUs,
      selfUs: span.durationUs,
      error: Boolean(span.error),
      calls: [],
    };
    if (span.role) invocation.role = span.role;
    if (span.requestBytes !== undefined) invocation.requestBytes = span.requestBytes;
    if (span.responseBytes !== undefined) invocation.responseBytes = span.responseBytes;
    if (span.rpcSystem) invocation.rpcSystem = span.rpcSystem;
    entered.set(span, invocation);
    invocations.push(invocation);
  }

  for (const [span, invocation] of entered) {
    ownerOf.set(span, invocation);
    collectCalls(span, invocation);
    // A client span that is itself the request's entry into its service (its server side was not traced)
    // still shows the peer it called.
    const outward = span.kind === 'client' || span.kind === 'producer';
    if (outward && !(children.get(span.spanId) ?? []).some((k) => entered.has(k))) {
      invocation.calls.push(virtualCall(span, span.kind === 'producer'));
    }
    const syncIntervals = invocation.calls
      .filter((c) => !c.async)
      .map((c): [number, number] => [c.startUs, c.endUs]);
    invocation.selfUs = Math.max(
      0,
      span.durationUs - coveredUs(syncIntervals, span.startUs, span.startUs + span.durationUs),
    );
  }

  // Span links (OTLP) make async edges from the invocation that owns the linked span to the invocation that owns
  // the linking span (a link on an inner span, e.g. a batch consumer's processing span, counts for its owner).
  const entrySpans = new Map<Invocation, Span>();
  for (const [span, invocation] of entered) entrySpans.set(invocation, span);
  for (const span of reached) {
    if (span.foreignLinks) issues.add('foreignLink', spanRef(span), span.foreignLinks);
    if (!span.links) continue;
    const invocation = ownerOf.get(span);
    const entry = invocation && entrySpans.get(invocation);
    for (const linked of span.links) {
      const target = byId.get(linked);
      const owner = target && ownerOf.get(target);
      if (!target || !owner || !entry) {
        issues.add('unresolvedLink', spanRef(span));
        continue;
      }
      if (owner === invocation) continue;
      owner.calls.push(callTo(entry, undefined, true));
    }
  }
  return invocations;

  function callTo(callee: Span, client: Span | undefined, async: boolean): CallObservation {
    const outer = client ?? callee;
    const call: CallObservation = {
      service: callee.service,
      endpoint: callee.name,
      startUs: outer.startUs,
      endUs: outer.startUs + outer.durationUs,
      async,
      error: Boolean(client?.error || callee.error),
    };
    const request = client?.requestBytes ?? callee.requestBytes;
    const response = client?.responseBytes ?? callee.responseBytes;
    const rpc = client?.rpcSystem ?? callee.rpcSystem;
    if (request !== undefined) call.requestBytes = request;
    if (response !== undefined) call.responseBytes = response;
    if (rpc) call.rpcSystem = rpc;
    if (async && client?.peer) call.via = client.peer;
    return call;
  }

  function virtualCall(client: Span, async: boolean): CallObservation {
    const kind: VirtualKind = client.peerKind ?? (client.kind === 'producer' ? 'messaging' : 'peer');
    const service = client.peer ?? (kind === 'messaging' ? 'messaging' : `${client.service}-peer`);
    const call = callTo({ ...client, service }, undefined, async);
    invocations.push({
      service,
      endpoint: client.name,
      kind: client.kind === 'producer' ? 'consumer' : 'server',
      virtual: kind,
      root: false,
      durationUs: client.durationUs,
      selfUs: client.durationUs,
      error: Boolean(client.error),
      calls: [],
      ...(client.rpcSystem ? { rpcSystem: client.rpcSystem } : {}),
    });
    return call;
  }

  function collectCalls(start: Span, invocation: Invocation): void {
    const work: [Span, boolean][] = (children.get(start.spanId) ?? []).map((c) => [c, false]);
    while (work.length > 0) {
      const [span, inheritedAsync] = work.pop()!;
      const parent = parentOf.get(span)!;
      const async = inheritedAsync || isAsyncEdge(span, parent);
      if (entered.has(span)) {
        invocation.calls.push(callTo(span, undefined, async));
        continue;
      }
      ownerOf.set(span, invocation);
      const kids = children.get(span.spanId) ?? [];
      if (span.kind === 'client' || span.kind === 'producer') {
        const callees = kids.filter((k) => entered.has(k));
        for (const callee of callees) {
          invocation.calls.push(callTo(callee, span, async || isAsyncEdge(callee, span)));
        }
        if (callees.length === 0) invocation.calls.push(virtualCall(span, async || span.kind === 'producer'));
        for (const kid of kids) if (!entered.has(kid)) work.push([kid, async]);
        continue;
      }
      for (const kid of kids) work.push([kid, async]);
    }
  }
}
