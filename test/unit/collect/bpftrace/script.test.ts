import assert from 'node:assert/strict';
import test from 'node:test';
import { readyMarker, skeletonScript } from '../../../../src/collect/bpftrace/script.ts';

test('the script seeds every thread, follows forks and aggregates in maps only', () => {
  const script = skeletonScript({ tids: [100, 101, 205], maxSeconds: 12.5 });
  for (const tid of [100, 101, 205]) assert.match(script, new RegExp(`@track\\[${tid}\\] = 1;`));
  assert.match(
    script,
    /sched_process_fork \/@track\[args->parent_pid\]\/ \{\s+@track\[args->child_pid\] = 1;/,
  );
  assert.match(
    script,
    /raw_syscalls:sys_enter \/@track\[tid\]\/ \{ @sc\[pid, tid, args->id\] = count\(\); \}/,
  );
  for (const call of ['read', 'write', 'pread64', 'pwrite64', 'readv', 'writev', 'sendmsg', 'recvmsg']) {
    assert.ok(script.includes(`tracepoint:syscalls:sys_enter_${call}`), call);
    assert.ok(script.includes(`tracepoint:syscalls:sys_exit_${call}`), call);
  }
  for (const call of ['sendto', 'recvfrom', 'sendfile64', 'epoll_wait', 'accept4']) {
    assert.ok(script.includes(`tracepoint:syscalls:sys_exit_${call}`), call);
  }
  assert.match(script, /sys_enter_futex/);
  assert.match(script, /sched:sched_switch/);
  assert.match(script, /sched:sched_waking/);
  // The only printf is the one-off marker; per-event output would slow the service down.
  assert.equal(script.match(/printf\(/g)?.length, 1);
  assert.ok(script.includes(`printf("${readyMarker}\\n")`));
  assert.match(script, /interval:s:13 \{ exit\(\); \}/);
});

test('fd kinds come from the inode mode, with pseudo file systems as "other"', () => {
  const script = skeletonScript({ tids: [1], maxSeconds: 5 });
  assert.match(script, /\$m == 0xc000 \? 1 : \(\(\$m == 0x8000 && \$s != 0x9fa0/);
});

test('a script without threads is refused', () => {
  assert.throws(() => skeletonScript({ tids: [], maxSeconds: 5 }));
});
