// From a profiled body (BodyPlan) to the structure of its generated code (pure). The mapping:
//
// * Dynamic instructions N: rep string ops run once per invocation (their iterations count as instructions, as in
//   callgrind); the rest is split over loop blocks. A block is a static loop body of b instructions run I times plus a
//   prologue/epilogue, so b·I + p ≈ its share of N. The iteration count is derived from the instructions a block
//   really has (overhead included), never from code bytes (the original divided by the skeleton's bytes).
// * I-cache working set: the first bin (fetches hitting a 128 B cache) is mostly spatial reuse inside a line, which
//   any straight code has. Fetches that miss the L1 (bins above 32 KiB) are cold code: each is one line of straight
//   code, so the cold block runs that many lines' worth of instructions once per invocation, in one of R replicas
//   chosen by request_id, R of them spanning the geometric middle between the L1 and the bin (a replica comes back
//   after the others ran; the replicas are copies, emit.ts). The other bins split the remaining instructions by
//   share: each becomes a hot block looping over a body of at most ≈ 0.75·S bytes, and a body's hot code together
//   stays within 8 KiB, so that all bodies and the runtime fit the L1 and the L1i misses come from cold code alone
//   (hot code that overflows the L1 misses as a whole: a cliff no knob can tune across).
// * D-cache working set: each memory operand gets a target bin, as a share of the invocation's accesses: the
//   stream bins keep their absolute accesses per invocation (the histogram also counts string iterations,
//   pushes and pops, which hit), the smallest reuse bins give up the difference. Bins ≤ reuseLimitBytes are
//   realized by re-touching, within the same loop iteration, the line that was D distinct lines ago (the LRU
//   stack distance, D in (S_prev, S] lines). Larger bins become streams, each a region of ctx->data (one per
//   process, shared by its threads and overlaid by all bodies, as a service's heap is). The two smallest have
//   a cursor register each (r8, r9), kept per thread in ctx->cursor between invocations and started at a
//   per-thread phase: a loop iteration walks a window of lines (at most a quarter of the bin, so a long
//   once-through body cycles over it) and advances the cursor by it. All other stream bins (up to
//   maxFarStreams, down to a share of minMemoryShare, but the bins beyond the LLC tier make one, however light)
//   are far streams: each takes the next lines of its
//   region, cyclically, line after line or, as far as the mix's multiplies pay for it, a page and a line apart (a
//   permutation of the region's lines that misses the TLB and defeats prefetching as a heap's scattered objects
//   do), from its counter in ctx->data (the bytes of lines taken so far, one per stream, body and process, so that
//   all threads together walk a region once per cycle), which each run of a loop body advances by the stream's
//   exact share of lines (its operands, that share rounded up, re-touch the last line of the run before by the
//   fraction): a counter load (rotated, and an `imul`, when spread), an `lea` and a mask per operand and an `add`
//   per run, taken from the mix (block.ts). Region sizes are solved so that a line's reuse distance (its own
//   region plus what the other streams touch meanwhile) falls in the bin (regions.ts). A share of the loads of the
//   largest own-cursor stream chase pointers through a random ring (r11). Taken branches never skip a far operand.
// * The mix, branches and dependency histograms shape the instructions of each loop body (block.ts).

import type { StringOp } from '../../analyze/cpu/isa.ts';
import type { BodyPlan } from '../../artifacts/clone-plan.ts';
import { beyondLlcTier, cacheTiers } from './knobs.ts';
import { apportion } from './random.ts';

const l1Bytes = cacheTiers.l1;

