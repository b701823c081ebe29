// Runs a target under valgrind (callgrind) with instrumentation on only for a measured window, disassembles the
// objects it ran, and turns everything into the CPU body of profile.json. The one I/O module of this folder.
//
// Per run: start `sh -c 'ulimit -n N; exec valgrind … <command>'` (valgrind keeps 12 fds and refuses an rlim_max
// other than its own, so N = the service's own connection limit + 12), preload and load it ("prepare"), dump
// (which zeroes the counters), then drive windows of load, each ended by a dump, until one's instructions per
// request agree with the one before (`hasSettled`): that last window is the measurement. Stop with the spec's
// signal (valgrind writes nothing on SIGKILL).
// Instrumentation, and with it the cache simulation, is on from the start: the simulated caches hold what the
// service's start and preload left in them, as a long-running service's do. (Switched on after the preload, a
// 0.5 s warm-up left most of memcached's 10k values cold, and the window's LLC misses were first touches.) Raw
// files hold symbol names and paths: they stay in a private temporary directory that is removed afterwards.
//
// Services of several processes (nginx: a master and workers it forks): valgrind follows fork by itself and every
// process writes its own `clg.PID` files; each step above is applied to every process of the tree (a child starts
// with its parent's counts, which the zeroing drops), and the window is the sum of all processes' dumps. Workers
// that switch users (nginx: `nobody`) must be able to write their dumps and to answer vgdb: see `controlAccess`.
//
// Every thread dumps apart (--separate-threads): the window's per-request figures are those of the threads that
// serve requests, and the others' (background) work is measured per wake-up (window.ts: threadCalls). Summed in,
// memcached's LRU maintainer made the per-request figures drift with its own pace: under callgrind it worked 100
// instructions per request in one 1-s window and 2000 a few seconds later, about 6000 per wake-up throughout.
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { analyzeCpuBody } from '../../analyze/cpu/body.ts';
import type { CacheRunResult } from '../../analyze/cpu/cache.ts';
import { buildProgram, type Disassembly } from '../../analyze/cpu/program.ts';
import type { CpuBody } from '../../analyze/cpu/schema.ts';
import { DittoError } from '../../errors.ts';
import { startTarget } from '../../measure/target.ts';
import type { TargetSpec } from '../../spec/target-spec.ts';
import { run } from '../../sys/process.ts';
import { loadOptionsFromWorkload } from '../load/options.ts';
import { runDittoLoad } from '../load/run.ts';
import { processTree } from '../procfs/read.ts';
import { type CostSummary, parseCostSummary } from './cachegrind.ts';
import { type CallgrindProfile, mergeCallgrindProfiles, parseCallgrind } from './callgrind.ts';
import {
  type CacheGeometry,
  type CacheRunPlan,
  type CacheRunRole,
  cacheRunPlan,
  geometryArgs,
} from './geometry.ts';
import { parseObjdump } from './objdump.ts';
import {
  checkDumpZeroed,
  checkWindowWork,
  effectiveIds,
  hasSettled,
  minInstructionsPerRequest,
  settleTolerance,
  splitThreads,
  sumCostTotals,
  type ThreadCalls,
  threadCalls,
} from './window.ts';

/** prepare: preload and warm-up, simulated but not counted; window: one window of load (repeated until its
 * instructions per request settle; the last is measured). */
export type LoadPhase = 'prepare' | 'window';

/** Drives load in one phase against host:port and returns the requests served. */
export type LoadDriver = (phase: LoadPhase, target: { host: string; port: number }) => Promise<number>;

export interface DittoLoadDriverOptions {
  /** Requests per second in every phase: under callgrind with cache simulation memcached serves ≈ 10k/s. */
  rate?: number;
  prepareS?: number;
  windowS?: number;
}

/** ditto-load at a fixed rate (open loop): the window is `rate × windowS` requests; only `prepare` preloads keys. */
export function dittoLoadDriver(spec: TargetSpec, options: DittoLoadDriverOptions = {}): LoadDriver {
  const rate = options.rate ?? 3000;
  const seconds: Record<LoadPhase, number> = {
    prepare: options.prepareS ?? 1.5,
    window: options.windowS ?? 1,
  };
  return async (phase, target) => {
    const result = await runDittoLoad(
      loadOptionsFromWorkload(
        spec.workload,
        { ...target, protocol: spec.protocol },
        {
          rate,
          durationS: seconds[phase],
          warmupS: 0,
          preload: phase === 'prepare' && spec.workload.preload,
        },
      ),
    );
    return result.responses;
  };
}

