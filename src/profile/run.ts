// `ditto profile`: runs the profiling phases against a target and writes profile.json.
//
// One instance of the target serves the phases that need it natively (skeleton → baseline → call stacks), so
// thread ids join across them; the CPU body then runs the target under valgrind, once per request class.
import { readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { backgroundCounters, computeBaseline, sampledBackground } from '../analyze/skeleton/baseline.ts';
import { syscallProfile, syscallProfileSchema } from '../analyze/skeleton/syscalls.ts';
import { analyzeSkeleton, skeletonSchema, type ThreadRole } from '../analyze/skeleton/threads.ts';
import { buildThreadTrees, clusterThreads } from '../analyze/stacks/cluster.ts';
import type { LoadResult } from '../artifacts/load-result.ts';
import {
  type LoadSummary,
  type PhaseName,
  type Profile,
  phaseNames,
  profileSchema,
  threadClusterSchema,
} from '../artifacts/profile.ts';
import { traceWhile } from '../collect/bpftrace/run.ts';
import type { LoadOptions } from '../collect/load/options.ts';
import { runDittoLoad } from '../collect/load/run.ts';
import { recordCallStacks } from '../collect/perf/record.ts';
import {
  mappedExecutables,
  processTree,
  readProcSnapshot,
  sampleBlockedSyscallsWhile,
} from '../collect/procfs/read.ts';
import { cacheRunPlan } from '../collect/valgrind/geometry.ts';
import { dittoLoadDriver, profileCpuBody } from '../collect/valgrind/runner.ts';
import { DittoError } from '../errors.ts';
import { loadOptionsForTarget } from '../measure/sweep.ts';
import { type RunningTarget, startTarget } from '../measure/target.ts';
import { packagePath } from '../package-root.ts';
import type { TargetSpec } from '../spec/target-spec.ts';
import { type Capabilities, detectCapabilities } from '../sys/capabilities.ts';
import { classOverrides, requestClassesOf } from './classes.ts';
import { PhaseRunner } from './phases.ts';
import { findLeaks, printableStrings } from './privacy.ts';
import { profileVocabulary } from './vocabulary.ts';

export interface ProfileOptions {
  /** Where profile.json goes; phase results go to `<out>.d/`. */
  out: string;
  resume: boolean;
  /** Measured seconds of each native window (per class in the skeleton phase). */
  windowS: number;
  phases: readonly PhaseName[];
  /** A shorter cache sweep (128 B … 32 KiB plus the platform runs), for quick profiles and tests. */
  quickCache: boolean;
  onProgress: (message: string) => void;
}

function summarize(cls: LoadSummary['class'], r: LoadResult): LoadSummary {
  return {
    class: cls,
    requestedRate: r.requestedRate,
    achievedRate: r.achievedRate,
    requests: r.requests,
    p50Us: r.latencyUs.p50,
    p99Us: r.latencyUs.p99,
  };
}

/** A service at a modest load is mostly idle: 3 s at 999 Hz gives each busy thread tens of samples. */
const minStackSeconds = 3;
/** The second baseline window runs at this multiple of the profiled rate. */
const busierLoadFactor = 4;
const baselineWarmupS = 2;

const skeletonPhaseSchema = z.strictObject({
  skeleton: skeletonSchema,
  syscalls: z.array(syscallProfileSchema),
});
const baselinePhaseSchema = profileSchema.shape.observed.unwrap();
const stacksPhaseSchema = z.array(threadClusterSchema);
const cpuPhaseSchema = profileSchema.shape.cpu;

interface NativeState {
  target: RunningTarget;
  roleOf: Map<number, ThreadRole> | undefined;
  executables: string[];
}

function unavailable(caps: Capabilities, id: string): string | undefined {
  const c = caps.capabilities.find((x) => x.id === id);
  return c?.available ? undefined : `${c?.title ?? id} unavailable: ${c?.detail ?? 'not detected'}`;
}

export async function profileTarget(spec: TargetSpec, options: ProfileOptions): Promise<Profile> {
  const progress = options.onProgress;
  const caps = await detectCapabilities();
  const classes = requestClassesOf(spec.protocol, spec.workload);
  const phases = new PhaseRunner(`${options.out}.d`, { resume: options.resume, onProgress: progress });
  const wanted = (name: PhaseName) => options.phases.includes(name);
  const load = (target: RunningTarget, overrides: Partial<LoadOptions>) =>
    runDittoLoad(
      loadOptionsForTarget(target, { warmupS: 0, preload: false, durationS: options.windowS, ...overrides }),
    );

  let native: NativeState | undefined;
  const nativeTarget = async (): Promise<NativeState> => {
    if (native) return native;
    const target = await startTarget(spec);
    progress(`started the target on ${target.host}:${target.port}`);
    // Preload and warm up untraced, so every phase sees the steady state.
    await load(target, { preload: spec.workload.preload, durationS: 1 });
    native = { target, roleOf: undefined, executables: mappedExecutables(processTree(target.process.pid)) };
    return native;
  };

  let skeletonResult: z.infer<typeof skeletonPhaseSchema> | undefined;
  let observed: Profile['observed'] = null;
  let threadClusters: Profile['threadClusters'] = [];
  let cpu: Profile['cpu'] = [];
  let executables: string[] = [];
  try {
    const noBpf = unavailable(caps, 'bpftrace');
    if (!wanted('skeleton')) phases.skip('skeleton', 'not requested');
    else if (noBpf && !phases.saved('skeleton', skeletonPhaseSchema)) phases.skip('skeleton', noBpf);
    else {
      skeletonResult = await phases.run('skeleton', skeletonPhaseSchema, async (loads) => {
        const state = await nativeTarget();
        const pid = state.target.process.pid;
        const syscalls = [];
        let skeleton: z.infer<typeof skeletonSchema> | undefined;
        for (const c of classes) {
          const traced = await traceWhile(pid, () => load(state.target, classOverrides(c.name)), {
            phase: `skeleton (${c.name})`,
            maxSeconds: options.windowS + 60,
          });
          loads.push(summarize(c.name, traced.result));
          const analysis = analyzeSkeleton({
            trace: traced.trace,
            service: traced.service,
            requests: traced.result.responses,
          });
          skeleton ??= analysis.skeleton;
          state.roleOf ??= analysis.roleOf;
          syscalls.push(
            syscallProfile({
              requestClass: c.name,
              trace: traced.trace,
              requests: traced.result.responses,
              roleOf: analysis.roleOf,
            }),
          );
        }
        return { skeleton: skeleton as z.infer<typeof skeletonSchema>, syscalls };
      });
    }

    if (!wanted('baseline')) phases.skip('baseline', 'not requested');
    else {
      observed = await phases.run('baseline', baselinePhaseSchema, async (loads) => {
        const state = await nativeTarget();
        const window = async (overrides: Partial<LoadOptions>) => {
          // Unmeasured first: adaptive threads settle to the rate (memcached's LRU maintainer, idle since the
          // skeleton windows, woke 57 times/s in a cold 3 s window at 5000 req/s and ~1000 times/s once settled).
          await load(state.target, { ...overrides, durationS: baselineWarmupS });
          const pids = processTree(state.target.process.pid);
          const before = readProcSnapshot(pids);
          // Which threads are background: the skeleton's roles (they tell a thread pool's workers apart), or on
          // --resume, where roles are unknown, the blocked-syscall samples, as compare measures them.
          const { roleOf } = state;
          const { result, blockedIn } = roleOf
            ? { result: await load(state.target, overrides), blockedIn: null }
            : await sampleBlockedSyscallsWhile(pids, () => load(state.target, overrides));
          const after = readProcSnapshot(processTree(state.target.process.pid));
          loads.push(summarize('mixed', result));
          const baseline = computeBaseline(before, after, {
            requests: result.responses,
            ...(roleOf ? { roleOf } : {}),
          });
          const background = roleOf
            ? (baseline.byRole.find((r) => r.role === 'background') ?? null)
            : backgroundCounters(before, after, sampledBackground(blockedIn), result.responses);
          const wakeups = background && {
            requestsPerSecond: result.achievedRate,
            wakeupsPerSecond: background.voluntarySwitchesPerRequest * result.achievedRate,
          };
          return { result, baseline, wakeups };
        };
        const profiled = await window({});
        // A second window at a higher rate shows how the background threads' wake-ups follow the load.
        const busier =
          profiled.wakeups && profiled.wakeups.wakeupsPerSecond > 0
            ? await window({ rate: spec.workload.qps * busierLoadFactor })
            : undefined;
        return {
          load: summarize('mixed', profiled.result),
          latencyUs: profiled.result.latencyUs,
          baseline: profiled.baseline,
          backgroundWakeups: [profiled.wakeups, busier?.wakeups].filter((w) => !!w),
        };
      });
    }

    const noPerf = unavailable(caps, 'perf');
    if (!wanted('stacks')) phases.skip('stacks', 'not requested');
    else if (noPerf && !phases.saved('stacks', stacksPhaseSchema)) phases.skip('stacks', noPerf);
    else {
      threadClusters = await phases.run('stacks', stacksPhaseSchema, async (loads) => {
        const state = await nativeTarget();
        const pids = processTree(state.target.process.pid);
        // Clustering needs tens of samples per thread even when the other windows are short.
        const seconds = Math.max(options.windowS, minStackSeconds);
        const running = load(state.target, { durationS: seconds + 1 });
        await sleep(500);
        const recording = await recordCallStacks(pids, { seconds, frequencyHz: 999 });
        loads.push(summarize('mixed', await running));
        const trees = buildThreadTrees(recording.samples);
        const total = recording.samples.length;
        return clusterThreads(trees).map((cluster) => ({
          threads: cluster.tids.length,
          roles: [
            ...new Set(cluster.tids.map((tid) => state.roleOf?.get(tid)).filter((r) => r !== undefined)),
          ].sort(),
          sampleShare: total ? cluster.samples / total : 0,
          kernelShare: cluster.kernelLeafShare,
          spread: cluster.spread,
        }));
      });
    }
  } finally {
    executables = native?.executables ?? [];
    await native?.target.stop();
  }

  const noValgrind = unavailable(caps, 'valgrind');
  if (!wanted('cpu')) phases.skip('cpu', 'not requested');
  else if (noValgrind && !phases.saved('cpu', cpuPhaseSchema)) phases.skip('cpu', noValgrind);
  else {
    cpu = await phases.run('cpu', cpuPhaseSchema, async () => {
      const bodies: Profile['cpu'] = [];
      for (const c of classes) {
        const classSpec = { ...spec, workload: { ...spec.workload, ...classOverrides(c.name) } };
        const run = await profileCpuBody(classSpec, {
          load: dittoLoadDriver(classSpec),
          onProgress: (m) => progress(`cpu (${c.name}): ${m}`),
          ...(options.quickCache ? { plan: cacheRunPlan({ maxBytes: 32 * 1024 }) } : {}),
        });
        bodies.push({ class: c.name, body: run.body, background: run.background });
      }
      return bodies;
    });
  }

  const profile = profileSchema.parse({
    schemaVersion: 1,
    protocol: spec.protocol,
    workload: {
      qps: spec.workload.qps,
      connections: spec.workload.connections,
      classes,
      keys: spec.workload.keys,
      keyDistribution: spec.workload.keyDistribution,
      zipfS: spec.workload.zipfS,
      valueSizes: spec.workload.valueSizes ?? [{ size: spec.workload.valueSize, weight: 1 }],
    },
    observed,
    skeleton: skeletonResult?.skeleton ?? null,
    syscalls: skeletonResult?.syscalls ?? [],
    threadClusters,
    cpu,
    provenance: {
      ditto: dittoVersion(),
      createdAt: new Date().toISOString(),
      kernel: release(),
      tools: toolVersions(caps),
      sources: {
        syscalls: skeletonResult ? 'bpftrace' : 'none',
        stacks: threadClusters.length > 0 ? 'perf' : 'none',
        cpu: cpu.length > 0 ? 'valgrind' : 'none',
      },
      phases: phases.records,
    },
  } satisfies Profile);
  checkRevealsNothing(profile, executables);
  writeFileSync(options.out, `${JSON.stringify(profile, null, 2)}\n`);
  return profile;
}

/** Version numbers of the profilers used (numbers only: tool banners can share text with the target's binary). */
function toolVersions(caps: Capabilities): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const c of caps.capabilities) {
    const version = /\d+(?:\.\d+)+/.exec(c.detail)?.[0];
    if (c.available && version && ['bpftrace', 'perf', 'valgrind'].includes(c.id)) versions[c.id] = version;
  }
  return versions;
}

function dittoVersion(): string {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Refuses to write a profile that holds any printable string of the target's binary or libraries. */
export function checkRevealsNothing(profile: Profile, executables: readonly string[]): void {
  const strings = new Set<string>();
  for (const file of executables) for (const s of printableStrings(readFileSync(file))) strings.add(s);
  const leaks = findLeaks(profile, strings, profileVocabulary());
  if (leaks.length > 0) {
    throw new DittoError(
      'DITTO_PRIVACY_LEAK',
      `the profile would reveal ${leaks.length} string(s) of the target; it was not written`,
      { hint: 'report this as a bug in ditto' },
    );
  }
}

export const allPhases: readonly PhaseName[] = phaseNames;
