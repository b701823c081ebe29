// Generated bodies compiled with gcc -O2 -Wall -Werror, run, and profiled with callgrind (collection toggled on the
// body function only, after a warm-up whose counts are zeroed): the measured figures are compared with the plan
// they were generated from, for the memcached get and set bodies.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { analyzeCpuBody } from '../../src/analyze/cpu/body.ts';
import type { CacheRunResult } from '../../src/analyze/cpu/cache.ts';
import { buildProgram } from '../../src/analyze/cpu/program.ts';
import type { BodyPlan } from '../../src/artifacts/clone-plan.ts';
import { clonePlanSchema } from '../../src/artifacts/clone-plan.ts';
import { parseCostSummary } from '../../src/collect/valgrind/cachegrind.ts';
import { parseCallgrind } from '../../src/collect/valgrind/callgrind.ts';
import { type CacheGeometry, cacheRunPlan, geometryArgs } from '../../src/collect/valgrind/geometry.ts';
import { parseObjdump } from '../../src/collect/valgrind/objdump.ts';
import { emitBodies } from '../../src/emit/body/emit.ts';
import { packagePath } from '../../src/package-root.ts';
import { run } from '../../src/sys/process.ts';

const fixture = packagePath('test', 'fixtures', 'emit');
const invocations = 300;
/** Uncounted invocations first: every region up to the largest platform L2 completes a cycle. */
const warmup = 3000;
const missing = [
  '/usr/bin/gcc',
  '/usr/bin/valgrind',
  '/usr/bin/objdump',
  '/usr/include/valgrind/callgrind.h',
].find((f) => !existsSync(f));

type ClassName = 'get' | 'set';

function loadPlan(name: ClassName) {
  const plan = clonePlanSchema.parse(
    JSON.parse(readFileSync(join(fixture, 'clone-plan-memcached.json'), 'utf8')),
  );
  // The harness calls one body.
  return { ...plan, classes: plan.classes.filter((c) => c.name === name) };
}

const bodyFunction = (name: ClassName) => `ditto_body_class_${name}`;

async function build(dir: string, name: ClassName): Promise<string> {
  for (const f of emitBodies(loadPlan(name))) writeFileSync(join(dir, 'body.c'), f.content);
  const exe = join(dir, 'harness');
  await run(
    'gcc',
    [
      '-O2',
      '-Wall',
      '-Werror',
      `-DBODY=${bodyFunction(name)}`,
      '-I',
      packagePath('native', 'runtime'),
      join(fixture, 'harness.c'),
      join(dir, 'body.c'),
      '-o',
      exe,
    ],
    { timeoutMs: 120_000 },
  );
  return exe;
}

async function callgrind(dir: string, exe: string, name: ClassName, geometry: CacheGeometry, full: boolean) {
  const out = join(dir, 'clg.out');
  await run(
    'valgrind',
    [
      '--tool=callgrind',
      `--toggle-collect=${bodyFunction(name)}`,
      '--cache-sim=yes',
      '--branch-sim=yes',
      '--compress-strings=no',
      '--compress-pos=no',
      ...(full ? ['--dump-instr=yes', '--collect-jumps=yes'] : []),
      ...geometryArgs(geometry),
      `--callgrind-out-file=${out}`,
      exe,
      String(invocations),
      String(warmup),
    ],
    { timeoutMs: 120_000 },
  );
  return readFileSync(out, 'utf8');
}

const rel = (measured: number, planned: number) =>
  planned === 0 ? measured : (measured - planned) / planned;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The planned miss ratio at any size: log-linear between the plan's curve points. */
function plannedRatio(curve: BodyPlan['cache'], stream: 'icache' | 'dcache', size: number): number {
  const sizes = curve.sizesBytes;
  const ratios = curve[stream].missRatio;
  const j = sizes.findIndex((s) => s >= size);
  if (j < 0) return ratios.at(-1) ?? 0;
  if (j === 0 || sizes[j] === size) return ratios[j] ?? 0;
  const a = sizes[j - 1] ?? size;
  const b = sizes[j] ?? size;
  const t = Math.log2(size / a) / Math.log2(b / a);
  return (ratios[j - 1] ?? 0) * (1 - t) + (ratios[j] ?? 0) * t;
}

interface Measured {
  lines: string[];
  instrErr: number;
  repErr: number;
  takenErr: number;
  tvd: number;
  rawNear: number;
  /** Indirect jumps per invocation and their simulated mispredict rate: measured, planned. */
  indirect: { perInvocation: number; plan: number; rate: number; planRate: number };
  /** Miss ratios by size (bytes): generated and planned, d-cache and i-cache. */
  points: Map<number, { d: number; dPlan: number; i: number; iPlan: number }>;
}

