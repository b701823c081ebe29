// The body emitter (pure): clone plan in, src/body.c out. Per body, shapeBody (layout.ts) turns the histograms into
// blocks, memory targets and string ops; generateBlock (block.ts) writes each loop body; solveRegions (regions.ts)
// sizes the data regions; this file lays them out in ctx->data and assembles the file, whose asm statements (one
// per block replica; a cold block's replicas are aligned copies of one loop body) print.ts prints.
import type { BodyPlan, ClonePlan } from '../../artifacts/clone-plan.ts';
import type { GeneratedFile } from '../generated-file.ts';
import { type BlockBody, farAdvanceBytes, generateBlock } from './block.ts';
import { IndirectSites } from './branches.ts';
import { beyondLlcTier, cacheTiers, heldTiers, scaleHardBranches, scaleWorkingSetTail } from './knobs.ts';
import { cOverheadPerBlock, regionBins, shapeBody } from './layout.ts';
import {
  type BlockCode,
  type BodyCode,
  ctxCursor,
  ctxData,
  ctxRng,
  cursorSlots,
  epilogueLength,
  initHelpers,
  prologueLength,
  type Region,
  type Replica,
  renderBody,
  usedCursors,
} from './print.ts';
import { Random } from './random.ts';
import { solveRegions } from './regions.ts';

