// Exit codes and signals in words, so a crash reads as "killed by SIGSEGV (segmentation fault)".
import { constants } from 'node:os';

const signalWords: Record<string, string> = {
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
  SIGBUS: 'bus error',
  SIGFPE: 'arithmetic error',
  SIGILL: 'illegal instruction',
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupted',
  SIGQUIT: 'quit',
  SIGHUP: 'hang-up',
  SIGPIPE: 'broken pipe',
  SIGSYS: 'bad system call',
  SIGXCPU: 'CPU time limit exceeded',
};

function signalName(num: number): string | undefined {
  for (const [name, value] of Object.entries(constants.signals)) if (value === num) return name;
  return undefined;
}

export function describeSignal(signal: string): string {
  const words = signalWords[signal];
  return words ? `${signal} (${words})` : signal;
}

/** "exited with code 2", "killed by SIGSEGV (segmentation fault)", "exited with code 127 (command not found)". */
export function describeExit(exitCode: number | null | undefined, signal: string | null | undefined): string {
  if (signal) return `killed by ${describeSignal(signal)}`;
  if (exitCode === null || exitCode === undefined) return 'ended without an exit status';
  if (exitCode === 0) return 'exited normally';
  if (exitCode === 127) return 'exited with code 127 (command not found)';
  if (exitCode === 126) return 'exited with code 126 (not executable)';
  if (exitCode > 128 && exitCode < 128 + 65) {
    const name = signalName(exitCode - 128);
    if (name) return `exited with code ${exitCode} (${describeSignal(name)} in a child)`;
  }
  return `exited with code ${exitCode}`;
}