/** Target bins at or below this size are realized as in-iteration reuse, larger ones as streams. */
export const reuseLimitBytes = 1024;
/** Window streams with a cursor register of their own (r8, r9); the others share one cursor (r10). */
export const registerStreams = 2;
/** Window streams sharing the far cursor. */
export const maxFarStreams = 10;
/** Loop blocks per body (one per kept i-cache bin). */
export const maxBlocks = 4;
/** Estimated code bytes per generated instruction, to size blocks before they exist. */
export const plannedBytesPerInstruction = 5.5;
/** Instructions the compiled C around the asm statements executes per body and per block call. */
export const cOverheadPerBody = 12;
export const cOverheadPerBlock = 6;
/** Static hot code (i-cache bins up to the L1) per body: the bodies and the runtime together fit the L1. */
const hotCodeBytes = 8 * 1024;
/** Body of the loop that runs the hot instructions beyond that budget. */
const excessLoopBody = 256;
/** Shortest loop body a hot block is given. */
const minLoopBody = 24;
/** Cold code (i-cache bins above the L1): replicas and the code they may add at most. */
const maxColdReplicas = 32;
const maxColdBytes = 512 * 1024;
/** Cold code takes at most this share of the loop instructions (what is left keeps the mix's loops). */
const maxColdShare = 0.9;
/** Instructions a line of straight code holds. */
const instructionsPerLine = 64 / plannedBytesPerInstruction;
/** Memory bins carrying less than this share of accesses are folded into their nearest kept neighbour. */
const minMemoryShare = 0.0003;

export interface Category {
  ext: 'base' | 'sse' | 'avx';
  cls: string;
  mem: 'no_mem' | 'mem_r' | 'mem_w' | 'mem_rw';
  share: number;
}

export interface StringStart {
  op: StringOp;
  elementBytes: 1 | 2 | 4 | 8;
  /** Elements per start (rcx). */
  count: number;
  starts: number;
}

export interface MemoryTarget {
  /** Target size bin in bytes (hit first in a cache of this size). */
  sizeBytes: number;
  share: number;
  /** reuse: LRU stack distance in lines; stream: index into `streams` then `far` (one numbering). */
  kind: 'reuse' | 'stream';
  distanceLines: number;
  stream: number;
}

export interface BlockShape {
  /** i-cache bin this block stands for. */
  binBytes: number;
  /** Dynamic instructions the block must execute per invocation (prologue, loop, epilogue). */
  instructions: number;
  /** Static loop-body instructions to generate (overhead included). */
  bodyInstructions: number;
  replicas: number;
}

export interface BodyShape {
  instructions: number;
  strings: StringStart[];
  /** Loop-body categories (string ops excluded), shares summing to 1. */
  categories: Category[];
  memory: MemoryTarget[];
  /** Window stream bins (bytes) with a cursor register each, smallest first (at most registerStreams). */
  streams: number[];
  /** Larger window stream bins sharing the far cursor, smallest first; stream indices follow `streams`. */
  far: number[];
  /** Per far stream, its accesses per invocation (each a new line). */
  farAccesses: number[];
  /** Per far stream, whether it walks its region a page and a line apart (block.ts) rather than line after line. */
  farSpread: boolean[];
  /** Share of the largest register stream's loads that chase pointers. */
  chaseShare: number;
  /** Share of the integer read-modify-writes of memory that are locked (lockedShare). */
  lockedShare: number;
  blocks: BlockShape[];
}

/** The bin of each region of a body, by region index: its streams, then its far streams, then the pointer-chase
 * ring, which takes the largest register stream's. */
export function regionBins(shape: Pick<BodyShape, 'streams' | 'far'>): number[] {
  return [...shape.streams, ...shape.far, shape.streams.at(-1) ?? 2048];
}

export function parseCategory(key: string, share: number): Category | undefined {
  const parts = key.split('.');
  const ext = parts[0];
  const mem = parts.at(-1);
  if ((ext !== 'base' && ext !== 'sse' && ext !== 'avx') || parts.length < 3) return undefined;
  if (mem !== 'no_mem' && mem !== 'mem_r' && mem !== 'mem_w' && mem !== 'mem_rw') return undefined;
  return { ext, cls: parts.slice(1, -1).join('.'), mem, share };
}

const snapElement = (bytesPerIteration: number): 1 | 2 | 4 | 8 =>
  bytesPerIteration >= 6 ? 8 : bytesPerIteration >= 3 ? 4 : bytesPerIteration >= 1.5 ? 2 : 1;