async function measure(name: ClassName): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-body-'));
  try {
    const body = loadPlan(name).classes[0]?.body;
    assert.ok(body);
    const exe = await build(dir, name);
    const runs = cacheRunPlan({ maxBytes: 1024 * 1024 });
    const main = runs.find((r) => r.role.kind === 'platform') ?? runs[0];
    assert.ok(main);
    const text = await callgrind(dir, exe, name, main.geometry, true);
    const profile = parseCallgrind(text);
    const dump = await run('objdump', ['-d', '--no-show-raw-insn', '-M', 'intel', exe], {
      timeoutMs: 60_000,
    });
    const program = buildProgram(
      profile,
      new Map([[profile.objects.indexOf(exe), parseObjdump(dump.stdout)]]),
    );
    const cacheRuns: (CacheRunResult & { role: (typeof runs)[number]['role'] })[] = [];
    for (const r of runs) {
      const t = r === main ? text : await callgrind(dir, exe, name, r.geometry, false);
      cacheRuns.push({
        role: r.role,
        geometry: r.geometry,
        totals: parseCostSummary(t).totals,
        requests: invocations,
      });
    }
    const measured = analyzeCpuBody({
      program,
      requests: invocations,
      instructions: profile.totals?.[profile.events.indexOf('Ir')] ?? 0,
      cacheRuns,
    });

    const lines: string[] = [`--- ${name} ---`];
    const instrErr = rel(measured.instructionsPerRequest, body.instructions);
    lines.push(
      `instructions/invocation: ${measured.instructionsPerRequest.toFixed(0)} vs ${body.instructions.toFixed(0)} (${pct(instrErr)})`,
    );
    const keys = new Set([...Object.keys(body.mix.categories), ...Object.keys(measured.mix.categories)]);
    let tvd = 0;
    for (const k of keys)
      tvd += Math.abs((measured.mix.categories[k] ?? 0) - (body.mix.categories[k] ?? 0)) / 2;
    const top = Object.entries(body.mix.categories)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8);
    lines.push(`mix total variation distance: ${tvd.toFixed(3)}`);
    for (const [k, v] of top) lines.push(`  ${k}: ${pct(measured.mix.categories[k] ?? 0)} vs ${pct(v)}`);
    const takenErr = measured.branches.takenShare - body.branches.takenShare;
    lines.push(
      `taken share: ${measured.branches.takenShare.toFixed(3)} vs ${body.branches.takenShare.toFixed(3)}`,
    );
    lines.push(
      `cond. mispredict: ${measured.branches.conditionalMispredictRate?.toFixed(3)} vs ${body.branches.conditionalMispredictRate?.toFixed(3)}`,
    );
    const repErr = rel(measured.stringOps.repBytesPerRequest, body.stringOps.repBytesPerRequest);
    lines.push(
      `rep bytes: ${measured.stringOps.repBytesPerRequest.toFixed(0)} vs ${body.stringOps.repBytesPerRequest.toFixed(0)} (${pct(repErr)})`,
    );
    const rawNear = measured.dependencies.raw.bins[0] ?? 0;
    lines.push(`raw d=1: ${pct(rawNear)} vs ${pct(body.dependencies.raw.bins[0] ?? 0)}`);
    const indirect = {
      perInvocation: measured.branches.indirectPerRequest,
      plan: body.branches.indirectPerRequest,
      rate: measured.branches.indirectMispredictRate ?? 0,
      planRate: body.branches.indirectMispredictRate ?? 0,
    };
    lines.push(
      `indirect jumps: ${indirect.perInvocation.toFixed(1)} vs ${indirect.plan.toFixed(1)}, mispredicted ${pct(indirect.rate)} vs ${pct(indirect.planRate)}`,
    );

    // Curve points from every run (the sweep's and the platforms' L1 and LL sizes, 25/30 MiB included).
    const sums = new Map<number, { dm: number; da: number; im: number; ia: number }>();
    const add = (size: number, dm: number, da: number, im: number, ia: number) => {
      const s = sums.get(size) ?? { dm: 0, da: 0, im: 0, ia: 0 };
      sums.set(size, { dm: s.dm + dm, da: s.da + da, im: s.im + im, ia: s.ia + ia });
    };
    for (const { geometry: g, totals: t } of cacheRuns) {
      const v = (k: string) => t[k] ?? 0;
      const d = v('Dr') + v('Dw');
      add(g.d1.sizeBytes, v('D1mr') + v('D1mw'), d, v('I1mr'), v('Ir'));
      add(g.ll.sizeBytes, v('DLmr') + v('DLmw'), d, v('ILmr'), v('Ir'));
    }
    const points: Measured['points'] = new Map();
    lines.push('size      d gen    d plan   i gen    i plan');
    for (const size of [...sums.keys()].sort((a, b) => a - b)) {
      const s = sums.get(size);
      if (!s) continue;
      const p = {
        d: s.da > 0 ? s.dm / s.da : 0,
        dPlan: plannedRatio(body.cache, 'dcache', size),
        i: s.ia > 0 ? s.im / s.ia : 0,
        iPlan: plannedRatio(body.cache, 'icache', size),
      };
      points.set(size, p);
      const label = size >= 1 << 20 ? `${size >> 20}M` : `${size >> 10 || size / 1024}K`;
      lines.push(
        `${label.padEnd(8)}  ${p.d.toFixed(4)}   ${p.dPlan.toFixed(4)}   ${p.i.toFixed(4)}   ${p.iPlan.toFixed(4)}`,
      );
    }
    console.log(lines.join('\n'));
    return { lines, instrErr, repErr, takenErr, tvd, rawNear, indirect, points };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('generated body compiles with -O2 -Wall -Werror and runs', {
  skip: missing,
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-body-'));
  try {
    const exe = await build(dir, 'get');
    const result = await run(exe, ['2000'], { timeoutMs: 60_000 });
    assert.equal(result.stdout.trim(), 'ok 2000');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Levels reached (relative error of the miss ratio at the platform sizes: L1 32 KiB, L2 256 KiB and 1 MiB, LLC 25 and
 * 30 MiB), with a small margin: callgrind is deterministic for a binary and its input. They hold for this fixture's
 * seed (7); seeds 1-3 land near them (get within 4 points of seed 7's errors, set within 8: set's 32 KiB, 256 KiB
 * and 1 MiB errors are +18, +8 and +15% there, against +12, +3 and +11% with seed 7). Each far stream takes its
 * planned lines per invocation and touches each (test/unit/emit/body.test.ts); what remains is above plan: the body
 * makes 2-4% fewer accesses than the profile counts (the ratio's denominator), set's 1 MiB bin is folded into its
 * 2 MiB neighbour (layout.ts, minMemoryShare), and set's 32 KiB figure includes the sweep's 32 KiB LL behind a 256 B
 * L1, which the code's fetches share. The mix distance is 0.023 (get) and 0.019 (set), 0.018-0.030 with seeds 1-3.
 * Indirect jumps mispredict within 6% of plan (get -2%, set +6%, counting the jump to one of set's replicated
 * block's copies); valgrind's 512-entry target table aliases jump sites by their address, and with seed 3 get's
 * sites mispredict 20% over plan.
 */
const reached: Record<
  ClassName,
  { tvd: number; rawNear: number; indirectRate: number; d: [number, number][]; i32k: number }
> = {
  get: {
    tvd: 0.035,
    rawNear: 0.2,
    indirectRate: 0.15,
    d: [
      [32 << 10, 0.06],
      [256 << 10, 0.1],
      [1 << 20, 0.05],
      [25 << 20, 0.15],
      [30 << 20, 0.15],
    ],
    i32k: 0.001,
  },
  set: {
    tvd: 0.035,
    rawNear: 0.19,
    indirectRate: 0.15,
    d: [
      [32 << 10, 0.22],
      [256 << 10, 0.12],
      [1 << 20, 0.19],
      [25 << 20, 0.15],
      [30 << 20, 0.17],
    ],
    i32k: 0.0006,
  },
};

for (const name of ['get', 'set'] as const) {
  test(`callgrind of the generated ${name} body matches its plan`, {
    skip: missing,
    timeout: 300_000,
  }, async () => {
    const m = await measure(name);
    assert.ok(Math.abs(m.instrErr) < 0.05, `instructions off by ${pct(m.instrErr)}`);
    assert.ok(Math.abs(m.repErr) < 0.05, `rep bytes off by ${pct(m.repErr)}`);
    assert.ok(Math.abs(m.takenErr) < 0.1, `taken share off by ${m.takenErr}`);
    assert.ok(m.tvd < 0.2, `mix distance ${m.tvd}`);
    const r = reached[name];
    assert.ok(Math.abs(m.instrErr) < 0.02, `instructions off by ${pct(m.instrErr)}`);
    assert.ok(Math.abs(m.repErr) < 0.03, `rep bytes off by ${pct(m.repErr)}`);
    assert.ok(m.tvd < r.tvd, `mix distance ${m.tvd}`);
    assert.ok(m.rawNear > r.rawNear, `RAW at distance 1: ${pct(m.rawNear)}`);
    const { indirect } = m;
    assert.ok(
      Math.abs(rel(indirect.perInvocation, indirect.plan)) < 0.05,
      `indirect jumps ${indirect.perInvocation}`,
    );
    assert.ok(
      Math.abs(rel(indirect.rate, indirect.planRate)) < r.indirectRate,
      `indirect mispredicts ${pct(indirect.rate)}`,
    );
    for (const [size, bound] of r.d) {
      const p = m.points.get(size);
      assert.ok(p, `no d-cache figure at ${size} B`);
      const err = rel(p.d, p.dPlan);
      assert.ok(Math.abs(err) < bound, `d-cache miss ratio at ${size} B off by ${pct(err)}`);
    }
    const l1 = m.points.get(32 << 10);
    assert.ok(
      l1 && Math.abs(l1.i - l1.iPlan) < r.i32k,
      `i-cache miss ratio at 32 KiB: ${l1?.i} vs ${l1?.iPlan}`,
    );
  });
}
