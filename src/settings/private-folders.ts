// What mlrun writes inside a project (the embedded store's artifact copies in mlruns/, its own
// state in .mlrun/, the database mlflow.db) must not become part of it. A copy of dvc.yaml among a
// run's artifacts would otherwise be collected by DVC as one more pipeline. Each such folder gets
// a .dvcignore (DVC reads them in every folder) and a .gitignore that ignore all of it, so the
// user's own ignore files stay untouched; the database, which sits among the project's files,
// gets lines in the project's .gitignore, once.
import { execFile } from 'node:child_process';
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

/** Where the YAML files a launch's mlruns parse are kept for the next one (dvc/parsed-files.ts). */
export function parsedFilesFolder(projectRoot: string): string {
  return path.join(stateFolder(projectRoot), 'parsed');
}

/**
 * Keeps files mlrun writes in `folder` (the embedded store beside its project's own files) out of
 * git, as DVC keeps its outputs (scmrepo's Git.ignore, dvc/repo/scm_context.py): only inside a git
 * work tree, only the names git does not ignore already (`git check-ignore`), each as a `/name`
 * line appended to the .gitignore in that folder unless the line is there, on a line of its own.
 * Quiet: nothing here may stop a run.
 */
export async function keepOutOfGit(folder: string, names: string[]): Promise<void> {
  const ignored = await new Promise<string[] | undefined>((resolve) => {
    execFile('git', ['check-ignore', '--', ...names], { cwd: folder }, (error, stdout) => {
      // Exit 1: none of them is ignored. Anything else (128: not a work tree; git missing): leave it.
      if (error && error.code !== 1) resolve(undefined);
      else resolve(stdout.split('\n'));
    });
  });
  if (!ignored) return;
  const file = path.join(folder, '.gitignore');
  try {
    const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const present = new Set(text.split('\n'));
    const lines = names.filter((name) => !ignored.includes(name)).map((name) => `/${name}`).filter((line) => !present.has(line));
    if (lines.length === 0) return;
    fs.appendFileSync(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}${lines.join('\n')}\n`);
  } catch {
    // A .gitignore mlrun cannot read or write: the user's to fix, not a reason to fail the run.
  }
}
