// The ditto command line: parses arguments, runs a command, turns errors into exit codes.
import { Command, CommanderError } from '@commander-js/extra-typings';
import { isDittoError } from '../errors.ts';
import { stopAll } from '../sys/process.ts';
import { commands } from './commands/index.ts';

export function buildProgram(): Command {
  const program = new Command('ditto')
    .description('Clone a cloud service into a synthetic service that performs alike and reveals nothing.')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

let interrupted = false;

/**
 * Ctrl-C / SIGTERM: stop every tracer and service ditto started, then exit 130. Results already written stay on
 * disk. The listener stays attached until main() returns: execa's signal-exit re-raises a signal that no other
 * listener handles, which would kill ditto before its children are stopped.
 */
function onInterrupt(): void {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(
    '\nditto: interrupted, stopping the processes it started (results already written are kept)\n',
  );
  void stopAll().finally(() => process.exit(130));
}

/** Runs the CLI and returns the exit code: 0 success, 1 user error (one line), 2 internal error (stack). */
export async function main(argv: string[]): Promise<number> {
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onInterrupt);
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
    await stopAll();
    // What failed after an interrupt failed because of it.
    if (interrupted) return 130;
    if (isDittoError(error)) {
      process.stderr.write(`ditto: ${error.oneLine()}\n`);
      return 1;
    }
    process.stderr.write(`ditto: internal error\n${error instanceof Error ? error.stack : String(error)}\n`);
    return 2;
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    process.removeListener('SIGTERM', onInterrupt);
  }
}
