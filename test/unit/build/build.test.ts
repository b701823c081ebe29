import assert from 'node:assert/strict';
import test from 'node:test';
import { firstCompilerError } from '../../../src/build/build.ts';

test("a build failure shows the compiler's first error and its file", () => {
  const stderr = [
    'gcc -O2 -o bin/clone runtime/main.c src/body.c',
    "src/body.c: In function 'ditto_body_class_get':",
    "src/body.c:12:5: error: expected ';' before '}' token",
    'src/body.c:20:1: error: second',
    'make: *** [Makefile:9: bin/clone] Error 1',
  ].join('\n');
  assert.equal(firstCompilerError(stderr), "src/body.c:12:5: error: expected ';' before '}' token");
  assert.equal(
    firstCompilerError('make: gcc: No such file or directory\n'),
    'make: gcc: No such file or directory',
  );
});
