// Golden tests of the generated body C (UPDATE_GOLDEN=1 rewrites them) and properties of the mapping.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { clonePlanSchema } from '../../../src/artifacts/clone-plan.ts';
import { emitBodies } from '../../../src/emit/body/emit.ts';
import { memoryTargets, shapeBody } from '../../../src/emit/body/layout.ts';
import { apportion } from '../../../src/emit/body/random.ts';
import { packagePath } from '../../../src/package-root.ts';

const goldenDir = packagePath('test', 'golden', 'body');
const readPlan = (path: string) => clonePlanSchema.parse(JSON.parse(readFileSync(path, 'utf8')));

for (const name of readdirSync(goldenDir).sort()) {
  test(`golden body: ${name}`, () => {
    const plan = readPlan(join(goldenDir, name, 'plan.json'));
    const files = emitBodies(plan);
    assert.deepEqual(
      files.map((f) => f.path),
      ['src/body.c'],
    );
    const expectedPath = join(goldenDir, name, 'body.c');
    const content = files[0]?.content ?? '';
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(expectedPath)) writeFileSync(expectedPath, content);
    assert.equal(content, readFileSync(expectedPath, 'utf8'));
  });
}

test('emitBodies is deterministic for a seed and changes with it', () => {
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'));
  const a = emitBodies(plan)[0]?.content;
  assert.equal(emitBodies(plan)[0]?.content, a);
  assert.notEqual(emitBodies({ ...plan, seed: plan.seed + 1 })[0]?.content, a);
});

test('every body of the plan gets its function, and only those', () => {
  const plan = readPlan(join(goldenDir, 'set-and-background', 'plan.json'));
  const c = emitBodies(plan)[0]?.content ?? '';
  assert.match(c, /void ditto_body_class_set\(ditto_body_ctx \*ctx\)/);
  assert.match(c, /void ditto_body_background_0\(ditto_body_ctx \*ctx\)/);
  assert.doesNotMatch(c, /ditto_body_class_get/);
  assert.match(c, /const size_t ditto_body_data_bytes = \d+;/);
  assert.match(c, /void ditto_body_init\(ditto_body_ctx \*ctx\)/);
});

/** The code of one generated body function, offsets into ctx and the data left out (the bodies share their layout). */
const functionText = (c: string, fn: string) => {
  const start = c.indexOf(`void ditto_body_${fn}(`);
  return start < 0
    ? ''
    : c.slice(start, c.indexOf('\n}\n', start)).replace(/\[(r12|r15) \+ \d+\]/g, '[$1 + N]');
};

test('the background body has its own instruction knob; the request knobs leave it as profiled', () => {
  const plan = readPlan(join(goldenDir, 'set-and-background', 'plan.json'));
  const emit = (knobs: Record<string, number>) => emitBodies({ ...plan, knobs })[0]?.content ?? '';
  const plain = emit({});
  const requestKnobs = emit({ 'body.instructions': 0.5, 'body.dcacheBeyondL1': 3, 'body.hardBranches': 0.2 });
  assert.equal(functionText(requestKnobs, 'background_0'), functionText(plain, 'background_0'));
  assert.notEqual(functionText(requestKnobs, 'class_set'), functionText(plain, 'class_set'));
  const busier = emit({ 'body.backgroundInstructions': 2 });
  assert.equal(functionText(busier, 'class_set'), functionText(plain, 'class_set'));
  // The fixture's wake-up is 200 instructions, run once through: twice as many is twice the code.
  const lines = (c: string) => functionText(c, 'background_0').split('\n').length;
  assert.ok(lines(busier) > 1.8 * lines(plain), `${lines(busier)} vs ${lines(plain)} lines`);
});

