import { writeFileSync } from 'node:fs';
import { type Command, Option } from '@commander-js/extra-typings';
import type { Topology } from '../../artifacts/topology.ts';
import { DittoError } from '../../errors.ts';
import { traceFormats } from '../../topology/detect.ts';
import { topologyFromTraces } from '../../topology/from-traces.ts';
import { writeTopology } from '../../topology/io.ts';
import { parseColumnMapping } from '../../topology/readers/span-csv.ts';
import { renderDot, renderMermaid, renderSummary } from '../../topology/render.ts';
import { info, printJson, printLine } from '../output.ts';

function emit(text: string, target: string): void {
  if (target === '-') printLine(text);
  else writeFileSync(target, `${text}\n`);
}

export function registerTopology(program: Command): void {
  program
    .command('topology')
    .description('build the service dependency graph (topology.json) from traces')
    .argument('[traces...]', 'trace files: Jaeger, Zipkin v2, OTLP JSON/NDJSON, Alibaba or span CSV (.gz ok)')
    .addOption(
      new Option('--format <format>', 'trace format (detected from content when absent)').choices(
        traceFormats,
      ),
    )
    .option('--out <file>', 'where to write topology.json', 'topology.json')
    .option('--columns <mapping>', 'span CSV columns, e.g. traceId=TraceID,spanId=SpanID,parentId=ParentID,…')
    .option('--lenient', 'skip bad records and keep the partial graph of a truncated file')
    .option('--window <spans>', 'spans buffered across open traces before the oldest are closed', '2000000')
    .option('--summary', 'print a readable overview')
    .option('--dot <file>', "write the service graph as Graphviz DOT ('-' for stdout)")
    .option('--mermaid <file>', "write the service graph as Mermaid ('-' for stdout)")
    .option('--json', 'print topology.json on stdout')
    .action(async (traces, options) => {
      if (traces.length === 0) {
        throw new DittoError('DITTO_USAGE', 'ditto topology needs at least one trace file', {
          hint: 'ditto topology traces.json --out topology.json',
        });
      }
      const windowSpans = Number(options.window);
      if (!Number.isInteger(windowSpans) || windowSpans < 1) {
        throw new DittoError('DITTO_USAGE', `--window ${options.window}: expected a positive integer`);
      }
      const topology = await topologyFromTraces(traces, {
        ...(options.format ? { format: options.format } : {}),
        ...(options.columns ? { columns: parseColumnMapping(options.columns) } : {}),
        lenient: Boolean(options.lenient),
        windowSpans,
        progress: info,
      });
      writeTopology(options.out, topology);
      report(topology, options);
    });
}

function report(
  topology: Topology,
  options: { out: string; summary?: true; dot?: string; mermaid?: string; json?: true },
): void {
  if (options.dot) emit(renderDot(topology), options.dot);
  if (options.mermaid) emit(renderMermaid(topology), options.mermaid);
  if (options.json) {
    printJson(topology);
    return;
  }
  if (options.summary) printLine(renderSummary(topology));
  const s = topology.stats;
  const dropped = topology.dropped.reduce((n, d) => n + d.count, 0);
  info(
    `wrote ${options.out}: ${s.services} services, ${s.endpoints} endpoints, ${s.calls} call edges` +
      (dropped ? `; ${dropped} spans/links dropped or corrected (see --summary)` : ''),
  );
}