/** Knobs read from plan.knobs (1 = as profiled unless noted). */
export const bodyKnobs = {
  instructions: 'body.instructions',
  /** Scales the background wake-up bodies' instructions, which the other knobs leave as profiled: their threads
   * serve no request, so the simulated per-request figures those knobs aim at leave them out (valgrind/window.ts). */
  backgroundInstructions: 'body.backgroundInstructions',
  /** Share of the largest stream's loads that chase pointers (absolute, default 0.3). */
  pointerChase: 'body.pointerChase',
  /** Largest data region in MiB (absolute, default 64). */
  maxRegionMiB: 'body.maxRegionMiB',
  /** d-cache working-set shares above 32 KiB, the tuned platform's L2 and 16 MiB (knobs.ts): L1d, L2 and LLC miss
   * rates. */
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
    ...heldTiers.map((aboveBytes) => ({ aboveBytes, factor: 1 })),
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
  const locks = { share: shape.lockedShare, owed: 0 };
  // The blocks of one replica make the invocation's indirect jumps, in proportion to their instructions; what the
  // rounding of a block's jumps per iteration leaves is owed by the next. In replicated code the jumps would be
  // hundreds of sites, which alias in valgrind's 512-entry target table and mispredict (redis's clone: 1.4-1.6
  // times the original's branch mispredicts at any hard-branch share).
  const blockInstructions = shape.blocks.reduce((sum, b) => sum + b.instructions, 0);
  const single = shape.blocks.filter((b) => b.replicas === 1);
  const hosts = single.length > 0 ? single : shape.blocks;
  const hostInstructions = hosts.reduce((sum, b) => sum + b.instructions, 0);
  // A replicated block's copy is picked through a table (print.ts): one of the invocation's indirect jumps, which
  // lands on another copy than the body's previous invocation did but one time in R (valgrind's predictor keeps the
  // last target; the copies rotate with the thread's requests).
  const dispatch = shape.blocks.filter((b) => b.replicas > 1).map((b) => 1 - 1 / b.replicas);
  const siteJumps = Math.max(0, plan.branches.indirectPerRequest - dispatch.length);
  const jumpsPerInstruction = hostInstructions > 0 ? siteJumps / hostInstructions : 0;
  let owedJumps = 0;
  const cmovShare = shape.categories.find(
    (c) => c.ext === 'base' && c.cls === 'mov.cond' && c.mem === 'no_mem',
  );
  const indirectSites = new IndirectSites(
    plan.branches,
    (cmovShare?.share ?? 0) * blockInstructions,
    dispatch,
  );
  // Per far stream, the new lines an invocation takes.
  const farLines = shape.far.map(() => 0);
  // The far streams' accesses are spread over the blocks by the instructions each runs.
  const farPerInstruction = shape.farAccesses.map((a) => (blockInstructions > 0 ? a / blockInstructions : 0));
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
      const owedLocks = locks.owed;
      // Iterations the body will run: estimated from its planned size, then from the first attempt.
      let runs = Math.max(1, Math.round(b.instructions / b.bodyInstructions));
      const restoreSites = indirectSites.save();
      const attempt = (bodyInstructions: number) => {
        owed.forEach((v, i) => {
          carry[i] = v;
        });
        locks.owed = owedLocks;
        restoreSites();
        return generateBlock({
          categories: shape.categories,
          memory: shape.memory,
          streams: own,
          farStreams: shape.far.length,
          chaseShare: shape.chaseShare,
          locks,
          branches: plan.branches,
          dependencies: plan.dependencies,
          bodyInstructions,
          // Replicas are alternatives: the one that runs carries the whole invocation's share.
          weight: Math.max(1, Math.round(b.instructions / b.bodyInstructions)),
          farPerIteration: farPerInstruction.map((rate) => (rate * b.instructions) / runs),
          farSpread: shape.farSpread,
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
          prologueLength(cursors, body.calls + body.pops > 0, aligned) +
          epilogueLength(cursors, body.calls + body.pops > 0) +
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
        planned,
        carry: carry.slice(),
        locksOwed: locks.owed,
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
      // The far streams' accesses per iteration were drawn for `runs` iterations: a body that came out at others is
      // drawn once more for those (its count moves by a few addressing instructions).
      if (iterationsOf(best.body) !== runs) {
        runs = iterationsOf(best.body);
        const again = attempt(best.planned);
        if (iterationsOf(again) === runs) best = snapshot(again);
      }
      body = best.body;
      best.carry.forEach((v, i) => {
        carry[i] = v;
      });
      locks.owed = best.locksOwed;
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

function touched(body: ReturnType<typeof generateBody>, stream: number): boolean {
  return body.blocks.some((b) => b.replicas.some((r) => (r.body.touches[stream] ?? 0) > 0));
}

export function emitBodies(plan: ClonePlan): GeneratedFile[] {
  const { knobs } = plan;
  // Background bodies: their own instruction knob, the absolute layout knobs, none of the request knobs.
  const backgroundKnobs: Record<string, number> = {
    [bodyKnobs.instructions]: knobs[bodyKnobs.backgroundInstructions] ?? 1,
  };
  for (const k of [bodyKnobs.pointerChase, bodyKnobs.maxRegionMiB]) {
    const value = knobs[k];
    if (value !== undefined) backgroundKnobs[k] = value;
  }
  const entries: { fn: string; body: BodyPlan; share: number; knobs: Record<string, number> }[] = [
    ...plan.classes.flatMap((c) =>
      c.body ? [{ fn: `class_${c.name}`, body: c.body, share: c.share, knobs }] : [],
    ),
    ...plan.background.flatMap((g, i) =>
      g.body ? [{ fn: `background_${i}`, body: g.body, share: 0, knobs: backgroundKnobs }] : [],
    ),
  ];
  let slot = 0;
  const generated = entries.map((e, index) => {
    const body = generateBody(e.fn, e.body, e.knobs, new Random(plan.seed, index));
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
  // round once). Regions of bins beyond the LLCs are left out: after a long run none of their lines is in any
  // cache, whereas touched they would stay in the LLC for as long as a slow stream takes to walk past what fits
  // (redis's clone: no LLC miss in a measured window until the LLC knob made the stream ten times faster).
  const allRegions = new Map<string, { offset: number; bytes: number }>();
  for (const code of codes) {
    const bins = regionBins(code.shape);
    code.regions.forEach((r, s) => {
      if (r && !beyondLlcTier(bins[s] ?? 0))
        allRegions.set(`${r.offset}:${r.bytes}`, { offset: r.offset, bytes: r.bytes });
    });
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
        r ? ` *   ${r.kind} ${i}: ${r.bytes} B at +${r.offset} (bin ${regionBins(s)[i]} B)` : '',
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
