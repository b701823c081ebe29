// Benchmark of `ditto profile`: wall time of each phase and of the whole profile (goal for memcached: ≤ 5 min),
// and what each phase cost the service: its median latency under the phase's tool vs the untraced baseline at the
// same rate, measured in the same run. BENCH_TARGETS=memcached,redis,redis-aof,nginx profiles more targets.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { phaseNames } from '../../src/artifacts/profile.ts';
import { packagePath } from '../../src/package-root.ts';
import { profileTarget } from '../../src/profile/run.ts';
import { formatTable } from '../../src/report/table.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';

const targets = (process.env.BENCH_TARGETS ?? 'memcached').split(',');
const dir = mkdtempSync(join(tmpdir(), 'ditto-bench-profile-'));

for (const name of targets) {
  const spec = loadTargetSpec(packagePath('examples', `${name}.yaml`));
  const started = performance.now();
  const profile = await profileTarget(spec, {
    out: join(dir, `${name}.json`),
    resume: false,
    windowS: 3,
    phases: phaseNames,
    quickCache: false,
    onProgress: () => {},
  });
  const total = (performance.now() - started) / 1000;
  const baselineP50 = profile.observed?.load.p50Us ?? null;
  const rows = profile.provenance.phases.map((p) => {
    const p50s = p.loads.map((l) => l.p50Us).filter((v): v is number => v !== null);
    const p50 = p50s.length ? p50s.reduce((a, b) => a + b, 0) / p50s.length : null;
    return [
      p.name,
      p.status,
      p.seconds.toFixed(1),
      p50 === null ? '-' : p50.toFixed(0),
      p50 === null || baselineP50 === null ? '-' : `${(p50 / baselineP50).toFixed(2)}x`,
    ];
  });
  console.log(`${name}: whole profile ${total.toFixed(1)} s (goal for memcached: <= 300 s)`);
  console.log(formatTable(['phase', 'status', 'seconds', 'p50 us under it', 'vs baseline p50'], rows));
}
