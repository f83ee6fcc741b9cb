// Folders mlrun writes inside a project (the embedded store's artifact copies in mlruns/, its own
// state in .mlrun/) must not become part of it. A copy of dvc.yaml among a run's artifacts would
// otherwise be collected by DVC as one more pipeline. Each such folder gets a .dvcignore (DVC
// reads them in every folder) and a .gitignore that ignore all of it, so the user's own ignore
// files stay untouched.
import fs from 'node:fs';
import path from 'node:path';

const IGNORE_ALL = "# written by mlrun: this folder is tracking data, not part of the project\n*\n";

export function keepOutOfProject(folder: string): void {
  const marker = path.join(folder, '.dvcignore');
  if (fs.existsSync(marker)) return;
  try {
    fs.mkdirSync(folder, { recursive: true });
    for (const name of ['.dvcignore', '.gitignore']) {
      fs.writeFileSync(path.join(folder, name), IGNORE_ALL, { flag: 'wx' });
    }
  } catch (error) {
    // Another stage wrote them first, or the folder is read-only: nothing to add either way.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return;
  }
}

/** mlrun's own state at the project root (offline runs, pipeline records, lineage), kept out of the project. */
export function stateFolder(projectRoot: string): string {
  const folder = path.join(projectRoot, '.mlrun');
  keepOutOfProject(folder);
  return folder;
}
