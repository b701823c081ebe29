import { writeFileSync } from 'node:fs';
import { type Command, Option } from '@commander-js/extra-typings';
import type { Topology } from '../../artifacts/topology.ts';
import { DittoError } from '../../errors.ts';
import { parseDurationS } from '../../spec/duration.ts';
import { traceFormats } from '../../topology/detect.ts';
import { discoverTopology } from '../../topology/discover/run.ts';
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
    .description(
      'build the service dependency graph (topology.json) from traces, or by watching processes (eBPF)',
    )
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
    .option('--discover', 'watch the TCP traffic of running processes with eBPF instead of reading traces')
    .option('--pids <list>', 'with --discover: comma-separated pids to watch (their child processes too)')
    .option('--duration <time>', 'with --discover: length of the watch window', '10s')
    .option('--summary', 'print a readable overview')
    .option('--dot <file>', "write the service graph as Graphviz DOT ('-' for stdout)")
    .option('--mermaid <file>', "write the service graph as Mermaid ('-' for stdout)")
    .option('--json', 'print topology.json on stdout')
    .action(async (traces, options) => {
      if (options.discover) {
        const topology = await discover(traces, options);
        writeTopology(options.out, topology);
        report(topology, options);
        return;
      }
      if (options.pids) {
        throw new DittoError('DITTO_USAGE', '--pids needs --discover', {
          hint: 'ditto topology --discover --pids 1234,5678',
        });
      }
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

async function discover(
  traces: string[],
  options: { pids?: string; duration: string; format?: string; columns?: string; lenient?: true },
): Promise<Topology> {
  if (traces.length > 0 || options.format || options.columns || options.lenient) {
    throw new DittoError('DITTO_USAGE', '--discover watches processes and reads no trace files', {
      hint: 'ditto topology --discover --pids 1234,5678 --duration 10s',
    });
  }
  const pids = (options.pids ?? '')
    .split(',')
    .filter((p) => p.trim() !== '')
    .map((p) => Number(p.trim()));
  if (pids.length === 0 || pids.some((p) => !Number.isInteger(p) || p <= 0)) {
    throw new DittoError(
      'DITTO_USAGE',
      `--pids ${options.pids ?? ''}: expected comma-separated process ids`,
      {
        hint: 'e.g. --pids $(pgrep -d, nginx)',
      },
    );
  }
  const windowSec = parseDurationS(options.duration, '--duration');
  const { topology } = await discoverTopology({ pids, windowSec, progress: info });
  return topology;
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
