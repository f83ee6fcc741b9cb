import os from 'node:os';

/** How the wrapped command ended, reduced to what mlrun reports and exits with. */
export interface CommandOutcome {
  /** The code mlrun exits with: the command's own, 128+N for signal N, 127 / 126 when it could not start. */
  exitCode: number;
  /** The signal that ended the command, if one did. */
  signal?: string;
  /** Why the command could not start (already phrased for the user), if it did not. */
  startError?: string;
  /** Passing the command's output on failed (its reader's disk is full, say). */
  writeError?: WriteError;
}

export interface WriteError {
  stream: 'stdout' | 'stderr';
  /** ENOSPC, EIO, ... */
  code: string;
  /** Node's message, e.g. `ENOSPC: no space left on device` */
  message: string;
}

const NOT_FOUND = 127;
const NOT_EXECUTABLE = 126;

export function signalExitCode(signal: string): number {
  const number = os.constants.signals[signal as keyof typeof os.constants.signals];
  return 128 + (number ?? 0);
}

/**
 * The command's output could not be passed on: the stage fails, as the command would have at its
 * own write without mlrun. A command that exited 0, or died of the SIGPIPE it got when mlrun
 * stopped reading its pipe (141, also as a shell reports it), exits 1 as programs do after a
 * failed write.
 */
export function failedWrite(outcome: CommandOutcome, writeError: WriteError): CommandOutcome {
  if (outcome.exitCode === 0 || outcome.exitCode === signalExitCode('SIGPIPE')) return { exitCode: 1, writeError };
  return { ...outcome, writeError };
}

/** The shell's conventions for a command that could not be started. */
export function startFailure(command: string, errorCode: string | undefined): CommandOutcome {
  if (errorCode === 'ENOENT') return { exitCode: NOT_FOUND, startError: `${command}: command not found` };
  if (errorCode === 'EACCES' || errorCode === 'EISDIR' || errorCode === 'ENOEXEC' || errorCode === 'EPERM') {
    return { exitCode: NOT_EXECUTABLE, startError: `${command}: permission denied (not executable)` };
  }
  return { exitCode: NOT_EXECUTABLE, startError: `${command}: cannot run (${errorCode ?? 'unknown error'})` };
}