/** `ulimit -n` for a service under valgrind: memcached's `-c N` (default 1024) + the 12 fds valgrind keeps. */
export function valgrindFdLimit(argv: readonly string[]): number {
  const reserved = 12;
  if (basename(argv[0] ?? '') !== 'memcached') return 1024 + reserved;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const inline = /^(?:-c|--conn-limit=)(\d+)$/.exec(a);
    if (inline) return Number(inline[1]) + reserved;
    if ((a === '-c' || a === '--conn-limit') && /^\d+$/.test(argv[i + 1] ?? ''))
      return Number(argv[i + 1]) + reserved;
  }
  return 1024 + reserved;
}

export interface ValgrindRunOptions {
  load: LoadDriver;
  /** Progress lines for the CLI (stderr). */
  onProgress?: (message: string) => void;
  /** Cache runs; the first platform-A L2 run is folded into the per-instruction run. Default: cacheRunPlan(). */
  plan?: readonly CacheRunPlan[];
}

interface WindowResult {
  /** The window's dumps of the threads that serve requests, of every process, the root process first. */
  texts: string[];
  /** Event totals summed over those dumps. */
  totals: Record<string, number>;
  requests: number;
  /** The other threads' dumps and totals, and the times they went to sleep in the window (their wake-ups). */
  background: { texts: string[]; totals: Record<string, number>; wakeups: number };
  /** Windows run until this one's instructions per request settled (it is the last). */
  windows: number;
  settled: boolean;
}

const windowTag = 'window';
const prepareTag = 'prepare';
/** A service that has not settled after this many windows is measured in the last. */
const maxWindows = 6;
/** Fewer wake-ups of the background threads in a window than this tell too little about one. */
const minBackgroundWakeups = 20;

interface WindowDump {
  text: string;
  cost: CostSummary;
  calls: ThreadCalls;
}

/** The numbered dumps (`clg.PID.N`) of these processes; the file each writes at exit has no number. */
const numberedDumps = (outDir: string, pids: readonly number[]) =>
  readdirSync(outDir).filter((f) => pids.some((pid) => f.startsWith(`clg.${pid}.`)));

function removeDumps(outDir: string, pids: readonly number[]): void {
  for (const file of numberedDumps(outDir, pids)) rmSync(join(outDir, file));
}

/**
 * Each process's dumps tagged `tag` (one per thread, `clg.PID.N-TT`), read and then removed with the others it wrote
 * (only the latest window's dumps are kept, so this never rereads the earlier ones).
 */
function readWindowDumps(
  outDir: string,
  pids: readonly number[],
  tag: string,
  service: string,
): WindowDump[] {
  const trigger = `desc: Trigger: dump ${tag}\n`;
  const dumps = pids.flatMap((pid) => {
    const threads: WindowDump[] = [];
    for (const file of numberedDumps(outDir, [pid])) {
      const text = readFileSync(join(outDir, file), 'utf8');
      if (text.includes(trigger) && /^totals:/m.test(text)) {
        const cost = parseCostSummary(text, 'callgrind window dump');
        checkDumpZeroed(cost, `callgrind's window dump of process ${pid} of ${service}`);
        threads.push({ text, cost, calls: threadCalls(text) });
      }
    }
    if (threads.length > 0) return threads;
    throw new DittoError(
      'DITTO_TOOL_FAILED',
      `callgrind wrote no complete window dump for process ${pid} of ${service}`,
      {
        hint: 'the service must keep running until callgrind_control -d returns, and its processes must be able to write to the output directory',
      },
    );
  });
  removeDumps(outDir, pids);
  return dumps;
}

/**
 * Lets the processes that run as another user than ditto answer callgrind_control. vgdb talks to a process through
 * FIFOs the process created (as root, right after fork) and the process replies only to a vgdb it may signal: so
 * the process's FIFOs and shared-memory file go to its own uid/gid, and vgdb runs under that uid (keeping only
 * CAP_SYS_PTRACE, to wake a process blocked in a system call). Returns the argv prefix for the control command.
 */
