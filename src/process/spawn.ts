import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { signalExitCode, startFailure, type CommandOutcome } from './exit-code.ts';
import { passPipe, passStream, type OnChunk } from './pass-through.ts';
import { closeEnds, type CommandPipes } from './pipes.ts';
import { forwardSignals } from './signals.ts';

export interface RunCommandOptions {
  /** The command's whole environment. */
  env: NodeJS.ProcessEnv;
  /** Sees a copy of every stdout chunk, after it was written through. */
  onStdout?: OnChunk;
  /** Sees a copy of every stderr chunk, after it was written through. */
  onStderr?: OnChunk;
  /** Called once the command is running (not when it could not start). */
  onStart?: () => void;
  /** Pipes for the command's stdout and stderr (pipes.ts); without them, Node's socket pairs. */
  pipes?: CommandPipes;
}

export interface CommandResult extends CommandOutcome {
  /** True when mlrun forwarded a terminating signal to the command while it ran. */
  interrupted: boolean;
}

/**
 * Runs argv directly (no shell) with mlrun's stdin, cwd and the given environment. Its stdout and
 * stderr go through mlrun byte for byte, chunk by chunk as they arrive, so nothing waits for a
 * newline or for the end; the copies handed to onStdout/onStderr feed metrics and the output log.
 */
export async function runCommand(argv: string[], options: RunCommandOptions): Promise<CommandResult> {
  const [file, ...args] = argv as [string, ...string[]];
  const { pipes } = options;
  let child: ChildProcess;
  try {
    child = spawn(file, args, { env: options.env, stdio: pipes ? ['inherit', pipes.stdout.write, pipes.stderr.write] : ['inherit', 'pipe', 'pipe'] });
  } catch (error) {
    if (pipes) closeEnds(pipes, 'read');
    return { ...startFailure(file, (error as NodeJS.ErrnoException).code), interrupted: false };
  } finally {
    if (pipes) closeEnds(pipes, 'write');
  }
  const [stdout, stderr] = pipes
    ? [passPipe(pipes.stdout.read, process.stdout, options.onStdout), passPipe(pipes.stderr.read, process.stderr, options.onStderr)]
    : [passStream(child.stdout as Socket, process.stdout, options.onStdout), passStream(child.stderr as Socket, process.stderr, options.onStderr)];
  // Should mlrun itself end first (an internal error), its command goes with it. (Node's own spawn,
  // not execa: loading and running execa cost ~10 ms of every stage.)
  const cleanup = () => child.kill();
  process.once('exit', cleanup);

  let interrupted = false;
  const stopForwarding = forwardSignals((signal) => {
    interrupted = true;
    child.kill(signal);
  });
  child.once('spawn', () => options.onStart?.());

  const closed = Promise.all([stdout, stderr].map((stream) => new Promise<void>((resolve) => stream.once('close', () => resolve()))));
  try {
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException }>((resolve) => {
      child.on('error', (error) => resolve({ error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    if ('error' in ended) return { ...startFailure(file, ended.error.code), interrupted };
    await drainOutput(closed, stdout, stderr);
    if (ended.signal) return { exitCode: signalExitCode(ended.signal), signal: ended.signal, interrupted };
    return { exitCode: ended.code ?? 0, interrupted };
  } finally {
    stopForwarding();
    process.off('exit', cleanup);
  }
}

/** How long to keep reading output after the command exited, while a process it left behind holds its pipes. */
const OUTPUT_GRACE_MS = 500;

/**
 * Waits for the rest of the output. A background process the command started (`sleep 30 &`) may
 * keep the pipes open long after the command itself is gone; without mlrun nobody would wait for
 * it, so mlrun stops reading after a short grace instead of waiting for it too.
 */
async function drainOutput(done: PromiseLike<unknown>, ...streams: Socket[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), OUTPUT_GRACE_MS)));
  const outcome = await Promise.race([Promise.resolve(done).then(() => 'drained' as const), grace]);
  clearTimeout(timer);
  if (outcome === 'late') {
    for (const stream of streams) stream.destroy();
    await done;
  }
}