test('replicated cold code is copies of one loop body, each aligned and named so gcc keeps them apart', () => {
  const plan = readPlan(join(goldenDir, 'set-and-background', 'plan.json'));
  const c = emitBodies({ ...plan, knobs: { ...plan.knobs, 'body.icacheBeyondL1': 3 } })[0]?.content ?? '';
  // The first replicated block: one computed goto through a table of its copies.
  const from = c.indexOf('    goto *b');
  const copies = c
    .slice(from, c.indexOf('_done:;', from))
    .split(/\n {2}b\d+_copy\d+:\n/)
    .slice(1);
  assert.ok(copies.length >= 8, `${copies.length} replicas`);
  assert.match(
    c,
    new RegExp(`static void \\*const b\\d+_copies\\[\\] = \\{(&&b\\d+_copy\\d+, ){${copies.length - 1}}&&`),
  );
  const bodies = copies.map((text, i) => {
    const statement = text.slice(0, text.indexOf('    goto b'));
    const aligned = [`# copy ${i}`, 'jmp .La%=', '.p2align 7'].map((l) => `      "${l}\\n\\t"`).join('\n');
    assert.ok(statement.includes(aligned), statement.slice(0, 200));
    return statement.replace(`# copy ${i}`, '');
  });
  for (const body of bodies) assert.equal(body, bodies[0]);
});

/** Region bytes per stream of one body, from the generated summary comment. */
function regionBytes(content: string, fn: string): number[] {
  const section = content.split(/\n \* (?=class_|background_)/).find((x) => x.startsWith(fn)) ?? '';
  return [...section.matchAll(/ \* {3}(?:window|far) \d+: (\d+) B/g)].map((m) => Number(m[1]));
}

test('a class sizes its regions for the other classes running between its calls', () => {
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'));
  assert.ok(plan.classes.every((c) => c.share > 0 && c.body));
  // The gets kept at share 0 (no traffic between the sets' calls) keep the bodies' seeds, so both sets' bodies are
  // the same code and only the regions can differ.
  const setsAlone = plan.classes.map((c) => (c.name === 'set' ? c : { ...c, share: 0 }));
  const alone = regionBytes(emitBodies({ ...plan, classes: setsAlone })[0]?.content ?? '', 'class_set');
  const mixed = regionBytes(emitBodies(plan)[0]?.content ?? '', 'class_set');
  assert.equal(mixed.length, alone.length);
  assert.ok(alone.length > 2);
  // The gets' lines lengthen the sets' reuse distances: no region grows, some shrink.
  assert.ok(mixed.every((b, i) => b <= (alone[i] ?? 0)));
  assert.ok(mixed.some((b, i) => b < (alone[i] ?? 0)));
});

test('far streams of bins smaller than one invocation re-touch their lines within it (nginx)', () => {
  // nginx's body touches more than 32 KiB per request: a far region larger than its bin, walked one chunk per
  // invocation, could only miss that bin.
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-nginx.json'));
  const c = emitBodies(plan)[0]?.content ?? '';
  const far = [...c.matchAll(/ \* {3}far \d+: (\d+) B at \+\d+ \(bin (\d+) B\)/g)].map((m) => ({
    bytes: Number(m[1]),
    bin: Number(m[2]),
  }));
  const small = far.filter((f) => f.bin <= 16 * 1024);
  assert.ok(small.length >= 2);
  for (const f of small) assert.ok(f.bytes <= f.bin / 4, `region ${f.bytes} B for bin ${f.bin} B`);
  for (const f of far) assert.ok(f.bytes <= f.bin, `region ${f.bytes} B for bin ${f.bin} B`);
});

/**
 * The asm statements of one body in its generated C, each with its runs per invocation: a statement (a block
 * replica, replicas alternating by request) runs its loop `mov r14, I` times; `replicas`: its block's copies.
 */
function statementsOf(content: string, fn: string): { text: string; runs: number; replicas: number }[] {
  const body = content.slice(content.indexOf(`void ditto_body_${fn}(`));
  return body
    .slice(0, body.indexOf('\n}\n'))
    .split(/\/\* block \d+: /)
    .slice(1)
    .flatMap((block) => {
      const replicas = Number(/^(\d+) replica/.exec(block)?.[1] ?? 1);
      return block
        .split('__asm__')
        .slice(1)
        .map((text) => ({ text, runs: Number(/mov r14, (\d+)/.exec(text)?.[1] ?? 0) / replicas, replicas }));
    });
}

