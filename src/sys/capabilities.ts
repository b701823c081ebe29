// What this machine can do for profiling, and which fallback ditto uses where a capability is missing.
// `ditto doctor` prints this; the profiling stages call the same detection.
import { existsSync, readdirSync } from 'node:fs';
import { release } from 'node:os';
import { DittoError } from '../errors.ts';
import { run } from './process.ts';
import { installHint } from './tools.ts';

export interface Capability {
  id: string;
  title: string;
  available: boolean;
  /** What was found (a version, an error message). */
  detail: string;
  /** What ditto uses instead when the capability is missing. */
  fallback?: string;
  /** How to get it. */
  hint?: string;
}

export interface Capabilities {
  kernel: string;
  root: boolean;
  capabilities: Capability[];
}

const tracefsPath = '/sys/kernel/tracing';
const debugfsPath = '/sys/kernel/debug';

async function firstLine(file: string, args: string[]): Promise<string | undefined> {
  try {
    const result = await run(file, args, { timeoutMs: 10_000, allowFailure: true });
    const text = (result.stdout || result.stderr).trim();
    return result.exitCode === 0 ? (text.split('\n')[0] ?? '') : undefined;
  } catch (error) {
    if (error instanceof DittoError && error.code === 'DITTO_TOOL_MISSING') return undefined;
    throw error;
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Mounts tracefs (and debugfs, where bpftrace looks for it) when they are missing and we are root. */
export async function ensureTracefs(): Promise<Capability> {
  const base = { id: 'tracefs', title: 'tracefs mounted' };
  if (existsSync(`${tracefsPath}/events`)) return { ...base, available: true, detail: tracefsPath };
  if (!isRoot()) {
    return {
      ...base,
      available: false,
      detail: 'not mounted',
      hint: 'run as root, or: mount -t tracefs nodev /sys/kernel/tracing',
    };
  }
  try {
    await run('mount', ['-t', 'tracefs', 'nodev', tracefsPath], { timeoutMs: 10_000 });
    if (existsSync(debugfsPath) && readdirSync(debugfsPath).length === 0) {
      await run('mount', ['-t', 'debugfs', 'nodev', debugfsPath], { timeoutMs: 10_000, allowFailure: true });
    }
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ...base, available: false, detail, hint: 'mount -t tracefs nodev /sys/kernel/tracing' };
  }
  return {
    ...base,
    available: existsSync(`${tracefsPath}/events`),
    detail: `mounted at ${tracefsPath} by ditto`,
  };
}

async function bpftraceTracepoints(tracefs: Capability): Promise<Capability> {
  const base = {
    id: 'bpftrace',
    title: 'eBPF tracepoints (bpftrace)',
    fallback: 'strace (slow, qualitative only)',
  };
  const version = await firstLine('bpftrace', ['--version']);
  if (!version)
    return { ...base, available: false, detail: 'bpftrace not found', hint: installHint('bpftrace') };
  if (!tracefs.available) return { ...base, available: false, detail: `${version}; tracefs missing` };
  const probe = 'tracepoint:syscalls:sys_enter_getppid { @n = count(); } interval:ms:100 { exit(); }';
  const result = await run('bpftrace', ['-e', probe], { timeoutMs: 30_000, allowFailure: true });
  // bpftrace prints a harmless RLIMIT_MEMLOCK "ERROR" when CAP_SYS_RESOURCE is missing; only the exit code counts.
  if (result.exitCode === 0)
    return { ...base, available: true, detail: `${version}; syscall tracepoints attach` };
  const why =
    result.stderr.split('\n').filter((l) => !l.includes('RLIMIT_MEMLOCK') && l.trim())[0] ?? 'failed';
  return {
    ...base,
    available: false,
    detail: `${version}; ${why}`,
    hint: 'run as root with CAP_BPF / CAP_SYS_ADMIN',
  };
}

function kernelProbes(): Capability[] {
  const kprobes =
    existsSync(`${tracefsPath}/kprobe_events`) || existsSync('/sys/bus/event_source/devices/kprobe');
  const uprobes = existsSync('/sys/bus/event_source/devices/uprobe');
  return [
    {
      id: 'kprobes',
      title: 'kprobes',
      available: kprobes,
      detail: kprobes ? 'kprobe_events present' : 'no kprobe_events and no kprobe PMU',
      fallback: 'tracepoints only (ditto needs no kprobe)',
    },
    {
      id: 'uprobes',
      title: 'uprobes',
      available: uprobes,
      detail: uprobes ? 'uprobe PMU present' : 'no uprobe PMU',
      fallback: 'request counts from the load generator',
    },
  ];
}

let softwareEvents: Promise<{ works: boolean; detail: string }> | undefined;

/** Whether perf counts software events here (cpu-clock sampling needs nothing more); asked once per process. */
export function perfSoftwareEvents(): Promise<{ works: boolean; detail: string }> {
  softwareEvents ??= run('perf', ['stat', '-x,', '-e', 'task-clock', 'true'], {
    timeoutMs: 20_000,
    allowFailure: true,
  }).then(
    (r) => ({
      works: r.exitCode === 0 && !r.stderr.includes('<not supported>'),
      detail: r.stderr.trim().split('\n')[0] || 'failed',
    }),
    (error: Error) => ({ works: false, detail: error.message }),
  );
  return softwareEvents;
}

async function perfCapabilities(): Promise<Capability[]> {
  const version = await firstLine('perf', ['--version']);
  if (!version) {
    return [
      {
        id: 'perf',
        title: 'perf (software events, call stacks)',
        available: false,
        detail: 'perf not found',
        hint: installHint('perf'),
        fallback: '/proc accounting; no call stacks',
      },
      {
        id: 'perf-hw',
        title: 'hardware performance counters',
        available: false,
        detail: 'perf not found',
        fallback: 'valgrind simulation (cachegrind)',
      },
    ];
  }
  const sw = await perfSoftwareEvents();
  const hw = await run('perf', ['stat', '-x,', '-e', 'instructions,cycles', 'true'], {
    timeoutMs: 20_000,
    allowFailure: true,
  });
  const hwOk =
    hw.exitCode === 0 && !hw.stderr.includes('<not supported>') && !hw.stderr.includes('<not counted>');
  return [
    {
      id: 'perf',
      title: 'perf (software events, call stacks)',
      available: sw.works,
      detail: sw.works ? `${version}; software events work` : `${version}; ${sw.detail}`,
      fallback: '/proc accounting; no call stacks',
    },
    {
      id: 'perf-hw',
      title: 'hardware performance counters',
      available: hwOk,
      detail: hwOk ? 'instructions and cycles count' : 'perf stat -e instructions: not supported',
      fallback: 'valgrind simulation (cachegrind with explicit cache geometry)',
    },
  ];
}

async function toolCapability(
  id: string,
  title: string,
  file: string,
  args: string[],
  fallback?: string,
): Promise<Capability> {
  const version = await firstLine(file, args);
  return {
    id,
    title,
    available: version !== undefined,
    detail: version ?? `${file} not found`,
    ...(fallback ? { fallback } : {}),
    ...(version === undefined ? { hint: installHint(file) } : {}),
  };
}

export async function detectCapabilities(options: { mountTracefs?: boolean } = {}): Promise<Capabilities> {
  const tracefs =
    options.mountTracefs === false
      ? {
          id: 'tracefs',
          title: 'tracefs mounted',
          available: existsSync(`${tracefsPath}/events`),
          detail: tracefsPath,
        }
      : await ensureTracefs();
  const capabilities: Capability[] = [
    tracefs,
    await bpftraceTracepoints(tracefs),
    ...kernelProbes(),
    ...(await perfCapabilities()),
    await toolCapability(
      'valgrind',
      'valgrind (callgrind, cachegrind)',
      'valgrind',
      ['--version'],
      'no instruction mix or cache simulation',
    ),
    await toolCapability('strace', 'strace', 'strace', ['-V'], 'no syscall fallback when eBPF is missing'),
    await toolCapability('gcc', 'gcc (builds clones and the load generator)', 'gcc', ['--version']),
    await toolCapability('objdump', 'objdump (instruction decoding)', 'objdump', ['--version']),
  ];
  return { kernel: release(), root: isRoot(), capabilities };
}