function controlAccess(outDir: string, pid: number, ids: { uid: number; gid: number }): string[] {
  if (ids.uid === process.getuid?.()) return [];
  for (const file of readdirSync(outDir)) {
    if (file.startsWith('vgdb-') && file.includes(`-${pid}-by-`))
      chownSync(join(outDir, file), ids.uid, ids.gid);
  }
  return [
    'setpriv',
    `--reuid=${ids.uid}`,
    `--regid=${ids.gid}`,
    '--clear-groups',
    '--inh-caps=+sys_ptrace',
    '--ambient-caps=+sys_ptrace',
  ];
}

function processStatus(pid: number, service: string): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new DittoError('DITTO_TARGET_FAILED', `process ${pid} of ${service} exited under valgrind`, {
      hint: 'profile services whose processes outlive a load phase (no per-connection processes)',
    });
  }
}

/** callgrind_control for every process in `pids`, all at once (each call waits ≈ 0.1 s for its process to answer). */
async function callgrindControl(
  args: string[],
  pids: readonly number[],
  outDir: string,
  service: string,
): Promise<void> {
  await Promise.all(
    pids.map(async (pid) => {
      const ids = effectiveIds(processStatus(pid, service));
      const argv = [
        ...controlAccess(outDir, pid, ids),
        'callgrind_control',
        `--vgdb-prefix=${join(outDir, 'vgdb')}`,
        ...args,
        String(pid),
      ];
      const result = await run(argv[0] ?? '', argv.slice(1), { timeoutMs: 30_000 });
      // callgrind_control exits 0 even when it does not find the process.
      const error = /^(?:Error: .*|No active callgrind runs detected\.)$/m.exec(result.stdout);
      if (error) {
        throw new DittoError(
          'DITTO_TOOL_FAILED',
          `callgrind_control ${args.join(' ')} failed for process ${pid} of ${service}: ${error[0]}`,
          {
            hint: 'every process of the service must run under valgrind, i.e. be started by the service itself',
          },
        );
      }
    }),
  );
}

