// Reads a generated 1,000,000-span Jaeger file and prints spans/s and peak RSS. Run: npx tsx bench/topology/run.ts
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topologyFromTraces } from '../../src/topology/from-traces.ts';

const totalSpans = Number(process.env.SPANS ?? 1_000_000);
const spansPerTrace = 10;
const services = ['frontend', 'cart', 'catalog', 'users', 'orders'];

/** A fan-out trace: frontend calls four services, each makes one nested call. */
function trace(n: number): string {
  const traceId = n.toString(16).padStart(16, '0');
  const t0 = 1_700_000_000_000_000 + n * 1000;
  const spans: string[] = [];
  for (let i = 0; i < spansPerTrace; i++) {
    const parent =
      i === 0
        ? ''
        : `{"refType":"CHILD_OF","traceID":"${traceId}","spanID":"${traceId.slice(0, 14)}${(i <= 4 ? 0 : i - 4).toString(16).padStart(2, '0')}"}`;
    const kind = i === 0 || i <= 4 ? 'server' : 'client';
    spans.push(
      `{"traceID":"${traceId}","spanID":"${traceId.slice(0, 14)}${i.toString(16).padStart(2, '0')}","operationName":"op${i % 3}",` +
        `"references":[${parent}],"startTime":${t0 + i * 10},"duration":${i === 0 ? 900 : 100},` +
        `"tags":[{"key":"span.kind","type":"string","value":"${kind}"}],"logs":[],"processID":"p${i <= 4 ? i % 5 : (i - 4) % 5}"}`,
    );
  }
  const processes = services.map((s, i) => `"p${i}":{"serviceName":"${s}","tags":[]}`).join(',');
  return `{"traceID":"${traceId}","spans":[${spans.join(',')}],"processes":{${processes}},"warnings":null}`;
}

async function generate(path: string): Promise<void> {
  const out = createWriteStream(path);
  const write = (text: string) =>
    out.write(text) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await write('{"data":[');
  for (let n = 0; n < totalSpans / spansPerTrace; n++) await write((n ? ',' : '') + trace(n));
  await write(']}');
  await new Promise<void>((resolve) => out.end(() => resolve()));
}

const dir = mkdtempSync(join(tmpdir(), 'ditto-topology-bench-'));
const file = join(dir, 'jaeger-1m.json');
try {
  await generate(file);
  const sizeMiB = statSync(file).size / 2 ** 20;
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const started = performance.now();
  const topology = await topologyFromTraces([file]);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(
    `file            ${sizeMiB.toFixed(0)} MiB, ${topology.stats.spans} spans, ${topology.stats.traces} traces`,
  );
  console.log(`read + build    ${seconds.toFixed(2)} s  (limit 30 s)`);
  console.log(`spans/s         ${Math.round(topology.stats.spans / seconds)}`);
  console.log(`peak RSS        ${(peak / 2 ** 20).toFixed(0)} MiB  (limit 1024 MiB)`);
  console.log(
    `graph           ${topology.stats.services} services, ${topology.stats.endpoints} endpoints, ${topology.stats.calls} calls`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