/** A statement's far counter advances: the counter's offset and the lines (its bytes of lines, block.ts). */
function farAdvancesOf(text: string): { counter: string; lines: number }[] {
  return [...text.matchAll(/add qword ptr \[r15 \+ (\d+)\], (\d+)/g)].map((m) => ({
    counter: m[1] ?? '',
    lines: Number(m[2]) / 64,
  }));
}

/** New far lines per invocation of one body: each iteration advances a far stream's counter by the lines it
 * took. */
function farLinesPerInvocation(content: string, fn: string): { lines: number; inLoops: number } {
  let lines = 0;
  let inLoops = 0;
  for (const { text, runs, replicas } of statementsOf(content, fn)) {
    for (const advance of farAdvancesOf(text)) {
      const taken = advance.lines * runs;
      lines += taken;
      if (runs * replicas > 1) inLoops += taken;
    }
  }
  return { lines, inLoops };
}

test('far streams take the planned lines per invocation, in loops as once through', () => {
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'));
  const content = emitBodies(plan)[0]?.content ?? '';
  for (const c of plan.classes) {
    assert.ok(c.body);
    const shape = shapeBody(c.body, { instructionScale: 1, chaseShare: 0.3, maxRegionBytes: 64 << 20 });
    const operands =
      shape.instructions *
      Object.entries(c.body.mix.categories)
        .filter(([k]) => /mem_/.test(k) && !/\.(call|ret|string)\./.test(k))
        .reduce((s, [, v]) => s + v, 0);
    // The shares are of the operands the far counters' loads leave: far = F / (operands − F).
    const far = shape.memory
      .filter((m) => m.kind === 'stream' && m.stream >= shape.streams.length)
      .reduce((s, m) => s + m.share, 0);
    const planned = (operands * far) / (1 + far);
    const { lines, inLoops } = farLinesPerInvocation(content, `class_${c.name}`);
    assert.ok(planned > 100, `${c.name}: ${planned} far lines planned`);
    // Within rounding: a loop runs the iterations its body came out with, not quite those its share was drawn for.
    assert.ok(Math.abs(lines / planned - 1) < 0.03, `${c.name}: ${lines} far lines vs ${planned}`);
    // Loops carry far accesses: the once-through code does not hold them all.
    assert.ok(inLoops > 0.3 * lines, `${c.name}: ${inLoops} of ${lines} far lines in loops`);
  }
});

/** Per far counter of one body: new lines and counter loads (one per far operand) per invocation. */
function farTouchesPerInvocation(content: string, fn: string): Map<string, { lines: number; loads: number }> {
  const counters = new Map<string, { lines: number; loads: number }>();
  const at = (c: string) =>
    counters.get(c) ?? counters.set(c, { lines: 0, loads: 0 }).get(c) ?? { lines: 0, loads: 0 };
  for (const { text, runs } of statementsOf(content, fn)) {
    for (const m of text.matchAll(/(?:rorx|mov) \w+, qword ptr \[r15 \+ (\d+)\]/g))
      at(m[1] ?? '').loads += runs;
    for (const { counter, lines } of farAdvancesOf(text)) at(counter).lines += runs * lines;
  }
  return counters;
}

test('every far line an invocation takes is touched, also when the nearest reuse has no share (memcached)', () => {
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'));
  // memcached's profile gives its distance-1 reuse no share once the streams keep their accesses: a single sink
  // for the operands the far addressing and jump slots take ran dry, and a sixth of the far operands were dropped.
  const noNearReuse = plan.classes.map((k) => {
    if (!k.body) return k;
    const workingSet = k.body.cache.dcache.workingSet.map((share, i) => (i === 0 ? 0 : share));
    return {
      ...k,
      body: { ...k.body, cache: { ...k.body.cache, dcache: { ...k.body.cache.dcache, workingSet } } },
    };
  });
  for (const classes of [plan.classes, noNearReuse]) {
    const content = emitBodies({ ...plan, classes })[0]?.content ?? '';
    for (const c of classes) {
      const counters = farTouchesPerInvocation(content, `class_${c.name}`);
      assert.ok(counters.size > 3, `${c.name}: ${counters.size} far streams`);
      for (const [counter, { lines, loads }] of counters)
        assert.ok(
          loads >= lines - 1e-9,
          `${c.name}, counter at ${counter}: ${loads} operands for ${lines} lines`,
        );
    }
  }
});