/** rep string ops: bytes per op as profiled; element size from bytes / iterations (the mix counts iterations). */
export function stringStarts(plan: BodyPlan, instructions: number): StringStart[] {
  const s = plan.stringOps;
  const total = Object.values(s.byOp).reduce((a, b) => a + b, 0);
  if (total <= 0) return [];
  const cat = plan.mix.categories;
  // isa.ts: movs is string.mem_rw, stos string.mem_w, lods/cmps/scas string.mem_r.
  const iterationsOf = (op: StringOp) =>
    instructions *
    (cat[op === 'movs' ? 'base.string.mem_rw' : op === 'stos' ? 'base.string.mem_w' : 'base.string.mem_r'] ??
      0);
  const ops = (Object.entries(s.byOp) as [StringOp, number][]).filter(([, b]) => b >= 1);
  const readers = ops.filter(([op]) => op === 'lods' || op === 'cmps' || op === 'scas');
  const readerBytes = readers.reduce((a, [, b]) => a + b, 0);
  return ops.map(([op, bytes]) => {
    const iters =
      op === 'movs' || op === 'stos' ? iterationsOf(op) : (iterationsOf(op) * bytes) / readerBytes;
    const elementBytes = iters > 0 ? snapElement(bytes / iters) : 1;
    const starts = Math.max(1, Math.round((s.repStartsPerRequest * bytes) / total));
    return { op, elementBytes, starts, count: Math.max(1, Math.round(bytes / elementBytes / starts)) };
  });
}

/** Folds small bins into their nearest kept neighbour (log-size distance); keeps at most `limit` heaviest. */
function foldBins(bins: { size: number; share: number }[], minShare: number, limit: number) {
  const total = bins.reduce((s, b) => s + b.share, 0);
  const kept = bins
    .filter((b) => b.share >= minShare * total)
    .sort((a, b) => b.share - a.share)
    .slice(0, limit)
    .map((b) => ({ size: b.size, share: 0 }));
  if (kept.length === 0) return [];
  for (const b of bins) {
    let best = kept[0];
    for (const k of kept) {
      if (best && Math.abs(Math.log2(k.size / b.size)) < Math.abs(Math.log2(best.size / b.size))) best = k;
    }
    if (best) best.share += b.share;
  }
  return kept.filter((k) => k.share > 0).sort((a, b) => a.size - b.size);
}

/**
 * `operands`: memory operands per invocation. The histogram counts every access, string iterations, pushes and pops
 * included; those hit near the top of the stack or in the string area, so the stream bins keep their absolute
 * accesses per invocation and the smallest reuse bins give up the difference.
 */
