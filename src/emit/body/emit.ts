// The body emitter (pure): clone plan in, src/body.c out. Per body, shapeBody (layout.ts) turns the histograms into
// blocks, memory targets and string ops; generateBlock (block.ts) writes each loop body; solveRegions (regions.ts)
// sizes the data regions; this file lays them out in ctx->data and prints one self-contained asm statement per block
// replica (a cold block's replicas are aligned copies of one loop body). Each statement loads everything it needs
// from ctx (pinned in r12) and stores its cursors and PRNG state back, so nothing relies on registers surviving
// between statements, and every register it touches is declared clobbered.
import type { BodyPlan, ClonePlan } from '../../artifacts/clone-plan.ts';
import type { GeneratedFile } from '../generated-file.ts';
import { type BlockBody, chaseRegister, farAdvanceBytes, generateBlock, streamRegisters } from './block.ts';
import { IndirectSites } from './branches.ts';
import { cacheTiers, scaleHardBranches, scaleWorkingSetTail } from './knobs.ts';
import { type BodyShape, cOverheadPerBlock, type StringStart, shapeBody } from './layout.ts';
import { Random } from './random.ts';
import { solveRegions } from './regions.ts';

/** Knobs read from plan.knobs (1 = as profiled unless noted). */
export const bodyKnobs = {
  instructions: 'body.instructions',
  /** Share of the largest stream's loads that chase pointers (absolute, default 0.3). */
  pointerChase: 'body.pointerChase',
  /** Largest data region in MiB (absolute, default 64). */
  maxRegionMiB: 'body.maxRegionMiB',
  /** d-cache working-set shares above 32 KiB, 256 KiB and 16 MiB (knobs.ts): L1d, L2 and LLC miss rates. */
  dcacheBeyondL1: 'body.dcacheBeyondL1',
  dcacheBeyondL2: 'body.dcacheBeyondL2',
  dcacheBeyondLlc: 'body.dcacheBeyondLlc',
  /** i-cache working-set share above 32 KiB (knobs.ts), run as cold code (layout.ts): the L1i miss rate. */
  icacheBeyondL1: 'body.icacheBeyondL1',
  /** Execution share of hard-to-predict branch sites (knobs.ts): the branch mispredict rate. */
  hardBranches: 'body.hardBranches',
  /** Factor on the indirect jumps' mispredict rate (branches.ts draws their sites from it). */
  indirectMispredicts: 'body.indirectMispredicts',
} as const;

/** The body as the knobs reshape it (knobs.ts); all at 1 it is the profiled body. */
function tunedBody(plan: BodyPlan, knobs: Record<string, number>): BodyPlan {
  const tier = (aboveBytes: number, knob: string) => ({ aboveBytes, factor: knobs[knob] ?? 1 });
  const dcache = scaleWorkingSetTail(plan.cache.dcache, plan.cache.sizesBytes, [
    tier(cacheTiers.l1, bodyKnobs.dcacheBeyondL1),
    tier(cacheTiers.l2, bodyKnobs.dcacheBeyondL2),
    tier(cacheTiers.llc, bodyKnobs.dcacheBeyondLlc),
  ]);
  const icache = scaleWorkingSetTail(plan.cache.icache, plan.cache.sizesBytes, [
    tier(cacheTiers.l1, bodyKnobs.icacheBeyondL1),
  ]);
  const branches = scaleHardBranches(plan.branches, knobs[bodyKnobs.hardBranches] ?? 1);
  const indirect = knobs[bodyKnobs.indirectMispredicts] ?? 1;
  const rate = branches.indirectMispredictRate;
  return {
    ...plan,
    branches:
      indirect === 1 || rate === null
        ? branches
        : { ...branches, indirectMispredictRate: Math.min(1, rate * indirect) },
    cache: { ...plan.cache, dcache, icache },
  };
}

const ctxRng = 8;
const ctxData = 40;
const ctxCursor = 56;
const cursorSlots = 32;

interface Replica {
  body: BlockBody;
  iterations: number;
}

interface BlockCode {
  replicas: Replica[];
}

