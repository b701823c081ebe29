// The body printer (pure): the C and inline asm of src/body.c from the generated loop bodies (block.ts) and their
// data regions. Each asm statement loads everything it needs from ctx (pinned in r12) and stores its cursors and
// PRNG state back, so nothing relies on registers surviving between statements, and every register it touches is
// declared clobbered. The prologue and epilogue lengths below are what the generator (emit.ts) counts a block's
// fixed instructions by: they must stay in step with renderReplica.
import { type BlockBody, chaseRegister, streamRegisters } from './block.ts';
import type { BodyShape, StringStart } from './layout.ts';

export const ctxRng = 8;
export const ctxData = 40;
export const ctxCursor = 56;
export const cursorSlots = 32;

export interface Replica {
  body: BlockBody;
  iterations: number;
}

export interface BlockCode {
  replicas: Replica[];
}

export interface Region {
  kind: 'window' | 'far' | 'chase';
  bytes: number;
  offset: number;
  /** ctx->cursor slot of its cursor (windows and the chase ring; far regions use the body's far counters). */
  slot?: number;
}

export interface BodyCode {
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
export function prologueLength(cursors: number, calls: boolean, aligned: boolean): number {
  return 5 + 2 * cursors + (calls ? 1 : 0) + (aligned ? 1 : 0);
}

/** A replica starts at a multiple of this: valgrind's conditional predictor tells branches apart by their address's
 * low 7 bits (and 7 bits of global history), so the copies' sites share their counters. */
const replicaAlignBytes = 128;

export function epilogueLength(cursors: number, calls: boolean): number {
  return 1 + cursors + (calls ? 2 : 0);
}

function usedStreams(body: BlockBody): number[] {
  return body.touches.flatMap((t, s) => (t > 0 ? [s] : []));
}

/** Cursor registers a loop body uses: own-cursor streams and the chase pointer. */
export function usedCursors(
  body: BlockBody,
  own: number,
  windows: number,
): { stream: number; register: string }[] {
  const used = usedStreams(body);
  const out = used.filter((s) => s < own).map((s) => ({ stream: s, register: streamRegisters[s] ?? 'r8' }));
  if (used.includes(windows)) out.push({ stream: windows, register: chaseRegister });
  return out;
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
  // Calls push below rsp: past the red zone.
  const calls = body.calls + body.pops > 0;
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

export function renderBody(code: BodyCode): string {
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
    // One indirect jump through a table of the copies (a computed goto: gcc would pick a switch's form itself),
    // which emit.ts counts among the body's indirect jumps.
    const copy = (i: number) => `b${b}_copy${i}`;
    const table = block.replicas.map((_, i) => `&&${copy(i)}`).join(', ');
    out.push('    {');
    out.push(`    static void *const b${b}_copies[] = {${table}};`);
    out.push(`    goto *b${b}_copies[c->request_id % ${block.replicas.length}u];`);
    block.replicas.forEach((r, i) => {
      out.push(`  ${copy(i)}:`);
      out.push(renderReplica(code, r, i));
      out.push(`    goto b${b}_done;`);
    });
    out.push(`  b${b}_done:;`);
    out.push('    }');
  });
  out.push('}');
  return out.join('\n');
}

/** Splitmix64 in C: seeds the Sattolo shuffle that builds each pointer-chase ring (a single cycle). The helpers,
 * `base` and `phase` are marked as possibly unused: a plan without rings, cursors or regions leaves them idle. */
export const initHelpers = `static __attribute__((unused)) uint64_t ditto_body_mix(uint64_t *s) {
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