export function memoryTargets(
  plan: BodyPlan,
  maxRegionBytes: number,
  operands: number,
): { memory: MemoryTarget[]; streams: number[]; far: number[] } {
  const d = plan.cache.dcache;
  const sizes = plan.cache.sizesBytes;
  const bins = sizes.map((size, i) => ({ size, share: d.workingSet[i] ?? 0 }));
  const last = sizes.at(-1);
  // Misses at every measured size: the largest region a thread may hold. (Twice a quick sweep's largest size, 16 MiB,
  // fits a 30 MiB LLC: such a region would hit it.)
  if (last !== undefined && d.beyondLargest > 0) bins.push({ size: maxRegionBytes, share: d.beyondLargest });
  const bounded = bins.map((b) => ({ size: Math.min(b.size, maxRegionBytes), share: b.share }));
  const reuseBins = foldBins(
    bounded.filter((b) => b.size <= reuseLimitBytes),
    0,
    8,
  );
  // The bins beyond the LLC tier miss every platform's LLC: they make one stream (at the heaviest's size), kept
  // however light. Folded into one within the LLCs, the misses they stand for would all be gone (redis's clone: 4.6
  // times the original's LLC miss rate at the LLC knob's 1, none at 0.5, where the share fell below minMemoryShare).
  const beyondLlc = bounded.filter((b) => beyondLlcTier(b.size) && b.share > 0);
  const heaviest = [...beyondLlc].sort((a, b) => b.share - a.share)[0];
  const beyondLlcBins = heaviest
    ? [{ size: heaviest.size, share: beyondLlc.reduce((s, b) => s + b.share, 0) }]
    : [];
  let streamBins = [
    ...foldBins(
      bounded.filter((b) => b.size > reuseLimitBytes && !beyondLlcTier(b.size)),
      minMemoryShare,
      registerStreams + maxFarStreams - beyondLlcBins.length,
    ),
    ...beyondLlcBins,
  ];
  // Reuse needs lines touched earlier in the iteration: one small stream always exists to provide them.
  if (streamBins.length === beyondLlcBins.length)
    streamBins = [{ size: 2 * reuseLimitBytes, share: 0 }, ...streamBins];
  const total = [...reuseBins, ...streamBins].reduce((s, b) => s + b.share, 0);
  const scale = operands > 0 ? Math.max(1, d.accessesPerRequest / operands) : 1;
  const streamShare = Math.min(
    1,
    (scale * streamBins.reduce((s, b) => s + b.share, 0)) / Math.max(total, 1e-12),
  );
  let excess = streamShare - streamBins.reduce((s, b) => s + b.share, 0) / Math.max(total, 1e-12);
  const reuse = reuseBins.map((b) => {
    const share = b.share / Math.max(total, 1e-12);
    const taken = Math.min(share, excess);
    excess -= taken;
    return { size: b.size, share: share - taken };
  });
  const all = [
    ...reuse,
    ...streamBins.map((b) => ({ size: b.size, share: (scale * b.share) / Math.max(total, 1e-12) })),
  ];
  const sum = all.reduce((s, b) => s + b.share, 0);
  const streams = streamBins.map((b) => b.size);
  let previous = 0;
  const memory = all.map((b): MemoryTarget => {
    const lines = b.size / 64;
    const distanceLines = Math.max(previous + 1, Math.floor(0.75 * lines));
    previous = lines;
    const isStream = b.size > reuseLimitBytes;
    return {
      sizeBytes: b.size,
      share: sum > 0 ? b.share / sum : 0,
      kind: isStream ? 'stream' : 'reuse',
      distanceLines: isStream ? 0 : distanceLines,
      stream: isStream ? streams.indexOf(b.size) : -1,
    };
  });
  // The stream beyond the LLCs is always a far one: a register stream's bin also sizes the pointer-chase ring,
  // which the init writes whole.
  const own = Math.min(registerStreams, streams.length - beyondLlcBins.length);
  return { memory, streams: streams.slice(0, own), far: streams.slice(own) };
}

export interface ShapeOptions {
  /** Multiplies the planned instruction count (tuning knob). */
  instructionScale: number;
  chaseShare: number;
  maxRegionBytes: number;
}

