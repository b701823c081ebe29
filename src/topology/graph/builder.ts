// Collects spans from the readers, closes traces, and keeps only aggregates, so memory stays bounded:
// complete traces (a Jaeger trace object) are analyzed at once; loose spans (Zipkin, OTLP, CSV) wait per trace
// until the buffer exceeds the trace window, then the least recently started traces are closed.
import type { Topology } from '../../artifacts/topology.ts';
import type { Span } from '../span.ts';
import { Aggregator } from './aggregate.ts';
import { Issues } from './issues.ts';
import { analyzeTrace } from './trace.ts';

export interface BuilderOptions {
  /** Spans buffered across open traces before the oldest traces are closed. */
  windowSpans?: number;
}

export class TopologyBuilder {
  readonly issues = new Issues();
  private readonly aggregator = new Aggregator(this.issues);
  private readonly open = new Map<string, Span[]>();
  private readonly closed = new Set<string>();
  private buffered = 0;
  private traces = 0;
  private spans = 0;
  private readonly windowSpans: number;
  private readonly inputs: Topology['source']['inputs'] = [];

  constructor(options: BuilderOptions = {}) {
    this.windowSpans = options.windowSpans ?? 2_000_000;
  }

  /** A whole trace at once. */
  addTrace(spans: Span[]): void {
    if (spans.length === 0) return;
    this.spans += spans.length;
    this.close(spans);
  }

  /** Spans of any traces, in any order. */
  addSpans(spans: Span[]): void {
    for (const span of spans) {
      this.spans++;
      if (this.closed.has(span.traceId)) {
        this.issues.add('lateSpan', `trace ${span.traceId} span ${span.spanId}`);
        continue;
      }
      const list = this.open.get(span.traceId);
      if (list) list.push(span);
      else this.open.set(span.traceId, [span]);
      this.buffered++;
    }
    if (this.buffered > this.windowSpans) this.evict(this.windowSpans / 2);
  }

  /** Records one input file for `source.inputs`. */
  addInput(path: string, format: string, spans: number): void {
    this.inputs.push({ path, format, spans });
  }

  finish(): Topology {
    this.evict(0);
    return this.aggregator.toTopology({ traces: this.traces, spans: this.spans, inputs: this.inputs });
  }

  private evict(target: number): void {
    for (const [traceId, spans] of this.open) {
      if (this.buffered <= target) break;
      this.open.delete(traceId);
      this.closed.add(traceId);
      this.buffered -= spans.length;
      this.close(spans);
    }
  }

  private close(spans: Span[]): void {
    this.traces++;
    this.aggregator.add(analyzeTrace(spans, this.issues));
  }
}
