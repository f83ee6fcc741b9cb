import path from 'node:path';
import { findDvcRoot, findGitRoot } from '../dvc/root.ts';

/**
 * The folder that holds the embedded store and the offline record: DVC_ROOT as DVC sets it (the
 * main project even when `dvc exp run --temp` runs the stage in a copy that is deleted
 * afterwards), else the DVC root, else the git root, else the current folder.
 */
export function findProjectRoot(cwd: string, env: NodeJS.ProcessEnv): string {
  if (env.DVC_ROOT) return path.resolve(env.DVC_ROOT);
  return findDvcRoot(cwd, env) ?? findGitRoot(cwd) ?? path.resolve(cwd);
}
