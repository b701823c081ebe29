import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import test from 'node:test';
import {
  countFdKinds,
  fdTargetKind,
  parseBlockedSyscall,
  parseIo,
  parseSchedstat,
  parseStat,
  parseStatus,
} from '../../../../src/collect/procfs/parse.ts';
import { DittoError } from '../../../../src/errors.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../fixtures/procfs/${name}`, import.meta.url), 'utf8');

test('stat fields count from the last parenthesis (names may hold spaces and parentheses)', () => {
  assert.deepEqual(parseStat(fixture('task-stat.txt')), {
    state: 'S',
    ppid: 1,
    utimeTicks: 7,
    stimeTicks: 12,
  });
});

test('schedstat, status and io of a memcached worker thread', () => {
  assert.deepEqual(parseSchedstat(fixture('task-schedstat.txt')), {
    runNs: 9277136,
    waitNs: 10253512,
    slices: 521,
  });
  const status = parseStatus(fixture('task-status.txt'));
  assert.ok(status.voluntarySwitches > 0);
  assert.ok(status.involuntarySwitches >= 0);
  assert.deepEqual(parseIo(fixture('task-io.txt')), {
    rchar: 86758,
    wchar: 0,
    syscr: 502,
    syscw: 0,
    readBytes: 0,
    writeBytes: 0,
  });
});

test('the syscall a thread is blocked in: its number, none when it runs or waits outside a syscall', () => {
  assert.equal(parseBlockedSyscall('230 0x1 0x1 0x7f3a 0x0 0x0 0x0 0x7f3a9c 0x7f3b12\n'), 230);
  assert.equal(parseBlockedSyscall('running\n'), undefined);
  assert.equal(parseBlockedSyscall('-1 0x7ffd 0x55d1\n'), undefined);
});

test('a truncated file is an error naming the file and field', () => {
  assert.throws(
    () => parseIo('rchar: 1\n'),
    (e: unknown) => e instanceof DittoError && /io: wchar/.test(e.message),
  );
});

test('fd link targets map to kinds', () => {
  const targets = fixture('fd-targets.txt').trim().split('\n');
  const kinds = targets.map((t) => fdTargetKind(t, t === '/var/lib/service/data.log'));
  assert.deepEqual(countFdKinds(kinds), { socket: 1, file: 2, pipe: 11, event: 9, other: 2 });
  assert.equal(fdTargetKind('/srv/dir', false), 'other');
});