/** One service lifetime under callgrind; returns the window's dumps, one per process of the service. */
async function callgrindWindow(
  spec: TargetSpec,
  toolArgs: string[],
  load: LoadDriver,
): Promise<WindowResult> {
  const outDir = mkdtempSync(join(tmpdir(), 'ditto-valgrind-'));
  try {
    // Processes that drop privileges (nginx workers run as nobody) write their dumps here too; the sticky bit keeps
    // them from removing or renaming files that are not theirs (valgrind creates every file with mode 0600).
    chmodSync(outDir, 0o1777);
    const fdLimit = valgrindFdLimit(spec.command);
    const target = await startTarget(spec, {
      wrap: [
        'sh',
        '-c',
        'ulimit -n "$0" && exec "$@"',
        String(fdLimit),
        'valgrind',
        '--tool=callgrind',
        // Also makes a forked child open its own vgdb FIFOs at once (valgrind does that only when tracing children).
        '--trace-children=yes',
        // A dump per thread: the background threads' work is not the requests' (threadCalls tells them apart).
        '--separate-threads=yes',
        `--vgdb-prefix=${join(outDir, 'vgdb')}`,
        ...toolArgs,
        `--callgrind-out-file=${outDir}/clg.%p`,
      ],
    });
    const control = (args: string[], pids: readonly number[]) =>
      callgrindControl(args, pids, outDir, spec.name);
    const tree = () => processTree(target.process.pid);
    const endpoint = { host: target.host, port: target.port };
    let window:
      | {
          serving: WindowDump[];
          background: WindowDump[];
          processes: number;
          totals: Record<string, number>;
          requests: number;
          windows: number;
          settled: boolean;
        }
      | undefined;
    try {
      await load('prepare', endpoint);
      let pids = tree();
      // A dump zeroes the counters as `-z` does, and also the costs of the PLT stubs callgrind charges to their
      // callers (--skip-plt), which `-z` leaves: after `-z`, a window's cost lines still held every PLT jump since
      // the start (memcached: 260 indirect branches per request where the dump's own summary counted 55; Ir +5%).
      await control(['-d', prepareTag], pids);
      removeDumps(outDir, pids);
      let previous: number | undefined;
      for (let n = 1; !window; n++) {
        const requests = await load('window', endpoint);
        const now = tree();
        const gone = pids.filter((pid) => !now.includes(pid));
        if (gone.length > 0) {
          throw new DittoError(
            'DITTO_TARGET_FAILED',
            `process ${gone.join(', ')} of ${spec.name} exited during the valgrind window: its work cannot be dumped`,
            { hint: 'profile services whose processes outlive a load phase (no per-connection processes)' },
          );
        }
        pids = now;
        const tag = `${windowTag} ${n}`;
        await control(['-d', tag], pids);
        if (requests <= 0) {
          throw new DittoError(
            'DITTO_LOAD_FAILED',
            `no request was served in the valgrind window of ${spec.name}`,
            {
              hint: 'check that the load client reaches the service (protocol, port)',
            },
          );
        }
        const { serving, background } = splitThreads(readWindowDumps(outDir, pids, tag, spec.name));
        const totals = sumCostTotals(serving.map((d) => d.cost.totals));
        const perRequest = (totals.Ir ?? 0) / requests;
        const settled = hasSettled(previous, perRequest);
        if (settled || n === maxWindows)
          window = { serving, background, processes: pids.length, totals, requests, windows: n, settled };
        previous = perRequest;
      }
    } finally {
      await target.stop();
    }
    const { serving, background, processes, totals, requests } = window;
    checkWindowWork(spec.name, { instructions: totals.Ir ?? 0, requests, processes });
    return {
      texts: serving.map((d) => d.text),
      totals,
      requests,
      background: {
        texts: background.map((d) => d.text),
        totals: sumCostTotals(background.map((d) => d.cost.totals)),
        wakeups: background.reduce((n, d) => n + d.calls.waits, 0),
      },
      windows: window.windows,
      settled: window.settled,
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

/** objdump of each object the window ran, over the address range it used. Objects that fail are left out. */
async function disassemble(profile: CallgrindProfile): Promise<Disassembly> {
  const ranges = new Map<number, [number, number]>();
  for (const i of profile.instructions) {
    const r = ranges.get(i.object);
    ranges.set(i.object, r ? [Math.min(r[0], i.address), Math.max(r[1], i.address)] : [i.address, i.address]);
  }
  const out = new Map<number, ReturnType<typeof parseObjdump>>();
  for (const [object, [lo, hi]] of ranges) {
    const path = profile.objects[object] ?? '';
    if (!path.startsWith('/')) continue; // ??? (vDSO, trampolines)
    const result = await run(
      'objdump',
      [
        '-d',
        '--no-show-raw-insn',
        '-M',
        'intel',
        `--start-address=0x${lo.toString(16)}`,
        `--stop-address=0x${(hi + 16).toString(16)}`,
        path,
      ],
      { timeoutMs: 120_000, allowFailure: true },
    );
    if (result.exitCode === 0) out.set(object, parseObjdump(result.stdout));
  }
  return out;
}

const commonArgs = ['--cache-sim=yes', '--branch-sim=yes', '--compress-strings=no', '--compress-pos=no'];

export interface CpuBodyRun {
  body: CpuBody;
  /** What the threads that serve no request did per wake-up (threadCalls), when it can be told (backgroundBody). */
  background: CpuBody | null;
  /** Wall time of each step in ms (instructions, disassembly, caches, analysis). */
  timings: Record<string, number>;
  valgrindVersion: string;
  /** Event totals of every cache window (counts only), for debugging and re-analysis. */
  cacheRuns: (CacheRunResult & { role: CacheRunRole })[];
}

/**
 * Profiles the CPU body of `spec`: one per-instruction callgrind window (also the platform-A L2 cache run), then one
 * cache-simulation window per remaining geometry of the plan. ≈ 3 s per run for memcached.
 */
export async function profileCpuBody(spec: TargetSpec, options: ValgrindRunOptions): Promise<CpuBodyRun> {
  const progress = options.onProgress ?? (() => {});
  const version = (await run('valgrind', ['--version'], { timeoutMs: 10_000 })).stdout.trim();
  await run('callgrind_control', ['--version'], { timeoutMs: 10_000 });
  const plan = options.plan ?? cacheRunPlan();
  const mainIndex = plan.findIndex((p) => p.role.kind === 'platform' && p.role.level === 'l2');
  const main = plan[mainIndex] ?? plan[0];
  if (!main) throw new DittoError('DITTO_USAGE', 'the cache run plan is empty');
  const timings: Record<string, number> = {};
  const timed = async <T>(step: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[step] = Math.round((timings[step] ?? 0) + performance.now() - t0);
    }
  };

  progress(`callgrind: per-instruction window of ${spec.name}`);
  const window = await timed('instructions', () =>
    callgrindWindow(
      spec,
      ['--dump-instr=yes', '--collect-jumps=yes', ...commonArgs, ...geometryArgs(main.geometry)],
      options.load,
    ),
  );
  progress(settling(window));
  const profile = mergeCallgrindProfiles(window.texts.map((text) => parseCallgrind(text)));
  const disassembly = await timed('disassembly', () => disassemble(profile));
  const cacheRuns: (CacheRunResult & { role: CacheRunRole })[] = [
    { role: main.role, geometry: main.geometry, totals: window.totals, requests: window.requests },
  ];
  // The background threads' windows, each a wake-up.
  const backgroundRuns: (CacheRunResult & { role: CacheRunRole })[] = [
    { role: main.role, geometry: main.geometry, ...wakeupTotals(window) },
  ];
  const rest = plan.filter((_, i) => i !== mainIndex);
  for (const [n, p] of rest.entries()) {
    progress(`callgrind: cache window ${n + 1}/${rest.length} (${describe(p.geometry)})`);
    const w = await timed('caches', () =>
      callgrindWindow(spec, [...commonArgs, ...geometryArgs(p.geometry)], options.load),
    );
    progress(settling(w));
    cacheRuns.push({ role: p.role, geometry: p.geometry, totals: w.totals, requests: w.requests });
    backgroundRuns.push({ role: p.role, geometry: p.geometry, ...wakeupTotals(w) });
  }
  const body = await timed('analysis', async () =>
    analyzeCpuBody({
      program: buildProgram(profile, disassembly),
      requests: window.requests,
      instructions: window.totals.Ir ?? 0,
      cacheRuns,
    }),
  );
  const background = await timed('analysis', () => backgroundBody(window, backgroundRuns));
  return { body, background, timings, valgrindVersion: version, cacheRuns };
}

/** A window's background threads as a cache run whose requests are their wake-ups. */
const wakeupTotals = (w: WindowResult) => ({ totals: w.background.totals, requests: w.background.wakeups });

/**
 * The background threads' work per wake-up, or null when the per-instruction window saw them wake too rarely, or do
 * too little when they did, to tell what a wake-up does. The cache windows count as far as the threads woke in them
 * (a miss ratio per window, weighted by its accesses: cache.ts); early in a run memcached's LRU maintainer wakes
 * a few dozen times a second under callgrind.
 */
async function backgroundBody(
  window: WindowResult,
  runs: (CacheRunResult & { role: CacheRunRole })[],
): Promise<CpuBody | null> {
  const { texts, totals, wakeups } = window.background;
  if (texts.length === 0 || wakeups < minBackgroundWakeups) return null;
  if ((totals.Ir ?? 0) < minInstructionsPerRequest * wakeups) return null;
  const profile = mergeCallgrindProfiles(texts.map((text) => parseCallgrind(text)));
  return analyzeCpuBody({
    program: buildProgram(profile, await disassemble(profile)),
    requests: wakeups,
    instructions: totals.Ir ?? 0,
    cacheRuns: runs.filter((r) => r.requests > 0),
  });
}

function settling(w: WindowResult): string {
  return w.settled
    ? `callgrind: measured window ${w.windows} (instructions per request within ${settleTolerance * 100}% of the window before)`
    : `callgrind: instructions per request still moved by more than ${settleTolerance * 100}% after ${w.windows} windows: measured the last`;
}

function describe(g: CacheGeometry): string {
  const size = (b: number) => (b >= 1 << 20 ? `${b / (1 << 20)}M` : b >= 1024 ? `${b / 1024}K` : `${b}B`);
  return `L1 ${size(g.i1.sizeBytes)}, LL ${size(g.ll.sizeBytes)}`;
}
