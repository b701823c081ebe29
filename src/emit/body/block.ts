// One loop body of inline x86-64 asm (Intel syntax) for a block (pure, deterministic for its Random):
//
// * Mix: each category gets round(share × b) instructions minus what the loop's own overhead already contributes
//   to it (the test before each conditional branch, the cursor updates, the PRNG steps, `dec`/`jnz`), then the
//   multiset is shuffled; categories.ts writes each, writer.ts keeps the list.
// * Branches (drawn in branches.ts): every conditional branch site gets a taken rate from the profiled histogram.
//   Sites at exact 0 / 1 test r15 (never zero) and are never / always taken; the others test n fresh bits of an
//   xorshift64 state (r13, stepped in the loop whenever its low 32 bits are used up), so their minority rate is
//   2^-n with no learnable period, and n is drawn from the mispredict rates the original's sites of that minority
//   rate had (the joint histogram; a rate of 0 makes the site deterministic); `jz` when the site is mostly not
//   taken, `jnz` otherwise. Targets are the next instruction.
// * Registers: reads take the register whose last write is closest to a RAW distance drawn from the profile;
//   writes the one that best matches drawn WAW and WAR distances (distances in dynamic instructions of the loop).
// * Memory: see layout.ts; how many operands each target gets, quotas.ts. Operands are [r15 + cursor + disp]
//   (own-cursor streams), [r15 + t + disp] with t = (the stream's line + slot) × stride & (region − 64) computed
//   just before (far streams: the line is loaded from the body's far counters, which each iteration advances past
//   its lines; the stride is 64 bytes, or a page and a line for the streams the mix's multiplies spread over pages),
//   [r11] (pointer chase) or a copy of an earlier own-cursor operand of the iteration (reuse at a chosen LRU stack
//   distance).
import type { BranchBehaviour, DependencyDistances } from '../../analyze/cpu/schema.ts';
import { type BranchSite, drawBranches, type IndirectSites } from './branches.ts';
import { emitCategory } from './categories.ts';
import type { Category, MemoryTarget } from './layout.ts';
import { farQuotas, isFar, nearQuotas } from './quotas.ts';
import { apportion, type Random } from './random.ts';
import { Allocator, Distances, gpPool, xmmPool } from './registers.ts';
import { LoopWriter } from './writer.ts';

/** `via`: the scratch register holding a far stream's position in its region (absent for own cursors). A far
 * operand's `slot` is its line among its stream's lines of the iteration. */
export type MemRef =
  | { kind: 'window'; stream: number; slot: number; word: number; via?: string }
  | { kind: 'chase'; stream: number };

/** One instruction (or label) of the loop body; `{M}` is replaced by the rendered memory operand. */
export interface Ins {
  text: string;
  mem?: MemRef;
  /** Cursor update of a window stream: `{ADV}` / `{MASK}` are filled in once region sizes are known. */
  advance?: number;
  /** A far stream's position from its counter (the bytes of lines it took so far), or the counter's advance:
   * `{COUNTER}` and `{MASK}` likewise, once the counters' place and the region are known. */
  far?: number;
  label?: boolean;
}

export interface BlockBody {
  ins: Ins[];
  /** Expected instructions executed per iteration (labels and skipped instructions excluded). */
  count: number;
  /** Distinct lines each own-cursor stream's window holds per iteration (power of two), 0 when unused or far. */
  windowLines: number[];
  /** Distinct-line touches per iteration, per window stream (own cursors, then far), then the chase ring's loads. */
  touches: number[];
  /** Per far stream, the new lines it takes per iteration (its operands: that, rounded up). */
  farAdvance: number[];
  chaseLoads: number;
  /** Calls landing on the `ret` stub, and calls to the next instruction landing on a `pop`. */
  calls: number;
  pops: number;
  /** Indirect jumps per iteration. */
  jumps: number;
}

