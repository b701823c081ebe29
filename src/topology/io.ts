// topology.json on disk: written atomically, validated when read.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { type Topology, topologySchema } from '../artifacts/topology.ts';
import { DittoError } from '../errors.ts';

export function writeTopology(path: string, topology: Topology): void {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, `${JSON.stringify(topology, null, 2)}\n`);
  renameSync(temp, path);
}

export function readTopology(path: string): Topology {
  if (!existsSync(path)) throw new DittoError('DITTO_FILE_NOT_FOUND', `${path}: no such topology file`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new DittoError('DITTO_ARTIFACT_INVALID', `${path}: not JSON (${(error as Error).message})`);
  }
  const parsed = topologySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(root)';
    throw new DittoError('DITTO_ARTIFACT_INVALID', `${path}: field ${field}: ${issue?.message}`, {
      hint: 'regenerate it with ditto topology',
    });
  }
  return parsed.data;
}
