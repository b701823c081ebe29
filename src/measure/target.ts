// Starts a target service from its spec on a free port and stops it again, leaving nothing behind.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DittoError } from '../errors.ts';
import { substitute } from '../spec/placeholders.ts';
import type { TargetSpec } from '../spec/target-spec.ts';
import { freePort, waitForPort } from '../sys/ports.ts';
import { type ExitInfo, type RunningProcess, start } from '../sys/process.ts';

export interface RunningTarget {
  spec: TargetSpec;
  host: string;
  port: number;
  /** The private scratch directory (`{dir}`), removed on stop. */
  dir: string;
  process: RunningProcess;
  stop(): Promise<ExitInfo>;
}

/** Deterministic filler for sized files: content that means nothing. */
function filler(size: number): Buffer {
  const pattern = Buffer.from('ditto-filler-');
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = pattern[i % pattern.length] ?? 0x2e;
  return out;
}

function writeSpecFiles(spec: TargetSpec, dir: string, values: Record<string, string | number>): void {
  spec.files.forEach((file, index) => {
    const path = resolve(dir, file.path);
    if (!path.startsWith(`${dir}/`)) {
      throw new DittoError(
        'DITTO_SPEC_INVALID',
        `files[${index}].path: ${file.path} leaves the scratch directory`,
      );
    }
    mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    const content =
      'content' in file ? substitute(file.content, values, `files[${index}].content`) : filler(file.size);
    writeFileSync(path, content, { mode: 0o644 });
  });
}

/** `wrap` is an argv prefix the service is started under (e.g. `sh -c 'ulimit …; exec "$@"' … valgrind …`). */
export async function startTarget(
  spec: TargetSpec,
  options: { port?: number; wrap?: readonly string[] } = {},
): Promise<RunningTarget> {
  const host = spec.host;
  const port = options.port ?? (await freePort(host));
  const dir = mkdtempSync(join(tmpdir(), `ditto-${spec.name}-`));
  // Services that drop privileges (nginx workers run as nobody) must still read their files.
  chmodSync(dir, 0o755);
  const values = { host, port, dir };
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let service: RunningProcess | undefined;
  try {
    writeSpecFiles(spec, dir, values);
    const argv = [
      ...(options.wrap ?? []),
      ...spec.command.map((arg, i) => substitute(arg, values, `command[${i}]`)),
    ];
    service = start(argv[0] ?? '', argv.slice(1), { name: spec.name, cwd: dir });
    await waitForPort(host, port, {
      process: service,
      timeoutMs: spec.ready.timeoutS * 1000,
      what: spec.name,
    });
  } catch (error) {
    await service?.stop({ graceMs: 1000 });
    removeDir();
    throw error;
  }
  const running = service;
  return {
    spec,
    host,
    port,
    dir,
    process: running,
    async stop() {
      const exit = await running.stop({ signal: spec.stop.signal, graceMs: spec.stop.graceS * 1000 });
      removeDir();
      return exit;
    },
  };
}
