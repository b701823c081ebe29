// Recorded skeleton traces (real memcached, redis, redis-aof and nginx runs on this machine type; thread names
// replaced by placeholders) and the helpers the tests share.
import { readFileSync } from 'node:fs';
import { parseSkeletonTrace, type SkeletonTrace } from '../../../../src/collect/bpftrace/parse.ts';
import type { ServiceThreads } from '../../../../src/collect/procfs/read.ts';

export const recorded = [
  'memcached-get',
  'memcached-set',
  'redis-get',
  'redis-set',
  'redis-aof-set',
  'nginx-get',
] as const;
export type Recorded = (typeof recorded)[number];

const dir = new URL('../../../fixtures/bpftrace/', import.meta.url);

export function recordedOutput(name: Recorded): string {
  return readFileSync(new URL(`${name}.jsonl`, dir), 'utf8');
}

export function recordedRun(name: Recorded): {
  trace: SkeletonTrace;
  service: ServiceThreads;
  requests: number;
} {
  const meta = JSON.parse(readFileSync(new URL(`${name}.service.json`, dir), 'utf8')) as {
    requests: number;
    service: ServiceThreads;
  };
  return { trace: parseSkeletonTrace(recordedOutput(name)), ...meta };
}