interface Region {
  kind: 'window' | 'far' | 'chase';
  bytes: number;
  offset: number;
  /** ctx->cursor slot of its cursor (windows and the chase ring; far regions use the body's far counters). */
  slot?: number;
}

interface BodyCode {
  fn: string;
  shape: BodyShape;
  blocks: BlockCode[];
  /** Per stream of the shape (own-cursor windows, far windows, then the chase ring): its region, undefined when
   * unused. */
  regions: (Region | undefined)[];
  /** Per far stream, the lines it takes per invocation (the next ones of its region, regions.ts). */
  farLines: number[];
  /** Offset in ctx->data of the body's far counters, 8 bytes per far stream: 64 × the lines it took so far, one
   * per process, advanced by every thread's invocations, so the threads together walk each far region once per
   * cycle, as one thread does. */
  farCounter: number;
}

/** Data base (3), PRNG, loop counter, per cursor a load (and a mask for windows), the red-zone skip, the jump over
 * a replica's alignment. */
function prologueLength(cursors: number, calls: boolean, aligned: boolean): number {
  return 5 + 2 * cursors + (calls ? 1 : 0) + (aligned ? 1 : 0);
}

/** A replica starts at a multiple of this: valgrind's conditional predictor tells branches apart by their address's
 * low 7 bits (and 7 bits of global history), so the copies' sites share their counters. */
const replicaAlignBytes = 128;

function epilogueLength(cursors: number, calls: boolean): number {
  return 1 + cursors + (calls ? 2 : 0);
}

function usedStreams(body: BlockBody): number[] {
  return body.touches.flatMap((t, s) => (t > 0 ? [s] : []));
}

/** Cursor registers a loop body uses: own-cursor streams and the chase pointer. */
function usedCursors(body: BlockBody, own: number, windows: number): { stream: number; register: string }[] {
  const used = usedStreams(body);
  const out = used.filter((s) => s < own).map((s) => ({ stream: s, register: streamRegisters[s] ?? 'r8' }));
  if (used.includes(windows)) out.push({ stream: windows, register: chaseRegister });
  return out;
}

