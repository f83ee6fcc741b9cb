import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { failedWrite, signalExitCode, startFailure, type CommandOutcome } from './exit-code.ts';
import { passPipe, passStream, type OnChunk } from './pass-through.ts';
import { closeEnds, type CommandPipes } from './pipes.ts';
import { startRelay, type RelayedStream } from './relay.ts';
import { forwardSignals } from './signals.ts';

export interface RunCommandOptions {
  /** The command's whole environment. */
  env: NodeJS.ProcessEnv;
  /** Sees every stdout chunk, after it was written through. */
  onStdout?: OnChunk;
  /** Sees every stderr chunk, after it was written through. */
  onStderr?: OnChunk;
  /** Pipes for the command's stdout and stderr (pipes.ts); without them, Node's socket pairs. */
  pipes?: CommandPipes;
  /** Sees the command once its program runs, before any of its output (the system metrics). */
  onSpawn?: (child: ChildProcess) => void;
}

export interface CommandResult extends CommandOutcome {
  /** True when mlrun forwarded a terminating signal to the command while it ran. */
  interrupted: boolean;
}

/**
 * Runs argv directly (no shell) with mlrun's stdin, cwd and the given environment. Its stdout and
 * stderr go through mlrun byte for byte, chunk by chunk as they arrive, so nothing waits for a
 * newline or for the end; onStdout/onStderr see each chunk, for metrics and the output log.
 */
export async function runCommand(argv: string[], options: RunCommandOptions): Promise<CommandResult> {
  const [file, ...args] = argv as [string, ...string[]];
  const { pipes } = options;
  // A stream closed when mlrun started (`>&-`) is /dev/null by now: Node opens it, read-write, in
  // place of a closed 0-2 before any JavaScript runs (node.cc PlatformInit). That cannot be told
  // from /dev/null opened read-write by the caller (Python's subprocess.DEVNULL, `1<>/dev/null`),
  // so it is taken as what it is, and the command's output goes there.
  const [outTarget, errTarget] = pipes ? [pipes.stdout.write, pipes.stderr.write] : ['pipe' as const, 'pipe' as const];
  let child: ChildProcess;
  try {
    child = spawn(file, args, { env: options.env, stdio: ['inherit', outTarget, errTarget] });
  } catch (error) {
    if (pipes) closeEnds(pipes, 'read');
    return { ...startFailure(file, (error as NodeJS.ErrnoException).code), interrupted: false };
  } finally {
    if (pipes) closeEnds(pipes, 'write');
  }
  options.onSpawn?.(child);
  let writeError: CommandOutcome['writeError'];
  const failed = (stream: RelayedStream) => (error: NodeJS.ErrnoException) => {
    writeError ??= { stream, code: error.code ?? 'EIO', message: error.message.replace(/, write$/, '') };
  };
  const [stdout, stderr] = pipes
    ? [passPipe(pipes.stdout.read, process.stdout, options.onStdout, failed('stdout')), passPipe(pipes.stderr.read, process.stderr, options.onStderr, failed('stderr'))]
    : [passStream(child.stdout as Socket, process.stdout, options.onStdout, failed('stdout')), passStream(child.stderr as Socket, process.stderr, options.onStderr, failed('stderr'))];
  // Should mlrun itself end first (an internal error), its command goes with it. (Node's own spawn,
  // not execa: loading and running execa cost ~10 ms of every stage.)
  const cleanup = () => child.kill();
  process.once('exit', cleanup);

  let interrupted = false;
  const stopForwarding = forwardSignals((signal) => {
    interrupted = true;
    child.kill(signal);
  });

  const closed = Promise.all([stdout, stderr].map((stream) => new Promise<void>((resolve) => stream.once('close', () => resolve()))));
  try {
    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException }>((resolve) => {
      child.on('error', (error) => resolve({ error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    if ('error' in ended) return { ...startFailure(file, ended.error.code), interrupted };
    await drainOutput(closed, [
      { stream: 'stdout', socket: stdout, fd: pipes?.stdout.read },
      { stream: 'stderr', socket: stderr, fd: pipes?.stderr.read },
    ]);
    const outcome: CommandOutcome = ended.signal ? { exitCode: signalExitCode(ended.signal), signal: ended.signal } : { exitCode: ended.code ?? 0 };
    return { ...(writeError ? failedWrite(outcome, writeError) : outcome), interrupted };
  } finally {
    stopForwarding();
    process.off('exit', cleanup);
  }
}

/** How long to keep reading output after the command exited, while a process it left behind holds its pipes. */
const OUTPUT_GRACE_MS = 500;

interface Output {
  stream: RelayedStream;
  socket: Socket;
  /** mlrun's end of its own pipe, which a relay can take over (not a socket pair's). */
  fd: number | undefined;
}

/**
 * Waits for the rest of the output. A background process the command started (`sleep 30 &`) may
 * keep the pipes open long after the command itself is gone; without mlrun nobody would wait for
 * it, so after a short grace mlrun hands its pipes to a relay (relay.ts) and stops reading. Node's
 * socket pairs cannot be handed over: they are closed, as the process's next write then finds.
 */
async function drainOutput(done: Promise<unknown>, outputs: Output[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), OUTPUT_GRACE_MS)));
  const outcome = await Promise.race([done.then(() => 'drained' as const), grace]);
  clearTimeout(timer);
  if (outcome === 'drained') return;
  const open = outputs.filter((output) => !output.socket.closed);
  const relayed = open.flatMap(({ stream, socket, fd }) => (fd === undefined ? [] : [{ stream, socket, fd }]));
  for (const { socket } of relayed) socket.pause();
  // What mlrun read goes out before anything the relay reads.
  await Promise.all([process.stdout, process.stderr].map((to) => (to.writableLength > 0 ? new Promise((resolve) => to.once('drain', resolve)) : undefined)));
  if (relayed.length > 0) startRelay(relayed);
  for (const { socket } of open) socket.destroy();
  await done;
}
