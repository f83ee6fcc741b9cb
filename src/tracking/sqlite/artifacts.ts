// A run's artifacts in the embedded store: the files of its artifact folder, which MLflow's
// LocalArtifactRepository (`list_artifacts`) reads the same way, straight from the disk.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactFile } from '../store.ts';

/**
 * Every file under the run's artifact URI, sorted by path. A URI that is not a local folder (an
 * `mlflow-artifacts:` root that only the server which wrote it can resolve) lists nothing.
 */
export function listLocalArtifacts(artifactUri: string): ArtifactFile[] {
  const root = localFolder(artifactUri);
  if (root === undefined || !fs.existsSync(root)) return [];
  const files: ArtifactFile[] = [];
  const walk = (folder: string) => {
    for (const entry of fs.readdirSync(path.join(root, folder), { withFileTypes: true })) {
      const relative = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory()) walk(relative);
      else if (entry.isFile()) files.push({ path: relative, size: fs.statSync(path.join(root, relative)).size });
    }
  };
  walk('');
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function localFolder(artifactUri: string): string | undefined {
  if (artifactUri.startsWith('file:')) return fileURLToPath(artifactUri);
  // A one-letter "scheme" is a Windows drive.
  return /^[a-z][a-z0-9+.-]+:/i.test(artifactUri) ? undefined : artifactUri;
}
