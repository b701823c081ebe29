// The report of a clone directory, built from its artifacts (pure): every compared metric judged against its goal,
// next to the noise floor of the original, plus the latency curves, the tuning trajectory and a profile summary.
import type { ClonePlan } from '../artifacts/clone-plan.ts';
import type { Comparison } from '../artifacts/measurement.ts';
import type { Profile } from '../artifacts/profile.ts';
import type { MetricGroup, ProfileSummary, Report, ReportRow } from '../artifacts/report.ts';
import type { Tuning } from '../artifacts/tuning.ts';
import { comparedGoal, goalRules, meetsGoal } from './goals.ts';

export interface ReportInputs {
  comparison: Comparison;
  /** comparison-self.json: the original against a second run of itself. */
  self: Comparison | null;
  tuning: Tuning | null;
  profile: Profile | null;
  plan: ClonePlan | null;
}

type Metric = Comparison['metrics'][number];

const groupOrder: readonly MetricGroup[] = ['latency', 'cpu', 'uarch', 'kernel', 'io', 'skeleton'];

const fixedLabels: Record<string, string> = {
  p50_us: 'latency p50 (µs)',
  p95_us: 'latency p95 (µs)',
  p99_us: 'latency p99 (µs)',
  saturation_rps: 'saturation throughput (req/s)',
  cpu_user_us_per_request: 'user CPU per request (µs)',
  cpu_system_us_per_request: 'system CPU per request (µs)',
  cpu_total_us_per_request: 'CPU per request, user + system (µs)',
  cpu_background_us_per_request: "background threads' CPU per request (µs)",
  voluntary_switches_per_request: 'voluntary switches per request',
  involuntary_switches_per_request: 'involuntary switches per request',
  instructions_per_request: 'instructions per request',
  l1i_miss_rate: 'L1i miss rate',
  l1d_miss_rate: 'L1d miss rate',
  l2_miss_rate: 'L2 miss rate',
  llc_miss_rate: 'LLC miss rate',
  itlb_mpki: 'iTLB misses per 1000 instructions',
  dtlb_mpki: 'dTLB misses per 1000 instructions',
  stlb_mpki: 'STLB misses per 1000 instructions',
  branch_mispredict_rate: 'branch mispredict rate',
  conditional_mispredict_rate: 'conditional branches mispredicted',
  indirect_mispredict_rate: 'indirect jumps mispredicted',
  network_in_bytes_per_request: 'network bytes in per request',
  network_out_bytes_per_request: 'network bytes out per request',
  disk_read_bytes_per_request: 'disk bytes read per request',
  disk_write_bytes_per_request: 'disk bytes written per request',
};

/** A metric name of src/compare in words. */
export function metricLabel(metric: string): string {
  const fixed = fixedLabels[metric];
  if (fixed) return fixed;
  const syscall = /^syscall_(.+)_per_request$/.exec(metric);
  if (syscall) return `${syscall[1]} calls per request`;
  const threads = /^threads_(.+)$/.exec(metric);
  if (threads) return `${threads[1]} threads`;
  return metric.replaceAll('_', ' ');
}

/**
 * The self comparison's error for the same metric and platform, at the same load or, when the self run chose its
 * own held-out loads, at the nearest one within 20 %.
 */
function noiseOf(m: Metric, self: Comparison | null): number | null {
  if (!self) return null;
  const same = self.metrics.filter((s) => s.metric === m.metric && s.platform === m.platform);
  if (m.load === null) return same.find((s) => s.load === null)?.relError ?? null;
  const load = m.load;
  const near = same
    .filter((s) => s.load !== null && Math.abs(s.load - load) / load <= 0.2)
    .sort((a, b) => Math.abs((a.load ?? 0) - load) - Math.abs((b.load ?? 0) - load));
  return near[0]?.relError ?? null;
}

function row(m: Metric, comparison: Comparison, self: Comparison | null): ReportRow {
  const goal = comparedGoal(m, comparison);
  return {
    ...m,
    label: metricLabel(m.metric),
    goal,
    pass: goal === null ? null : meetsGoal(m.relError, goal),
    noise: noiseOf(m, self),
  };
}

/** The instruction kind of a mix category ("base.arith.int.no_mem" → "arith"). */
const kindOf = (category: string) => category.split('.')[1] ?? category;

export function summarizeProfile(p: Profile): ProfileSummary {
  const s = p.skeleton;
  return {
    protocol: p.protocol,
    workload: { qps: p.workload.qps, connections: p.workload.connections, classes: p.workload.classes },
    skeleton: s && {
      processes: s.processes.map(({ role, count, threads }) => ({ role, count, threads })),
      threads: s.threads.map(({ role, processRole, count, blocksOn, periodMs }) => ({
        role,
        processRole,
        count,
        blocksOn,
        periodMs,
      })),
      network: s.network,
    },
    syscalls: p.syscalls.map((c) => ({
      class: c.class,
      calls: c.syscalls
        .filter((e) => e.callsPerRequest >= 0.01)
        .map(({ name, role, target, callsPerRequest, bytesPerRequest }) => ({
          name,
          role,
          target,
          callsPerRequest,
          bytesPerRequest,
        })),
      networkInBytes: c.io.networkInBytes,
      networkOutBytes: c.io.networkOutBytes,
      diskReadBytes: c.io.diskReadBytes,
      diskWriteBytes: c.io.diskWriteBytes,
    })),
    instructions: p.cpu.map(({ class: cls, body }) => {
      const kinds = new Map<string, number>();
      for (const [category, share] of Object.entries(body.mix.categories))
        kinds.set(kindOf(category), (kinds.get(kindOf(category)) ?? 0) + share);
      return {
        class: cls,
        perRequest: body.instructionsPerRequest,
        mix: [...kinds].map(([kind, share]) => ({ kind, share })).sort((a, b) => b.share - a.share),
      };
    }),
  };
}

export function buildReport(inputs: ReportInputs): Report {
  const { comparison, self, tuning, profile, plan } = inputs;
  const rows = comparison.metrics.map((m) => row(m, comparison, self));
  const count = (rs: ReportRow[], pass: boolean) => rs.filter((r) => r.pass === pass).length;
  const groups = groupOrder.flatMap((group) => {
    const rs = rows.filter((r) => r.group === group);
    return rs.length === 0 ? [] : [{ group, passed: count(rs, true), failed: count(rs, false), rows: rs }];
  });
  const curve = (m: Comparison['original']) => ({ loads: m.loads, saturationRps: m.saturationRps });
  return {
    schemaVersion: 1,
    target: comparison.target,
    inputs: {
      comparison: true,
      self: self !== null,
      tuning: tuning !== null,
      profile: profile !== null,
      plan: plan !== null,
    },
    goals: goalRules.map(({ text, maxRelError }) => ({ text, maxRelError })),
    summary: { passed: count(rows, true), failed: count(rows, false) },
    groups,
    latency: { original: curve(comparison.original), clone: curve(comparison.clone) },
    tuning: tuning && {
      load: tuning.load,
      seed: tuning.seed,
      iterations: tuning.iterations,
      best: tuning.best,
      stopReason: tuning.stopReason,
    },
    profile: profile && summarizeProfile(profile),
    plan: plan && { network: plan.network, knobs: plan.knobs, seed: plan.seed },
  };
}
