// Artifacts into a local folder (a `file://` or plain-path artifact location). A file of 1 MiB or
// more goes, as MLflow's local_artifact_repo.py `log_artifact` writes it, into a hidden temporary
// file beside the target and is then renamed, so a reader never sees half of it. A smaller one is
// copied in place, as `log_artifacts` copies a folder: one copy_file_range, over before a reader
// could notice, and a rename per file made 20,000 small files take 1.5× as long.
import { constants, copyFileSync, mkdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { STAGING_PREFIX } from './artifact-name.ts';
import type { ArtifactFile } from './collect.ts';

const STAGED_FROM_BYTES = 1024 * 1024;
/** The longest the small copies hold the event loop before letting timers and signals in. */
const SLICE_MS = 10;

// copyFile lets the kernel copy (reflinks, copy_file_range): no file passes through memory. EXCL,
// besides never clobbering, skips the ftruncate libuv does otherwise: on ext4 a file truncated to
// zero is flushed to disk when closed, which made a 2 GB copy 3× slower.
const COPY_FLAGS = constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE;

/**
 * Copies files (of the size given) into `dir`, creating each subfolder once. A small file is
 * copied synchronously: through the thread pool, waking a thread and the event loop for each
 * file of a few syscalls cost more than the copy, and the threads contended for the folder. A
 * staged one goes through the thread pool while the small ones go on.
 */
export function folderCopier(dir: string): (file: ArtifactFile, size: number) => Promise<void> {
  const folders = new Set<string>();
  const pause = eventLoopTurns();
  // Joined by hand: the name is checked (artifact-name.ts) to be relative, without `.` or `..`.
  const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
  return async (file, size) => {
    const target = prefix + file.artifactPath.replaceAll('/', path.sep);
    const at = target.lastIndexOf(path.sep);
    const folder = at < prefix.length ? prefix : target.slice(0, at);
    if (!folders.has(folder)) {
      mkdirSync(folder, { recursive: true });
      folders.add(folder);
    }
    if (size < STAGED_FROM_BYTES && copiedInPlace(file.localPath, target)) return pause();
    // node:crypto only for a staged copy: loading it is a cost every stage's start-up would pay.
    const staging = path.join(folder, `${STAGING_PREFIX}${process.getBuiltinModule('node:crypto').randomUUID()}`);
    try {
      await fs.copyFile(file.localPath, staging, COPY_FLAGS);
      await fs.rename(staging, target);
    } catch (error) {
      await fs.rm(staging, { force: true });
      throw error;
    }
  };
}

/** False when the target is there already: replacing it is the staged copy's job. */
function copiedInPlace(source: string, target: string): boolean {
  try {
    copyFileSync(source, target, COPY_FLAGS);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/**
 * Resolves at once, except every SLICE_MS: then every caller waits for one turn of the event loop
 * (timers, signals, the copies in the thread pool finishing).
 */
function eventLoopTurns(): () => Promise<void> | undefined {
  let since = performance.now();
  let turn: Promise<void> | undefined;
  return () => {
    if (turn || performance.now() - since < SLICE_MS) return turn;
    return (turn = new Promise((resolve) => setImmediate(() => {
      turn = undefined;
      since = performance.now();
      resolve();
    })));
  };
}
