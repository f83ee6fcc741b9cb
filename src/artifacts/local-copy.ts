// Artifacts into a local folder (a `file://` or plain-path artifact location), as MLflow's
// local_artifact_repo.py writes them: into a hidden temporary file beside the target, then renamed,
// so a reader never sees half a file.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactFile } from './collect.ts';

/** MLflow reserves this prefix for its own staging files. */
const STAGING_PREFIX = '.artifact.uploading.';

export async function copyIntoFolder(dir: string, file: ArtifactFile): Promise<void> {
  const target = path.join(dir, ...file.artifactPath.split('/'));
  await fs.mkdir(path.dirname(target), { recursive: true });
  const staging = path.join(path.dirname(target), `${STAGING_PREFIX}${randomUUID()}`);
  try {
    // copyFile lets the kernel copy (copy_file_range, reflinks): no file passes through memory.
    await fs.copyFile(file.localPath, staging);
    await fs.rename(staging, target);
  } catch (error) {
    await fs.rm(staging, { force: true });
    throw error;
  }
}