function generateBody(fn: string, profiled: BodyPlan, knobs: Record<string, number>, random: Random) {
  const plan = tunedBody(profiled, knobs);
  const shape = shapeBody(plan, {
    instructionScale: knobs[bodyKnobs.instructions] ?? 1,
    chaseShare: knobs[bodyKnobs.pointerChase] ?? 0.3,
    maxRegionBytes: (knobs[bodyKnobs.maxRegionMiB] ?? 64) * 1024 * 1024,
  });
  const own = shape.streams.length;
  const windows = own + shape.far.length;
  const carry = shape.memory.map(() => 0);
  // The blocks of one replica make the invocation's indirect jumps, in proportion to their instructions; what the
  // rounding of a block's jumps per iteration leaves is owed by the next. In replicated code the jumps would be
  // hundreds of sites, which alias in valgrind's 512-entry target table and mispredict (redis's clone: 1.4-1.6
  // times the original's branch mispredicts at any hard-branch share).
  const blockInstructions = shape.blocks.reduce((sum, b) => sum + b.instructions, 0);
  const single = shape.blocks.filter((b) => b.replicas === 1);
  const hosts = single.length > 0 ? single : shape.blocks;
  const hostInstructions = hosts.reduce((sum, b) => sum + b.instructions, 0);
  const jumpsPerInstruction = hostInstructions > 0 ? plan.branches.indirectPerRequest / hostInstructions : 0;
  let owedJumps = 0;
  const cmovShare = shape.categories.find(
    (c) => c.ext === 'base' && c.cls === 'mov.cond' && c.mem === 'no_mem',
  );
  const indirectSites = new IndirectSites(plan.branches, (cmovShare?.share ?? 0) * blockInstructions);
  // Per far stream, the new lines an invocation takes.
  const farLines = shape.far.map(() => 0);
  const blocks: BlockCode[] = shape.blocks.map((b, blockIndex) => {
    const host = hosts.includes(b);
    const jumps = host ? jumpsPerInstruction * b.instructions + owedJumps : 0;
    let jumpsMade = 0;
    const aligned = b.replicas > 1;
    // Replicas are copies of one loop body, each at an aligned address: a copy runs once every `replicas`
    // invocations, and copies drawn apart would each be sites that valgrind's predictor has to learn anew, its
    // counters overwritten in between (redis's clone: 30 conditional mispredicts per request, 41 once the i-cache
    // knob went from 1 to 1.11 and added cold code, at the same hard-branch share).
    const drawReplica = (): Replica => {
      const owed = carry.slice();
      // Iterations the body will run: estimated from its planned size, then from the first attempt.
      let runs = Math.max(1, Math.round(b.instructions / b.bodyInstructions));
      const restoreSites = indirectSites.save();
      const attempt = (bodyInstructions: number) => {
        owed.forEach((v, i) => {
          carry[i] = v;
        });
        restoreSites();
        return generateBlock({
          categories: shape.categories,
          memory: shape.memory,
          streams: own,
          farStreams: shape.far.length,
          chaseShare: shape.chaseShare,
          branches: plan.branches,
          dependencies: plan.dependencies,
          bodyInstructions,
          // Replicas are alternatives: the one that runs carries the whole invocation's share.
          weight: Math.max(1, Math.round(b.instructions / b.bodyInstructions)),
          carry,
          last: blockIndex === shape.blocks.length - 1,
          // The copies together run the body `runs` times per invocation: its sites stand for all of theirs.
          indirect: { jumps: jumps / runs, runs, sites: indirectSites },
          random,
        });
      };
      const fixed = (body: BlockBody) => {
        const cursors = usedCursors(body, own, windows).length;
        return (
          prologueLength(cursors, body.calls > 0, aligned) +
          epilogueLength(cursors, body.calls > 0) +
          cOverheadPerBlock
        );
      };
      // The iterations must hold the block's instructions: what taken branches skip, what the estimates missed
      // (far addressing, carried operands) and what rounding the iterations leaves is made up by generating the
      // body again, larger or smaller, a few times. Each attempt draws afresh, so a size does not always give the
      // same count: the attempt whose iterations come closest is kept, with the carried state it left.
      const iterationsOf = (body: BlockBody) =>
        Math.max(1, Math.round((b.instructions - fixed(body)) / body.count));
      const missOf = (body: BlockBody) =>
        Math.abs(fixed(body) + iterationsOf(body) * body.count - b.instructions);
      const snapshot = (body: BlockBody) => ({
        body,
        carry: carry.slice(),
        restoreSites: indirectSites.save(),
      });
      let planned = b.bodyInstructions;
      let body = attempt(planned);
      let best = snapshot(body);
      runs = iterationsOf(body);
      let slope = 1;
      for (let round = 0; round < 5; round++) {
        const deficit = (b.instructions - fixed(body)) / runs - body.count;
        const next = Math.round(planned + deficit / slope);
        if (Math.abs(deficit) < 1 || next === planned || next < 12) break;
        const previous = { planned, count: body.count };
        planned = next;
        body = attempt(planned);
        if (missOf(body) < missOf(best.body)) best = snapshot(body);
        // Operands carried in from earlier blocks do not scale with the body: count grows slower than it.
        slope = Math.min(2, Math.max(0.25, (body.count - previous.count) / (planned - previous.planned)));
      }
      body = best.body;
      best.carry.forEach((v, i) => {
        carry[i] = v;
      });
      best.restoreSites();
      const iterations = iterationsOf(body);
      body.farAdvance.forEach((lines, k) => {
        const taken = (farAdvanceBytes(lines) / 64) * iterations;
        if (lines > 0) farLines[k] = (farLines[k] ?? 0) + taken;
      });
      jumpsMade += body.jumps * iterations;
      return { body, iterations };
    };
    const replica = drawReplica();
    const replicas = Array.from({ length: b.replicas }, () => replica);
    if (host) owedJumps = jumps - jumpsMade;
    return { replicas };
  });
  return { fn, shape, blocks, farLines };
}

