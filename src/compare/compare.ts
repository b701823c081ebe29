// Two measurements → per-metric relative errors (pure).
import type { Comparison, Measurement } from '../artifacts/measurement.ts';
import { syscallShareFloor } from '../report/goals.ts';

type Metric = Comparison['metrics'][number];

function relError(original: number, clone: number): number | null {
  if (original === 0) return clone === 0 ? 0 : null;
  return Math.abs(clone - original) / Math.abs(original);
}

function metric(
  group: Metric['group'],
  name: string,
  original: number,
  clone: number,
  where: { load?: number; platform?: string } = {},
): Metric {
  return {
    metric: name,
    group,
    load: where.load ?? null,
    platform: where.platform ?? null,
    original,
    clone,
    relError: relError(original, clone),
  };
}

export function compareMeasurements(
  original: Measurement,
  clone: Measurement,
  context: { target: string; self: boolean },
): Comparison {
  const metrics: Metric[] = [];
  for (const o of original.loads) {
    const c = clone.loads.find((l) => l.rate === o.rate);
    if (!c) continue;
    metrics.push(
      metric('latency', 'p50_us', o.p50Us, c.p50Us, { load: o.rate }),
      metric('latency', 'p95_us', o.p95Us, c.p95Us, { load: o.rate }),
      metric('latency', 'p99_us', o.p99Us, c.p99Us, { load: o.rate }),
    );
  }
  metrics.push(metric('latency', 'saturation_rps', original.saturationRps, clone.saturationRps));
  if (original.perRequest && clone.perRequest) {
    const o = original.perRequest;
    const c = clone.perRequest;
    metrics.push(
      metric('cpu', 'cpu_user_us_per_request', o.cpuUserUs, c.cpuUserUs),
      metric('cpu', 'cpu_system_us_per_request', o.cpuSystemUs, c.cpuSystemUs),
      // On-CPU time is exact (schedstat); its user/system split is sampled (perf, else ticks): the sum is shown apart.
      metric('cpu', 'cpu_total_us_per_request', o.cpuUserUs + o.cpuSystemUs, c.cpuUserUs + c.cpuSystemUs),
      metric('cpu', 'voluntary_switches_per_request', o.voluntarySwitches, c.voluntarySwitches),
      metric('cpu', 'involuntary_switches_per_request', o.involuntarySwitches, c.involuntarySwitches),
    );
    if (o.cpuBackgroundUs !== null && c.cpuBackgroundUs !== null)
      metrics.push(metric('cpu', 'cpu_background_us_per_request', o.cpuBackgroundUs, c.cpuBackgroundUs));
  }
  for (const o of original.simulated) {
    const c = clone.simulated.find((s) => s.platform === o.platform);
    if (!c) continue;
    const at = { platform: o.platform };
    metrics.push(
      metric('cpu', 'instructions_per_request', o.instructionsPerRequest, c.instructionsPerRequest, at),
      metric('uarch', 'l1i_miss_rate', o.l1iMissRatio, c.l1iMissRatio, at),
      metric('uarch', 'l1d_miss_rate', o.l1dMissRatio, c.l1dMissRatio, at),
      metric('uarch', 'l2_miss_rate', o.l2MissRatio, c.l2MissRatio, at),
      metric('uarch', 'llc_miss_rate', o.llcMissRatio, c.llcMissRatio, at),
    );
    if (o.tlbMpki && c.tlbMpki)
      metrics.push(
        metric('uarch', 'itlb_mpki', o.tlbMpki.itlb, c.tlbMpki.itlb, at),
        metric('uarch', 'dtlb_mpki', o.tlbMpki.dtlb, c.tlbMpki.dtlb, at),
        metric('uarch', 'stlb_mpki', o.tlbMpki.stlb, c.tlbMpki.stlb, at),
      );
    for (const [name, a, b] of [
      ['branch_mispredict_rate', o.branchMispredictRate, c.branchMispredictRate],
      ['conditional_mispredict_rate', o.conditionalMispredictRate, c.conditionalMispredictRate],
      ['indirect_mispredict_rate', o.indirectMispredictRate, c.indirectMispredictRate],
    ] as const) {
      if (a !== null && b !== null) metrics.push(metric('uarch', name, a, b, at));
    }
  }
  if (original.kernel && clone.kernel) {
    const o = original.kernel;
    const c = clone.kernel;
    const total = Object.values(o.syscallsPerRequest).reduce((s, v) => s + v, 0);
    for (const [name, calls] of Object.entries(o.syscallsPerRequest).sort()) {
      if (total > 0 && calls / total < syscallShareFloor) continue;
      metrics.push(metric('kernel', `syscall_${name}_per_request`, calls, c.syscallsPerRequest[name] ?? 0));
    }
    metrics.push(
      metric('io', 'network_in_bytes_per_request', o.networkInBytes, c.networkInBytes),
      metric('io', 'network_out_bytes_per_request', o.networkOutBytes, c.networkOutBytes),
      metric('io', 'disk_read_bytes_per_request', o.diskReadBytes, c.diskReadBytes),
      metric('io', 'disk_write_bytes_per_request', o.diskWriteBytes, c.diskWriteBytes),
    );
    for (const role of Object.keys(o.threadsByRole).sort() as (keyof typeof o.threadsByRole)[]) {
      metrics.push(
        metric('skeleton', `threads_${role}`, o.threadsByRole[role] ?? 0, c.threadsByRole[role] ?? 0),
      );
    }
  }
  return { schemaVersion: 1, target: context.target, self: context.self, metrics, original, clone };
}