export function shapeBody(plan: BodyPlan, options: ShapeOptions): BodyShape {
  const instructions = plan.instructions * options.instructionScale;
  const strings = stringStarts(plan, instructions);
  const stringIterations = strings.reduce((s, x) => s + x.count * x.starts, 0);
  // Setup per rep start: lea rdi, (lea rsi,) mov ecx, xor/mov eax, rep op.
  const stringSetup = strings.reduce((s, x) => s + x.starts * 4, 0);
  const categories = Object.entries(plan.mix.categories)
    .map(([k, v]) => parseCategory(k, v))
    .filter((c): c is Category => c !== undefined && c.cls !== 'string' && c.share > 0);
  const catTotal = categories.reduce((s, c) => s + c.share, 0);
  for (const c of categories) c.share = catTotal > 0 ? c.share / catTotal : 0;
  // Explicit memory operands per invocation (string ops, calls and returns access memory implicitly).
  const operands =
    instructions *
    Object.entries(plan.mix.categories).reduce((s, [k, v]) => {
      const c = parseCategory(k, v);
      return s + (c && c.mem !== 'no_mem' && !['call', 'ret', 'string'].includes(c.cls) ? v : 0);
    }, 0);
  const { memory, streams, far } = memoryTargets(plan, options.maxRegionBytes, operands);
  const loopInstructions = Math.max(0, instructions - stringIterations - stringSetup - cOverheadPerBody);
  // Each far access computes its position first (a load of its stream's counter, an `lea` and an `and`,
  // block.ts), wherever it lands: those are part of the invocation's loads and integer arithmetic, so the mix every
  // block draws from leaves them out. The counters' line is touched by every far access: its loads are the reuse
  // at the shortest distances, which the other operands then leave to them.
  const farShares = far.map(
    (_, k) => memory.find((m) => m.kind === 'stream' && m.stream === streams.length + k)?.share ?? 0,
  );
  const farShare = farShares.reduce((s, share) => s + share, 0);
  const farAccesses = operands * farShare;
  let counterLoads = farShare;
  for (const m of memory) {
    if (m.kind !== 'reuse') continue;
    const taken = Math.min(m.share, counterLoads);
    m.share -= taken;
    counterLoads -= taken;
  }
  const operandShare = memory.reduce((s, m) => s + m.share, 0);
  for (const m of memory) m.share = operandShare > 0 ? m.share / operandShare : 0;
  // Spreading a far stream over pages (block.ts) costs a multiply per access: the mix's multiplies pay for it, the
  // streams of the largest bins first (they span the most pages); the others walk their regions line after line.
  // (Spread at any cost, memcached's get body made 130 multiplies where the original made 21: the mix 0.065 off.)
  const has = (key: string) =>
    (categories.find((c) => `${c.ext}.${c.cls}.${c.mem}` === key)?.share ?? 0) * loopInstructions;
  const accessesOf = farShares.map((share) => operands * share);
  let multiplies = has('base.mul.int.no_mem');
  const farSpread = far.map(() => false);
  for (let k = far.length - 1; k >= 0; k--) {
    const a = accessesOf[k] ?? 0;
    if (a <= 0 || a > multiplies) continue;
    multiplies -= a;
    farSpread[k] = true;
  }
  const spreadAccesses = accessesOf.reduce((s, a, k) => s + (farSpread[k] ? a : 0), 0);
  // A spread stream's counter load rotates: one of the mix's loads into the integer ALU as far as it has them.
  const rotatingLoads = Math.min(has('base.arith.int.mem_r'), spreadAccesses);
  const addressing: Record<string, number> = {
    'base.arith.int.mem_r': rotatingLoads,
    'base.mov.uncond.mem_r': farAccesses - rotatingLoads,
    'base.mul.int.no_mem': spreadAccesses,
    'base.arith.int.no_mem': 2 * farAccesses,
  };
  for (const c of categories)
    c.share = Math.max(0, c.share * loopInstructions - (addressing[`${c.ext}.${c.cls}.${c.mem}`] ?? 0));
  const remaining = categories.reduce((s, c) => s + c.share, 0);
  for (const c of categories) c.share = remaining > 0 ? c.share / remaining : 0;

  const ic = plan.cache.icache;
  const isizes = plan.cache.sizesBytes;
  const ibins = isizes.map((size, i) => ({ size, share: i === 0 ? 0 : (ic.workingSet[i] ?? 0) }));
  const lastI = isizes.at(-1);
  if (lastI !== undefined && ic.beyondLargest > 0) ibins.push({ size: 2 * lastI, share: ic.beyondLargest });
  const coldBins = foldBins(
    ibins.filter((b) => b.size > l1Bytes),
    0,
    1,
  );
  let hotBins = foldBins(
    ibins.filter((b) => b.size <= l1Bytes),
    0.05,
    maxBlocks - coldBins.length,
  );
  if (hotBins.length === 0) hotBins = [{ size: 1024, share: 1 }];
  const prologue = 16 + 2 * (registerStreams + 2);
  // Fetches per invocation that miss the L1 (one fetch per instruction: the share applies to the instructions).
  const coldFetches = coldBins.reduce((s, b) => s + b.share, 0) * instructions;
  const coldInstructions = Math.min(maxColdShare * loopInstructions, coldFetches * instructionsPerLine);
  const hotShares = apportion(
    hotBins.map((k) => k.share),
    1000,
  );
  // The hot code budget goes to the largest bins first. A block whose footprint fits what is left loops over it
  // (or runs once through when its instructions fit); one that does not runs once through what is left and hands
  // the rest to a loop of its own. That loop's body is kept long enough for the mix and the branches to keep their
  // shape.
  let budget = hotCodeBytes / plannedBytesPerInstruction - excessLoopBody;
  let excess = 0;
  const hotBlocks = hotBins
    .map((k, i) => ({
      binBytes: k.size,
      planned: Math.max(
        0,
        ((loopInstructions - coldInstructions) * (hotShares[i] ?? 0)) / 1000 - cOverheadPerBlock - prologue,
      ),
    }))
    .reverse()
    .map(({ binBytes, planned }): BlockShape => {
      // A body of ≈ 0.75·S bytes of static code fits its bin S, not S/2.
      const footprintBody = Math.max(minLoopBody, Math.floor((0.75 * binBytes) / plannedBytesPerInstruction));
      let loop = planned;
      let iterations = 1;
      if (footprintBody <= budget) iterations = Math.max(1, Math.ceil(loop / footprintBody));
      else {
        loop = budget >= minLoopBody ? Math.min(loop, budget) : 0;
        excess += planned - loop;
      }
      const bodyInstructions = Math.max(12, Math.round(loop / iterations));
      budget -= bodyInstructions;
      return { binBytes, instructions: loop + prologue, bodyInstructions, replicas: 1 };
    })
    .reverse();
  if (excess > 0) {
    const iterations = Math.ceil(excess / excessLoopBody);
    hotBlocks.unshift({
      binBytes: 2 ** Math.ceil(Math.log2((excessLoopBody * plannedBytesPerInstruction) / 0.75)),
      instructions: excess + prologue,
      bodyInstructions: Math.max(12, Math.round(excess / iterations)),
      replicas: 1,
    });
  }
  const coldBlocks = coldBins.map((k): BlockShape => {
    const instructions = Math.max(0, coldInstructions - cOverheadPerBlock);
    const footprintBytes = Math.sqrt(l1Bytes * k.size);
    const bodyInstructions = Math.max(12, Math.round(instructions - prologue));
    const bytes = bodyInstructions * plannedBytesPerInstruction;
    const replicas = Math.min(
      Math.ceil(footprintBytes / bytes),
      maxColdReplicas,
      Math.max(1, Math.floor(maxColdBytes / bytes)),
    );
    return { binBytes: k.size, instructions, bodyInstructions, replicas };
  });
  const blocks = [...hotBlocks, ...coldBlocks].filter((b) => b.instructions > prologue);
  return {
    instructions,
    strings,
    categories,
    memory,
    streams,
    far,
    farAccesses: accessesOf,
    farSpread,
    chaseShare: options.chaseShare,
    lockedShare: lockedShare(plan.mix),
    blocks,
  };
}

/**
 * The share of integer read-modify-writes of memory (`base.arith.int.mem_rw`: add, cmpxchg, xadd…) that carry a
 * lock prefix, so that with the exchanges with memory (`base.mov.uncond.mem_rw`: xchg, locked by itself) the body
 * makes the profiled atomics. They cost what a service's mutexes and reference counts cost: a full barrier each,
 * and the line taken from whichever core wrote it last (the data region is shared by all threads).
 */
function lockedShare(mix: BodyPlan['mix']): number {
  const rmw = mix.categories['base.arith.int.mem_rw'] ?? 0;
  const exchanges = mix.categories['base.mov.uncond.mem_rw'] ?? 0;
  if (rmw <= 0 || !mix.atomicShare) return 0;
  return Math.min(1, Math.max(0, (mix.atomicShare - exchanges) / rmw));
}
