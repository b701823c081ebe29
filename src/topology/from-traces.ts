// Trace files → topology.json.
import type { Topology } from '../artifacts/topology.ts';
import type { TraceFormat } from './detect.ts';
import { TopologyBuilder } from './graph/builder.ts';
import { readTraceFile } from './read.ts';
import type { ColumnMapping } from './readers/span-csv.ts';

export interface FromTracesOptions {
  format?: TraceFormat;
  lenient?: boolean;
  columns?: ColumnMapping;
  windowSpans?: number;
  progress?: (message: string) => void;
}

export async function topologyFromTraces(
  paths: string[],
  options: FromTracesOptions = {},
): Promise<Topology> {
  const builder = new TopologyBuilder(options.windowSpans ? { windowSpans: options.windowSpans } : {});
  for (const path of paths) {
    const started = performance.now();
    const result = await readTraceFile(path, builder, {
      ...(options.format ? { format: options.format } : {}),
      ...(options.columns ? { columns: options.columns } : {}),
      lenient: Boolean(options.lenient),
      ...(options.progress ? { warn: options.progress } : {}),
    });
    const seconds = (performance.now() - started) / 1000;
    options.progress?.(`${path}: ${result.spans} spans (${result.format}) in ${seconds.toFixed(1)} s`);
  }
  return builder.finish();
}
