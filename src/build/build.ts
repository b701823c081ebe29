// `ditto build`: compiles a clone directory with make and gcc; a failure shows the compiler's first error.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DittoError } from '../errors.ts';
import { run } from '../sys/process.ts';

/** The first "file:line:col: error: message" of gcc's output, or the first line when there is none. */
export function firstCompilerError(output: string): string {
  const lines = output.split('\n');
  const error = lines.find((l) => /^[^:\s]+:\d+:\d+: (?:fatal )?error: /.test(l));
  return (error ?? lines.find((l) => l.trim() !== '') ?? 'no output').trim();
}

export async function buildClone(dir: string): Promise<string> {
  if (!existsSync(join(dir, 'Makefile'))) {
    throw new DittoError('DITTO_FILE_NOT_FOUND', `${dir}: no Makefile: not a clone directory`, {
      hint: 'run ditto generate --profile p.json --out DIR first',
    });
  }
  const result = await run('make', ['-C', dir, '--no-print-directory'], {
    timeoutMs: 600_000,
    allowFailure: true,
  });
  if (result.exitCode !== 0) {
    throw new DittoError(
      'DITTO_TOOL_FAILED',
      `build of ${dir} failed: ${firstCompilerError(result.stderr || result.stdout)}`,
    );
  }
  return join(dir, 'bin', 'clone');
}
