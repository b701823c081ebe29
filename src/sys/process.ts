// The one place that spawns processes. Everything else asks this module to run a tool or start a service.
import { execa } from 'execa';
import { DittoError } from '../errors.ts';
import { describeExit } from './exit.ts';
import { installHint } from './tools.ts';

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Return the result of a non-zero exit instead of throwing. */
  allowFailure?: boolean;
}

export interface RunResult {
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

const stderrTailLines = 8;

/** Tools started by run() that have not finished: stopAll() ends them too (perf flushes on SIGTERM). */
const runningTools = new Set<{ kill(signal?: NodeJS.Signals): boolean }>();

export function tail(text: string, lines = stderrTailLines): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function missingTool(file: string): DittoError {
  return new DittoError('DITTO_TOOL_MISSING', `${file} not found`, { hint: installHint(file) });
}

/** Runs a command to completion and returns its output. Throws a DittoError on a missing tool, timeout or failure. */
export async function run(
  file: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const started = performance.now();
  const subprocess = execa(file, args, {
    cwd: options.cwd,
    env: options.env,
    input: options.input,
    timeout: options.timeoutMs,
    reject: false,
    stripFinalNewline: false,
    maxBuffer: 512 * 1024 * 1024,
    forceKillAfterDelay: 2000,
  });
  runningTools.add(subprocess);
  const result = await subprocess.finally(() => runningTools.delete(subprocess));
  const outcome: RunResult = {
    command: commandLine(file, args),
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    durationMs: performance.now() - started,
  };
  if (result.code === 'ENOENT' && result.exitCode === undefined && !result.signal) throw missingTool(file);
  if (outcome.timedOut) {
    throw new DittoError('DITTO_TIMEOUT', `${outcome.command} did not finish within ${options.timeoutMs} ms`);
  }
  if (!options.allowFailure && (outcome.exitCode !== 0 || outcome.signal)) {
    const why = describeExit(outcome.exitCode, outcome.signal);
    const stderr = tail(outcome.stderr);
    throw new DittoError('DITTO_TOOL_FAILED', `${outcome.command} ${why}${stderr ? `: ${stderr}` : ''}`);
  }
  return outcome;
}

export interface ExitInfo {
  exitCode: number | undefined;
  signal: string | undefined;
  /** "exited with code 1", "killed by SIGSEGV (segmentation fault)". */
  description: string;
}

export interface StartOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Shown in messages ("memcached exited ..."). Defaults to the file name. */
  name?: string;
  /** Keep stdout in memory (for tools that print their result); otherwise its tail joins stderr's. */
  captureStdout?: boolean;
}

const liveProcesses = new Set<RunningProcess>();

/** A long-running child in its own process group, so that stopping it also stops what it started. */
export class RunningProcess {
  readonly pid: number;
  readonly name: string;
  readonly command: string;
  /** Resolves when the process has exited; never rejects. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  /** The last 16 KiB of stderr, and of stdout when stdout is not captured (services often log there). */
  private outputBuffer = '';
  private stdoutChunks: string[] = [];

  constructor(file: string, args: readonly string[], options: StartOptions) {
    this.name = options.name ?? file;
    this.command = commandLine(file, args);
    const child = execa(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      reject: false,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      cleanup: false,
    });
    const keepTail = (chunk: string) => {
      this.outputBuffer = (this.outputBuffer + chunk).slice(-16384);
    };
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', keepTail);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on(
      'data',
      options.captureStdout ? (chunk: string) => this.stdoutChunks.push(chunk) : keepTail,
    );
    this.exited = child.then((result) => {
      const missing = result.code === 'ENOENT' && result.exitCode === undefined && !result.signal;
      this.exitInfo = {
        exitCode: result.exitCode,
        signal: result.signal,
        description: missing
          ? `could not start (${file} not found)`
          : describeExit(result.exitCode, result.signal),
      };
      liveProcesses.delete(this);
      return this.exitInfo;
    });
    if (child.pid === undefined) {
      // Spawn failed synchronously (missing binary): exited resolves with the reason.
      this.pid = -1;
      return;
    }
    this.pid = child.pid;
    liveProcesses.add(this);
  }

  get running(): boolean {
    return this.exitInfo === undefined && this.pid > 0;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  outputTail(lines = stderrTailLines): string {
    return tail(this.outputBuffer, lines);
  }

  stdout(): string {
    return this.stdoutChunks.join('');
  }

  /** Sends a signal to the whole process group. */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // Already gone.
    }
  }

  /** Asks the group to stop with `signal`, waits `graceMs` (so a profiler can flush), then kills it. */
  async stop(options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    this.signal(options.signal ?? 'SIGTERM');
    const graceMs = options.graceMs ?? 3000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first === 'timeout') this.signal('SIGKILL');
    return this.exited;
  }

  /** A DittoError describing an unexpected exit, with the stderr tail. */
  failure(code: 'DITTO_TARGET_FAILED' | 'DITTO_TOOL_FAILED', what: string): DittoError {
    const why = this.exitInfo?.description ?? 'is not running';
    const output = this.outputTail();
    const hint = this.exitInfo?.description.startsWith('could not start')
      ? installHint(this.name)
      : undefined;
    return new DittoError(code, `${what}: ${this.name} ${why}${output ? `; output: ${output}` : ''}`, {
      ...(hint ? { hint } : {}),
    });
  }
}

export function start(file: string, args: readonly string[], options: StartOptions = {}): RunningProcess {
  return new RunningProcess(file, args, options);
}

/** Stops every process this module started that still runs (used on SIGINT and on fatal errors). */
export async function stopAll(graceMs = 2000): Promise<void> {
  for (const tool of runningTools) tool.kill('SIGTERM');
  await Promise.all([...liveProcesses].map((p) => p.stop({ graceMs })));
}

export function liveProcessCount(): number {
  return liveProcesses.size;
}
