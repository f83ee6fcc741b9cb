// Artifacts into a local folder (a `file://` or plain-path artifact location). A file of 1 MiB or
// more goes, as MLflow's local_artifact_repo.py `log_artifact` writes it, into a hidden temporary
// file beside the target and is then renamed, so a reader never sees half of it. A smaller one is
// copied in place, as `log_artifacts` copies a folder: one copy_file_range, over before a reader
// could notice, and a rename per file made 20,000 small files take 1.5× as long.
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { STAGING_PREFIX } from './artifact-name.ts';
import type { ArtifactFile } from './collect.ts';

const STAGED_FROM_BYTES = 1024 * 1024;

// copyFile lets the kernel copy (reflinks, copy_file_range): no file passes through memory. EXCL,
// besides never clobbering, skips the ftruncate libuv does otherwise: on ext4 a file truncated to
// zero is flushed to disk when closed, which made a 2 GB copy 3× slower.
const COPY_FLAGS = constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE;

/** Copies files (of the size given) into `dir`, creating each subfolder once. */
export function folderCopier(dir: string): (file: ArtifactFile, size: number) => Promise<void> {
  const folders = new Map<string, Promise<unknown>>();
  const folder = (target: string) => {
    let made = folders.get(target);
    if (!made) folders.set(target, (made = fs.mkdir(target, { recursive: true })));
    return made;
  };
  return async (file, size) => {
    const target = path.join(dir, ...file.artifactPath.split('/'));
    await folder(path.dirname(target));
    if (size < STAGED_FROM_BYTES) {
      try {
        await fs.copyFile(file.localPath, target, COPY_FLAGS);
        return;
      } catch (error) {
        // Replacing a file already there is the staged copy's job.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    // node:crypto only for a staged copy: loading it is a cost every stage's start-up would pay.
    const staging = path.join(path.dirname(target), `${STAGING_PREFIX}${process.getBuiltinModule('node:crypto').randomUUID()}`);
    try {
      await fs.copyFile(file.localPath, staging, COPY_FLAGS);
      await fs.rename(staging, target);
    } catch (error) {
      await fs.rm(staging, { force: true });
      throw error;
    }
  };
}
