// topology.json → a readable overview, Graphviz DOT, Mermaid. Pure.
import type { Topology, TopologyCall } from '../artifacts/topology.ts';

function fmtUs(us: number | undefined): string {
  if (us === undefined) return '-';
  return us >= 1000 ? `${(us / 1000).toFixed(1)}ms` : `${us.toFixed(0)}µs`;
}

function callLine(call: TopologyCall): string {
  const count = call.callsPerRequest.mean === 1 ? '' : ` ×${call.callsPerRequest.mean}`;
  const p = call.probability === 1 ? '' : ` p=${call.probability}`;
  const mode = `${call.mode}${call.confidence < 1 ? ` (${Math.round(call.confidence * 100)}%)` : ''}`;
  const rt = call.responseTimeUs ? ` rt p50 ${fmtUs(call.responseTimeUs.p50)}` : '';
  const via = call.via ? ` via ${call.via}` : '';
  const rate = call.ratePerSec !== undefined ? ` ${call.ratePerSec}/s` : '';
  return `→ ${call.service} ${call.endpoint}${count}${p} ${mode}${rt}${via}${rate}`;
}

export function renderSummary(topology: Topology, maxEndpoints = 12): string {
  const s = topology.stats;
  const lines = [
    `${s.traces} traces, ${s.spans} spans → ${s.services} services (${s.virtualServices} virtual), ` +
      `${s.endpoints} endpoints, ${s.calls} call edges, ${s.serviceEdges} service edges`,
  ];
  if (topology.entries.length > 0) {
    lines.push('', 'entry points:');
    for (const e of topology.entries.slice(0, 10)) {
      lines.push(`  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.service} ${e.endpoint}  (${e.count})`);
    }
    if (topology.entries.length > 10) lines.push(`  … ${topology.entries.length - 10} more`);
  }
  lines.push('', 'services:');
  for (const service of topology.services) {
    const tag = service.virtual
      ? ` [virtual ${service.kind}]`
      : service.kind !== 'service'
        ? ` [${service.kind}]`
        : '';
    lines.push(`  ${service.name}${tag}`);
    const endpoints = [...service.endpoints].sort((a, b) => b.invocations - a.invocations);
    for (const endpoint of endpoints.slice(0, maxEndpoints)) {
      const rt = endpoint.responseTimeUs;
      const self = endpoint.selfTimeUs;
      lines.push(
        `    ${endpoint.name}  ×${endpoint.invocations}  rt p50 ${fmtUs(rt?.p50)} p99 ${fmtUs(rt?.p99)}` +
          `  self p50 ${fmtUs(self?.p50)}`,
      );
      for (const call of endpoint.calls) lines.push(`      ${callLine(call)}`);
    }
    if (endpoints.length > maxEndpoints)
      lines.push(`    … ${endpoints.length - maxEndpoints} more endpoints`);
  }
  lines.push('', topology.dropped.length === 0 ? 'nothing dropped or corrected' : 'dropped / corrected:');
  for (const d of topology.dropped) {
    lines.push(`  ${d.reason}: ${d.count} (${d.action}) — ${d.explanation}`);
    for (const example of d.examples) lines.push(`      e.g. ${example}`);
  }
  return lines.join('\n');
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Service-level graph: one node per service, one edge per caller → callee pair. */
export function renderDot(topology: Topology): string {
  const lines = ['digraph topology {', '  rankdir=LR;', '  node [shape=box, fontname="sans-serif"];'];
  for (const service of topology.services) {
    const shape = service.kind === 'database' || service.kind === 'cache' ? 'cylinder' : 'box';
    const style = service.virtual ? ', style=dashed' : '';
    const label = `${service.name}\\n${service.endpoints.length} endpoint${service.endpoints.length === 1 ? '' : 's'}`;
    lines.push(`  ${quote(service.name)} [label=${quote(label)}, shape=${shape}${style}];`);
  }
  for (const edge of topology.serviceEdges) {
    const style = edge.async ? ', style=dashed' : '';
    lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)} [label=${quote(String(edge.calls))}${style}];`);
  }
  lines.push('}');
  return lines.join('\n');
}

export function renderMermaid(topology: Topology): string {
  const ids = new Map(topology.services.map((s, i) => [s.name, `s${i}`]));
  const label = (text: string) => text.replace(/"/g, '#quot;');
  const lines = ['flowchart LR'];
  for (const service of topology.services) {
    const id = ids.get(service.name)!;
    const text = `"${label(service.name)}"`;
    lines.push(
      `  ${id}${service.kind === 'database' || service.kind === 'cache' ? `[(${text})]` : service.virtual ? `([${text}])` : `[${text}]`}`,
    );
  }
  for (const edge of topology.serviceEdges) {
    const arrow = edge.async ? '-.->' : '-->';
    lines.push(`  ${ids.get(edge.from)} ${arrow}|${edge.calls}| ${ids.get(edge.to)}`);
  }
  return lines.join('\n');
}
