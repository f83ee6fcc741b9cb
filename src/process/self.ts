// mlrun started again as a helper process of its own (a hidden subcommand): the single executable
// itself, or, run from source, Node with the same flags and script.
import { spawn } from 'node:child_process';
import { isSea } from 'node:sea';
import { identityOf, type ProcessIdentity } from './process-identity.ts';

/** The hidden subcommand that watches a dvc launch for the parent run of its stages (pipeline/launch-watcher.ts). */
export const WATCH_LAUNCH_COMMAND = '__watch-launch';

/** The program and the arguments before the subcommand that start mlrun again. */
export function selfCommand(): [string, ...string[]] {
  return isSea() ? [process.execPath] : [process.execPath, ...process.execArgv, process.argv[1]!];
}

/**
 * Starts `mlrun <args>` outside everything of this process's: its own session (a Ctrl-C at the
 * terminal does not reach it), its stdio on /dev/null (whoever waits for this process's pipes, as
 * DVC waits for a stage's, does not wait for it), and not waited for. Throws when it cannot start.
 */
export function startDetached(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ProcessIdentity {
  const [program, ...before] = selfCommand();
  const child = spawn(program, [...before, ...args], { ...options, detached: true, stdio: 'ignore' });
  child.on('error', () => undefined);
  child.unref();
  if (child.pid === undefined) throw new Error(`cannot start ${program}`);
  return identityOf(child.pid);
}
