// One `mlrun sync` at a time per offline record: two at once would both create a copy of a run
// that neither has marked yet. The lock is a file holding the owner's pid, created exclusively; a
// lock whose process is gone (a sync killed with SIGKILL or Ctrl-C) is taken over. Taking over is
// not atomic against a second sync taking over the same stale lock in the same instant; two
// people starting sync in the very same millisecond after a crash is the one case left.
import fs from 'node:fs';
import { pidExists } from '../process/process-identity.ts';

export type LockResult = { release: () => void } | { heldBy: number };

export function acquireLock(lockPath: string): LockResult {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
      return { release: () => releaseLock(lockPath) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(lockPath);
    if (owner !== undefined && owner !== process.pid && pidExists(owner)) return { heldBy: owner };
    fs.rmSync(lockPath, { force: true });
  }
  return { heldBy: readOwner(lockPath) ?? 0 };
}

function releaseLock(lockPath: string): void {
  // Only our own: never a lock another sync took over meanwhile.
  if (readOwner(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
}

function readOwner(lockPath: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(lockPath, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