const cLine = (text: string) => `      "${text}\\n\\t"`;

function stringOpAsm(s: StringStart, at: number, bytes: number): string[] {
  const suffix = { 1: 'b', 2: 'w', 4: 'd', 8: 'q' }[s.elementBytes];
  const out: string[] = [];
  for (let k = 0; k < s.starts; k++) {
    out.push(`lea rdi, [r15 + ${at}]`);
    if (s.op === 'movs' || s.op === 'cmps') out.push(`lea rsi, [r15 + ${at + bytes}]`);
    else if (s.op === 'lods') out.push(`lea rsi, [r15 + ${at}]`);
    out.push(`mov ecx, ${s.count}`);
    // stos writes zeros so the area stays zero: cmps then compares equal buffers and scas (al = 1) never matches,
    // so both run their full count.
    out.push(s.op === 'scas' ? 'mov eax, 1' : 'xor eax, eax');
    const prefix = s.op === 'cmps' ? 'repe' : s.op === 'scas' ? 'repne' : 'rep';
    out.push(`${prefix} ${s.op}${suffix}`);
  }
  return out;
}

function printAsm(lines: string[], clobbers: string[]): string {
  return [
    '    __asm__ volatile(',
    cLine('.intel_syntax noprefix'),
    ...lines.map(cLine),
    cLine('.att_syntax prefix'),
    '      :',
    '      : "r"(c)',
    `      : ${clobbers.map((r) => `"${r}"`).join(', ')});`,
  ].join('\n');
}

const blockClobbers = [
  'rax',
  'rbx',
  'rcx',
  'rdx',
  'rsi',
  'rdi',
  'r8',
  'r9',
  'r10',
  'r11',
  'r13',
  'r14',
  'r15',
  ...Array.from({ length: 16 }, (_, i) => `xmm${i}`),
  'cc',
  'memory',
];

/** `copy`: the index of a replica among its block's copies (undefined for a block of one). */
function renderReplica(code: BodyCode, r: Replica, copy?: number): string {
  const { body } = r;
  const own = code.shape.streams.length;
  const windows = own + code.shape.far.length;
  const cursors = usedCursors(body, own, windows);
  const regionOf = (s: number) => code.regions[s];
  const reg = (s: number) => streamRegisters[s] ?? 'r8';
  const calls = body.calls > 0;
  const cursorAt = (s: number) => `r12 + ${ctxCursor + 8 * (regionOf(s)?.slot ?? 0)}`;
  // The padding up to the aligned start is jumped over, never run. The comment naming the copy keeps gcc from
  // merging the identical statements into one (which would take the copies' code out of the i-cache).
  const align =
    copy === undefined
      ? []
      : [`# copy ${copy}`, 'jmp .La%=', `.p2align ${Math.log2(replicaAlignBytes)}`, '.La%=:'];
  const lines: string[] = [
    ...align,
    `mov r15, qword ptr [r12 + ${ctxData}]`,
    'add r15, 63',
    'and r15, -64',
    `mov r13, qword ptr [r12 + ${ctxRng}]`,
    `mov r14, ${r.iterations}`,
  ];
  for (const { stream: s, register } of cursors) {
    lines.push(`mov ${register}, qword ptr [${cursorAt(s)}]`);
    // Blocks sharing a cursor step it by different windows: realign the cursor to this block's window.
    if (s < own)
      lines.push(`and ${register}, ${(regionOf(s)?.bytes ?? 64) - 64 * (body.windowLines[s] ?? 1)}`);
  }
  if (calls) lines.push('lea rsp, [rsp - 128]');
  lines.push('.Ll%=:');
  for (const i of body.ins) {
    let text = i.text;
    if (i.mem?.kind === 'window') {
      const region = regionOf(i.mem.stream);
      // A far operand's line is in its scratch register already.
      const line = i.mem.stream >= own ? 0 : i.mem.slot;
      text = text.replace(
        '{M}',
        `[r15 + ${i.mem.via ?? reg(i.mem.stream)} + ${(region?.offset ?? 0) + 64 * line + 16 * i.mem.word}]`,
      );
    }
    if (i.advance !== undefined) {
      const w = 64 * (body.windowLines[i.advance] ?? 1);
      text = text
        .replace('{ADV}', String(w))
        .replace('{MASK}', String((regionOf(i.advance)?.bytes ?? w) - w));
    }
    if (i.far !== undefined) {
      text = text
        .replace('{COUNTER}', String(code.farCounter + 8 * (i.far - own)))
        .replace('{MASK}', String((regionOf(i.far)?.bytes ?? 64) - 64));
    }
    lines.push(text);
  }
  lines.push('dec r14', 'jnz .Ll%=');
  if (calls) lines.push('lea rsp, [rsp + 128]');
  lines.push(`mov qword ptr [r12 + ${ctxRng}], r13`);
  for (const { stream: s, register } of cursors) lines.push(`mov qword ptr [${cursorAt(s)}], ${register}`);
  // The call target: one `ret`, out of the straight path. The red zone below rsp was skipped above.
  if (calls) lines.push('jmp .Le%=', '.Ls%=:', 'ret', '.Le%=:');
  return printAsm(lines, blockClobbers);
}