/** A far stream's counter advance per run of a loop body, in bytes (whole bytes of lines: the fraction of a line
 * carries exactly, at least one byte so the stream moves). */
export function farAdvanceBytes(lines: number): number {
  return Math.max(1, Math.round(64 * lines));
}

/** Lines between a spread far stream's consecutive lines in its region: one page and one line, odd, so that the
 * walk is a permutation of a power-of-two region that visits a new page at every line (a heap's scattered objects
 * miss the TLB and are not prefetched, where a contiguous walk would be both) and the sets in turn. */
export const farLineStride = 65;

export interface BlockInput {
  categories: Category[];
  memory: MemoryTarget[];
  /** Window streams with their own cursor (r8, r9 in order). */
  streams: number;
  /** Window streams positioned from the far counters. */
  farStreams: number;
  chaseShare: number;
  /** Share of the integer read-modify-writes of memory to lock (layout.ts), and the locked executions per
   * invocation that earlier blocks owe (rounding); updated. */
  locks: { share: number; owed: number };
  branches: BranchBehaviour;
  dependencies: DependencyDistances;
  bodyInstructions: number;
  /** Executions of this loop body per invocation of the body that runs it (its iterations). */
  weight: number;
  /** Per far stream, its accesses per iteration of this loop body (new lines: a fraction). */
  farPerIteration: number[];
  /** Per far stream, whether it walks its region a page and a line apart. */
  farSpread: boolean[];
  /** Per memory target, accesses per invocation that earlier blocks owe (rounding); updated. */
  carry: number[];
  /** The invocation's last block: it takes every far operand still owed. */
  last: boolean;
  /** Indirect jumps this loop body should make per iteration (a fraction: rounded here), drawn from `sites` as
   * running `runs` times per invocation. */
  indirect: { jumps: number; runs: number; sites: IndirectSites };
  random: Random;
}

/** How often a conditional site jumps. */
const takenRate = (site: BranchSite) => {
  const p = 2 ** -site.bits;
  return site.bits === 0 ? (site.jnz ? 1 : 0) : site.jnz ? 1 - p : p;
};

/** Loop-body keys a taken site may jump over (below): all but control flow. */
const skippable = (key: string) => key !== 'site' && !key.startsWith('call') && !key.includes('branch');

/** Registers: r12 ctx (gcc's), r13 PRNG, r14 loop counter, r15 data base, r8–r9 own stream cursors, r11 the chase
 * pointer. */
export const streamRegisters = ['r8', 'r9'];
export const chaseRegister = 'r11';

