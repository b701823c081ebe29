// Runs a clone's service as a local process, from clone.json.
import { resolve } from 'node:path';
import { type CloneManifest, cloneManifestSchema } from '../artifacts/clone-manifest.ts';
import { readArtifact } from '../artifacts/read.ts';
import { DittoError } from '../errors.ts';
import { substitute } from '../spec/placeholders.ts';
import type { TargetSpec } from '../spec/target-spec.ts';
import { freePort, waitForPort } from '../sys/ports.ts';
import { type RunningProcess, start } from '../sys/process.ts';

export interface RunningClone {
  manifest: CloneManifest;
  host: string;
  port: number;
  process: RunningProcess;
  stop(): Promise<void>;
}

export function readCloneManifest(dir: string): CloneManifest {
  return readArtifact(resolve(dir, 'clone.json'), cloneManifestSchema, 'clone.json');
}

/** The argv of a clone service with host and port filled in (for wrapping with valgrind, perf, strace...). */
export function cloneArgv(
  manifest: CloneManifest,
  service: string | undefined,
  host: string,
  port: number,
): string[] {
  const s = service ? manifest.services.find((x) => x.name === service) : manifest.services[0];
  if (!s) {
    throw new DittoError('DITTO_USAGE', `no service ${service} in clone.json`, {
      hint: `services: ${manifest.services.map((x) => x.name).join(', ')}`,
    });
  }
  return s.argv.map((a, i) => substitute(a, { host, port }, `clone.json services.${s.name}.argv[${i}]`));
}

export async function startClone(
  dir: string,
  options: { service?: string; port?: number; wrap?: readonly string[] } = {},
): Promise<RunningClone> {
  const manifest = readCloneManifest(dir);
  const host = '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const argv = [...(options.wrap ?? []), ...cloneArgv(manifest, options.service, host, port)];
  const service = start(argv[0] ?? '', argv.slice(1), { name: 'clone', cwd: resolve(dir) });
  await waitForPort(host, port, { process: service, timeoutMs: 30_000, what: 'the clone' });
  return {
    manifest,
    host,
    port,
    process: service,
    async stop() {
      await service.stop({ signal: 'SIGTERM', graceMs: 5000 });
    },
  };
}

/**
 * A clone as a target spec, so it is started, loaded and measured exactly like the original: the clone's argv
 * (absolute), the original's protocol and workload.
 */
export function cloneTargetSpec(dir: string, original: TargetSpec): TargetSpec {
  const manifest = readCloneManifest(dir);
  const service = manifest.services[0];
  if (!service)
    throw new DittoError('DITTO_ARTIFACT_INVALID', `${resolve(dir, 'clone.json')}: services: empty`);
  const [program = '', ...args] = service.argv;
  return {
    ...original,
    name: 'clone',
    command: [resolve(dir, program), ...args],
    protocol: service.protocol,
    files: [],
    stop: { signal: 'SIGTERM', graceS: 5 },
  };
}
