// Fidelity benchmark of issue 5: clones each target end to end (`ditto clone`), judges the clone at held-out loads
// on platforms A and B (`ditto compare`) BENCH_REPEATS times in all, measures the original against itself
// (`ditto compare --self`, the noise floor) as often, and prints per metric the median error over the repeats
// (latency: the mean over the held-out loads first), the median noise floor and the goal of src/report/goals.ts.
// A metric passes "beyond noise" when error − noise ≤ goal; the plain verdict against the goal alone is shown too.
// Run: npx tsx bench/fidelity/run.ts (knobs in bench/fidelity/README.md). Exits 1 when any run failed.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Comparison, comparisonSchema } from '../../src/artifacts/measurement.ts';
import { readArtifact } from '../../src/artifacts/read.ts';
import { errorLine } from '../../src/errors.ts';
import { type CompareOptions, runComparison } from '../../src/measure/comparison.ts';
import { packagePath } from '../../src/package-root.ts';
import { cloneService, demoBudget, judgingOptions } from '../../src/pipeline/clone.ts';
import { formatError } from '../../src/report/console.ts';
import { formatTable } from '../../src/report/table.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';
import type { TargetSpec } from '../../src/spec/target-spec.ts';
import { stopAll } from '../../src/sys/process.ts';
import { aggregate, type Row } from './aggregate.ts';

function numberEnv(name: string, fallback: number): number {
  const text = process.env[name];
  const value = text === undefined || text === '' ? fallback : Number(text);
  if (!(value > 0)) throw new Error(`${name}=${text}: expected a positive number`);
  return value;
}

const targets = (process.env.BENCH_TARGETS ?? 'memcached,redis,redis-aof,nginx')
  .split(',')
  .map((t) => t.trim())
  .filter((t) => t !== '');
const repeats = Math.round(numberEnv('BENCH_REPEATS', 3));
// The budgets of `ditto demo` unless overridden.
const settings = {
  targets,
  repeats,
  tuneIterations: Math.round(numberEnv('BENCH_ITERATIONS', demoBudget.tuneIterations)),
  tuneMinutes: numberEnv('BENCH_MINUTES', demoBudget.tuneMinutes),
  windowS: numberEnv('BENCH_WINDOW_S', demoBudget.windowS),
  quickCache: process.env.BENCH_QUICK_CACHE === '1' || demoBudget.quickCache,
};
const root = process.env.BENCH_OUT ?? mkdtempSync(join(tmpdir(), 'ditto-bench-fidelity-'));
mkdirSync(root, { recursive: true });
const figuresFile = join(root, 'fidelity.json');

const log = (message: string) => process.stderr.write(`${message}\n`);
const seconds = (started: number) => Math.round((performance.now() - started) / 100) / 10;
/** JSON has no Infinity: an unbounded error (original 0, other run not) is written as null, like relError. */
const finite = (v: number) => (Number.isFinite(v) ? v : null);

interface Run {
  kind: 'clone' | 'self';
  seconds: number;
  file: string | null;
  error: string | null;
}

interface TargetFigures {
  name: string;
  dir: string;
  /** The whole `ditto clone`: profile, generate, build, tune and the first comparison. */
  cloneSeconds: number | null;
  loads: number[];
  tuning: { iterations: number; best: number; stopReason: string } | null;
  runs: Run[];
  rows: Row[];
  summary: { judged: number; passedBeyondNoise: number; passedGoal: number };
  error: string | null;
}

