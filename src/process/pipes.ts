// The command's stdout and stderr are real pipes, as in a shell pipeline, not the socket pairs
// Node's spawn gives a child. When whoever reads mlrun's output goes away (`mlrun -- cmd | head`),
// mlrun closes its end and the command's next write fails with EPIPE and SIGPIPE, exactly as
// without mlrun; a socket closed with unread data answers ECONNRESET instead (`yes` then prints
// "standard output: Connection reset by peer" and exits 1 where `yes | head` ends quietly).
//
// Node has no call for pipe(2), so `mkfifo` makes two named pipes in a private folder; mlrun opens
// both ends and removes the names at once. It runs while the run is being created, so it adds no
// time; should it fail, the command gets Node's socket pairs, as before.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempFolder } from './temp-files.ts';

export interface Pipe {
  /** mlrun's end. */
  read: number;
  /** The command's end, closed in mlrun once the command has it. */
  write: number;
}

export interface CommandPipes {
  stdout: Pipe;
  stderr: Pipe;
}

/** Two pipes for the command's output, or undefined when they cannot be made here. */
export async function makePipes(): Promise<CommandPipes | undefined> {
  let dir: string | undefined;
  const opened: number[] = [];
  try {
    dir = fs.mkdtempSync(path.join(tempFolder(), 'mlrun-pipes-'));
    const names = [path.join(dir, 'stdout'), path.join(dir, 'stderr')] as const;
    await mkfifo(names);
    const [stdout, stderr] = names.map((name) => {
      // Opening the read end without waiting for a writer, then the write end, which finds it.
      const read = fs.openSync(name, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      opened.push(read);
      const write = fs.openSync(name, fs.constants.O_WRONLY);
      opened.push(write);
      return { read, write };
    });
    return { stdout: stdout!, stderr: stderr! };
  } catch {
    for (const fd of opened) fs.closeSync(fd);
    return undefined;
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function mkfifo(names: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('mkfifo', ['-m', '600', ...names], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo exited with ${code}`))));
  });
}

/** Closes one end of both pipes: the command's once it has them, mlrun's if it could not start. */
export function closeEnds(pipes: CommandPipes, end: keyof Pipe): void {
  fs.closeSync(pipes.stdout[end]);
  fs.closeSync(pipes.stderr[end]);
}
