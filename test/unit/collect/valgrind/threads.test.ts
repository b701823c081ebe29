import assert from 'node:assert/strict';
import test from 'node:test';
import { baseFunctionName, splitThreads, threadCalls } from '../../../../src/collect/valgrind/window.ts';

/** The call records of a callgrind thread dump, uncompressed as the runner asks for them. */
const dump = (calls: [caller: string, callee: string, count: number][]) =>
  [
    'version: 1',
    'events: Ir',
    ...calls.flatMap(([caller, callee, count]) => [
      `fn=${caller}`,
      '0x401000 3',
      `cfn=${callee}`,
      `calls=${count} 0x402000`,
      '0x401004 120',
    ]),
    'totals: 123',
  ].join('\n');

test("glibc's internal and versioned names come down to the public function", () => {
  assert.equal(baseFunctionName('__GI___poll'), 'poll');
  assert.equal(baseFunctionName('__libc_recv'), 'recv');
  assert.equal(baseFunctionName('clock_nanosleep@@GLIBC_2.17'), 'clock_nanosleep');
  assert.equal(baseFunctionName('pthread_cond_timedwait@GLIBC_2.3.2'), 'pthread_cond_timedwait');
  assert.equal(baseFunctionName('__read_nocancel'), 'read_nocancel');
  assert.equal(baseFunctionName('process_command'), 'process_command');
});

test('a worker that reads, sends and waits for readiness serves; an LRU maintainer sleeping in usleep does not', () => {
  // memcached 1.6's worker and LRU maintainer threads, as their window dumps show them.
  const worker = threadCalls(
    dump([
      ['event_base_loop', 'epoll_wait', 310],
      ['try_read_network', 'read', 3000],
      ['transmit', 'sendmsg', 3000],
      ['conn_set_state', 'pthread_mutex_lock@@GLIBC_2.2.5', 10],
    ]),
  );
  assert.deepEqual(worker, { serves: true, waits: 0 });
  // usleep's own clock_nanosleep is the same sleep: counted once.
  const maintainer = threadCalls(
    dump([
      ['lru_maintainer_thread', 'usleep', 51],
      ['usleep', 'clock_nanosleep@@GLIBC_2.17', 51],
      ['lru_maintainer_juggle', 'pthread_mutex_trylock@@GLIBC_2.34', 4000],
    ]),
  );
  assert.deepEqual(maintainer, { serves: false, waits: 51 });
});

test('compressed names are resolved through their ids, callers and callees alike', () => {
  const text = [
    'events: Ir',
    'fn=(1) bio_thread',
    '0x10 5',
    'cfn=(2) __pthread_cond_wait',
    'calls=7 0x20',
    '0x14 9',
    'fn=(3) other',
    'cfn=(2)',
    'calls=2 0x20',
    '0x30 1',
  ].join('\n');
  assert.deepEqual(threadCalls(text), { serves: false, waits: 9 });
});

test('serving threads and background threads are told apart; with no serving thread seen, every thread serves', () => {
  const t = (serves: boolean, waits: number) => ({ calls: { serves, waits } });
  const workers = [t(true, 0), t(true, 0)];
  const maintainer = t(false, 51);
  assert.deepEqual(splitThreads([...workers, maintainer]), { serving: workers, background: [maintainer] });
  // A service whose I/O callgrind does not see (raw syscalls, io_uring) is measured whole, as before.
  const unseen = [t(false, 0), t(false, 3)];
  assert.deepEqual(splitThreads(unseen), { serving: unseen, background: [] });
});
