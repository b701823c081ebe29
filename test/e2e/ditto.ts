// Runs the ditto CLI from source as a user would run the bin, and captures what it prints.
import { spawnSync } from 'node:child_process';
import { packagePath } from '../../src/package-root.ts';

/** node argv that runs the CLI from source (as the bin runs the built one) with `args`. */
export function dittoArgv(...args: string[]): string[] {
  const entry = `import('${packagePath('src', 'cli', 'main.ts')}').then(async (m) => { process.exitCode = await m.main(['node', 'ditto', ...process.argv.slice(1)]); })`;
  return ['--import', 'tsx', '-e', entry, '--', ...args];
}

export function ditto(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  return dittoWithin(120_000, ...args);
}

/** The same with a time limit of its own, for long commands (a whole profile). */
export function dittoWithin(
  timeoutMs: number,
  ...args: string[]
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, dittoArgv(...args), {
    cwd: packagePath(),
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
