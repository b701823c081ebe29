// Alibaba cluster-trace-microservices call graphs (MSCallGraph 2021 and 2022 columns). A row is one call
// um → dm at a dotted rpcid. Each row becomes a client span in um and a server span in dm. Several rows often
// share one rpcid (a caller's calls to different caches, or a call logged by both sides), so a server span is
// named by rpcid and callee ("<rpcid>@<dm>") and a client span by rpcid, caller and callee: distinct calls stay
// distinct and a call logged twice is dropped by the builder as a duplicate span, and counted.
// The call a row records was made by um while serving a request: the nearest ancestor rpcid at which um was the
// callee. That is usually the parent rpcid, but the dataset also nests a caller's calls under its own earlier
// call (the parent rpcid's row is um → cache); the builder tries the ancestors in order and counts the fallback.
import { DittoError } from '../../errors.ts';
import type { Span } from '../span.ts';
import type { CsvTraceReader } from './csv-line.ts';
import type { ReportBad, SpanSink } from './types.ts';

/** Placeholders for a caller the dataset does not know ("USER" marks the external client of an entry). */
const unknownCaller = new Set(['', 'unknown', 'unavailable', 'user', '(?)', 'nan']);

const roles: Record<string, Span['role']> = { db: 'database', mc: 'cache', mq: 'messaging' };

export function isAlibabaHeader(header: string[]): boolean {
  const lower = header.map((h) => h.trim().toLowerCase());
  return (
    (lower.includes('rpcid') || lower.includes('rpc_id')) && lower.includes('um') && lower.includes('dm')
  );
}

/** The enclosing rpcids, nearest first ("0.1.2" → "0.1", "0"). */
export function ancestorRpcIds(rpcId: string): string[] {
  const out: string[] = [];
  for (let cut = rpcId.lastIndexOf('.'); cut > 0; cut = rpcId.lastIndexOf('.', cut - 1)) {
    out.push(rpcId.slice(0, cut));
  }
  return out;
}

/** Parent and fallback parents of a span whose caller is `caller`: its invocations at the enclosing rpcids. */
function callerScope(span: Span, rpcId: string, caller: string): void {
  const [parent, ...fallbacks] = ancestorRpcIds(rpcId).map((id) => `${id}@${caller}`);
  if (parent) span.parentId = parent;
  if (fallbacks.length > 0) span.parentFallbacks = fallbacks;
}

export function alibabaReader(
  header: string[],
  sink: SpanSink,
  bad: ReportBad,
  file: string,
): CsvTraceReader {
  const lower = header.map((h) => h.trim().toLowerCase());
  const col = (...names: string[]) => lower.findIndex((h) => names.includes(h));
  const at = {
    traceId: col('traceid', 'trace_id'),
    timestamp: col('timestamp'),
    rpcId: col('rpcid', 'rpc_id'),
    um: col('um'),
    dm: col('dm'),
    rpcType: col('rpctype', 'rpc_type'),
    iface: col('interface'),
    rt: col('rt'),
  };
  const missing = Object.entries(at)
    .filter(([, i]) => i < 0)
    .map(([k]) => k);
  if (missing.length > 0) {
    throw new DittoError(
      'DITTO_TRACE_INVALID',
      `${file}:1: Alibaba call-graph header lacks ${missing.join(', ')}`,
    );
  }
  return {
    row(fields, line) {
      const traceId = fields[at.traceId]?.trim();
      const rpcId = fields[at.rpcId]?.trim();
      const dm = fields[at.dm]?.trim();
      if (!traceId || !rpcId || !dm) {
        bad('row lacks traceid, rpcid or dm', 0, `line ${line}`);
        return 0;
      }
      const um = fields[at.um]?.trim() ?? '';
      const rpcType = fields[at.rpcType]?.trim() || 'rpc';
      const startUs = (Number(fields[at.timestamp]) || 0) * 1000;
      const durationUs = Math.abs(Number(fields[at.rt]) || 0) * 1000;
      const name = fields[at.iface]?.trim() || `(${rpcType})`;
      const messaging = rpcType === 'mq';
      const role = roles[rpcType];
      const callerKnown = !unknownCaller.has(um.toLowerCase());
      const calleeKnown = !unknownCaller.has(dm.toLowerCase());
      if (!callerKnown && !calleeKnown) {
        sink.issues.add('anonymousCall', `${file}:${line}`);
        return 0;
      }
      const server: Span = {
        traceId,
        spanId: `${rpcId}@${dm}`,
        service: dm,
        name,
        kind: messaging ? 'consumer' : 'server',
        startUs,
        durationUs,
        rpcSystem: rpcType,
      };
      if (role) server.role = role;
      if (!callerKnown) {
        // No caller span: a top-level row is an entry; a nested one names a caller invocation that is not in
        // the trace, so the builder keeps it as an orphan (counted).
        callerScope(server, rpcId, um);
        sink.addSpans([server]);
        return 1;
      }
      const client: Span = {
        traceId,
        spanId: `c:${rpcId}@${um}>${dm}`,
        service: um,
        name,
        kind: messaging ? 'producer' : 'client',
        startUs,
        durationUs,
        rpcSystem: rpcType,
      };
      callerScope(client, rpcId, um);
      if (!calleeKnown) {
        // An unnamed callee: the builder makes it a virtual peer of the caller.
        if (role) client.peerKind = role;
        sink.addSpans([client]);
        return 1;
      }
      client.peer = dm;
      client.peerKind = role ?? 'peer';
      server.parentId = client.spanId;
      sink.addSpans([client, server]);
      return 2;
    },
    end: () => 0,
  };
}
