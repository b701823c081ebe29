// measureService on real memcached, untraced and unsimulated (the tuner's native measurement): the CPU time of
// its background threads (the LRU maintainer wakes every few ms, the idle helpers never run) is measured apart from
// the worker threads', by the syscalls each thread was seen blocked in.
import assert from 'node:assert/strict';
import test from 'node:test';
import { measureService } from '../../src/measure/measure.ts';
import { packagePath } from '../../src/package-root.ts';
import { loadTargetSpec } from '../../src/spec/load.ts';

test("memcached's background threads: their CPU time is measured apart, a part of the total", async () => {
  const spec = loadTargetSpec(packagePath('examples', 'memcached.yaml'));
  const m = await measureService(spec, 'original', {
    loads: [2000],
    durationS: 2,
    repeats: 1,
    platforms: ['A'],
    traced: false,
    simulated: false,
    onProgress: () => {},
  });
  const cpu = m.perRequest;
  assert.ok(cpu);
  const total = cpu.cpuUserUs + cpu.cpuSystemUs;
  const background = cpu.cpuBackgroundUs ?? 0;
  // The workers (blocked in epoll_wait) serve the requests: most of the time is theirs.
  assert.ok(
    background > 0 && background < 0.6 * total,
    `background ${background} of ${total} µs per request`,
  );
});
