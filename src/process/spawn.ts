import { spawn, type ChildProcess } from 'node:child_process';
import { signalExitCode, startFailure, type CommandOutcome } from './exit-code.ts';
import { closeEnds, readEnd, type CommandPipes } from './pipes.ts';
import { forwardSignals } from './signals.ts';

export interface RunCommandOptions {
  /** The command's whole environment. */
  env: NodeJS.ProcessEnv;
  /** Sees a copy of every stdout chunk, after it was written through. */
  onStdout?: (chunk: Buffer) => void;
  /** Sees a copy of every stderr chunk, after it was written through. */
  onStderr?: (chunk: Buffer) => void;
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
  const stdout = pipes ? readEnd(pipes.stdout) : child.stdout!;
  const stderr = pipes ? readEnd(pipes.stderr) : child.stderr!;
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
  pass(stdout, process.stdout, options.onStdout);
  pass(stderr, process.stderr, options.onStderr);

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
async function drainOutput(done: PromiseLike<unknown>, ...streams: NodeJS.ReadableStream[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), OUTPUT_GRACE_MS)));
  const outcome = await Promise.race([Promise.resolve(done).then(() => 'drained' as const), grace]);
  clearTimeout(timer);
  if (outcome === 'late') {
    for (const stream of streams) (stream as unknown as { destroy(): void }).destroy();
    await done;
  }
}

function pass(from: NodeJS.ReadableStream, to: NodeJS.WriteStream, copy?: (chunk: Buffer) => void): void {
  // When whoever reads mlrun's output goes away (`mlrun -- cmd | head`), the command must find
  // its own output closed, as it would without mlrun: stop reading its pipe so its next write
  // fails (SIGPIPE / EPIPE) instead of mlrun dying of the error.
  to.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') (from as unknown as { destroy(): void }).destroy();
  });
  from.on('data', (chunk: Buffer) => {
    // Respect a slow reader of mlrun's own output: the command then waits on its pipe, as it
    // would without mlrun, instead of mlrun buffering without bound.
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
    copy?.(chunk);
  });
}