test('branch sites test PRNG bits at the rate the original mispredicted sites of their minority rate', () => {
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'));
  const withJoint = (mispredictRate: number) => {
    const classes = plan.classes.map((k) => {
      if (!k.body) return k;
      const takenRate = k.body.branches.takenRate.map((b) => ({ ...b, fraction: b.lo === 0.25 ? 1 : 0 }));
      const joint = [{ minorityRate: 0.5, mispredictRate, fraction: 1 }];
      // No indirect sites: their targets are picked by PRNG bits too.
      const branches = { ...k.body.branches, takenRate, joint, indirectPerRequest: 0 };
      return { ...k, body: { ...k.body, branches } };
    });
    return emitBodies({ ...plan, classes, background: [] })[0]?.content ?? '';
  };
  // Predicted in the original: deterministic sites; mispredicted half the time: one random bit each.
  assert.doesNotMatch(withJoint(0), /test r13d/);
  assert.match(withJoint(0.5), /test r13d, 0x1\b/);
});

/** Executions per invocation of the lines of one body matching `pattern`. */
function perInvocation(content: string, fn: string, pattern: RegExp): number {
  return statementsOf(content, fn).reduce(
    (n, { text, runs }) => n + (text.match(pattern) ?? []).length * runs,
    0,
  );
}

/** The mispredict rate the indirect jumps of one body are drawn for: a two-target site (`test` of n PRNG bits,
 * `cmovz`, `jmp`) takes its rare target at p = 2^-n and mispredicts at 2p(1 − p); one-target sites never; the jump
 * to one of R copies of a replicated block lands elsewhere than the previous time but one time in R. */
function drawnIndirectRate(content: string, fn: string): number {
  let jumps = 0;
  let mispredicts = 0;
  const statements = statementsOf(content, fn);
  // One jump per replicated block, through its table (from its first copy).
  for (const { text, replicas } of statements)
    if (replicas > 1 && text.includes('"# copy 0\\n')) {
      jumps += 1;
      mispredicts += 1 - 1 / replicas;
    }
  for (const { text, runs } of statements) {
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (!/"jmp r[a-z0-9]+\\n/.test(line)) return;
      jumps += runs;
      const mask = /test r13d, (0x[0-9a-f]+)/.exec(lines[i - 2] ?? '')?.[1];
      if (!mask) return;
      const p = 2 ** -[...Number(mask).toString(2)].filter((bit) => bit === '1').length;
      mispredicts += runs * 2 * p * (1 - p);
    });
  }
  return jumps > 0 ? mispredicts / jumps : 0;
}