export function generateBlock(input: BlockInput): BlockBody {
  const { random, bodyInstructions: b } = input;
  const deps = input.dependencies;
  const raw = new Distances(deps.raw);
  const war = new Distances(deps.war);
  const waw = new Distances(deps.waw);
  const chasing = input.chaseShare > 0 && input.streams > 0;
  const windows = input.streams + input.farStreams;
  const chaseStream = windows;
  const gp = new Allocator(gpPool, raw, war, waw, random);
  const xmm = new Allocator(xmmPool, raw, war, waw, random);

  // Desired counts per category, then the loop's own overhead taken out of the categories it belongs to.
  const counts = apportion(
    input.categories.map((c) => c.share),
    b,
  );
  const byKey = new Map<string, number>();
  input.categories.forEach((c, i) => {
    byKey.set(`${c.ext}.${c.cls}.${c.mem}`, counts[i] ?? 0);
  });
  /** Takes n of a kind, as many as it has; returns how many it lacked. */
  const take = (key: string, n: number) => {
    const has = byKey.get(key) ?? 0;
    byKey.set(key, Math.max(0, has - n));
    return Math.max(0, n - has);
  };
  const condKey = 'base.branch.cond.no_mem';
  const sites = Math.max(0, (byKey.get(condKey) ?? 0) - 1);
  const jumps = Math.max(0, Math.round(input.indirect.jumps));
  // The sites are drawn first so that the PRNG steps they need (popped in this order, 32 fresh bits per step, a site
  // never straddling two) are known exactly and taken out of the mix.
  const conditional = drawBranches(input.branches, sites, random);
  const jumpSites = input.indirect.sites.draw(jumps, input.indirect.runs);
  const branchSites = jumps > 0 ? random.shuffle([...conditional, ...jumpSites]) : conditional;
  let plannedSteps = 0;
  let bitsAvailable = 0;
  for (const site of [...branchSites].reverse()) {
    if (site.bits === 0) continue;
    if (bitsAvailable < site.bits) {
      plannedSteps++;
      bitsAvailable = 32;
    }
    bitsAvailable -= site.bits;
  }
  const divs = (byKey.get('base.div.int.no_mem') ?? 0) + (byKey.get('base.div.int.mem_r') ?? 0);
  // An indirect site is a `jmp` through a register loaded from a slot holding its target, or for two targets from
  // two slots, one picked by a `test` and a `cmovz`. The slot loads are hits on lines of their own, made part of
  // the memory operands below.
  const twoTargets = jumpSites.filter((s) => s.bits > 0).length;
  const slotLoads = jumps + twoTargets;
  take(condKey, sites + 1);
  take('base.branch.uncond.no_mem', jumps);
  take('base.mov.uncond.mem_r', slotLoads);
  // A block may have fewer conditional moves than its sites pick with (the body as a whole has them): the
  // integer ALU gives the rest.
  take('base.arith.int.no_mem', take('base.mov.cond.no_mem', twoTargets));
  take('base.arith.int.no_mem', sites + 1 + twoTargets + 2 * input.streams + 6 * plannedSteps + divs);
  take('base.mov.uncond.no_mem', 3 * plannedSteps);
  const callsPlanned =
    (byKey.get('base.call.mem_w') ?? 0) +
    (byKey.get('base.call.mem_rw') ?? 0) +
    (byKey.get('base.call.no_mem') ?? 0);
  const rets = (byKey.get('base.ret.mem_r') ?? 0) + (byKey.get('base.ret.no_mem') ?? 0);
  // A call lands on a `ret` (one stub, print.ts). Calls the original made beyond its returns (memcached's: 3.6 %
  // of instructions, 2.3 % returns) land on a `pop` of their return address instead, one of the mix's loads: a call
  // to the next instruction, which CPUs keep off their return stack.
  const pops = Math.min(Math.max(0, callsPlanned - rets), byKey.get('base.mov.uncond.mem_r') ?? 0);
  take('base.mov.uncond.mem_r', pops);
  const calls = callsPlanned - pops;
  for (const k of [
    'base.call.mem_w',
    'base.call.mem_rw',
    'base.call.no_mem',
    'base.ret.mem_r',
    'base.ret.no_mem',
  ])
    byKey.delete(k);
  byKey.set('call', calls);
  byKey.set('call-pop', pops);

  const memoryOperands = () => {
    let n = 0;
    for (const [key, count] of byKey) if (/mem_/.test(key) && !key.includes('div.int')) n += count;
    return n;
  };
  // Memory targets per operand (quotas.ts): the far streams' first.
  const { quota: memQuota, advance: farAdvance, rounding } = farQuotas(input, memoryOperands());
  // The mix left out the addressing (a counter load, an `lea`, an `and`) of the invocation's far accesses; the
  // operands rounding added need theirs too, and each far stream run here advances its counter once per iteration
  // (an `add` to memory, below).
  const extra = Math.round(rounding);
  take('base.mov.uncond.mem_r', extra);
  take('base.arith.int.no_mem', 2 * extra);
  take('base.arith.int.mem_rw', farAdvance.filter((a) => a > 0).length);
  // Taken sites skip the next instruction of the bag, of any kind but control flow, while the loop's own overhead
  // (the sites' tests, the far addressing, the PRNG steps, most of them integer ALU) always runs: each skippable
  // kind's count is raised by what its share of the skips takes, or the ALU would run over its share and the
  // moves short (memcached's get body: +1.7 and -1.4 points of the mix).
  let skippableKeys = 0;
  for (const [key, n] of byKey) if (skippable(key)) skippableKeys += n;
  const expectedSkips = conditional.reduce((sum, site) => sum + takenRate(site), 0);
  // (At most doubled: a bag of nearly all sites would otherwise grow without end.)
  const kept = 1 - Math.min(0.5, skippableKeys > 0 ? expectedSkips / skippableKeys : 0);
  const raised = [...byKey].filter(([key]) => skippable(key));
  const raisedCounts = apportion(
    raised.map(([, n]) => n / kept),
    skippableKeys / kept,
  );
  raised.forEach(([key], i) => {
    byKey.set(key, raisedCounts[i] ?? 0);
  });
  nearQuotas(input, memQuota, memoryOperands());
  const bag: string[] = [];
  for (const [key, n] of byKey) for (let i = 0; i < n; i++) bag.push(key);
  for (let i = 0; i < sites + jumps; i++) bag.push('site');
  random.shuffle(bag);
  // Shuffled so that each kind is spread over the body.
  const targets: MemoryTarget[] = [];
  input.memory.forEach((m, i) => {
    for (let k = 0; k < (memQuota[i] ?? 0); k++) targets.push(m);
  });
  random.shuffle(targets);
  const w = new LoopWriter(gp, xmm);
  const { ins } = w;
  let chaseLoads = 0;
  /** Window slots in use per stream, and recency of lines touched in this iteration (for reuse). */
  const slots = Array.from({ length: windows }, () => 0);
  const recent: { ref: MemRef; line: string }[] = [];
  const touch = (ref: MemRef) => {
    const line = ref.kind === 'window' ? `w${ref.stream}.${ref.slot}` : `c${chaseLoads}`;
    const at = recent.findIndex((r) => r.line === line);
    if (at >= 0) recent.splice(at, 1);
    recent.unshift({ ref, line });
  };
  // An own-cursor stream's window holds at most a quarter of its bin: a long once-through body cycles over it, so
  // that its lines come back within the bin instead of each being new.
  const windowCap = (stream: number) => {
    const bin = input.memory.find((m) => m.kind === 'stream' && m.stream === stream)?.sizeBytes ?? 256;
    return stream < input.streams
      ? 2 ** Math.floor(Math.log2(Math.max(1, bin / 256)))
      : Number.POSITIVE_INFINITY;
  };
  const windowRef = (stream: number): MemRef => {
    const n = slots[stream] ?? 0;
    slots[stream] = n + 1;
    return {
      kind: 'window',
      stream,
      slot: stream < input.streams ? n % windowCap(stream) : n,
      word: random.int(4),
    };
  };
  /** The memory operand for the next memory instruction; `load` says whether it may chase. */
  const memory = (load: boolean): MemRef | 'chase' => {
    const target = targets.pop() ?? input.memory[0];
    if (!target || input.streams === 0) {
      // No stream at all: every operand reuses one line of stream 0's region, which then exists with one line.
      return pickReuse(1) ?? windowRef(0);
    }
    if (target.kind === 'stream') {
      // The largest stream lends a share of its loads to the pointer-chase ring.
      if (load && chasing && target.stream === input.streams - 1 && random.next() < input.chaseShare)
        return 'chase';
      return windowRef(target.stream);
    }
    // Too few distinct lines yet in this iteration: the smallest stream is the closest larger distance.
    return pickReuse(target.distanceLines) ?? windowRef(0);
  };
  const pickReuse = (distance: number): MemRef | undefined => {
    // Far operands' scratch registers do not outlive their instruction: only own-cursor lines are re-touched.
    const candidates = recent
      .slice(0, distance)
      .filter((r) => r.ref.kind === 'window' && r.ref.via === undefined);
    const hit = candidates.at(-1);
    if (hit?.ref.kind !== 'window') return undefined;
    return { ...hit.ref, word: random.int(4) };
  };

  const regsOf = (ref: MemRef) => [
    'r15',
    ref.kind === 'window' && ref.via ? ref.via : (streamRegisters[ref.stream] ?? 'r8'),
  ];

  let skipped = 0;
  const jumpSlots: string[] = [];
  for (let k = 0; k < bag.length; k++) {
    const key = bag[k] ?? '';
    if (key === 'site') {
      const site = branchSites.pop() ?? { bits: 0, jnz: false };
      if (site.indirect) {
        indirectJump(site.bits);
        continue;
      }
      const to = w.label();
      if (site.bits === 0) w.emit('test r15, r15', ['r15'], []);
      else w.testBits(site.bits);
      w.emit(`${site.jnz ? 'jnz' : 'jz'} ${to}`, [], []);
      w.exit();
      // A jump to the next address is not a taken jump to callgrind (nor to a CPU's front end): a taken branch
      // skips the next instruction of the bag, and the expected count leaves it out by the taken rate.
      // Far operands are never skipped (each stands for its share of the invocation's accesses): the nearest
      // later instruction without one (the next memory operand takes the last target drawn) comes forward instead.
      const nextTarget = targets.at(-1);
      const farNext = nextTarget !== undefined && isFar(nextTarget, input.streams);
      const skippableHere = (key: string) => skippable(key) && !(farNext && key.includes('mem_'));
      const later = bag.findIndex((key, j) => j > k && skippableHere(key));
      if (later > k + 1) [bag[k + 1], bag[later]] = [bag[later] ?? '', bag[k + 1] ?? ''];
      const next = bag[k + 1];
      if (next && skippableHere(next)) {
        k++;
        const from = w.pos;
        emitKey(next);
        skipped += (w.pos - from) * takenRate(site);
      }
      w.place(to);
      continue;
    }
    emitKey(key);
  }
  // The indirect jumps' target slots, out of the code.
  if (jumpSlots.length > 0)
    for (const text of ['.pushsection .data.rel.ro', '.p2align 3', ...jumpSlots, '.popsection'])
      ins.push({ text, label: true });
  // Cursor updates of the own-cursor streams used here, then the loop control (printed by the caller).
  const pow2 = (n: number) => (n > 0 ? 2 ** Math.ceil(Math.log2(n)) : 0);
  const distinct = slots.map((n, s) => Math.min(n, windowCap(s)));
  const windowLines = distinct.map((n, s) => (s < input.streams ? pow2(n) : 0));
  windowLines.slice(0, input.streams).forEach((lines, s) => {
    if (lines === 0) return;
    const reg = streamRegisters[s] ?? 'r8';
    ins.push({ text: `add ${reg}, {ADV}`, advance: s });
    ins.push({ text: `and ${reg}, {MASK}`, advance: s });
    w.pos += 2;
  });
  // The counter advances are read-modify-writes of the mix too, and may be locked (counters are 8-byte aligned).
  farAdvance.forEach((lines, k) => {
    if (lines === 0) return;
    ins.push({
      text: `${lockNext() ? 'lock ' : ''}add qword ptr [r15 + {COUNTER}], ${farAdvanceBytes(lines)}`,
      far: input.streams + k,
    });
    w.pos++;
  });
  const touches = [...distinct, chaseLoads];
  // Each call also executes the `ret` it lands on.
  return {
    ins,
    count: w.pos + 2 - skipped + calls,
    windowLines,
    touches,
    farAdvance,
    chaseLoads,
    calls,
    pops,
    jumps,
  };

  /**
   * An indirect jump to the next instruction, through a register loaded from a slot in read-only data that holds the
   * address (a PLT stub jumps through the GOT alike; an address made by `lea` would be a constant that valgrind's
   * translator folds into a direct jump). With bits > 0, a second slot holds the address of a `nop` before it,
   * taken when the bits are all 0.
   */
  function indirectJump(bits: number): void {
    if (bits > 0) w.ensureBits(bits);
    const common = w.label();
    const rare = bits > 0 ? w.label() : undefined;
    const slot = (target: string) => {
      const at = w.label();
      jumpSlots.push(`${at}: .quad ${target}`);
      return at;
    };
    const t = gp.write(w.pos);
    w.emit(`mov ${t}, qword ptr [rip + ${slot(common)}]`, [], [t]);
    if (rare) {
      const u = gp.write(w.pos, [t]);
      w.emit(`mov ${u}, qword ptr [rip + ${slot(rare)}]`, [], [u]);
      w.testBits(bits);
      w.emit(`cmovz ${t}, ${u}`, [t, u], [t]);
    }
    w.emit(`jmp ${t}`, [t], []);
    w.exit();
    if (rare) {
      w.place(rare);
      w.emit('nop', [], []);
      skipped += 1 - 2 ** -bits;
    }
    w.place(common);
  }

  function emitKey(key: string): void {
    if (key === 'call') {
      w.emit('call .Ls%=', [], []);
      return;
    }
    if (key === 'call-pop') {
      const next = w.label();
      w.emit(`call ${next}`, [], []);
      w.place(next);
      const r = w.gp.write(w.pos);
      w.emit(`pop ${r}`, [], [r]);
      return;
    }
    const [ext = 'base', ...rest] = key.split('.');
    const mem = rest.pop() ?? 'no_mem';
    emitCategory({ w, random, withMemory, lockNext }, ext, rest.join('.'), mem);
  }

  /** Whether the next integer read-modify-write of memory is locked: by the executions owed, so that each block's
   * share follows its iterations and what a block rounds away the next one makes up. */
  function lockNext(): boolean {
    const { locks, weight } = input;
    if (locks.share <= 0) return false;
    locks.owed += locks.share * weight;
    if (locks.owed < weight / 2) return false;
    locks.owed -= weight;
    return true;
  }

  function withMemory(load: boolean, f: (m: string, regs: string[], ref: MemRef) => void): undefined {
    const ref = memory(load);
    if (ref === 'chase') {
      w.emit(`mov ${chaseRegister}, qword ptr [${chaseRegister}]`, [chaseRegister], [chaseRegister], {
        kind: 'chase',
        stream: chaseStream,
      });
      chaseLoads++;
      touch({ kind: 'chase', stream: chaseStream });
      return;
    }
    if (ref.kind === 'window' && ref.stream >= input.streams) {
      const t = gp.write(w.pos);
      // Spread: the counter (bytes of lines taken) rotated right by 6, its whole lines low and its bytes into the
      // current line at the top, where the multiply by 64 × stride shifts them out.
      const spread = input.farSpread[ref.stream - input.streams] ?? false;
      const stride = spread ? farLineStride : 1;
      const steps = [
        ...(spread ? [`imul ${t}, ${t}, ${64 * farLineStride}`] : []),
        `lea ${t}, [${t} + ${64 * stride * ref.slot}]`,
        `and ${t}, {MASK}`,
      ];
      const load = spread
        ? `rorx ${t}, qword ptr [r15 + {COUNTER}], 6`
        : `mov ${t}, qword ptr [r15 + {COUNTER}]`;
      ins.push({ text: load, far: ref.stream });
      for (const text of steps) ins.push({ text, far: ref.stream });
      gp.note(w.pos, ['r15'], [t], true);
      w.pos++;
      for (let k = 0; k < steps.length; k++) {
        gp.note(w.pos, [t], [t]);
        w.pos++;
      }
      const via = { ...ref, via: t };
      touch(via);
      f('{M}', regsOf(via), via);
      return;
    }
    touch(ref);
    f('{M}', regsOf(ref), ref);
  }
}
