import os from 'node:os';

/** How the wrapped command ended, reduced to what mlrun reports and exits with. */
export interface CommandOutcome {
  /** The code mlrun exits with: the command's own, 128+N for signal N, 127 / 126 when it could not start. */
  exitCode: number;
  /** The signal that ended the command, if one did. */
  signal?: string;
  /** Why the command could not start (already phrased for the user), if it did not. */
  startError?: string;
}

export const NOT_FOUND = 127;
export const NOT_EXECUTABLE = 126;

export function signalExitCode(signal: string): number {
  const number = os.constants.signals[signal as keyof typeof os.constants.signals];
  return 128 + (number ?? 0);
}

/** The shell's conventions for a command that could not be started. */
export function startFailure(command: string, errorCode: string | undefined): CommandOutcome {
  if (errorCode === 'ENOENT') return { exitCode: NOT_FOUND, startError: `${command}: command not found` };
  if (errorCode === 'EACCES' || errorCode === 'EISDIR' || errorCode === 'ENOEXEC' || errorCode === 'EPERM') {
    return { exitCode: NOT_EXECUTABLE, startError: `${command}: permission denied (not executable)` };
  }
  return { exitCode: NOT_EXECUTABLE, startError: `${command}: cannot run (${errorCode ?? 'unknown error'})` };
}