function touched(body: ReturnType<typeof generateBody>, stream: number): boolean {
  return body.blocks.some((b) => b.replicas.some((r) => (r.body.touches[stream] ?? 0) > 0));
}

function renderBody(code: BodyCode): string {
  const out: string[] = [`void ditto_body_${code.fn}(ditto_body_ctx *ctx) {`];
  out.push('    /* The asm statements find ctx in r12; it is an input, never written. */');
  out.push('    register ditto_body_ctx *c __asm__("r12") = ctx;');
  out.push('    if (c->rng[0] == 0) c->rng[0] = 0x9e3779b97f4a7c15ULL; /* xorshift never leaves 0 */');
  if (code.shape.strings.length > 0) {
    const lines = [`mov r15, qword ptr [r12 + ${ctxData}]`, 'add r15, 63', 'and r15, -64'];
    for (const s of code.shape.strings) lines.push(...stringOpAsm(s, 0, s.count * s.elementBytes));
    out.push(printAsm(lines, ['rax', 'rcx', 'rsi', 'rdi', 'r15', 'cc', 'memory']));
  }
  code.blocks.forEach((block, b) => {
    out.push(`    /* block ${b}: ${block.replicas.length} replica(s) */`);
    if (block.replicas.length === 1) {
      const only = block.replicas[0];
      if (only) out.push(renderReplica(code, only));
      return;
    }
    out.push(`    switch (c->request_id % ${block.replicas.length}u) {`);
    block.replicas.forEach((r, i) => {
      out.push(`  ${i === block.replicas.length - 1 ? 'default' : `case ${i}`}:`);
      out.push(renderReplica(code, r, i));
      out.push('    break;');
    });
    out.push('    }');
  });
  out.push('}');
  return out.join('\n');
}

/** Splitmix64 in C: seeds the Sattolo shuffle that builds each pointer-chase ring (a single cycle). The helpers,
 * `base` and `phase` are marked as possibly unused: a plan without rings, cursors or regions leaves them idle. */
const initHelpers = `static __attribute__((unused)) uint64_t ditto_body_mix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* One cycle through all lines of [base, base + lines*64): each line's first word points to the next line. */
static __attribute__((unused)) void ditto_body_ring(uint8_t *base, uint64_t lines, uint64_t seed) {
    uint64_t *slot = (uint64_t *)base;
    for (uint64_t i = 0; i < lines; i++) slot[i * 8] = i;
    for (uint64_t i = lines - 1; i > 0; i--) {
        uint64_t j = ditto_body_mix(&seed) % i;
        uint64_t t = slot[i * 8];
        slot[i * 8] = slot[j * 8];
        slot[j * 8] = t;
    }
    for (uint64_t i = 0; i < lines; i++) slot[i * 8] = (uint64_t)(uintptr_t)(base + slot[i * 8] * 64);
}

/* Reads every line of [base, base + lines*64) once, as a service's preload leaves its data in the caches. */
static __attribute__((unused)) void ditto_body_touch(const uint8_t *base, uint64_t lines) {
    for (uint64_t i = 0; i < lines; i++) (void)*(const volatile uint64_t *)(base + i * 64);
}`;

