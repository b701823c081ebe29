// `ditto clone`: profile → generate → build → tune → compare at held-out loads on platforms A and B → report.
// Every step writes its artifacts into the clone directory before the next starts, so `--resume` continues an
// interrupted run from the first step whose result is missing, and `ditto report DIR` rebuilds the report alone.
// This folder only sequences the stages; each stage keeps its own logic.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Listr, ListrLogger, ProcessOutput } from 'listr2';
import type { Profile } from '../artifacts/profile.ts';
import { phaseNames, profileSchema } from '../artifacts/profile.ts';
import { readArtifact } from '../artifacts/read.ts';
import type { Report } from '../artifacts/report.ts';
import { tuningSchema } from '../artifacts/tuning.ts';
import { buildClone } from '../build/build.ts';
import { generateClone } from '../build/generate.ts';
import { tuningPlatform } from '../collect/valgrind/geometry.ts';
import { type CompareOptions, runComparison } from '../measure/comparison.ts';
import { profileTarget } from '../profile/run.ts';
import { buildReport } from '../report/build.ts';
import { readReportInputs, writeReportFiles } from '../report/files.ts';
import type { TargetSpec } from '../spec/target-spec.ts';
import { tuneClone } from '../tune/tune.ts';

const progressLogger = new ListrLogger({ processOutput: new ProcessOutput(process.stderr, process.stderr) });

/**
 * The budgets of `ditto demo` (and bench/fidelity): one memcached clone in about 12 minutes on a 2-core machine.
 * The cache sweep is the full one: the quick sweep's curve has no point between 32 KiB and the platforms' L2s, so
 * the bins there landed near 256 KiB and platform B's 256 KiB L2 missed 37-171% more often than the original's
 * (bench h21, h22: memcached, redis, redis-aof); with the full sweep 22%, 25% and 6% (h23). It costs about 40 s
 * per request class (memcached's clone: 701 s against 626 s).
 */
export const demoBudget = { quickCache: false, tuneIterations: 12, tuneMinutes: 8, windowS: 2 } as const;

/** How `ditto clone` judges the tuned clone (with its window and loads): what bench/fidelity repeats. */
export const judgingOptions = {
  repeats: 1,
  platforms: ['A', 'B'],
  traced: true,
  simulated: true,
  tlb: true,
} as const satisfies Partial<CompareOptions>;

export interface CloneOptions {
  dir: string;
  resume: boolean;
  /** A shorter cache sweep while profiling (up to 32 KiB plus the platform geometries). */
  quickCache: boolean;
  tuneIterations: number;
  tuneMinutes: number;
  /** Seconds per native measurement window. */
  windowS: number;
}

export interface CloneResult {
  report: Report;
  htmlPath: string;
}

interface Context {
  profile?: Profile;
}

export async function cloneService(spec: TargetSpec, options: CloneOptions): Promise<CloneResult> {
  const dir = options.dir;
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const done = (name: string) => options.resume && existsSync(file(name));
  const tuned = () => {
    if (!done('tuning.json')) return false;
    return readArtifact(file('tuning.json'), tuningSchema, 'tuning.json').iterations.length > 0;
  };
  let result: CloneResult | undefined;
  const tasks = new Listr<Context>(
    [
      {
        title: `profile ${spec.name}`,
        skip: () => done('profile.json') && 'profile.json kept',
        task: async (ctx, task) => {
          ctx.profile = await profileTarget(spec, {
            out: file('profile.json'),
            resume: options.resume,
            windowS: options.windowS,
            phases: phaseNames,
            quickCache: options.quickCache,
            onProgress: (m) => {
              task.output = m;
            },
          });
        },
      },
      {
        title: 'generate and build the clone',
        skip: () => done('plan.json') && done(join('bin', 'clone')) && 'clone kept',
        task: async (ctx) => {
          const profile = ctx.profile ?? readArtifact(file('profile.json'), profileSchema, 'profile.json');
          generateClone(profile, dir);
          await buildClone(dir);
        },
      },
      {
        title: 'tune the clone at the profiled load',
        skip: () => tuned() && 'tuning.json kept',
        task: async (_ctx, task) => {
          await tuneClone(spec, dir, {
            iterations: options.tuneIterations,
            minutes: options.tuneMinutes,
            platforms: [tuningPlatform.name],
            durationS: options.windowS,
            onProgress: (m) => {
              task.output = m;
            },
          });
        },
      },
      {
        title: 'compare original and clone at held-out loads on platforms A and B',
        skip: () => done('comparison.json') && 'comparison.json kept',
        task: async (_ctx, task) => {
          await runComparison(spec, dir, {
            ...judgingOptions,
            durationS: options.windowS,
            self: false,
            outDir: dir,
            onProgress: (m) => {
              task.output = m;
            },
          });
        },
      },
      {
        title: 'report',
        task: () => {
          const report = buildReport(readReportInputs(dir));
          const written = writeReportFiles(dir, report, { html: true });
          result = { report, htmlPath: written.html ?? file('report.html') };
        },
      },
    ],
    {
      // Plain lines, one per event, when stdout is not a terminal (CI, logs); progress goes to stderr either way,
      // leaving stdout to the results.
      renderer: 'default',
      fallbackRenderer: 'simple',
      rendererOptions: { logger: progressLogger },
      fallbackRendererOptions: { logger: progressLogger },
      exitOnError: true,
    },
  );
  await tasks.run({});
  if (!result) throw new Error('the report step did not run');
  return result;
}
