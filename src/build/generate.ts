// `ditto generate`: profile (+ knobs) → plan → emitted sources → a clone directory on disk.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CloneManifest } from '../artifacts/clone-manifest.ts';
import type { ClonePlan } from '../artifacts/clone-plan.ts';
import type { Profile } from '../artifacts/profile.ts';
import { emitBodies } from '../emit/body/emit.ts';
import type { GeneratedFile } from '../emit/generated-file.ts';
import { emitCloneBuild, emitRuntimeConfig, runtimeSourceFiles } from '../emit/runtime/index.ts';
import { type Knobs, planClone } from '../plan/plan.ts';

/** Port a clone listens on unless `ditto run --port` says otherwise. */
export const defaultClonePort = 21_000;

export function cloneManifest(profile: Profile): CloneManifest {
  return {
    schemaVersion: 1,
    services: [
      {
        name: 'service',
        argv: ['./bin/clone', '--host', '{host}', '--port', '{port}'],
        port: defaultClonePort,
        protocol: profile.protocol,
      },
    ],
    profile: 'profile.json',
    plan: 'plan.json',
  };
}

/** Every file of a clone directory (pure but for the runtime sources read from the package). */
export function cloneFiles(profile: Profile, plan: ClonePlan): GeneratedFile[] {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  return [
    ...runtimeSourceFiles(),
    ...emitRuntimeConfig(plan),
    ...emitBodies(plan),
    ...emitCloneBuild(),
    { path: 'profile.json', content: json(profile) },
    { path: 'plan.json', content: json(plan) },
    { path: 'clone.json', content: json(cloneManifest(profile)) },
  ];
}

export function writeFiles(dir: string, files: readonly GeneratedFile[]): void {
  for (const file of files) {
    const path = join(dir, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.content);
  }
}

export function generateClone(profile: Profile, dir: string, knobs: Knobs = {}, seed = 1): ClonePlan {
  const plan = planClone(profile, knobs, seed);
  writeFiles(dir, cloneFiles(profile, plan));
  return plan;
}
