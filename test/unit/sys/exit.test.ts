import assert from 'node:assert/strict';
import test from 'node:test';
import { describeExit } from '../../../src/sys/exit.ts';

test('exit codes and signals read as words', () => {
  const cases: [number | undefined, string | undefined, string][] = [
    [0, undefined, 'exited normally'],
    [1, undefined, 'exited with code 1'],
    [127, undefined, 'exited with code 127 (command not found)'],
    [undefined, 'SIGSEGV', 'killed by SIGSEGV (segmentation fault)'],
    [undefined, 'SIGKILL', 'killed by SIGKILL (killed)'],
    [139, undefined, 'exited with code 139 (SIGSEGV (segmentation fault) in a child)'],
  ];
  for (const [code, signal, expected] of cases) assert.equal(describeExit(code, signal), expected);
});
