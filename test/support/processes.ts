// The life of a server a test starts in its own process group (detached): killed with the test
// process, stopped with a signal then SIGKILL.
import type { ChildProcess } from 'node:child_process';

/** Lets the test process exit while `child` runs, and kills `child`'s group when it does. */
export function killWithProcess(child: ChildProcess): void {
  child.unref();
  const pid = child.pid!;
  process.once('exit', () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
}

/** Sends `signal` to `child`'s group and waits for it to exit; SIGKILL after 5 s. */
export async function stopProcessGroup(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-child.pid!, signal);
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}
