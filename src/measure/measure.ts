// Measures one service (the original or a clone, both given as target specs) with the same collectors: latency at
// fixed rates, saturation throughput, CPU time and context switches per request (/proc; the user/system split from
// perf samples where perf runs; the background threads' share from the syscalls they are seen blocked in),
// syscalls and I/O bytes per request and threads per role (bpftrace), and simulated instructions and miss rates
// (valgrind).
import { setTimeout as sleep } from 'node:timers/promises';
import { backgroundCounters, computeBaseline, sampledBackground } from '../analyze/skeleton/baseline.ts';
import { syscallProfile } from '../analyze/skeleton/syscalls.ts';
import { analyzeSkeleton, type ThreadRole } from '../analyze/skeleton/threads.ts';
import type { LoadResult } from '../artifacts/load-result.ts';
import type { Measurement } from '../artifacts/measurement.ts';
import { traceWhile } from '../collect/bpftrace/run.ts';
import type { LoadOptions } from '../collect/load/options.ts';
import { runDittoLoad } from '../collect/load/run.ts';
import { sampleCpuModesWhile } from '../collect/perf/modes.ts';
import { processTree, readProcSnapshot, sampleBlockedSyscallsWhile } from '../collect/procfs/read.ts';
import { cacheRunPlan, tlbRunPlan } from '../collect/valgrind/geometry.ts';
import { dittoLoadDriver, profileCpuBody } from '../collect/valgrind/runner.ts';
import type { TargetSpec } from '../spec/target-spec.ts';
import { perfSoftwareEvents } from '../sys/capabilities.ts';
import { loadOptionsForTarget } from './sweep.ts';
import { type RunningTarget, startTarget } from './target.ts';

export interface MeasureOptions {
  loads: readonly number[];
  durationS: number;
  /** Latency runs per load; medians are kept (this machine is shared and noisy). */
  repeats: number;
  platforms: readonly string[];
  traced: boolean;
  simulated: boolean;
  /** With `simulated`, also the platforms' TLBs (one more valgrind window per platform). */
  tlb?: boolean;
  onProgress: (message: string) => void;
}