async function benchTarget(name: string): Promise<TargetFigures> {
  const dir = join(root, name);
  const cloneDir = join(dir, 'clone');
  const figures: TargetFigures = {
    name,
    dir,
    cloneSeconds: null,
    loads: [],
    tuning: null,
    runs: [],
    rows: [],
    summary: { judged: 0, passedBeyondNoise: 0, passedGoal: 0 },
    error: null,
  };
  let spec: TargetSpec;
  const clones: Comparison[] = [];
  const selves: Comparison[] = [];
  try {
    spec = loadTargetSpec(packagePath('examples', `${name}.yaml`));
    log(`== ${name}: ditto clone into ${cloneDir}`);
    const started = performance.now();
    const result = await cloneService(spec, {
      dir: cloneDir,
      resume: false,
      quickCache: settings.quickCache,
      tuneIterations: settings.tuneIterations,
      tuneMinutes: settings.tuneMinutes,
      windowS: settings.windowS,
    });
    figures.cloneSeconds = seconds(started);
    const t = result.report.tuning;
    figures.tuning = t && { iterations: t.iterations.length, best: t.best, stopReason: t.stopReason };
    const file = join(cloneDir, 'comparison.json');
    clones.push(readArtifact(file, comparisonSchema, 'comparison.json'));
    figures.runs.push({ kind: 'clone', seconds: figures.cloneSeconds, file, error: null });
  } catch (error) {
    await stopAll();
    figures.error = errorLine(error);
    return figures;
  }
  // Every later run at the first comparison's held-out loads, so that repeats and noise floor line up load by load.
  figures.loads = clones[0]!.original.loads.map((l) => l.rate);
  const runs = [
    ...Array.from({ length: repeats - 1 }, (_, i) => ({ kind: 'clone' as const, n: i + 2 })),
    ...Array.from({ length: repeats }, (_, i) => ({ kind: 'self' as const, n: i + 1 })),
  ];
  for (const { kind, n } of runs) {
    const outDir = join(dir, `${kind}-${n}`);
    mkdirSync(outDir, { recursive: true });
    // The options of cloneService's judging step, with the loads pinned.
    const options: CompareOptions = {
      ...judgingOptions,
      loads: figures.loads,
      durationS: settings.windowS,
      self: kind === 'self',
      outDir,
      onProgress: (m) => log(`  ${name} ${kind} ${n}/${repeats}: ${m}`),
    };
    const started = performance.now();
    try {
      const comparison = await runComparison(spec, kind === 'self' ? undefined : cloneDir, options);
      (kind === 'self' ? selves : clones).push(comparison);
      const file = join(outDir, kind === 'self' ? 'comparison-self.json' : 'comparison.json');
      figures.runs.push({ kind, seconds: seconds(started), file, error: null });
    } catch (error) {
      // One failed repeat leaves the others to judge with; the failure is counted in the exit code.
      await stopAll();
      const message = errorLine(error);
      log(`${name}: ${kind} comparison ${n} failed: ${message}`);
      figures.runs.push({ kind, seconds: seconds(started), file: null, error: message });
    }
  }
  figures.rows = aggregate(clones, selves);
  const judged = figures.rows.filter((r) => r.goal !== null);
  figures.summary = {
    judged: judged.length,
    passedBeyondNoise: judged.filter((r) => r.passBeyondNoise).length,
    passedGoal: judged.filter((r) => r.passGoal).length,
  };
  return figures;
}

const verdict = (pass: boolean | null) => (pass === null ? '' : pass ? '✓' : '✗');
const percent = (e: number | null) => formatError(e === null ? null : finite(e));

function printTable(f: TargetFigures): void {
  const clones = f.runs.filter((r) => r.kind === 'clone' && !r.error).length;
  const selves = f.runs.filter((r) => r.kind === 'self' && !r.error).length;
  console.log(
    `\n${f.name}: median of ${clones} clone comparison(s) and ${selves} self comparison(s) at ` +
      `${f.loads.join(', ')} req/s; latency: mean over those loads (worst load alongside)`,
  );
  const rows = f.rows.map((r) => [
    r.group,
    r.label,
    r.platform ?? '',
    percent(r.error),
    r.errors.length > 1 ? `${percent(Math.min(...r.errors))}-${percent(Math.max(...r.errors))}` : '',
    r.worstLoad === null ? '' : percent(r.worstLoad),
    r.noise === null ? '-' : percent(r.noise),
    r.goal === null ? '-' : `≤ ${formatError(r.goal)}`,
    verdict(r.passBeyondNoise),
    verdict(r.passGoal),
  ]);
  console.log(
    formatTable(
      [
        'group',
        'metric',
        'platform',
        'error',
        'range',
        'worst load',
        'noise',
        'goal',
        'beyond noise',
        'goal alone',
      ],
      rows,
    ),
  );
}

function summaryLine(f: TargetFigures): string {
  if (f.error) return `${f.name}: FAILED: ${f.error}`;
  const { judged, passedBeyondNoise, passedGoal } = f.summary;
  const failedRuns = f.runs.filter((r) => r.error).length;
  return (
    `${f.name}: ${passedBeyondNoise} of ${judged} metrics within goal (beyond noise), ` +
    `${passedGoal} of ${judged} against the goal alone; clone ${f.cloneSeconds} s` +
    (f.tuning ? `, tuning ${f.tuning.iterations} iteration(s) (${f.tuning.stopReason})` : '') +
    (failedRuns > 0 ? `; ${failedRuns} comparison(s) failed` : '')
  );
}

// An interrupted bench stops the services, tracers and valgrind runs it started; fidelity.json keeps what it had.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`fidelity bench: ${signal}, stopping the processes it started`);
    void stopAll().finally(() => process.exit(130));
  });
}

const results: TargetFigures[] = [];
const benchStarted = performance.now();
log(`fidelity bench: ${JSON.stringify(settings)}; artifacts in ${root}`);
for (const name of targets) {
  const figures = await benchTarget(name);
  results.push(figures);
  if (figures.error) log(summaryLine(figures));
  else printTable(figures);
  // Written after every target, so an interrupted bench keeps what it measured.
  writeFileSync(
    figuresFile,
    `${JSON.stringify({ settings, seconds: seconds(benchStarted), targets: results }, (_, v) => (typeof v === 'number' ? finite(v) : v), 2)}\n`,
  );
}
console.log(`\nfidelity over ${seconds(benchStarted)} s:`);
for (const f of results) console.log(summaryLine(f));
console.log(`figures: ${figuresFile}`);
if (results.some((f) => f.error || f.runs.some((r) => r.error))) process.exitCode = 1;
