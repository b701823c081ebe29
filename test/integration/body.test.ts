// Generated bodies compiled with gcc -O2 -Wall -Werror, run, and profiled with callgrind (collection toggled on the
// body function only): the measured figures are compared with the plan they were generated from.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { analyzeCpuBody } from '../../src/analyze/cpu/body.ts';
import type { CacheRunResult } from '../../src/analyze/cpu/cache.ts';
import { buildProgram } from '../../src/analyze/cpu/program.ts';
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
const missing = ['/usr/bin/gcc', '/usr/bin/valgrind', '/usr/bin/objdump'].find((f) => !existsSync(f));

function loadPlan() {
  const plan = clonePlanSchema.parse(
    JSON.parse(readFileSync(join(fixture, 'clone-plan-memcached.json'), 'utf8')),
  );
  // The harness calls the get body only.
  return { ...plan, classes: plan.classes.filter((c) => c.name === 'get') };
}

async function build(dir: string, plan: ReturnType<typeof loadPlan>): Promise<string> {
  for (const f of emitBodies(plan)) writeFileSync(join(dir, 'body.c'), f.content);
  const exe = join(dir, 'harness');
  await run(
    'gcc',
    [
      '-O2',
      '-Wall',
      '-Werror',
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

async function callgrind(dir: string, exe: string, geometry: CacheGeometry, perInstruction: boolean) {
  const out = join(dir, 'clg.out');
  await run(
    'valgrind',
    [
      '--tool=callgrind',
      '--toggle-collect=ditto_body_class_get',
      '--cache-sim=yes',
      '--branch-sim=yes',
      '--compress-strings=no',
      '--compress-pos=no',
      ...(perInstruction ? ['--dump-instr=yes', '--collect-jumps=yes'] : []),
      ...geometryArgs(geometry),
      `--callgrind-out-file=${out}`,
      exe,
      String(invocations),
    ],
    { timeoutMs: 120_000 },
  );
  return readFileSync(out, 'utf8');
}

const rel = (measured: number, planned: number) =>
  planned === 0 ? measured : (measured - planned) / planned;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

test('generated body compiles with -O2 -Wall -Werror and runs', {
  skip: missing,
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-body-'));
  try {
    const exe = await build(dir, loadPlan());
    const result = await run(exe, ['2000'], { timeoutMs: 60_000 });
    assert.equal(result.stdout.trim(), 'ok 2000');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('callgrind of the generated body matches its plan', { skip: missing, timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ditto-body-'));
  try {
    const plan = loadPlan();
    const body = plan.classes[0]?.body;
    assert.ok(body);
    const exe = await build(dir, plan);
    const runs = cacheRunPlan({ maxBytes: 1024 * 1024 });
    const main = runs.find((r) => r.role.kind === 'platform') ?? runs[0];
    assert.ok(main);
    const text = await callgrind(dir, exe, main.geometry, true);
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
      const t = r === main ? text : await callgrind(dir, exe, r.geometry, false);
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

    const lines: string[] = [];
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
    lines.push(
      `raw d=1: ${pct(measured.dependencies.raw.bins[0] ?? 0)} vs ${pct(body.dependencies.raw.bins[0] ?? 0)}`,
    );
    for (const stream of ['dcache', 'icache'] as const) {
      for (const size of [1024, 4096, 16384, 65536]) {
        const i = measured.cache.sizesBytes.indexOf(size);
        const j = body.cache.sizesBytes.indexOf(size);
        if (i < 0 || j < 0) continue;
        lines.push(
          `${stream} miss ratio @${size / 1024}K: ${(measured.cache[stream].missRatio[i] ?? 0).toFixed(4)} vs ${(body.cache[stream].missRatio[j] ?? 0).toFixed(4)}`,
        );
      }
    }
    console.log(lines.join('\n'));
    assert.ok(Math.abs(instrErr) < 0.05, `instructions off by ${pct(instrErr)}`);
    assert.ok(Math.abs(repErr) < 0.05, `rep bytes off by ${pct(repErr)}`);
    assert.ok(Math.abs(takenErr) < 0.1, `taken share off by ${takenErr}`);
    assert.ok(tvd < 0.2, `mix distance ${tvd}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