export function emitBodies(plan: ClonePlan): GeneratedFile[] {
  const entries: { fn: string; body: BodyPlan; share: number }[] = [
    ...plan.classes.flatMap((c) => (c.body ? [{ fn: `class_${c.name}`, body: c.body, share: c.share }] : [])),
    ...plan.background.flatMap((g, i) => (g.body ? [{ fn: `background_${i}`, body: g.body, share: 0 }] : [])),
  ];
  let slot = 0;
  const generated = entries.map((e, index) => {
    const body = generateBody(e.fn, e.body, plan.knobs, new Random(plan.seed, index));
    // All string ops work on one area at its start: movs and cmps span twice their bytes.
    const stringBytes = body.shape.strings.reduce(
      (m, s) => Math.max(m, (s.op === 'movs' || s.op === 'cmps' ? 2 : 1) * s.count * s.elementBytes),
      0,
    );
    const stringLines = Math.ceil(stringBytes / 64);
    return { body, stringLines, share: e.share, ...solveRegions(body, stringLines, () => 0) };
  });
  // Request classes interleave: while a class's body runs P times, each other class's runs P·share/own share
  // times. Regions are solved again with that traffic (from the solutions alone); background bodies wake too
  // rarely to count and keep theirs. (The runtime's own traffic is left to the tuner: a few lines per request.)
  for (const g of generated) {
    if (g.share <= 0) continue;
    const others = generated.filter((o) => o !== g && o.share > 0);
    const foreign = (p: number) => others.reduce((sum, o) => sum + o.footprint((p * o.share) / g.share), 0);
    const solved = solveRegions(g.body, g.stringLines, foreign);
    g.lines = solved.lines;
  }
  // Every body's string area, windows and far regions start at offset 0: the bodies overlay one another as a
  // service's request types share its heap, so lines two bodies both touch add no distance (the foreign traffic
  // above counts them as distinct: an upper bound). The pointer-chase rings follow, one per body, apart: nothing
  // else may write into them.
  const layouts = generated.map(({ body, stringLines, lines }) => {
    const own = body.shape.streams.length;
    const windows = own + body.shape.far.length;
    let offset = stringLines * 64;
    const offsets = lines.map((l, s) => {
      if (s === windows || !touched(body, s)) return 0;
      const at = offset;
      offset += l * 64;
      return at;
    });
    return { offsets, end: offset };
  });
  let dataEnd = Math.max(0, ...layouts.map((l) => l.end));
  const codes: BodyCode[] = generated.map(({ body, lines }, b) => {
    const own = body.shape.streams.length;
    const windows = own + body.shape.far.length;
    const takeSlot = () => {
      if (slot >= cursorSlots) throw new Error(`body ${body.fn}: more than ${cursorSlots} cursor slots`);
      return slot++;
    };
    const regions = lines.map((l, s): Region | undefined => {
      if (!touched(body, s)) return undefined;
      const kind = s === windows ? 'chase' : s >= own ? 'far' : 'window';
      const at = kind === 'chase' ? dataEnd : (layouts[b]?.offsets[s] ?? 0);
      if (kind === 'chase') dataEnd += l * 64;
      return { kind, bytes: l * 64, offset: at, ...(kind === 'far' ? {} : { slot: takeSlot() }) };
    });
    return { ...body, regions, farCounter: 0 };
  });
  // The far counters follow, each body's in lines of their own: they are written by every thread.
  for (const code of codes) {
    if (!code.regions.some((r) => r?.kind === 'far')) continue;
    code.farCounter = dataEnd;
    dataEnd += 64 * Math.ceil((8 * code.shape.far.length) / 64);
  }
  const dataBytes = dataEnd + 64;
  const alignedBase =
    '    __attribute__((unused)) uint8_t *base = (uint8_t *)(((uintptr_t)data + 63) & ~(uintptr_t)63);';
  const initData: string[] = ['void ditto_body_init_data(uint8_t *data) {', alignedBase];
  // Each thread starts its own cursors at its own phase (body.h): threads sharing the regions must not walk them in
  // lockstep, or one thread's misses would become the next one's hits.
  const init: string[] = [
    'void ditto_body_init(ditto_body_ctx *ctx) {',
    '    if (ctx->data_bytes < ditto_body_data_bytes) abort();',
    '    uint8_t *data = ctx->data;',
    alignedBase,
    '    __attribute__((unused)) uint64_t phase = ctx->rng[1] ^ ctx->rng[2];',
  ];
  codes.forEach((code, b) => {
    const slots = new Set<number>();
    code.regions.forEach((r) => {
      if (!r || r.slot === undefined || slots.has(r.slot)) return;
      slots.add(r.slot);
      const lines = r.bytes / 64;
      if (r.kind === 'chase') {
        initData.push(`    ditto_body_ring(base + ${r.offset}, ${lines}u, ${plan.seed * 64 + b}u);`);
        init.push(
          `    ctx->cursor[${r.slot}] = (uint64_t)(uintptr_t)(base + ${r.offset} + 64 * (ditto_body_mix(&phase) % ${lines}u));`,
        );
      } else init.push(`    ctx->cursor[${r.slot}] = 64 * (ditto_body_mix(&phase) % ${lines}u);`);
    });
  });
  // A service starts its measured life with its data loaded (a cache's preload, a server's files read once): every
  // region is touched once, largest first, so that whichever cache a machine has holds the smallest ones as it
  // would after a long run (a far region walked a fraction of a line per invocation takes thousands of them to come
  // round once).
  const allRegions = new Map<string, { offset: number; bytes: number }>();
  for (const code of codes) {
    for (const r of code.regions) {
      if (r) allRegions.set(`${r.offset}:${r.bytes}`, { offset: r.offset, bytes: r.bytes });
    }
  }
  for (const r of [...allRegions.values()].sort((a, b) => b.bytes - a.bytes || a.offset - b.offset))
    initData.push(`    ditto_body_touch(base + ${r.offset}, ${r.bytes / 64}u);`);
  initData.push('}');
  init.push('}');
  const summary = codes.map((code) => {
    const s = code.shape;
    const blocks = code.blocks
      .map((b, i) => {
        const r = b.replicas[0];
        return ` *   block ${i}: i-cache bin ${s.blocks[i]?.binBytes} B, ${b.replicas.length} replica(s), ${r?.body.count.toFixed(1)} instr x ${r?.iterations} iterations`;
      })
      .join('\n');
    const regions = code.regions
      .map((r, i) =>
        r
          ? ` *   ${r.kind} ${i}: ${r.bytes} B at +${r.offset} (bin ${[...s.streams, ...s.far][i] ?? s.streams.at(-1)} B)`
          : '',
      )
      .filter((x) => x)
      .join('\n');
    return ` * ${code.fn}: ${Math.round(s.instructions)} instructions planned\n${blocks}\n${regions}`;
  });
  const content = [
    '/* Generated by ditto (src/emit/body): synthetic CPU bodies. Do not edit. */',
    '/*',
    ...summary,
    ' */',
    '#include <stddef.h>',
    '#include <stdint.h>',
    '#include <stdlib.h>',
    '#include "body.h"',
    '',
    `_Static_assert(offsetof(ditto_body_ctx, rng) == ${ctxRng}, "ctx layout");`,
    `_Static_assert(offsetof(ditto_body_ctx, data) == ${ctxData}, "ctx layout");`,
    `_Static_assert(offsetof(ditto_body_ctx, cursor) == ${ctxCursor}, "ctx layout");`,
    '',
    `const size_t ditto_body_data_bytes = ${dataBytes};`,
    '',
    initHelpers,
    '',
    ...initData,
    '',
    ...init,
    '',
    ...codes.flatMap((c) => [renderBody(c), '']),
  ].join('\n');
  return [{ path: 'src/body.c', content }];
}