test('indirect jumps: the planned number per invocation, one or two targets as the original mispredicted', () => {
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'));
  const withSites = (indirectMispredictRate: number) => {
    const classes = plan.classes.map((k) => {
      if (!k.body) return k;
      return { ...k, body: { ...k.body, branches: { ...k.body.branches, indirectMispredictRate } } };
    });
    return emitBodies({ ...plan, classes, background: [] })[0]?.content ?? '';
  };
  const predicted = withSites(0);
  const mispredicted = withSites(0.5);
  const asProfiled = emitBodies({ ...plan, background: [] })[0]?.content ?? '';
  for (const c of plan.classes) {
    const planned = c.body?.branches.indirectPerRequest ?? 0;
    assert.ok(planned > 10);
    for (const content of [predicted, mispredicted]) {
      // The sites' jumps, and one through each replicated block's table of copies.
      const fn = content.slice(content.indexOf(`void ditto_body_class_${c.name}(`));
      const dispatches = (fn.slice(0, fn.indexOf('\n}\n')).match(/goto \*b\d+_copies\[/g) ?? []).length;
      const jumps = perInvocation(content, `class_${c.name}`, /"jmp r[a-z0-9]+\\n/g) + dispatches;
      assert.ok(Math.abs(jumps / planned - 1) < 0.05, `${c.name}: ${jumps} indirect jumps vs ${planned}`);
    }
    // Predicted in the original: one target; mispredicted half the time: two, picked by one PRNG bit, as many as
    // the conditional moves of the body's mix allow.
    assert.equal(perInvocation(predicted, `class_${c.name}`, /cmovz/g), 0);
    const picks = perInvocation(
      mispredicted,
      `class_${c.name}`,
      /"cmovz r[a-z0-9]+, r[a-z0-9]+\\n\\t"\n\s*"jmp/g,
    );
    // At the profiled rate (18 %), which the body's conditional moves suffice for, the sites' bits are drawn for
    // it: picks spent early on sites of many bits in a loop left too few for it.
    const rate = c.body?.branches.indirectMispredictRate ?? 0;
    const drawn = drawnIndirectRate(asProfiled, `class_${c.name}`);
    assert.ok(Math.abs(drawn / rate - 1) < 0.05, `${c.name}: drawn for ${drawn} of ${rate}`);
    const cmovs = (c.body?.mix.categories['base.mov.cond.no_mem'] ?? 0) * (c.body?.instructions ?? 0);
    // (The budget is the loops' share of the conditional moves: within a tenth of the body's.)
    assert.ok(
      picks > 0.5 * Math.min(planned, cmovs) && picks < 1.1 * cmovs,
      `${c.name}: ${picks} of ${cmovs} cmovs`,
    );
  }
  // A two-target site tests one PRNG bit (which one depends on the sites drawn before it), picks and jumps.
  assert.match(
    mispredicted,
    /test r13d, 0x[1248]0*\\n\\t"\n\s*"cmovz (r[a-z0-9]+), r[a-z0-9]+\\n\\t"\n\s*"jmp \1\\n/,
  );
});

test('atomics: locked read-modify-writes and exchanges make the profiled share, on aligned operands', () => {
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'));
  // memcached's get: 24 atomics per request, 9.5 of them exchanges (program.test.ts).
  const atomicShare = 0.0062;
  const classes = plan.classes.map((k) =>
    k.body ? { ...k, body: { ...k.body, mix: { ...k.body.mix, atomicShare } } } : k,
  );
  const content = emitBodies({ ...plan, classes, background: [] })[0]?.content ?? '';
  const plain = emitBodies({ ...plan, background: [] })[0]?.content ?? '';
  assert.equal((plain.match(/"lock /g) ?? []).length, 0, 'no atomics profiled: no lock prefix');
  for (const c of plan.classes) {
    const fn = `class_${c.name}`;
    const planned = atomicShare * (c.body?.instructions ?? 0);
    const made = perInvocation(content, fn, /"(lock [a-z]+ qword ptr|xchg qword ptr)/g);
    assert.ok(Math.abs(made / planned - 1) < 0.15, `${c.name}: ${made} atomics vs ${planned}`);
  }
  // Window operands are 16-byte aligned, the far counters 8: no locked operand splits a line.
  const locked = [...content.matchAll(/"lock [a-z]+ qword ptr \[r15 \+ (r[0-9a-z]+ \+ )?(\d+)\]/g)];
  assert.ok(locked.some((m) => !m[1]) && locked.some((m) => m[1]), 'window operands and far counters locked');
  assert.equal(locked.length, (content.match(/"lock /g) ?? []).length, 'every locked operand is checked');
  for (const m of locked) assert.equal(Number(m[2]) % (m[1] ? 16 : 8), 0, m[0]);
});

test('a light bin beyond every LLC keeps its stream, its share following the curve (no cliff for the LLC knob)', () => {
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'));
  const body = plan.classes[0]?.body;
  assert.ok(body);
  const beyondLlc = (beyondLargest: number) => {
    const sizes = body.cache.sizesBytes;
    // Nothing between 16 MiB and the largest size: what misses every LLC is the tail alone.
    const workingSet = body.cache.dcache.workingSet.map((v, i) => ((sizes[i] ?? 0) > 16 << 20 ? 0 : v));
    const dcache = { ...body.cache.dcache, workingSet, beyondLargest };
    const { memory } = memoryTargets({ ...body, cache: { ...body.cache, dcache } }, 64 << 20, 800);
    return memory
      .filter((m) => m.kind === 'stream' && m.sizeBytes > 16 << 20)
      .reduce((s, m) => s + m.share, 0);
  };
  // (Below the share at which other light bins are folded into their neighbours.)
  const light = beyondLlc(1e-4);
  assert.ok(light > 0, 'the stream beyond the LLC is kept');
  // Half the tail, about half the stream (operand shares are renormalized over the targets).
  const half = beyondLlc(0.5e-4) / light;
  assert.ok(half > 0.4 && half < 0.7, String(half));
});

test('the init touches every region but those beyond the LLCs, which a long run leaves in no cache', () => {
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'));
  const classes = plan.classes.map((k) => {
    if (!k.body) return k;
    const dcache = { ...k.body.cache.dcache, beyondLargest: k.body.cache.dcache.beyondLargest + 0.002 };
    return { ...k, body: { ...k.body, cache: { ...k.body.cache, dcache } } };
  });
  const content = emitBodies({ ...plan, classes, background: [] })[0]?.content ?? '';
  const touched = [...content.matchAll(/ditto_body_touch\(base \+ \d+, (\d+)u\)/g)].map(
    (m) => Number(m[1]) * 64,
  );
  const walked = [...content.matchAll(/and r[a-z0-9]+, (\d+)\\n/g)].map((m) => Number(m[1]) + 64);
  // The far stream beyond the LLCs walks a region larger than 16 MiB; no region that large is touched.
  assert.ok(Math.max(...walked) > 16 << 20, String(Math.max(...walked)));
  assert.ok(touched.length > 0 && Math.max(...touched) <= 16 << 20, String(Math.max(...touched)));
  // Every region walked a line at a time (mask + 64 is its size: far streams, one-line windows) and smaller than
  // 16 MiB is touched (the solver may size a region beyond the LLCs at 16 MiB, for the traffic around it).
  const powerOfTwo = (n: number) => (n & (n - 1)) === 0;
  for (const bytes of walked.filter((b) => powerOfTwo(b) && b < 16 << 20))
    assert.ok(touched.includes(bytes), `region of ${bytes} bytes not touched`);
});

test('shape: instruction budget, string ops and memory targets follow the plan', () => {
  const plan = readPlan(packagePath('test', 'fixtures', 'emit', 'clone-plan-memcached.json'));
  const body = plan.classes[0]?.body;
  assert.ok(body);
  const shape = shapeBody(body, { instructionScale: 1, chaseShare: 0.3, maxRegionBytes: 64 << 20 });
  const repBytes = shape.strings.reduce((s, x) => s + x.count * x.elementBytes * x.starts, 0);
  assert.ok(
    Math.abs(repBytes - body.stringOps.repBytesPerRequest) / body.stringOps.repBytesPerRequest < 0.05,
  );
  const memoryShare = shape.memory.reduce((s, m) => s + m.share, 0);
  assert.ok(Math.abs(memoryShare - 1) < 1e-9);
  assert.ok(shape.streams.length <= 3, 'one stream register is left for the pointer-chase ring');
  for (const m of shape.memory) if (m.kind === 'reuse') assert.ok(m.distanceLines * 64 <= m.sizeBytes);
  assert.ok(shape.categories.every((c) => c.cls !== 'string'));
  assert.ok(Math.abs(shape.categories.reduce((s, c) => s + c.share, 0) - 1) < 1e-9);
});

test('apportion keeps the total', () => {
  assert.deepEqual(apportion([0.5, 0.3, 0.2], 7), [4, 2, 1]);
  assert.equal(
    apportion([0.123, 0.456, 0.421], 1000).reduce((a, b) => a + b, 0),
    1000,
  );
  assert.deepEqual(apportion([0, 0], 5), [0, 0]);
});
