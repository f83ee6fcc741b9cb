import { statSync } from 'node:fs';
import path from 'node:path';

function isDir(p: string): boolean {
  return statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function nearestAncestorWith(cwd: string, marker: string, isMarker: (p: string) => boolean): string | undefined {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    if (isMarker(path.join(dir, marker))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * The DVC project root: `DVC_ROOT` when set, else the nearest ancestor holding a `.dvc/` folder.
 * `dvc exp run --temp/--queue` runs stages in a copy under `<DVC_ROOT>/.dvc/tmp/exps/` while
 * `DVC_ROOT` still names the main repo; the copy has its own (possibly `-S`-modified) params, so
 * there, and whenever cwd lies outside `DVC_ROOT`, the nearest `.dvc/` ancestor wins.
 */
export function findDvcRoot(cwd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const nearest = nearestAncestorWith(cwd, '.dvc', isDir);
  const fromEnv = env['DVC_ROOT'] ? path.resolve(env['DVC_ROOT']) : undefined;
  if (!fromEnv) return nearest;
  const rel = path.relative(fromEnv, path.resolve(cwd));
  const insideEnvRoot = !rel.startsWith('..') && !path.isAbsolute(rel);
  const insideTempCopy = rel === '.dvc' || rel.startsWith(`.dvc${path.sep}`);
  return insideEnvRoot && !insideTempCopy ? fromEnv : (nearest ?? fromEnv);
}

/** The nearest ancestor with `.git` (a folder, or a file in worktrees and submodules). */
export function findGitRoot(cwd: string): string | undefined {
  return nearestAncestorWith(cwd, '.git', (p) => statSync(p, { throwIfNoEntry: false }) !== undefined);
}