export const median = (values: readonly number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/** Starts a target from its spec, runs `body`, and stops the target whatever happens. */
export async function withTarget<T>(spec: TargetSpec, body: (t: RunningTarget) => Promise<T>): Promise<T> {
  const target = await startTarget(spec);
  try {
    return await body(target);
  } finally {
    await target.stop();
  }
}

/**
 * One load run. A service that dies during it is reported as such, with its signal ("killed by SIGSEGV"), rather
 * than as the load client's failure to connect.
 */
async function run(target: RunningTarget, overrides: Partial<LoadOptions>): Promise<LoadResult> {
  const options = loadOptionsForTarget(target, { warmupS: 0.5, preload: false, ...overrides });
  const what = options.rate > 0 ? `under load at ${options.rate} req/s` : 'under closed-loop load';
  try {
    const result = await runDittoLoad(options);
    await sleep(50);
    if (!target.process.running)
      throw target.process.failure('DITTO_TARGET_FAILED', `${target.spec.name} died ${what}`);
    return result;
  } catch (error) {
    await sleep(200);
    if (target.process.running) throw error;
    await target.process.exited;
    throw target.process.failure('DITTO_TARGET_FAILED', `${target.spec.name} died ${what}`);
  }
}

/**
 * Closed-loop runs whose median is the saturation throughput. On this 2-core machine, where the load client and the
 * service share the cores, one 3-s run of memcached gave 148k, 224k and 193k req/s in turn, its clone 188k-275k.
 */
const saturationRuns = 3;

async function closedLoopMedian(target: RunningTarget, durationS: number): Promise<number> {
  const rates = [];
  for (let i = 0; i < saturationRuns; i++) {
    const r = await run(target, {
      rate: 0,
      durationS,
      connections: Math.max(16, target.spec.workload.connections),
      threads: 2,
    });
    rates.push(r.achievedRate);
  }
  return median(rates);
}

/** Closed-loop maximum throughput of a freshly started service. */
export async function saturationThroughput(spec: TargetSpec, durationS = 3): Promise<number> {
  return withTarget(spec, async (target) => {
    await run(target, { preload: spec.workload.preload, durationS: 1, warmupS: 0 });
    return closedLoopMedian(target, durationS);
  });
}

/**
 * Runs the CPU window under perf's cpu-clock sampling where perf runs: its load result, and the user share of the
 * samples when they are usable (otherwise the ticks split it, and a progress line says why).
 */
async function sampledUserShare<T>(
  pids: readonly number[],
  window: () => Promise<T>,
  progress: (m: string) => void,
): Promise<{ result: T; userShare?: number }> {
  const perf = await perfSoftwareEvents();
  if (!perf.works) {
    progress(`user/system split from ticks: ${perf.detail}`);
    return { result: await window() };
  }
  const { result, modes, unusable } = await sampleCpuModesWhile(pids, window);
  // A service enters the kernel for every request: no kernel sample means perf was kept to user mode
  // (perf_event_paranoid above 1 without CAP_PERFMON).
  if (!modes || modes.kernel === 0) {
    progress(
      `user/system split from ticks: ${unusable ?? 'perf sampled no kernel mode (perf_event_paranoid?)'}`,
    );
    return { result };
  }
  return { result, userShare: modes.user / (modes.user + modes.kernel) };
}

export async function measureService(
  spec: TargetSpec,
  role: Measurement['role'],
  options: MeasureOptions,
): Promise<Measurement> {
  const progress = (m: string) => options.onProgress(`${role}: ${m}`);
  const native = await withTarget(spec, async (target) => {
    await run(target, { preload: spec.workload.preload, durationS: 1, warmupS: 0 });
    progress(`saturation throughput (closed loop, median of ${saturationRuns} runs)`);
    const saturationRps = await closedLoopMedian(target, options.durationS);
    const loads: Measurement['loads'] = [];
    for (const rate of options.loads) {
      progress(`latency at ${Math.round(rate)} req/s`);
      const runs = [];
      for (let i = 0; i < options.repeats; i++)
        runs.push(await run(target, { rate, durationS: options.durationS }));
      loads.push({
        rate,
        achievedRate: median(runs.map((r) => r.achievedRate)),
        p50Us: median(runs.map((r) => r.latencyUs.p50 ?? 0)),
        p95Us: median(runs.map((r) => r.latencyUs.p95 ?? 0)),
        p99Us: median(runs.map((r) => r.latencyUs.p99 ?? 0)),
      });
    }
    progress('CPU time and context switches per request');
    const pid = target.process.pid;
    const pids = processTree(pid);
    const before = readProcSnapshot(pids);
    const { result: sampled, userShare } = await sampledUserShare(
      pids,
      () => sampleBlockedSyscallsWhile(pids, () => run(target, { durationS: options.durationS, warmupS: 0 })),
      progress,
    );
    const plain = sampled.result;
    const after = readProcSnapshot(processTree(pid));
    const base = computeBaseline(before, after, {
      requests: plain.responses,
      ...(userShare === undefined ? {} : { userShare }),
    }).total;
    const background = backgroundCounters(
      before,
      after,
      sampledBackground(sampled.blockedIn),
      plain.responses,
    );
    const perRequest: Measurement['perRequest'] = {
      cpuUserUs: (base.cpuUserNsPerRequest ?? 0) / 1000,
      cpuSystemUs: (base.cpuSystemNsPerRequest ?? 0) / 1000,
      cpuBackgroundUs: background ? background.cpuNsPerRequest / 1000 : null,
      voluntarySwitches: base.voluntarySwitchesPerRequest,
      involuntarySwitches: base.involuntarySwitchesPerRequest,
      cpuSplit: userShare === undefined ? 'ticks' : 'perf',
    };
    let kernel: Measurement['kernel'] = null;
    if (options.traced) {
      progress('syscalls per request (bpftrace)');
      const traced = await traceWhile(pid, () => run(target, { durationS: options.durationS, warmupS: 0 }), {
        phase: `compare (${role})`,
      });
      const requests = traced.result.responses;
      const { skeleton, roleOf } = analyzeSkeleton({
        trace: traced.trace,
        service: traced.service,
        requests,
      });
      const profile = syscallProfile({ requestClass: 'mixed', trace: traced.trace, requests, roleOf });
      const syscallsPerRequest: Record<string, number> = {};
      for (const s of profile.syscalls)
        syscallsPerRequest[s.name] = (syscallsPerRequest[s.name] ?? 0) + s.callsPerRequest;
      const threadsByRole: Partial<Record<ThreadRole, number>> = {};
      for (const g of skeleton.threads) {
        const processes = skeleton.processes.find((p) => p.role === g.processRole)?.count ?? 1;
        threadsByRole[g.role] = (threadsByRole[g.role] ?? 0) + g.count * processes;
      }
      kernel = {
        syscallsPerRequest,
        networkInBytes: profile.io.networkInBytes,
        networkOutBytes: profile.io.networkOutBytes,
        diskReadBytes: profile.io.diskReadBytes,
        diskWriteBytes: profile.io.diskWriteBytes,
        threadsByRole,
      };
    }
    return { saturationRps, loads, perRequest, kernel };
  });

  const simulated = options.simulated ? await measureSimulated(spec, options, progress) : [];
  return { schemaVersion: 1, role, protocol: spec.protocol, ...native, simulated };
}

/** The simulated figures alone (valgrind windows of a fresh start of the service), on `options.platforms`. */
export async function measureSimulated(
  spec: TargetSpec,
  options: Pick<MeasureOptions, 'platforms' | 'tlb'>,
  progress: (message: string) => void,
): Promise<Measurement['simulated']> {
  progress('simulated caches and branches (valgrind)');
  const plan = [
    ...cacheRunPlan().filter(
      (p) => p.role.kind === 'platform' && options.platforms.includes(p.role.platform),
    ),
    ...(options.tlb ? tlbRunPlan(options.platforms) : []),
  ];
  const body = await profileCpuBody(spec, { load: dittoLoadDriver(spec), plan, onProgress: progress });
  return body.body.platforms.map((p) => ({
    platform: p.platform,
    instructionsPerRequest: body.body.instructionsPerRequest,
    l1iMissRatio: p.l1iMissRatio,
    l1dMissRatio: p.l1dMissRatio,
    l2MissRatio: p.l2MissRatio,
    llcMissRatio: p.llcMissRatio,
    branchMispredictRate: p.branchMispredictRate,
    conditionalMispredictRate: p.conditionalMispredictRate,
    indirectMispredictRate: p.indirectMispredictRate,
    mpki: p.mpki,
    tlbMpki: p.tlbMpki,
  }));
}

/** Per platform, the median of each simulated figure over several measurements (a figure some lack: over those
 * that have it). */
export function medianSimulated(runs: readonly Measurement['simulated'][]): Measurement['simulated'] {
  const of = <T>(values: readonly (T | null | undefined)[], pick: (v: T) => number) => {
    const present = values.filter((v): v is T => v !== null && v !== undefined);
    return present.length > 0 ? median(present.map(pick)) : null;
  };
  const levels = <K extends string>(objects: (Record<K, number> | null)[], keys: readonly K[]) =>
    objects.some((o) => o !== null)
      ? (Object.fromEntries(keys.map((k) => [k, of(objects, (o) => o[k]) ?? 0])) as Record<K, number>)
      : null;
  return (runs[0] ?? []).map((first) => {
    const same = runs.flatMap((r) => r.filter((s) => s.platform === first.platform));
    type Figures = (typeof same)[number];
    const number = (pick: (s: Figures) => number) => median(same.map(pick));
    const nullable = (pick: (s: Figures) => number | null) => of(same.map(pick), (v) => v);
    return {
      platform: first.platform,
      instructionsPerRequest: number((s) => s.instructionsPerRequest),
      l1iMissRatio: number((s) => s.l1iMissRatio),
      l1dMissRatio: number((s) => s.l1dMissRatio),
      l2MissRatio: number((s) => s.l2MissRatio),
      llcMissRatio: number((s) => s.llcMissRatio),
      branchMispredictRate: nullable((s) => s.branchMispredictRate),
      conditionalMispredictRate: nullable((s) => s.conditionalMispredictRate),
      indirectMispredictRate: nullable((s) => s.indirectMispredictRate),
      mpki: levels(
        same.map((s) => s.mpki),
        ['l1i', 'l1d', 'l2', 'llc'] as const,
      ),
      tlbMpki: levels(
        same.map((s) => s.tlbMpki),
        ['itlb', 'dtlb', 'stlb'] as const,
      ),
    };
  });
}
